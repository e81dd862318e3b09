"""Benchmark the history import: tickets normalized and stored per second, and flat memory.

No network: realistic Zendesk incremental-export pages (1000 tickets with users and
organizations sideloaded), each ticket's comments and the ticket metric events are generated
on demand by a fake ``requests.Session`` and go through the real adapter, runner and SQLite
store. Prints ONE JSON object.

    python bench/backfill.py                      # 50,000 tickets
    ESCALADE_BENCH_TICKETS=5000 python bench/backfill.py

The progress goes to a ``ProgressDisplay`` as in ``escalade backfill`` (not a terminal, so a
line every 5 s, written to /dev/null), with its background ticker and log routing running.

One pass. ``tracemalloc`` traces the first 10,000 tickets and the last 5,000 (its peak in
each window is the working set of one page; equal peaks mean it does not grow with the
export), the process RSS is read at 10k and at the end (covers the untraced middle), and the
rate is measured over the untraced middle, since tracing slows Python about fivefold.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from adapters.helpdesk.base import HelpdeskConfig  # noqa: E402
from adapters.helpdesk.zendesk import ZendeskAdapter  # noqa: E402
from integration import store  # noqa: E402
from integration.backfill import run_backfill  # noqa: E402
from integration.backfill_progress import BackfillProgress, ProgressDisplay  # noqa: E402
from integration.crypto import SecretCipher, generate_key  # noqa: E402

NOW = datetime(2026, 11, 20, tzinfo=UTC)
DAYS = 60
EXPORT_PAGE = 1000
FIRST_MARK = 10_000
# The last tickets are traced again; the peak there must equal the first 10k's.
LAST_WINDOW = 5_000
SUBJECTS = ["Charged twice for the {m} invoice", "CSV export fails with error E40{n}",
            "SSO login loop since this morning", "How do I add a seat?",
            "Dashboard not loading for the {m} report", "Please cancel our renewal"]
BODY = ("Hi team, since the update on {m} our {thing} keeps failing for {n} users. We tried "
        "clearing the cache and logging in again. Could you please have a look? This blocks "
        "our month-end close and the CFO is asking for an update. Thanks, {name}")


class FakeZendesk(requests.Session):
    """Serves generated export, comment and metric-event pages; nothing is stored up front."""

    def __init__(self, *, tickets: int, start: int) -> None:
        super().__init__()
        self.tickets = tickets
        self.start = start
        self.requests = 0

    def get(self, url: str | bytes, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        """Answer one GET as Zendesk would."""
        self.requests += 1
        path = urlsplit(str(url)).path
        params = kwargs.get("params") or {}
        if path.endswith("/incremental/tickets/cursor.json"):
            body = self._export(int(params.get("cursor", "0")))
        elif path.endswith("/incremental/ticket_metric_events.json"):
            body = self._metric_events(int(params["start_time"]))
        else:
            body = self._comments(int(path.split("/")[-2]))
        response = requests.Response()
        response.status_code = 200
        response._content = json.dumps(body).encode()
        response.headers["Content-Type"] = "application/json"
        response.url = str(url)
        return response

    def _generated(self, number: int) -> int:
        return self.start + 60 + number * 50

    def _export(self, offset: int) -> dict[str, Any]:
        numbers = range(offset, min(offset + EXPORT_PAGE, self.tickets))
        tickets = [self._ticket(n) for n in numbers]
        users = {}
        for n in numbers:
            users[100_000 + n % 5000] = _user(100_000 + n % 5000, "end-user")
        users[9] = _user(9, "agent")
        orgs = [_org(500 + n % 300) for n in range(offset % 300, offset % 300 + 300)]
        after = offset + EXPORT_PAGE
        return {
            "tickets": tickets, "users": list(users.values()), "organizations": orgs,
            "after_cursor": str(after), "after_url": None, "before_cursor": None,
            "before_url": None, "end_of_stream": after >= self.tickets,
        }

    def _ticket(self, n: int) -> dict[str, Any]:
        generated = self._generated(n)
        stamp = _iso(generated - 30)
        return {
            "id": 1_000_000 + n, "subject": SUBJECTS[n % len(SUBJECTS)].format(m="March", n=n % 97),
            "raw_subject": "", "description": "", "priority": ["low", "normal", "high",
                                                               "urgent"][n % 4],
            "status": ["open", "pending", "solved", "closed", "new", "hold"][n % 6],
            "requester_id": 100_000 + n % 5000, "submitter_id": 100_000 + n % 5000,
            "assignee_id": 9, "organization_id": 500 + n % 300, "group_id": 3001 + n % 4,
            "tags": ["billing", f"plan_{n % 3}"], "type": "incident",
            "custom_fields": [{"id": 360005, "value": "eu-west"}],
            "satisfaction_rating": {"score": "unoffered"},
            "via": {"channel": "email", "source": {"from": {}, "to": {}, "rel": None}},
            "created_at": _iso(generated - 86_400 * 2), "updated_at": stamp,
            "generated_timestamp": generated,
        }

    def _comments(self, ticket_id: int) -> dict[str, Any]:
        n = ticket_id - 1_000_000
        created = self._generated(n) - 86_400 * 2
        authors = [100_000 + n % 5000, 9, 100_000 + n % 5000]
        return {
            "comments": [
                {"id": ticket_id * 10 + i, "type": "Comment", "author_id": author,
                 "body": BODY.format(m="Monday", thing="export", n=n % 50, name="Dana"),
                 "public": True, "via": {"channel": "email"},
                 "created_at": _iso(created + i * 3600)}
                for i, author in enumerate(authors)
            ],
            "users": [_user(9, "agent")],
            "meta": {"has_more": False}, "links": {"next": None},
        }

    def _metric_events(self, start_time: int) -> dict[str, Any]:
        # Two events per ticket, at its generated time minus 20 s and minus 10 s.
        first = max(0, (start_time - self.start - 60 + 20 + 49) // 50)
        events: list[dict[str, Any]] = []
        n = first
        while len(events) < EXPORT_PAGE and n < self.tickets:
            for offset, kind in ((20, "activate"), (10, "fulfill")):
                time_ = self._generated(n) - offset
                if time_ >= start_time:
                    events.append({"id": n * 2 + offset, "ticket_id": 1_000_000 + n,
                                   "metric": "reply_time", "instance_id": 1, "type": kind,
                                   "time": _iso(time_)})
            n += 1
        end_time = int(datetime.fromisoformat(events[-1]["time"]).timestamp()) if events else 0
        return {"ticket_metric_events": events, "count": len(events), "end_time": end_time,
                "end_of_stream": n >= self.tickets}


def _iso(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _user(user_id: int, role: str) -> dict[str, Any]:
    return {"id": user_id, "name": f"User {user_id}", "email": f"user{user_id}@co{user_id % 300}"
            ".example", "role": role}


def _org(org_id: int) -> dict[str, Any]:
    return {"id": org_id, "name": f"Customer {org_id}", "domain_names": [f"co{org_id}.example"],
            "organization_fields": {"plan": "enterprise", "arr": 50_000 + org_id, "health": 0.5}}


def _rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    """Import the generated export once and print the JSON result."""
    tickets = int(os.environ.get("ESCALADE_BENCH_TICKETS", "50000"))
    last_window = min(LAST_WINDOW, max(0, tickets - FIRST_MARK))
    with tempfile.TemporaryDirectory() as tmp:
        engine, sessions, tenant_id = _bench_store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        session = FakeZendesk(tickets=tickets, start=int((NOW - timedelta(days=DAYS)).timestamp()))
        adapter = _adapter(session)
        sampler = _Sampler(tickets=tickets, last_window=last_window)
        tracemalloc.start()
        started = time.perf_counter()
        with open(os.devnull, "w") as devnull, \
                ProgressDisplay(devnull, is_tty=False).running() as display:

            def progress(progress: BackfillProgress) -> None:
                display(progress)
                sampler(progress)

            report = run_backfill(sessions, adapter, tenant_id=tenant_id, days=DAYS,
                                  clock=lambda: NOW, progress=progress)
        seconds = time.perf_counter() - started
        peak_last = tracemalloc.get_traced_memory()[1] / 2**20 if tracemalloc.is_tracing() \
            else float("nan")
        tracemalloc.stop()
        engine.dispose()
    assert report.status is store.BackfillStatus.DONE and report.tickets_stored == tickets
    print(json.dumps(_result(
        tickets=tickets, last_window=last_window, pages=report.pages, requests=session.requests,
        marks=sampler.marks, peak_last=peak_last, seconds=seconds,
    )))


def _bench_store(url: str) -> tuple[Engine, sessionmaker[Session], int]:
    """A fresh store at ``url`` with the one Zendesk tenant the import fills."""
    store.upgrade(url)
    engine = store.make_engine(url)
    sessions = store.make_session_factory(engine)
    with store.session_scope(sessions) as s:
        tenant_id = store.add_tenant(
            s, slug="bench", name="Bench", helpdesk="zendesk",
            base_url="https://bench.zendesk.com",
            secrets={"email": "bot@bench.example", "api_token": "t"}, settings={},
            cipher=SecretCipher([generate_key()]),
        ).id
    return engine, sessions, tenant_id


def _adapter(session: FakeZendesk) -> ZendeskAdapter:
    return ZendeskAdapter(
        config=HelpdeskConfig(tenant="bench", helpdesk="zendesk",
                              base_url="https://bench.zendesk.com",
                              credentials={"email": "bot@bench.example", "api_token": "t"}),
        session=session,
    )


class _Sampler:
    """Marks memory and time as the import passes the first 10k and enters the last window."""

    def __init__(self, *, tickets: int, last_window: int) -> None:
        self.tickets = tickets
        self.last_window = last_window
        self.marks: dict[str, float] = {}

    def __call__(self, progress: BackfillProgress) -> None:
        seen, now = progress.tickets_seen, time.perf_counter()
        marks = self.marks
        if "peak_first" not in marks and seen >= FIRST_MARK:
            marks["peak_first"] = tracemalloc.get_traced_memory()[1] / 2**20
            tracemalloc.stop()
            marks.update(rss_first=_rss_mib(), t1=now, seen1=seen)
        elif "t2" not in marks and "t1" in marks and seen >= self.tickets - self.last_window:
            marks.update(t2=now, seen2=seen)
            tracemalloc.start()


def _result(
    *, tickets: int, last_window: int, pages: int, requests: int, marks: dict[str, float],
    peak_last: float, seconds: float,
) -> dict[str, Any]:
    """The one JSON object the bench prints."""
    untraced = (marks["seen2"] - marks["seen1"]) / (marks["t2"] - marks["t1"]) \
        if "t2" in marks and marks["t2"] > marks["t1"] else float("nan")
    return {
        "bench": "backfill",
        "helpdesk": "zendesk (generated export pages through a fake session)",
        "store": "sqlite file",
        "tickets": tickets,
        "pages_committed": pages,
        "http_requests": requests,
        "tickets_per_second": round(untraced, 1),
        "rate_measured_over": f"tickets {marks.get('seen1')}..{marks.get('seen2')} (untraced)",
        "tracemalloc_peak_mib_first_10k": round(marks.get("peak_first", float("nan")), 2),
        f"tracemalloc_peak_mib_last_{last_window // 1000}k_of_{tickets // 1000}k":
            round(peak_last, 2),
        "rss_mib_at_10k": round(marks.get("rss_first", float("nan")), 1),
        "rss_mib_at_end": round(_rss_mib(), 1),
        "wall_seconds_with_tracing": round(seconds, 1),
    }


if __name__ == "__main__":
    main()
