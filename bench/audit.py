"""Benchmark the history audit and the matrix replay: tickets per second and flat memory.

Tickets are generated on the fly (short realistic subjects and first messages, accounts with
plans and ARR, outcomes as a CSV export carries them), so nothing is held but what the engine
keeps. Each (run, size) is measured in its own process, so peak memory is that run's alone:
``peak_rss_mib`` is the main process's peak resident set, ``workers_peak_rss_mib`` the largest
worker's. Memory is flat when the 100k peak is close to the 10k peak. Prints ONE JSON object.
``audit_crm`` is the audit with organizations filled in from a CRM as the tickets stream (an
in-process directory that answers at once, so what is measured is the audit's own cost of
asking: one lookup per organization, remembered for the run).

    python bench/audit.py                                  # 10k and 100k, 2 workers
    ESCALADE_BENCH_SIZES=2000 ESCALADE_BENCH_WORKERS=0 python bench/audit.py
    ESCALADE_BENCH_KINDS=audit,audit_crm python bench/audit.py
"""

from __future__ import annotations

import json
import os
import random
import resource
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from integration import native  # noqa: E402
from integration.audit.replay import replay  # noqa: E402
from integration.audit.report import audit_json, run_audit  # noqa: E402
from integration.audit.run import audit_tickets  # noqa: E402
from integration.audit.settings import AuditSettings  # noqa: E402
from integration.audit_orgs import CrmOrganizations  # noqa: E402
from integration.matrix import default_matrix, load_matrix_text  # noqa: E402
from integration.matrix.loader import DEFAULT_PATH  # noqa: E402
from integration.models import (  # noqa: E402
    Account,
    Author,
    Channel,
    Message,
    Person,
    Priority,
    Status,
    Ticket,
)

START = datetime(2026, 9, 1, tzinfo=UTC)
DAYS = 60
TEXTS = [
    ("Charged twice for the {m} invoice", "We were charged twice for the {m} invoice. "
     "Please refund the second charge.", "problem"),
    ("CSV export fails with error E40{n}", "Since the update the CSV export fails with error "
     "E40{n} for {n} users. It blocks our month-end close.", "incident"),
    ("SSO login loop since this morning", "Our users are locked out, SSO keeps looping back "
     "to the login page.", "problem"),
    ("How do I add a seat?", "How do I add {n} more users to our workspace?", "question"),
    ("Dashboard not loading", "The {m} dashboard is not loading for anyone on our team.",
     "incident"),
    ("Please cancel our renewal", "We have decided not to renew. Please cancel our "
     "subscription at the end of {m}.", "question"),
    ("Feature idea", "It would be great if reports could be scheduled every {m}.", "feature"),
]
MONTHS = ["January", "March", "May", "July", "October", "December"]
PLANS = [("enterprise", 150_000.0), ("pro", 30_000.0), ("starter", 5_000.0)]
NEW_RULE = ("      - id: billing_is_urgent\n        description: Billing problems are urgent\n"
            "        when: {trigger: [billing_issue]}\n")


def tickets(count: int, seed: int = 11) -> Iterator[Ticket]:
    """``count`` past tickets over 60 days, generated one at a time."""
    rng = random.Random(seed)
    step = DAYS * 86400 / count
    for n in range(count):
        subject, body, label = rng.choice(TEXTS)
        m, k = rng.choice(MONTHS), rng.randint(1, 9)
        created = START + timedelta(seconds=n * step)
        org = rng.randrange(2000)
        plan, arr = PLANS[org % 3]
        escalated = rng.random() < (0.4 if label in ("incident", "problem") else 0.05)
        yield Ticket(
            tenant="bench", helpdesk="zendesk", id=str(n), subject=subject.format(m=m, n=k),
            status=Status.SOLVED, priority=Priority.NORMAL,
            channel=rng.choice([Channel.EMAIL, Channel.WEB, Channel.CHAT]),
            created_at=created, updated_at=created + timedelta(hours=2),
            requester=Person(id=f"u{rng.randrange(20000)}"),
            messages=(Message(id=f"{n}-1", author=Author.CUSTOMER,
                              body=body.format(m=m, n=k), created_at=created),),
            account=Account(id=f"org{org}", name=f"Org {org}", domain=f"org{org}.example",
                            plan=plan, arr=arr),
            group=rng.choice(["support", "billing", "escalations"]),
            csat=rng.choice([None, None, 1.0, 0.0]),
            custom={"escalated": escalated, "escalation_reason": "tag escalated" if escalated
                    else None, "agent_category": label,
                    "first_reply_minutes": rng.randint(1, 600),
                    "resolution_minutes": rng.randint(10, 5000),
                    "reopens": rng.choice([0, 0, 0, 1]), "reassignments": rng.randint(0, 3)},
        )


class Directory:
    """A CRM that knows every organization and answers at once; counts the questions."""

    def __init__(self) -> None:
        self.asked = 0

    def is_free_mail(self, domain: str) -> bool:
        """No free mail among the generated organizations."""
        return False

    def find_organization(self, *, domain: str | None = None,
                          name: str | None = None) -> Account | None:
        """The organization at ``domain``, on a plan its number decides."""
        self.asked += 1
        number = int(str(domain or name).removeprefix("org").split(".")[0])
        plan, arr = PLANS[(number + 1) % 3]
        return Account(id=f"crm{number}", domain=domain, plan=plan, arr=arr * 1.1)


def one(kind: str, size: int, workers: int) -> dict[str, Any]:
    """Run one audit or replay of ``size`` tickets in this process; its numbers."""
    current = default_matrix()
    started = time.monotonic()
    if kind == "audit":
        result = audit_json(run_audit(tickets(size), matrix=current, settings=AuditSettings(),
                                      workers=workers))
        assert result["tickets"] == size
    elif kind == "audit_crm":
        directory = Directory()
        result = audit_json(audit_tickets(
            tickets(size), matrix=current, settings=AuditSettings(), workers=workers,
            organizations=CrmOrganizations(directory, limit=2000)))
        assert result["tickets"] == size and directory.asked <= 2000
        assert result["organizations"]["found"] == directory.asked
    else:
        text = DEFAULT_PATH.read_text(encoding="utf-8")
        new = load_matrix_text(text.replace("  3:\n    rules:\n",
                                            "  3:\n    rules:\n" + NEW_RULE, 1))
        done = replay(tickets(size), new=new, current=current, workers=workers)
        assert done.tickets == size
    seconds = time.monotonic() - started
    me = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + children.ru_utime + children.ru_stime
    return {
        "tickets": size, "workers": workers, "seconds": round(seconds, 1),
        "tickets_per_second": round(size / seconds),
        # The machine may be shared: CPU seconds (this process and its workers, model loading
        # included) say what the run costs whatever else is running.
        "cpu_seconds": round(cpu, 1),
        "tickets_per_cpu_second": round(size / cpu) if cpu else None,
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "workers_peak_rss_mib": round(
            resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
    }


def main() -> None:
    """Each run in its own process; one JSON object on stdout."""
    if len(sys.argv) == 5 and sys.argv[1] == "--one":
        print(json.dumps(one(sys.argv[2], int(sys.argv[3]), int(sys.argv[4]))))
        return
    sizes = [int(s) for s in os.environ.get("ESCALADE_BENCH_SIZES", "10000,100000").split(",")]
    workers = int(os.environ.get("ESCALADE_BENCH_WORKERS", "2"))
    out: dict[str, Any] = {"cores": os.cpu_count(), "days": DAYS, "native": native.status()}
    kinds = os.environ.get("ESCALADE_BENCH_KINDS", "audit,audit_crm,replay").split(",")
    for kind in kinds:
        for size in sizes:
            done = subprocess.run(
                [sys.executable, __file__, "--one", kind, str(size), str(workers)],
                check=True, capture_output=True, text=True)
            out[f"{kind}_{size}"] = json.loads(done.stdout.strip().splitlines()[-1])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
