"""Benchmark: full detection vs spaCy tokenization alone, on short and long tickets.

Prints one JSON object: tickets per second through ``Detector.detect`` (triggers, tone,
trained classifiers, error keys, severity, page context; no history) for 10,000 short and
2,000 long (email-length) tickets, beside the same texts through ``spacy.blank("en")``
tokenization alone, and the ratio. Aim: detection at least 1/15 of tokenization speed.
``reader`` is what the learned reader adds per ticket (its hit verdicts and intent search,
timed alone on the same texts), beside the share of tickets with a trigger match it reads.
"""

from __future__ import annotations

import json
import os
import random
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import spacy  # noqa: E402

from bench.triage import make_tickets  # noqa: E402
from integration import native  # noqa: E402
from integration.decide import build_detector  # noqa: E402
from integration.demo import demo_tickets  # noqa: E402
from integration.detect.reader import default_hit_reader, later_words  # noqa: E402
from integration.detect.text import clean_body, reader  # noqa: E402
from integration.detect.triggers import TriggerMatcher  # noqa: E402
from integration.matrix import default_matrix  # noqa: E402
from integration.models import Ticket  # noqa: E402

SHORT = int(os.environ.get("BENCH_SHORT", "10000"))
LONG = int(os.environ.get("BENCH_LONG", "2000"))


def long_tickets(count: int, seed: int = 11) -> list[Ticket]:
    """Email-length tickets: several demo threads' customer text in one quoted e-mail."""
    rng = random.Random(seed)
    bases = demo_tickets()
    out = []
    for n in range(count):
        picks = rng.sample(bases, 4)
        body = "\n\n".join(m.body for t in picks for m in t.customer_messages)
        body += "\n\nBest regards,\nDana\n-- \nSent from my phone\n\nOn Tue, Ops wrote:\n> earlier"
        base = picks[0]
        data = base.to_dict()
        created = base.created_at + timedelta(minutes=n)
        stamp = created.strftime("%Y-%m-%dT%H:%M:%SZ")
        data.update(id=str(500000 + n), created_at=stamp, updated_at=stamp,
                    messages=[{"id": f"l{n}", "author": "customer", "public": True,
                               "body": body, "created_at": stamp}])
        out.append(Ticket.from_dict(data))
    return out


def _texts(tickets: list[Ticket]) -> list[str]:
    return [t.subject + "\n" + "\n".join(m.body for m in t.messages) for t in tickets]


def measure(tickets: list[Ticket]) -> dict[str, float]:
    """Detection and tokenization rates for one set (after a warm-up pass)."""
    detector = build_detector(default_matrix())
    tokenizer = spacy.blank("en").tokenizer
    texts = _texts(tickets)
    for ticket in tickets[:200]:
        detector.detect(ticket)
    start = time.perf_counter()
    for ticket in tickets:
        detector.detect(ticket)
    detect_s = time.perf_counter() - start
    start = time.perf_counter()
    for text in texts:
        tokenizer(text)
    tokenize_s = time.perf_counter() - start
    words = sum(len(text.split()) for text in texts) / len(texts)
    return {
        "tickets": len(tickets),
        "mean_words": round(words, 1),
        "detect_per_second": round(len(tickets) / detect_s, 1),
        "tokenize_per_second": round(len(tickets) / tokenize_s, 1),
        "ratio": round(tokenize_s / detect_s, 4),
    }


def measure_reader(tickets: list[Ticket]) -> dict[str, float]:
    """Microseconds per ticket the learned reader adds: its verdicts and its intent search."""
    text_reader = reader()
    hit_reader = default_hit_reader()
    matcher = TriggerMatcher(text_reader, default_matrix().triggers)
    docs = [text_reader.read_all([clean_body(m.body) for m in t.customer_messages])
            for t in tickets]
    matches = [
        (doc, start, end, key, later_words(ticket_docs[n + 1 :]))
        for ticket_docs in docs
        for n, doc in enumerate(ticket_docs)
        for start, end, key, why in matcher.candidates(doc)
        if why is None and hit_reader.knows(doc, start, end, key)
    ]
    read = sum(1 for ticket_docs in docs if any(
        why is None and hit_reader.knows(doc, start, end, key)
        for doc in ticket_docs for start, end, key, why in matcher.candidates(doc)))
    start = time.perf_counter()
    for doc, lo, hi, key, later in matches:
        hit_reader.read(doc, lo, hi, key, later=later)
    verdicts_s = time.perf_counter() - start
    start = time.perf_counter()
    for ticket_docs in docs:
        for doc in ticket_docs:
            hit_reader.find_intents(doc)
    intents_s = time.perf_counter() - start
    return {
        "tickets_with_a_read_match": round(read / len(tickets), 3),
        "verdict_us_per_ticket": round(verdicts_s / len(tickets) * 1e6, 1),
        "intent_us_per_ticket": round(intents_s / len(tickets) * 1e6, 1),
        "us_per_ticket": round((verdicts_s + intents_s) / len(tickets) * 1e6, 1),
    }


def main() -> None:
    """Run both sets and print the figures."""
    short = [Ticket.from_dict(t) for t in make_tickets(SHORT)]
    result = {"benchmark": "detect", "native": native.status(), "short": measure(short),
              "long": measure(long_tickets(LONG)), "reader": measure_reader(short),
              "aim_ratio_at_least": round(1 / 15, 4)}
    print(json.dumps(result))


if __name__ == "__main__":
    main()
