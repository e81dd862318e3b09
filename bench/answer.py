"""Benchmark: answer time per ticket against a help centre of 5,000 articles.

Prints one JSON object: index build seconds, p50/p99/max milliseconds per ticket (retrieval, the
check, the confidence and the reply; triage is measured by bench/triage.py), the pickled index
size and the process's peak RSS. The articles are recombined from the development help centres
(tests/fixtures/answers_dev): paragraphs of articles of one section mixed, with new titles,
numbers and product names, so that no two are the same; the tickets are the development
tickets, cycled with their sentences shuffled.
"""

from __future__ import annotations

import json
import os
import pickle
import random
import resource
import sys
import time
from pathlib import Path
from typing import Any

# One ticket is answered on one core: BLAS threads would only fight the other workers for it.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integration.answer import DocKind, KnowledgeDoc  # noqa: E402
from integration.answer.answerer import Answerer  # noqa: E402
from integration.answer.index import KnowledgeIndex  # noqa: E402
from integration.models import Ticket  # noqa: E402

DEV = ROOT / "tests" / "fixtures" / "answers_dev"
ARTICLES = int(os.environ.get("BENCH_ARTICLES", "5000"))
TICKETS = int(os.environ.get("BENCH_TICKETS", "3000"))
_PRODUCTS = ("Northwind", "Bluepeak", "Corvid", "Larkspur", "Tessel", "Quillon", "Marlow")
_VARIANTS = ("for teams", "on mobile", "for admins", "in the EU", "for partners", "(legacy)",
             "step by step", "FAQ", "limits", "troubleshooting", "for accountants", "on web")


def _read(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for folder in sorted(DEV.iterdir()) if folder.is_dir()
            for line in (folder / name).read_text(encoding="utf-8").splitlines() if line.strip()]


def make_articles(count: int, seed: int = 11) -> list[KnowledgeDoc]:
    """Varied articles: each mixes paragraphs of two articles of the same section."""
    rng = random.Random(seed)
    bases = [KnowledgeDoc.from_dict(d) for d in _read("kb.jsonl")]
    by_section: dict[str | None, list[KnowledgeDoc]] = {}
    for doc in bases:
        by_section.setdefault(doc.section, []).append(doc)
    out = list(bases)
    while len(out) < count:
        first = rng.choice(bases)
        second = rng.choice(by_section[first.section])
        paragraphs = first.body.split("\n\n") + rng.sample(
            second.body.split("\n\n"), k=min(2, len(second.body.split("\n\n"))))
        rng.shuffle(paragraphs)
        body = "\n\n".join(paragraphs).replace("30", str(rng.randint(2, 400)))
        body = body.replace(" days", f" days ({rng.choice(_PRODUCTS)})", 1)
        n = len(out)
        out.append(KnowledgeDoc(
            id=f"bench-{n}", kind=DocKind.ARTICLE,
            title=f"{first.title} {rng.choice(_VARIANTS)} {rng.choice(_PRODUCTS)} {n}",
            body=body, url=f"https://help.example.com/articles/{n}", section=first.section))
    return out[:count]


def make_tickets(count: int, seed: int = 13) -> list[Ticket]:
    """The development tickets, cycled, each with its sentences in another order."""
    rng = random.Random(seed)
    bases = _read("tickets.jsonl")
    out = []
    for n in range(count):
        data = dict(rng.choice(bases))
        messages = [dict(m) for m in data["messages"]]
        sentences = messages[0]["body"].split(". ")
        rng.shuffle(sentences)
        messages[0]["body"] = ". ".join(sentences)
        data.update(id=f"bench-{n}", messages=messages)
        out.append(Ticket.from_dict(data))
    return out


def main() -> None:
    """Build the index, answer every ticket, print the figures as one JSON object."""
    docs = make_articles(ARTICLES)
    tickets = make_tickets(TICKETS)
    started = time.perf_counter()
    index = KnowledgeIndex.build(docs)
    build = time.perf_counter() - started
    answerer = Answerer(index)
    for ticket in tickets[:50]:
        answerer.answer(ticket)
    times = []
    answered = 0
    for ticket in tickets:
        started = time.perf_counter()
        found = answerer.answer(ticket)
        times.append((time.perf_counter() - started) * 1000)
        answered += found.doc is not None
    times.sort()
    print(json.dumps({
        "articles": len(docs),
        "passages": len(index.passages),
        "tickets": len(tickets),
        "answered": answered,
        "index_build_s": round(build, 2),
        "p50_ms": round(times[len(times) // 2], 2),
        "p99_ms": round(times[int(len(times) * 0.99)], 2),
        "max_ms": round(times[-1], 2),
        "index_pickle_mib": round(len(pickle.dumps(index)) / 2**20, 1),
        "rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }))


if __name__ == "__main__":
    main()
