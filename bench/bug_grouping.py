"""Benchmark: incremental bug grouping of 100,000 tickets arriving one by one.

Prints one JSON object: tickets/s overall, per-ticket assignment latency (p50 / p99) over the
first and the last 10,000 tickets (flat when lookups stay sublinear), peak memory, the number
of groups, and pairwise precision / recall against the generated truth. The tickets are
synthetic: a few thousand underlying problems, each described in varied words by different
customers (some with a shared error code or stack frame), plus unrelated noise tickets.
``BENCH_TICKETS`` and ``BENCH_PROBLEMS`` change the sizes.
"""

from __future__ import annotations

import json
import os
import random
import resource
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from integration.bugs import BugGrouper  # noqa: E402
from integration.bugs.evaluation import score_groups  # noqa: E402
from integration.models import (  # noqa: E402
    Author,
    Channel,
    Message,
    Person,
    Priority,
    Status,
    Ticket,
)

COUNT = int(os.environ.get("BENCH_TICKETS", "100000"))
PROBLEMS = int(os.environ.get("BENCH_PROBLEMS", "3000"))
WINDOW = 10_000
NOISE = 0.1
START = datetime(2026, 1, 5, tzinfo=UTC)

_COMPONENTS = ("dashboard", "export", "invoice", "webhook", "login", "sso", "search", "upload",
               "calendar", "report", "billing", "api", "mobile", "notification", "import",
               "permission", "audit", "integration", "chart", "editor")
_SYMPTOMS = ("fails", "crashes", "hangs", "shows a blank page", "times out", "returns nothing",
             "is very slow", "loses data", "shows the wrong value", "keeps spinning")
_OPENERS = ("Hi team,", "Hello,", "Urgent:", "Hey there,", "Good morning,", "", "Dear support,")
_CLOSERS = ("Thanks!", "Please help asap.", "Can you look into it?", "Regards, Sam", "",
            "This is blocking us.", "Any update would be appreciated.")
_FILLER = ("today", "again", "since yesterday", "for several users", "on Chrome", "on Safari",
           "after the update", "every time", "sometimes", "in production", "for our admins")
_SYLLABLES = ("ka", "lo", "mi", "ne", "ru", "sa", "to", "vi", "ze", "po", "qu", "di", "fe", "gu")


def _word(rng: random.Random) -> str:
    return "".join(rng.choice(_SYLLABLES) for _ in range(rng.randint(2, 4)))


def make_problems(count: int, rng: random.Random) -> list[dict[str, object]]:
    """Underlying problems: a component, a symptom, distinctive words, maybe an error key."""
    out: list[dict[str, object]] = []
    for n in range(count):
        error = None
        roll = rng.random()
        if roll < 0.25:
            error = f"ERR-{10000 + n}"
        elif roll < 0.45:
            cls = "".join(w.title() for w in (_word(rng), _word(rng)))
            error = (f"java.lang.IllegalStateException: {_word(rng)} failed\n"
                     f"    at com.acme.{_word(rng)}.{cls}.{_word(rng)}({cls}.java:{n % 400})")
        out.append({
            "component": rng.choice(_COMPONENTS),
            "symptom": rng.choice(_SYMPTOMS),
            "words": [_word(rng) for _ in range(5)],
            "error": error,
        })
    return out


def make_ticket(n: int, problem: dict[str, object] | None, rng: random.Random) -> Ticket:
    """One customer ticket about ``problem`` (None: unrelated noise), in its own words."""
    at = START + timedelta(seconds=30 * n)
    if problem is None:
        words = " ".join(_word(rng) for _ in range(8))
        subject = f"{rng.choice(_COMPONENTS)} question {_word(rng)}"
        body = f"{rng.choice(_OPENERS)} {words}. {rng.choice(_CLOSERS)}"
    else:
        words = list(problem["words"])  # type: ignore[call-overload]
        picked = rng.sample(words, rng.randint(2, 4))
        component, symptom = problem["component"], problem["symptom"]
        subject = f"{component} {symptom} {' '.join(picked[:2])}"
        lines = [rng.choice(_OPENERS),
                 f"The {component} {symptom} when we open {' '.join(picked)} "
                 f"{rng.choice(_FILLER)}."]
        if problem["error"] and rng.random() < 0.8:
            lines.append(f"We see: {problem['error']}")
        lines.append(f"{_word(rng)} {rng.choice(_FILLER)}. {rng.choice(_CLOSERS)}")
        body = "\n".join(line for line in lines if line)
    return Ticket(
        tenant="bench", helpdesk=rng.choice(("zendesk", "intercom", "freshdesk")), id=str(n),
        subject=subject, status=Status.OPEN, priority=Priority.NORMAL, channel=Channel.EMAIL,
        created_at=at, updated_at=at, requester=Person(id=f"u{n % 5000}"),
        messages=(Message(id=f"{n}-1", author=Author.CUSTOMER, body=body, created_at=at),),
    )


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    """Feed the tickets one by one and print the figures as one JSON object."""
    rng = random.Random(11)
    problems = make_problems(PROBLEMS, rng)
    # Some problems are reported far more often than others.
    weights = [1.0 / (1 + i) ** 0.6 for i in range(PROBLEMS)]
    grouper = BugGrouper()
    grouper.add(make_ticket(-1, problems[0], rng))  # loads the lemma table outside the timing
    rss_start = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    latencies: list[float] = []
    truth: dict[str, int] = {}
    groups: dict[str, str] = {}
    busy = 0.0
    for n in range(COUNT):
        index = -1 if rng.random() < NOISE else rng.choices(range(PROBLEMS), weights)[0]
        ticket = make_ticket(n, problems[index] if index >= 0 else None, rng)
        began = time.perf_counter()
        assignment = grouper.add(ticket)
        spent = time.perf_counter() - began
        busy += spent
        if n < WINDOW or n >= COUNT - WINDOW:
            latencies.append(spent)
        groups[ticket.id] = assignment.group_id
        if index >= 0:
            truth[ticket.id] = index
    first, last = latencies[:WINDOW], latencies[-WINDOW:]
    chains: dict[int, str] = {}
    gold: list[tuple[str, str]] = []
    for tid, problem in truth.items():
        if problem in chains:
            gold.append((chains[problem], tid))
        chains[problem] = tid
    score = score_groups(groups, gold)
    stats = grouper.stats
    print(json.dumps({
        "tickets": COUNT,
        "embeddings": grouper.settings.use_embeddings,
        "problems": PROBLEMS,
        "tickets_per_second": round(COUNT / busy, 1),
        "first_10k_ms": {"p50": round(_percentile(first, 0.5) * 1e3, 3),
                         "p99": round(_percentile(first, 0.99) * 1e3, 3)},
        "last_10k_ms": {"p50": round(_percentile(last, 0.5) * 1e3, 3),
                        "p99": round(_percentile(last, 0.99) * 1e3, 3)},
        "max_candidates_per_ticket": stats.max_candidates_per_add,
        "mean_candidates_per_ticket": round(stats.candidates_examined / stats.tickets, 1),
        "groups": stats.groups,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "rss_before_grouping_mb": round(rss_start, 1),
        "precision": round(score.precision, 4),
        "recall": round(score.recall, 4),
    }))


if __name__ == "__main__":
    main()
