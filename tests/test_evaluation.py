"""`escalade eval`: precision / recall / F1 per category, confusion, tiers, complaints."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from integration.cli.root import main
from integration.detect.training.evaluation import Expected, evaluate_decisions, prf
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
