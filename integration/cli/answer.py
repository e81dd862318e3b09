"""``escalade answer``: answer normalized tickets from a knowledge file; no server, no database.

Each ticket is triaged as ``escalade triage`` does (the detector and the matrix), then gated
(only calm Tier-1 questions from accounts not at risk), then answered from the knowledge file
or left to a person. Every line of both files is read first: one bad line stops the command
before anything is printed, naming file, line and field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import click

from integration.cli.common import BadInput, read_lines

__all__ = ["answer"]


def _bad(errors: Sequence[str], what: str) -> BadInput:
    more = f" ({len(errors)} bad lines, the others listed above)" if len(errors) > 1 else ""
    for error in errors[1:20]:
        click.echo(error, err=True)
    return BadInput(f"{errors[0]}{more}; nothing {what}")


def _knowledge(path: str) -> list[Any]:
    """Every document of the knowledge file, or one error naming file, line and field."""
    from integration.answer import KnowledgeDoc
    from integration.errors import ValidationError

    docs: list[Any] = []
    errors: list[str] = []
    seen: dict[str, int] = {}
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            doc = KnowledgeDoc.from_dict(json.loads(line))
        except json.JSONDecodeError as err:
            errors.append(f"{path}:{number}: line: not valid JSON ({err.msg} at column "
                          f"{err.colno})")
            continue
        except ValidationError as err:
            errors.append(f"{path}:{number}: {err.field}: {err.message}")
            continue
        if doc.id in seen:
            errors.append(f"{path}:{number}: id: {doc.id!r} is already used on line "
                          f"{seen[doc.id]}")
            continue
        seen[doc.id] = number
        docs.append(doc)
    if errors:
        raise _bad(errors, "answered")
    if not docs:
        raise BadInput(f"{path}: no documents in the knowledge file; nothing answered")
    return docs


def _labels(lines: Sequence[str], source: str) -> list[Any]:
    """The expected behaviour of every labeled ticket line, or one error naming the field."""
    from integration.answer.evaluation import read_expected
    from integration.errors import ValidationError

    found, errors = [], []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            found.append(read_expected(json.loads(line)))
        except ValidationError as err:
            errors.append(f"{source}:{number}: {err.field}: {err.message}")
        except (json.JSONDecodeError, AttributeError):
            errors.append(f"{source}:{number}: line: not a JSON object")
    if errors:
        raise _bad(errors, "scored")
    return found


def _tickets(file: str | None) -> tuple[list[Any], list[str], str]:
    from integration.triage import parse_lines

    if file and file != "-":
        source, lines = file, read_lines(file)
    else:
        source, lines = "<stdin>", sys.stdin.read().splitlines()
    tickets, errors = parse_lines(lines, source=source)
    if errors:
        raise _bad([str(e) for e in errors], "answered")
    return tickets, lines, source


def _answers(tickets: Sequence[Any], docs: Sequence[Any], *,
             matrix_path: str | None) -> list[Any]:
    from integration.answer.answerer import Answerer
    from integration.answer.batch import answer_tickets
    from integration.answer.index import KnowledgeIndex
    from integration.cli.triage import _matrix
    from integration.decide import build_detector

    matrix = _matrix(matrix_path)
    return answer_tickets(tickets, Answerer(KnowledgeIndex.build(docs)), matrix=matrix,
                          detector=build_detector(matrix), now=datetime.now(UTC))


def _line(ticket: Any, found: Any) -> str:
    return json.dumps({
        "id": ticket.id,
        "answer": found.doc.id if found.doc is not None else None,
        "confidence": found.confidence,
        "reply": found.reply or None,
        "why": found.why,
        "suggestions": [s.doc_id for s in found.suggestions],
    }, ensure_ascii=False)


@click.command()
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--kb", "kb_path", required=True, type=click.Path(exists=True, dir_okay=False),
              help="The knowledge file: one article or macro per line (JSONL).")
@click.option("--matrix", "matrix_path", type=click.Path(exists=True, dir_okay=False),
              help="Matrix file (default: the packaged default.yaml).")
@click.option("--eval", "evaluate", is_flag=True,
              help="Score labeled tickets (expected.answer / .answerable / .must_go_to_person) "
                   "instead of printing one answer per ticket.")
@click.option("--json", "as_json", is_flag=True, help="With --eval, print the report as JSON.")
def answer(file: str | None, kb_path: str, matrix_path: str | None, evaluate: bool,
           as_json: bool) -> None:
    """Answer normalized tickets (JSONL, FILE or stdin) from a knowledge file, one line each.

    Prints {"id", "answer", "confidence", "reply", "why", "suggestions"} per ticket; "answer"
    is null when the ticket is left to a person.
    """
    from integration.answer.evaluation import Outcome, format_report, score

    docs = _knowledge(kb_path)
    tickets, lines, source = _tickets(file)
    labels = _labels(lines, source) if evaluate else []
    found = _answers(tickets, docs, matrix_path=matrix_path)
    if not evaluate:
        sys.stdout.write("".join(_line(t, a) + "\n" for t, a in zip(tickets, found, strict=True)))
        return
    report = score(Outcome(id=t.id, expected=e, sent=a.doc.id if a.doc else None,
                           confidence=a.confidence, why=a.why)
                   for t, e, a in zip(tickets, labels, found, strict=True))
    click.echo(json.dumps(report, indent=2) if as_json else format_report(report))
