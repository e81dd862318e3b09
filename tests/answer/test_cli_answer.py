"""``escalade answer``: one line per ticket, no server or database; bad lines stop it whole."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from integration.cli.root import main
from tests.answer.conftest import KB, ticket_data

KEYS = {"id", "answer", "confidence", "reply", "why", "suggestions"}


def _lines(*tickets: dict[str, object]) -> str:
    return "".join(json.dumps(t) + "\n" for t in tickets)


def _run(args: list[str], stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, args, input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_answers_from_stdin_one_line_per_ticket_in_input_order() -> None:
    tickets = [
        ticket_data("I forgot the password I use to sign in. How do I get a new one?", id="a1",
                    created_at="2026-11-02T10:00:00Z", updated_at="2026-11-02T10:00:00Z"),
        ticket_data("Could you please extend our free trial by two weeks?", id="a2"),
        ticket_data("How do I reset my password?", id="a3", health=0.2),
    ]
    code, out, _ = _run(["answer", "--kb", str(KB)], _lines(*tickets))
    assert code == 0
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == ["a1", "a2", "a3"]
    assert all(set(r) == KEYS for r in rows)
    assert rows[0]["answer"] == "art-1" and "Forgot password" in rows[0]["reply"]
    assert rows[1]["answer"] is None and rows[1]["reply"] is None
    # Asking for something done on the account is never answered, whatever its tier.
    assert rows[1]["why"] in {"it is a Tier 3 ticket: a person handles it",
                              "the customer asks us to do something on the account, not for "
                              "information"}
    assert rows[2]["answer"] is None and rows[2]["why"].startswith("the account is at risk")


def test_a_ticket_file_is_read_too(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    path.write_text(_lines(ticket_data("How long are audit log entries kept on the Pro plan?")),
                    encoding="utf-8")
    code, out, _ = _run(["answer", "--kb", str(KB), str(path)])
    assert code == 0 and json.loads(out)["answer"] == "art-6"


@pytest.mark.parametrize(("line", "error"), [
    ('{"id": "x", "kind": "article", "body": "B"}', "kb.jsonl:2: title: is required"),
    ('{"id": "x", "kind": "faq", "title": "T", "body": "B"}', "kb.jsonl:2: kind: 'faq' is not"),
    ('{"id": "art-1", "kind": "article", "title": "T", "body": "B"}',
     "kb.jsonl:2: id: 'art-1' is already used on line 1"),
    ("{not json", "kb.jsonl:2: line: not valid JSON"),
])
def test_a_bad_knowledge_line_is_one_error_naming_file_line_and_field(
        tmp_path: Path, line: str, error: str) -> None:
    kb = tmp_path / "kb.jsonl"
    first = KB.read_text(encoding="utf-8").splitlines()[0]
    kb.write_text(f"{first}\n{line}\n", encoding="utf-8")
    code, out, err = _run(["answer", "--kb", str(kb)], _lines(ticket_data("How?")))
    assert code == 2 and out == ""
    assert error in err and "nothing answered" in err
    assert len(err.strip().splitlines()) == 1


def test_a_bad_ticket_line_stops_before_anything_is_printed() -> None:
    good = ticket_data("How do I reset my password?", id="ok")
    bad = ticket_data("How?", id="bad")
    bad["messages"] = "not a list"
    code, out, err = _run(["answer", "--kb", str(KB)], _lines(good, bad))
    assert code == 2 and out == ""
    assert "<stdin>:2: messages:" in err and "nothing answered" in err


def test_eval_scores_labeled_tickets(tmp_path: Path) -> None:
    right = ticket_data("I forgot the password I use to sign in. How do I get a new one?", id="r",
                        expected={"answerable": True, "answer": "art-1",
                                  "must_go_to_person": False}, kind="answerable")
    person = ticket_data("Please extend our trial.", id="p",
                         expected={"answerable": True, "answer": "art-7",
                                   "must_go_to_person": True}, kind="must_go_to_person")
    path = tmp_path / "labeled.jsonl"
    path.write_text(_lines(right, person), encoding="utf-8")
    code, out, _ = _run(["answer", "--eval", "--json", "--kb", str(KB), str(path)])
    assert code == 0
    report = json.loads(out)
    assert (report["answered"], report["right"], report["precision"]) == (1, 1, 1.0)
    assert report["answered_must_go_to_person"] == 0
    assert report["by_kind"]["must_go_to_person"]["answered"] == 0


def test_eval_names_a_missing_label(tmp_path: Path) -> None:
    path = tmp_path / "labeled.jsonl"
    path.write_text(_lines(ticket_data("How?")), encoding="utf-8")
    code, out, err = _run(["answer", "--eval", "--kb", str(KB), str(path)])
    assert code == 2 and out == ""
    assert "labeled.jsonl:1: expected:" in err
