"""Benchmark: tickets per second of ``escalade triage`` on 10,000 short tickets.

Prints one JSON object, with how fast spaCy's blank English tokenizer alone goes through the
same texts in one process (the floor any reading of them is compared with). The tickets are
made from the demo workspace's messages with new ids, requesters and shuffled sentences, so
nothing is cached between them.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integration import native  # noqa: E402
from integration.demo import demo_tickets  # noqa: E402

COUNT = int(os.environ.get("BENCH_TICKETS", "10000"))


def make_tickets(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Short tickets (one or two sentences) with fresh ids and requesters."""
    rng = random.Random(seed)
    bases = demo_tickets()
    out = []
    for n in range(count):
        base = rng.choice(bases)
        data = base.to_dict()
        body = " ".join(m.body for m in base.customer_messages) or base.subject
        sentences = [s.strip() for s in body.replace("\n", " ").split(". ") if s.strip()]
        rng.shuffle(sentences)
        short = ". ".join(sentences[: rng.randint(1, 2)])[:280]
        created = base.created_at + timedelta(minutes=n)
        data.update(
            id=str(100000 + n),
            requester={"id": f"u{n % 3000}", "email": f"user{n % 3000}@example.com", "name": None},
            messages=[{"id": f"m{n}", "author": "customer", "public": True, "body": short,
                       "created_at": created.strftime("%Y-%m-%dT%H:%M:%SZ")}],
            created_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
            updated_at=created.strftime("%Y-%m-%dT%H:%M:%SZ"),
        )
        out.append(data)
    return out


def spacy_tokenization_rate(tickets: list[dict[str, Any]]) -> float:
    """Tickets per second that ``spacy.blank("en")`` alone tokenizes (subject and messages)."""
    import spacy

    tokenizer = spacy.blank("en").tokenizer
    texts = [
        "\n\n".join([t["subject"], *(m["body"] for m in t["messages"])]) for t in tickets
    ]
    start = time.perf_counter()
    for text in texts:
        tokenizer(text)
    return len(texts) / (time.perf_counter() - start)


def main() -> None:
    """Run ``escalade triage`` on the generated file and report throughput."""
    tickets = make_tickets(COUNT)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "tickets.jsonl"
        path.write_text("".join(json.dumps(t) + "\n" for t in tickets))
        cmd = [sys.executable, "-m", "integration.cli", "triage", str(path)]
        start = time.perf_counter()
        done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, check=True)
        wall = time.perf_counter() - start
        lines = done.stdout.count("\n")
        # The same command on one ticket measures the fixed start-up cost (imports, model load).
        one = Path(tmp) / "one.jsonl"
        one.write_text(json.dumps(tickets[0]) + "\n")
        start = time.perf_counter()
        subprocess.run([*cmd[:-1], str(one)], cwd=ROOT, capture_output=True, check=True)
        startup = time.perf_counter() - start
    spacy_rate = spacy_tokenization_rate(tickets)
    tiers: dict[str, int] = {}
    for line in done.stdout.splitlines():
        tier = json.loads(line)["tier"]
        tiers[tier] = tiers.get(tier, 0) + 1
    print(json.dumps({
        "benchmark": "triage",
        # Whether the hot modules ran compiled (``make install`` builds them) or as Python.
        "native": native.status(),
        "tickets": COUNT,
        "decisions": lines,
        "wall_seconds": round(wall, 3),
        "tickets_per_second": round(COUNT / wall, 1),
        "startup_seconds": round(startup, 3),
        "steady_tickets_per_second": round(COUNT / max(wall - startup, 1e-9), 1),
        "tiers": tiers,
        "target_tickets_per_second": 2000,
        "spacy_blank_en_tokenized_per_second": round(spacy_rate, 1),
        "share_of_spacy_tokenization": round(COUNT / wall / spacy_rate, 4),
        "target_share_of_spacy_tokenization": round(1 / 15, 4),
    }))


if __name__ == "__main__":
    main()
