"""`escalade eval`: precision / recall / F1 per category, confusion, tiers, complaints, kinds;
several labeled sets side by side; bad labels named by file, line and field."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration.cli.root import main
from integration.detect.training.evaluation import (
    Expected,
    evaluate_decisions,
    format_report,
    format_side_by_side,
    prf,
)
from integration.errors import ValidationError
from integration.models import Category, Decision, Priority, Tier
from tests.conftest import make_ticket


def _decision(ticket_id: str, category: Category, tier: int, sentiment: float) -> Decision:
    return Decision(ticket_id=ticket_id, tier=Tier(tier), priority=Priority.NORMAL,
                    category=category, sentiment=sentiment, triggers=(), rules=(),
                    matrix_version="v1-test")


def test_prf_by_hand() -> None:
    assert prf(2, 1, 1) == {"precision": 0.6667, "recall": 0.6667, "f1": 0.6667}
    assert prf(0, 0, 0) == {"precision": 0.0, "recall": 0.0, "f1": 0.0}


def test_report_counts_categories_tiers_and_complaints() -> None:
    rows = [
        (Expected(category="billing", tier=2, complaint=False),
         _decision("1", Category.BILLING, 2, 0.1)),
        (Expected(category="billing", tier=3, complaint=True),
         _decision("2", Category.REFUND, 3, -0.5)),
        (Expected(category="refund", tier=3, complaint=True),
         _decision("3", Category.REFUND, 2, 0.0)),
    ]
    report = evaluate_decisions(rows)
    billing = report["category"]["per_class"]["billing"]
    refund = report["category"]["per_class"]["refund"]
    assert (billing["precision"], billing["recall"], billing["support"]) == (1.0, 0.5, 2)
    assert (refund["precision"], refund["recall"]) == (0.5, 1.0)
    assert report["category"]["macro_f1"] == round((0.6667 + 0.6667) / 2, 4)
    assert report["category"]["confusion"]["billing"] == {"billing": 1, "refund": 1}
    assert report["tier"]["accuracy"] == round(2 / 3, 4)
    assert report["tier"]["tier3"] == {"precision": 1.0, "recall": 0.5, "f1": 0.6667}
    assert report["complaint"]["recall"] == 0.5 and report["complaint"]["precision"] == 1.0
    assert [m["id"] for m in report["misses"]] == ["2", "3"]


def test_eval_command_prints_the_table_and_json(tmp_path: Path) -> None:
    path = tmp_path / "labeled.jsonl"
    lines = [
        {**make_ticket(id="1"), "expected": {"category": "how_to", "tier": 1,
                                              "complaint": False}},
        {**make_ticket(id="2", messages=[{
            "id": "m1", "author": "customer", "public": True,
            "body": "This is unacceptable. I want a full refund of last month's charge NOW.",
            "created_at": "2026-11-02T09:14:00Z"}]),
         "expected": {"category": "refund", "tier": 3, "complaint": True}},
    ]
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    table = CliRunner().invoke(main, ["eval", str(path)])
    assert table.exit_code == 0, table.output
    assert "macro-F1" in table.stdout and "confusion" in table.stdout
    assert "tier: n=2" in table.stdout
    as_json = CliRunner().invoke(main, ["eval", str(path), "--json"])
    report = json.loads(as_json.stdout)
    assert report["category"]["n"] == 2 and report["tier"]["n"] == 2
    assert report["category"]["per_class"]["refund"]["support"] == 1


# --- kinds, several sets side by side, bad input -------------------------------------------

def _kind_rows() -> list[tuple[Expected, Decision]]:
    """Six tickets with known answers: negated 1 right + 1 over, calm_churn 1 under, ..."""
    return [
        (Expected(category="billing", tier=2, kind="negated"),
         _decision("n1", Category.BILLING, 2, 0.0)),
        (Expected(category="billing", tier=2, kind="negated"),
         _decision("n2", Category.CANCELLATION, 3, 0.0)),
        (Expected(category="billing", tier=3, kind="calm_churn"),
         _decision("c1", Category.BILLING, 2, 0.0)),
        (Expected(category="how_to", tier=1, complaint=False, kind="plain"),
         _decision("p1", Category.HOW_TO, 1, 0.2)),
        (Expected(complaint=True, kind="sarcasm"), _decision("s1", Category.OTHER, 1, 0.1)),
        (Expected(category="bug", tier=2), _decision("u1", Category.BUG, 2, 0.0)),
    ]


def test_each_kind_gets_its_tier_accuracy_and_which_way_it_missed() -> None:
    by_kind = evaluate_decisions(_kind_rows())["by_kind"]
    assert set(by_kind) == {"negated", "calm_churn", "plain", "sarcasm"}  # no kind, no row
    assert by_kind["negated"] == {"tickets": 2, "trap": "over", "tier_accuracy": 0.5,
                                  "over": 1, "under": 0, "complaint_accuracy": None}
    assert by_kind["calm_churn"] == {"tickets": 1, "trap": "under", "tier_accuracy": 0.0,
                                     "over": 0, "under": 1, "complaint_accuracy": None}
    assert by_kind["plain"]["trap"] is None and by_kind["plain"]["complaint_accuracy"] == 1.0
    # A post labeled for complaint only has no tier to score.
    assert by_kind["sarcasm"]["tier_accuracy"] is None
    assert by_kind["sarcasm"]["complaint_accuracy"] == 0.0


def test_a_miss_names_its_kind() -> None:
    misses = {m["id"]: m for m in evaluate_decisions(_kind_rows())["misses"]}
    assert misses["n2"] == {"id": "n2", "category": ["billing", "cancellation"], "tier": [2, 3],
                            "kind": "negated"}
    assert set(misses) == {"n2", "c1", "s1"}


def test_the_text_report_lists_kinds_traps_first_plain_last() -> None:
    text = format_report(evaluate_decisions(_kind_rows()))
    kinds = [line.split()[0] for line in text.splitlines()[-4:]]
    assert kinds == ["negated", "calm_churn", "sarcasm", "plain"]
    assert "negated (over)" in text and "calm_churn (under)" in text


def test_side_by_side_puts_each_figure_of_both_sets_on_one_line() -> None:
    dev = evaluate_decisions(_kind_rows())
    held_out = evaluate_decisions(_kind_rows()[:2])
    lines = format_side_by_side({"dev": dev, "held-out": held_out}).splitlines()
    assert lines[0].split() == ["dev", "held-out"]
    rows = {line[:34].strip(): line[34:].split() for line in lines[1:]}
    assert rows["tickets"] == ["6", "2"]
    assert rows["tier accuracy"] == [f"{dev['tier']['accuracy']:.3f}", "0.500"]
    assert rows["Tier-3 precision"] == ["0.000", "0.000"]
    assert rows["Tier-3 recall"] == ["0.000", "0.000"]
    assert rows["category macro-F1"][1] == f"{held_out['category']['macro_f1']:.3f}"
    assert rows["complaint F1"] == ["0.000", "—"]  # the second set has no complaint labels
    # tier accuracy, tickets, over/under, per set
    assert rows["negated (over)"] == ["0.500", "2", "1/0", "0.500", "2", "1/0"]
    assert rows["calm_churn (under)"] == ["0.000", "1", "0/1", "—"]


@pytest.mark.parametrize(("expected", "kind", "field"), [
    ({"tier": 4}, None, "expected.tier"),
    ({"tier": "2"}, None, "expected.tier"),
    ({"tier": True}, None, "expected.tier"),
    ({"category": "refunds"}, None, "expected.category"),
    ({"complaint": "yes"}, None, "expected.complaint"),
    ("billing", None, "expected"),
    ({}, "Negated", "kind"),
    ({}, 3, "kind"),
])
def test_bad_labels_name_the_field(expected: Any, kind: Any, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Expected.from_dict(expected, kind=kind)
    assert caught.value.field == field


def _labeled(tmp_path: Path, name: str, rows: list[dict[str, Any]]) -> Path:
    path = tmp_path / name
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def _how_to(ticket_id: str, tier: int, kind: str | None) -> dict[str, Any]:
    row = {**make_ticket(id=ticket_id, requester={"id": f"r{ticket_id}", "name": "Dana",
                                                  "email": f"r{ticket_id}@bigco.example"}),
           "expected": {"category": "how_to", "tier": tier, "complaint": False}}
    return {**row, "kind": kind} if kind else row


def test_eval_prints_development_and_held_out_side_by_side(tmp_path: Path) -> None:
    # The how-to is decided Tier 1: right where labeled 1, one tier low where labeled 2.
    dev = _labeled(tmp_path, "dev.jsonl", [_how_to("1", 1, "plain"), _how_to("2", 2, "tone_only")])
    more = _labeled(tmp_path, "dev2.jsonl", [_how_to("3", 1, "negated")])
    held = _labeled(tmp_path, "held.jsonl", [_how_to("4", 2, "negated"), _how_to("5", 1, None)])
    args = ["eval", str(dev), str(more), "--held-out", str(held)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["dev", "held-out"]
    rows = {line[:34].strip(): line[34:].split() for line in lines[1:]}
    assert rows["tickets"] == ["3", "2"]
    assert rows["tier accuracy"] == ["0.667", "0.500"]
    assert rows["negated (over)"] == ["1.000", "1", "0/0", "0.000", "1", "0/1"]
    assert rows["tone_only"] == ["0.000", "1", "0/1", "—"]
    report = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert list(report["sets"]) == ["dev", "held-out"]
    assert report["sets"]["dev"]["files"] == [str(dev), str(more)]
    assert report["sets"]["held-out"]["by_kind"] == {"negated": {
        "tickets": 1, "trap": "over", "tier_accuracy": 0.0, "over": 0, "under": 1,
        "complaint_accuracy": 1.0}}


def test_eval_of_one_file_keeps_its_report_and_adds_kinds(tmp_path: Path) -> None:
    path = _labeled(tmp_path, "one.jsonl", [_how_to("1", 1, "plain"), _how_to("2", 2, None)])
    report = json.loads(CliRunner().invoke(main, ["eval", str(path), "--json"]).stdout)
    assert report["tier"]["n"] == 2 and "misses" not in report
    assert report["by_kind"] == {"plain": {"tickets": 1, "trap": None, "tier_accuracy": 1.0,
                                           "over": 0, "under": 0, "complaint_accuracy": 1.0}}
    text = CliRunner().invoke(main, ["eval", str(path), "--misses"]).stdout
    assert '{"id": "2", "tier": [2, 1]}' in text


def _one_error_line(result: Any) -> str:
    """The CLI's last stderr line: where the one-line error is."""
    return str(result.stderr.strip().splitlines()[-1])


def test_eval_names_file_line_and_field_of_a_bad_label(tmp_path: Path) -> None:
    good = _how_to("1", 1, "plain")
    bad_tier = {**_how_to("2", 1, None), "expected": {"tier": 5}}
    path = _labeled(tmp_path, "bad.jsonl", [good, bad_tier, {**good, "kind": "Not A Kind"}])
    result = CliRunner().invoke(main, ["eval", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert _one_error_line(result).startswith(f"Error: {path}:2: expected.tier: must be 1, 2 or 3")
    assert f"{path}:3: kind: " in result.stderr


@pytest.mark.parametrize("expected", [None, {}, {"note": "no label"}])
def test_eval_refuses_tickets_without_labels(tmp_path: Path, expected: Any) -> None:
    # Unlabeled tickets used to print an empty report and exit 0.
    row = make_ticket(id="1")
    if expected is not None:
        row = {**row, "expected": expected}
    path = _labeled(tmp_path, "plain.jsonl", [_how_to("0", 1, "plain"), row])
    result = CliRunner().invoke(main, ["eval", str(path)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert _one_error_line(result) == (
        f"Error: {path}:2: expected: a labeled ticket needs an 'expected' object with its "
        "category, tier or complaint; nothing scored")


def test_eval_refuses_a_file_given_as_both_development_and_held_out(tmp_path: Path) -> None:
    path = _labeled(tmp_path, "one.jsonl", [_how_to("1", 1, "plain")])
    result = CliRunner().invoke(main, ["eval", str(path), "--held-out", str(path)])
    assert result.exit_code == 2
    assert "--held-out" in result.stderr and str(path) in result.stderr


def test_eval_needs_a_file() -> None:
    result = CliRunner().invoke(main, ["eval"])
    assert result.exit_code == 2
    assert "FILE" in _one_error_line(result)


def test_posts_labeled_for_complaint_only_show_no_tier_or_category_section() -> None:
    rows = [(Expected(complaint=True, kind="sarcasm"), _decision("s1", Category.OTHER, 1, -0.2))]
    text = format_report(evaluate_decisions(rows))
    assert "tier:" not in text and "confusion" not in text
    assert text.splitlines()[0].startswith("complaint (sentiment < 0): n=1")
    assert text.splitlines()[-1].split() == ["sarcasm", "1", "—", "—", "—", "1.000"]
