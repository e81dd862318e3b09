"""Measure detection on the Bitext customer-support sample and print JSON.

    python -m integration.detect.measure [BITEXT_CSV]

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

from integration.detect.detector import default_detector
from integration.models import Author, Category, Channel, Message, Person, Priority, Status, Ticket

__all__ = ["INTENT_MAP", "macro_f1", "main", "measure"]

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
    repo = Path(__file__).resolve().parents[2]
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


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: print the measurement as JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("csv", nargs="?", type=Path, default=default_path())
    args = parser.parse_args(argv)
    if not args.csv.exists():
        print(f"Bitext sample not found at {args.csv}", file=sys.stderr)
        return 2
    print(json.dumps(measure(args.csv), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
