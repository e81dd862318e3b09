"""Measure detection and print JSON: on the Bitext sample, or on a labeled ticket set.

    python -m integration.detect.training.measure [BITEXT_CSV]
    python -m integration.detect.training.measure --tickets TICKETS.jsonl \
        --expected EXPECTED.jsonl [-v]

Labeled sets (the demo workspace, the tricky fixtures) are triaged in one run, oldest first,
with the earlier tickets as history, as ``escalade triage`` does, so repeat contacts count.
They report tier and category accuracy, Tier-3 precision/recall and complaint F1 (complaint
is read as ``Signals.frustrated``); ``-v`` lists every miss.

Category: Bitext intents mapped to our categories (``INTENT_MAP``; physical shipping and
contact-us intents become ``other``), macro-F1 over the categories present. Tone: rows tagged
W (offensive language) or with intent ``complaint`` are frustration positives; we report
precision/recall/F1 of ``Signals.frustrated`` and the mean sentiment of both groups. Bitext is
B2C and generated, so treat these figures as a smoke check, not as the quality on real tickets.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from integration.decide import decide
from integration.demo import parse_expected, parse_tickets
from integration.detect.detector import Detector, default_detector
from integration.matrix import default_matrix
from integration.models import Author, Category, Channel, Message, Person, Priority, Status, Ticket
from integration.triage import HistoryIndex

__all__ = ["INTENT_MAP", "macro_f1", "main", "measure", "measure_labeled"]

INTENT_MAP: Mapping[str, Category] = {
    "create_account": Category.ONBOARDING,
    "delete_account": Category.CANCELLATION,
    "edit_account": Category.HOW_TO,
    "recover_password": Category.ACCOUNT_ACCESS,
    "registration_problems": Category.ACCOUNT_ACCESS,
    "switch_account": Category.BILLING,
    "check_cancellation_fee": Category.CANCELLATION,
    "contact_customer_service": Category.OTHER,
    "contact_human_agent": Category.OTHER,
    "delivery_options": Category.OTHER,
    "delivery_period": Category.OTHER,
    "complaint": Category.OTHER,
    "review": Category.FEATURE_REQUEST,
    "check_invoice": Category.BILLING,
    "get_invoice": Category.BILLING,
    "newsletter_subscription": Category.HOW_TO,
    "cancel_order": Category.CANCELLATION,
    "change_order": Category.BILLING,
    "place_order": Category.BILLING,
    "track_order": Category.OTHER,
    "check_payment_methods": Category.BILLING,
    "payment_issue": Category.BILLING,
    "check_refund_policy": Category.REFUND,
    "get_refund": Category.REFUND,
    "track_refund": Category.REFUND,
    "change_shipping_address": Category.HOW_TO,
    "set_up_shipping_address": Category.HOW_TO,
}
_NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def default_path() -> Path:
    """Where the shared data folder keeps the Bitext sample, relative to the repository."""
    repo = Path(__file__).resolve().parents[3]
    return (
        repo
        / ".."
        / "shared"
        / "data"
        / "bitext-customer-support"
        / "Bitext_Sample_Customer_Support_Training_Dataset.csv"
    )


def _ticket(i: int, text: str) -> Ticket:
    return Ticket(
        tenant="bitext",
        helpdesk="csv",
        id=str(i),
        subject="",
        status=Status.NEW,
        priority=Priority.NORMAL,
        channel=Channel.WEB,
        created_at=_NOW,
        updated_at=_NOW,
        requester=Person(id=f"r{i}"),
        messages=(Message(id="m1", author=Author.CUSTOMER, body=text, created_at=_NOW),),
    )


def macro_f1(gold: Iterable[str], pred: Iterable[str]) -> tuple[float, dict[str, float]]:
    """Macro-F1 over the gold labels, and F1 per label."""
    pairs = list(zip(gold, pred, strict=True))
    labels = sorted({g for g, _ in pairs})
    per: dict[str, float] = {}
    for label in labels:
        tp = sum(1 for g, p in pairs if g == label and p == label)
        fp = sum(1 for g, p in pairs if g != label and p == label)
        fn = sum(1 for g, p in pairs if g == label and p != label)
        prec = tp / (tp + fp) if tp + fp else 0.0
        rec = tp / (tp + fn) if tp + fn else 0.0
        per[label] = round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0
    return round(sum(per.values()) / len(per), 3), per


def measure(path: Path) -> dict[str, Any]:
    """Run the default detector over every Bitext row and summarize."""
    with path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    detector = default_detector()
    gold: list[str] = []
    pred: list[str] = []
    tp = fp = fn = 0
    pos_scores: list[float] = []
    neg_scores: list[float] = []
    polite_negative = polite = 0
    started = time.perf_counter()
    for i, row in enumerate(rows):
        signals = detector.detect(_ticket(i, row["instruction"]))
        gold.append(INTENT_MAP[row["intent"]].value)
        pred.append(signals.category.value)
        positive = "W" in row["tags"] or row["intent"] == "complaint"
        (pos_scores if positive else neg_scores).append(signals.sentiment)
        tp += positive and signals.frustrated
        fp += (not positive) and signals.frustrated
        fn += positive and not signals.frustrated
        if "P" in row["tags"] and not positive:
            polite += 1
            polite_negative += signals.sentiment < -0.05
    elapsed = time.perf_counter() - started
    macro, per_label = macro_f1(gold, pred)
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    confusion = Counter(f"{g}->{p}" for g, p in zip(gold, pred, strict=True) if g != p)
    return {
        "rows": len(rows),
        "tickets_per_second": round(len(rows) / elapsed),
        "category": {
            "macro_f1": macro,
            "accuracy": round(sum(g == p for g, p in zip(gold, pred, strict=True)) / len(rows), 3),
            "f1_per_category": per_label,
            "top_confusions": dict(confusion.most_common(8)),
        },
        "frustration": {
            "positives": tp + fn,
            "precision": round(prec, 3),
            "recall": round(rec, 3),
            "f1": round(2 * prec * rec / (prec + rec), 3) if prec + rec else 0.0,
            "mean_sentiment_positives": round(sum(pos_scores) / max(1, len(pos_scores)), 3),
            "mean_sentiment_others": round(sum(neg_scores) / max(1, len(neg_scores)), 3),
            "polite_rows_scored_negative": f"{polite_negative}/{polite}",
        },
    }


def _prf(tp: int, fp: int, fn: int) -> dict[str, Any]:
    prec = tp / (tp + fp) if tp + fp else 0.0
    rec = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
    return {"tp": tp, "fp": fp, "fn": fn, "precision": round(prec, 3), "recall": round(rec, 3),
            "f1": round(f1, 3)}


def measure_labeled(
    tickets_path: Path, expected_path: Path, *, misses: bool = False
) -> dict[str, Any]:
    """Triage a labeled ticket set in one run and compare tier, category and complaint."""
    tickets = parse_tickets(tickets_path.read_text(encoding="utf-8").splitlines(),
                            source=str(tickets_path))
    expected = parse_expected(expected_path.read_text(encoding="utf-8").splitlines(),
                              source=str(expected_path))
    matrix = default_matrix()
    detector = Detector(triggers=matrix.triggers)
    history = HistoryIndex()
    rows: list[dict[str, Any]] = []
    for ticket in sorted(tickets, key=lambda t: t.created_at):
        signals, decision, *_ = decide(ticket, history.related(ticket), matrix=matrix,
                                      detector=detector, now=_NOW)
        history.add(ticket)
        if ticket.id in expected:
            rows.append({"id": ticket.id, "gold": expected[ticket.id], "tier": int(decision.tier),
                         "category": signals.category.value, "complaint": signals.frustrated,
                         "rules": [h.rule_id for h in decision.rules],
                         "triggers": list(signals.trigger_ids)})
    n = len(rows)
    counts: Counter[str] = Counter()
    for r in rows:
        gold_t3, pred_t3 = r["gold"]["tier"] == 3, r["tier"] == 3
        gold_c, pred_c = r["gold"]["complaint"], r["complaint"]
        counts["tier"] += r["tier"] == r["gold"]["tier"]
        counts["category"] += r["category"] == r["gold"]["category"]
        counts["t3_tp"] += gold_t3 and pred_t3
        counts["t3_fp"] += pred_t3 and not gold_t3
        counts["t3_fn"] += gold_t3 and not pred_t3
        counts["c_tp"] += gold_c and pred_c
        counts["c_fp"] += pred_c and not gold_c
        counts["c_fn"] += gold_c and not pred_c
    out: dict[str, Any] = {
        "tickets": n,
        "tier_accuracy": round(counts["tier"] / max(1, n), 3),
        "category_accuracy": round(counts["category"] / max(1, n), 3),
        "tier_3": _prf(counts["t3_tp"], counts["t3_fp"], counts["t3_fn"]),
        "complaint": _prf(counts["c_tp"], counts["c_fp"], counts["c_fn"]),
    }
    if misses:
        out["misses"] = [
            {"id": r["id"], "tier": f"{r['tier']} (want {r['gold']['tier']})",
             "category": f"{r['category']} (want {r['gold']['category']})",
             "complaint": f"{r['complaint']} (want {r['gold']['complaint']})",
             "rules": r["rules"], "triggers": r["triggers"]}
            for r in rows
            if r["tier"] != r["gold"]["tier"] or r["category"] != r["gold"]["category"]
            or r["complaint"] != r["gold"]["complaint"]
        ]
    return out


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the measurement as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=default_path())
    parser.add_argument("--tickets", type=Path, help="labeled set: tickets JSONL")
    parser.add_argument("--expected", type=Path, help="labeled set: expected JSONL")
    parser.add_argument("-v", "--verbose", action="store_true", help="list every miss")
    args = parser.parse_args(argv)
    if (args.tickets is None) != (args.expected is None):
        parser.error("--tickets and --expected go together")
    if args.tickets is not None:
        for path in (args.tickets, args.expected):
            if not path.exists():
                print(f"{path} not found", file=sys.stderr)
                return 2
        print(json.dumps(measure_labeled(args.tickets, args.expected, misses=args.verbose),
                         indent=2))
        return 0
    if not args.csv.exists():
        print(f"Bitext sample not found at {args.csv}", file=sys.stderr)
        return 2
    print(json.dumps(measure(args.csv), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
