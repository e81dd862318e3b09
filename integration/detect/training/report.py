"""Score labeled ticket sets, and write the README's table of how well Escalade reads tickets.

``escalade eval`` reads its files through ``read_labeled`` and scores them with
``evaluate_files``. Run as a module, this scores the development sets in
``tests/fixtures/eval`` and prints the Markdown tables; ``--write README.md`` puts them
between the README's ``<!-- eval-figures:start -->`` and ``<!-- eval-figures:end -->``
markers, so the figures are refreshed in one command::

    python -m integration.detect.training.report --write README.md
    python -m integration.detect.training.report --held-out --write README.md  # the final run

The development sets are a to e and g to k (``*.jsonl``, ``*_b.jsonl`` ... ``*_e.jsonl``,
``*_g.jsonl`` ... ``*_k.jsonl``); the held-out sets are l (``*_l.jsonl``), scored only with
``--held-out``: they are run once, at the end, and their rows read "not measured yet" until
then.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integration.decide import build_detector
from integration.detect import Detector
from integration.detect.training.evaluation import (
    Expected,
    evaluate_decisions,
    kind_order,
    summary_figures,
    trap_of,
)
from integration.errors import ValidationError
from integration.matrix import Matrix, default_matrix
from integration.models import Ticket
from integration.triage import LineError, parse_lines, triage_tickets

__all__ = [
    "GROUPS",
    "LabeledFile",
    "evaluate_files",
    "figures_markdown",
    "main",
    "read_labeled",
    "replace_between_markers",
]

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "fixtures" / "eval"
START = "<!-- eval-figures:start -->"
END = "<!-- eval-figures:end -->"
NOT_MEASURED = "not measured yet"


@dataclass(frozen=True, kw_only=True, slots=True)
class Group:
    """One kind of ticket, with its development files and its held-out files."""

    name: str
    dev: tuple[str, ...]
    held_out: tuple[str, ...]
    posts: bool = False  # complaint posts: labeled for complaint only, another convention


# Sets a to e and g to o have been looked at (c, d, e and g to o were each the held-out set
# once, and are spent; m was a posts-only one). Set p (``*_p.jsonl``, README_p.md, tickets
# only) was written apart on 2026-12-08, while set o joined the development sets, and is the
# held-out set of this round's last part.
_SETS = ("", "_b", "_c", "_d", "_e", "_g", "_h", "_i", "_j", "_k", "_l", "_n", "_o")
GROUPS = (
    Group(name="B2B SaaS", dev=tuple(f"b2b_saas{s}.jsonl" for s in _SETS),
          held_out=("b2b_saas_p.jsonl",)),
    Group(name="other industries", dev=tuple(f"other_industries{s}.jsonl" for s in _SETS),
          held_out=("other_industries_p.jsonl",)),
    Group(name="complaint posts",
          dev=("complaint_tweets_b.jsonl",
               *(f"complaint_posts{s}.jsonl" for s in ("_c", "_d", "_e", "_g", "_h", "_i", "_j",
                                                       "_k", "_l", "_m", "_n", "_o"))),
          held_out=(), posts=True),
)


@dataclass(frozen=True, kw_only=True, slots=True)
class LabeledFile:
    """The tickets of one labeled file and, line for line, their labels."""

    source: str
    tickets: list[Ticket]
    expected: list[Expected]


def read_labeled(lines: Sequence[str], *, source: str) -> tuple[LabeledFile, list[LineError]]:
    """Parse tickets and labels; every bad line is an error naming file, line and field."""
    tickets, errors = parse_lines(lines, source=source)
    expected: list[Expected] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError:
            continue  # parse_lines has named it
        if not isinstance(data, dict):
            continue
        try:
            labels = Expected.from_dict(data.get("expected"), kind=data.get("kind"))
        except ValidationError as err:
            errors.append(LineError(source=source, line=number, field=err.field,
                                    message=err.message))
            continue
        if labels.category is None and labels.tier is None and labels.complaint is None:
            # An unlabeled ticket scores nothing: a file of them printed an empty report.
            errors.append(LineError(source=source, line=number, field="expected",
                                    message="a labeled ticket needs an 'expected' object with "
                                            "its category, tier or complaint"))
            continue
        expected.append(labels)
    errors.sort(key=lambda error: error.line)
    return LabeledFile(source=source, tickets=tickets, expected=expected), errors


def evaluate_files(files: Sequence[LabeledFile], *, matrix: Matrix, detector: Detector,
                   now: datetime) -> dict[str, Any]:
    """One report over several files; each file is triaged on its own, as its own history."""
    rows = []
    for labeled in files:
        decisions = triage_tickets(labeled.tickets, matrix=matrix, detector=detector, now=now)
        rows += list(zip(labeled.expected, decisions, strict=True))
    return {"files": [labeled.source for labeled in files], **evaluate_decisions(rows)}


def _load(path: Path) -> LabeledFile:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise SystemExit(f"{path}: cannot read: {err}") from err
    labeled, errors = read_labeled(lines, source=str(path))
    if errors:
        raise SystemExit(f"{errors[0]} ({len(errors)} bad line(s))")
    return labeled


def _cell(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}"


def _figure_row(title: str, report: Mapping[str, Any] | None, posts: bool) -> str:
    if report is None:
        return f"| {title} | {NOT_MEASURED} | | | | |"
    figures = summary_figures(report)
    if posts:
        return f"| {title} ({report['tickets']} posts) | — | — | — | — | " \
               f"{_cell(figures['complaint F1'])} |"
    return (f"| {title} ({report['tickets']} tickets) | {_cell(figures['tier accuracy'])} | "
            f"{_cell(figures['Tier-3 precision'])} | {_cell(figures['Tier-3 recall'])} | "
            f"{_cell(figures['category macro-F1'])} | {_cell(figures['complaint F1'])} |")


def _kind_table(reports: Sequence[Mapping[str, Any] | None], *, posts: bool) -> list[str]:
    """One row per kind; per set its tickets, accuracy and (tickets) over / under."""
    measured = [r for r in reports if r is not None]
    kinds = kind_order({k for r in measured for k in r})
    names = ["development", "held out"][:len(measured)]
    if posts:
        head = ["kind"] + [f"{n}: {w}" for n in names for w in ("posts", "complaint accuracy")]
    else:
        head = ["kind", "trap"] + [f"{n}: {w}" for n in names
                                   for w in ("tickets", "tier accuracy", "over / under")]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in kinds:
        cells = [kind] if posts else [kind, trap_of(kind) or ""]
        for report in measured:
            entry = report.get(kind)
            if entry is None:
                cells += ["—"] * (2 if posts else 3)
            elif posts:
                cells += [str(entry["tickets"]), _cell(entry["complaint_accuracy"])]
            else:
                cells += [str(entry["tickets"]), _cell(entry["tier_accuracy"]),
                          f"{entry['over']} / {entry['under']}"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def figures_markdown(reports: Mapping[str, tuple[dict[str, Any], dict[str, Any] | None]]) -> str:
    """The README tables: headline figures per set, then accuracy per kind.

    ``reports`` maps a group name to its (development, held-out or None) reports.
    """
    lines = ["| set | tier accuracy | Tier-3 precision | Tier-3 recall | category macro-F1 "
             "| complaint F1 |", "|---|---|---|---|---|---|"]
    for group in GROUPS:
        if group.name in reports:
            dev, held_out = reports[group.name]
            lines.append(_figure_row(f"{group.name}, development", dev, group.posts))
            if group.held_out:  # a round may hold out no set of this kind
                lines.append(_figure_row(f"{group.name}, **held out**", held_out, group.posts))
    later = "" if _all_measured(reports) else " (held-out columns come with the final run)"
    tickets = [reports[g.name] for g in GROUPS if g.name in reports and not g.posts]
    if tickets:
        held = [h for _, h in tickets]
        lines += ["", f"Tickets of both kinds of business, per kind{later}:", ""]
        lines += _kind_table([_pooled_kinds(d for d, _ in tickets),
                              _pooled_kinds(held) if None not in held else None], posts=False)
    for group in GROUPS:
        if group.name in reports and group.posts:
            dev, held_out = reports[group.name]
            lines += ["", f"{group.name.capitalize()}, per kind{later}:", ""]
            lines += _kind_table([dev["by_kind"], held_out["by_kind"] if held_out else None],
                                 posts=True)
    return "\n".join(lines) + "\n"


def _all_measured(reports: Mapping[str, tuple[Any, Any | None]]) -> bool:
    return all(reports[g.name][1] is not None for g in GROUPS if g.name in reports and g.held_out)


def _pooled_kinds(reports: Any) -> dict[str, Any]:
    """Per-kind entries of several reports added up (accuracies weighted by tickets)."""
    pooled: dict[str, dict[str, Any]] = {}
    for report in reports:
        for kind, entry in report["by_kind"].items():
            into = pooled.setdefault(kind, {"tickets": 0, "hits": 0.0, "over": 0, "under": 0})
            into["tickets"] += entry["tickets"]
            into["hits"] += (entry["tier_accuracy"] or 0.0) * entry["tickets"]
            into["over"] += entry["over"]
            into["under"] += entry["under"]
    return {kind: {**entry, "tier_accuracy": round(entry["hits"] / entry["tickets"], 4)}
            for kind, entry in pooled.items()}


def replace_between_markers(text: str, table: str, *, source: str) -> str:
    """``text`` with what lies between the figures markers replaced by ``table``."""
    start, end = text.find(START), text.find(END)
    if start < 0 or end < start:
        raise SystemExit(f"{source}: no {START} ... {END} markers to put the figures between")
    return text[:start + len(START)] + "\n" + table + text[end:]


def _measure(data: Path, held_out: bool) -> dict[str, tuple[dict[str, Any], dict[str, Any] | None]]:
    matrix, now = default_matrix(), datetime.now(UTC)
    detector = build_detector(matrix)
    reports: dict[str, tuple[dict[str, Any], dict[str, Any] | None]] = {}
    for group in GROUPS:
        dev = evaluate_files([_load(data / name) for name in group.dev], matrix=matrix,
                             detector=detector, now=now)
        later = (evaluate_files([_load(data / name) for name in group.held_out], matrix=matrix,
                                detector=detector, now=now)
                 if held_out and group.held_out else None)
        reports[group.name] = (dev, later)
    return reports


def main(argv: Sequence[str] | None = None) -> int:
    """Print (or write into a README) the figures table of the labeled sets."""
    parser = argparse.ArgumentParser(prog="python -m integration.detect.training.report",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, default=DATA,
                        help="folder of the labeled files (default: tests/fixtures/eval)")
    parser.add_argument("--held-out", action="store_true",
                        help="also score the held-out sets, e (once, for the final figures)")
    parser.add_argument("--write", type=Path, metavar="README",
                        help="replace the table between the figures markers of this file")
    args = parser.parse_args(argv)
    table = figures_markdown(_measure(args.data, args.held_out))
    if args.write is None:
        sys.stdout.write(table)
        return 0
    try:
        text = args.write.read_text(encoding="utf-8")
    except OSError as err:
        raise SystemExit(f"{args.write}: cannot read: {err}") from err
    args.write.write_text(replace_between_markers(text, table, source=str(args.write)),
                          encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
