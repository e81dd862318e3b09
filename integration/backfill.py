"""History import: stream a helpdesk's past tickets into the store, page by page, resumably.

Works with any ``HelpdeskAdapter`` through ``backfill(since=, cursor=)``. Each page's tickets
and the cursor after it are committed in one transaction, so a run killed between pages
resumes at the next one; ``restart`` starts over. Imported tickets feed repeat-contact
detection and the audit only: nothing is decided, nothing goes to the outbox, nothing is
written back to the helpdesk.

This runs from the command line, not in a web request, so a rate limit is waited out here
(with an injectable ``sleep``): the same page is asked for again, up to ``max_tries`` times,
after which the run is marked failed and can be resumed later.
"""

from __future__ import annotations

import logging
import sys
import time
from collections.abc import Callable, Generator, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import IO

from sqlalchemy.orm import Session, sessionmaker

from adapters.helpdesk.base import BackfillPage, HelpdeskAdapter
from integration import store
from integration.errors import RetriableError, ValidationError

__all__ = [
    "DEFAULT_MAX_TRIES",
    "BackfillProgress",
    "BackfillReport",
    "TerminalProgress",
    "describe",
    "run_backfill",
]

log = logging.getLogger(__name__)

DEFAULT_MAX_TRIES = 5
# Without a Retry-After hint: 2, 4, 8 ... seconds, never more than this.
MAX_BACKOFF_SECONDS = 120.0


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillProgress:
    """How far this invocation got, for a progress display."""

    helpdesk: str
    pages: int
    tickets_seen: int
    tickets_stored: int
    elapsed: float
    total: int | None = None
    waiting: float | None = None

    @property
    def rate(self) -> float:
        """Tickets per second so far."""
        return self.tickets_seen / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, when the vendor told how many tickets there are."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.tickets_seen) / self.rate)


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillReport:
    """What a run came to: its totals so far and what this invocation added."""

    run_id: int
    tenant: str
    helpdesk: str
    since: datetime
    status: store.BackfillStatus
    resumed: bool
    pages: int
    tickets_seen: int
    tickets_stored: int
    added_pages: int
    added_seen: int
    added_stored: int
    retries: int
    elapsed: float
    last_error: str | None = None

    def summary(self) -> str:
        """One line for the terminal or a log."""
        verb = "resumed" if self.resumed else "import"
        line = (
            f"{self.tenant}/{self.helpdesk} {verb} since {self.since:%Y-%m-%d %H:%M}Z: "
            f"{self.status.value}; {self.added_pages} pages, {self.added_seen} tickets read, "
            f"{self.added_stored} stored in {self.elapsed:.1f}s "
            f"(run #{self.run_id}: {self.pages} pages, {self.tickets_seen} read, "
            f"{self.tickets_stored} stored"
        )
        line += f", {self.retries} rate-limit waits)" if self.retries else ")"
        if self.last_error:
            line += f"; last error: {self.last_error}"
        return line


Progress = Callable[[BackfillProgress], None]


def run_backfill(
    sessions: sessionmaker[Session],
    adapter: HelpdeskAdapter,
    *,
    tenant_id: int,
    days: float,
    restart: bool = False,
    max_tries: int = DEFAULT_MAX_TRIES,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    timer: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
) -> BackfillReport:
    """Import tickets changed in the last ``days``, resuming an unfinished run unless ``restart``.

    Returns a report with status ``done``, or ``failed`` after ``max_tries`` rate limits on
    one page; any other error marks the run failed (resumable) and propagates.
    """
    if days <= 0:
        raise ValidationError("days", f"must be positive, got {days}")
    if max_tries < 1:
        raise ValidationError("max_tries", f"must be at least 1, got {max_tries}")
    helpdesk = adapter.identifier
    tenant = adapter.config.tenant
    run, resumed = _open_run(sessions, tenant_id, helpdesk, days, restart, clock())
    started = timer()
    since, cursor = run.since, run.cursor
    counts = {"pages": 0, "seen": 0, "stored": 0, "retries": 0}
    status = store.BackfillStatus.RUNNING
    error: str | None = None

    def report_progress(waiting: float | None = None, total: int | None = None) -> None:
        if progress is not None:
            progress(
                BackfillProgress(
                    helpdesk=helpdesk, pages=counts["pages"], tickets_seen=counts["seen"],
                    tickets_stored=counts["stored"], elapsed=timer() - started, total=total,
                    waiting=waiting,
                )
            )

    pages = adapter.backfill(since=since, cursor=cursor)
    failures = 0
    try:
        while status is store.BackfillStatus.RUNNING:
            try:
                page = next(pages)
            except StopIteration:
                status = store.BackfillStatus.DONE
                with store.session_scope(sessions) as s:
                    store.mark_backfill_run(s, run.id, status=status, now=clock())
                break
            except RetriableError as err:
                failures += 1
                counts["retries"] += 1
                if failures >= max_tries:
                    status = store.BackfillStatus.FAILED
                    error = f"gave up after {failures} tries at one page: {err}"
                    with store.session_scope(sessions) as s:
                        store.fail_backfill_run(s, run.id, error=error, now=clock())
                    break
                wait = _wait_for(err, failures)
                log.warning("%s: %s; waiting %.1fs (try %d of %d)", helpdesk, err, wait,
                            failures, max_tries)
                report_progress(waiting=wait)
                sleep(wait)
                _close(pages)
                pages = adapter.backfill(since=since, cursor=cursor)
                continue
            failures = 0
            stored = _store_page(sessions, run.id, tenant_id, tenant, page, clock())
            cursor = page.cursor
            counts["pages"] += 1
            counts["seen"] += len(page.tickets)
            counts["stored"] += stored
            # An optional estimate some vendors give (not every adapter's page has one).
            report_progress(total=getattr(page, "total", None))
            if page.done:
                status = store.BackfillStatus.DONE
    except BaseException as err:
        # Interrupted (Ctrl-C) or broken: the committed pages stay, the run resumes later.
        with store.session_scope(sessions) as s:
            store.fail_backfill_run(s, run.id, error=f"{type(err).__name__}: {err}", now=clock())
        raise
    finally:
        _close(pages)

    with store.session_scope(sessions) as s:
        final = s.get(store.BackfillRunRow, run.id)
        assert final is not None
        s.expunge(final)
    return BackfillReport(
        run_id=run.id, tenant=tenant, helpdesk=helpdesk, since=since, status=status,
        resumed=resumed, pages=final.pages, tickets_seen=final.tickets_seen,
        tickets_stored=final.tickets_stored, added_pages=counts["pages"],
        added_seen=counts["seen"], added_stored=counts["stored"], retries=counts["retries"],
        elapsed=timer() - started, last_error=error,
    )


def _open_run(
    sessions: sessionmaker[Session],
    tenant_id: int,
    helpdesk: str,
    days: float,
    restart: bool,
    now: datetime,
) -> tuple[store.BackfillRunRow, bool]:
    with store.session_scope(sessions) as s:
        run = store.latest_backfill_run(s, tenant_id=tenant_id, helpdesk=helpdesk)
        if run is not None and run.resumable and not restart:
            store.mark_backfill_run(s, run.id, status=store.BackfillStatus.RUNNING, now=now)
            s.refresh(run)
            s.expunge(run)
            return run, True
        if run is not None and run.resumable:
            store.fail_backfill_run(s, run.id, error="abandoned: restarted", now=now)
        fresh = store.start_backfill_run(
            s, tenant_id=tenant_id, helpdesk=helpdesk, since=now - timedelta(days=days), now=now
        )
        s.expunge(fresh)
        return fresh, False


def _store_page(
    sessions: sessionmaker[Session],
    run_id: int,
    tenant_id: int,
    tenant: str,
    page: BackfillPage,
    now: datetime,
) -> int:
    """The page's tickets and the cursor after them, in one transaction; returns rows written."""
    stored = 0
    with store.session_scope(sessions) as s:
        for ticket in page.tickets:
            if ticket.tenant != tenant:
                # An adapter bug must never file one tenant's ticket under another.
                raise ValidationError(
                    "ticket.tenant", f"{ticket.key} does not belong to tenant {tenant!r}"
                )
            stored += store.import_ticket(s, tenant_id=tenant_id, ticket=ticket)
        store.record_backfill_page(
            s, run_id, cursor=page.cursor, seen=len(page.tickets), stored=stored,
            done=page.done, now=now,
        )
    return stored


def _wait_for(err: RetriableError, failures: int) -> float:
    if err.retry_after is not None:
        return max(0.0, float(err.retry_after))
    return min(MAX_BACKOFF_SECONDS, 2.0**failures)


def _close(pages: Iterator[BackfillPage]) -> None:
    if isinstance(pages, Generator):
        pages.close()


class TerminalProgress:
    """Draws one self-updating progress line on a terminal; silent when not a terminal."""

    def __init__(self, stream: IO[str] | None = None, *, is_tty: bool | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.is_tty = self.stream.isatty() if is_tty is None else is_tty
        self._width = 0

    def __call__(self, progress: BackfillProgress) -> None:
        """Redraw the line."""
        if not self.is_tty:
            return
        line = describe(progress)
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self.stream.write(f"\r{line}{' ' * pad}")
        self.stream.flush()

    def close(self) -> None:
        """End the progress line so the summary starts on its own."""
        if self.is_tty and self._width:
            self.stream.write("\n")
            self.stream.flush()
            self._width = 0


def describe(progress: BackfillProgress) -> str:
    """The progress line: pages, tickets, rate, ETA when known, or the rate-limit wait."""
    line = (
        f"{progress.helpdesk}: {progress.pages} pages, {progress.tickets_seen:,} tickets "
        f"({progress.tickets_stored:,} stored), {progress.rate:,.1f}/s"
    )
    if progress.total is not None:
        line += f" of {progress.total:,}"
    if progress.eta is not None:
        line += f", ETA {_duration(progress.eta)}"
    if progress.waiting is not None:
        line += f" - rate limited, waiting {_duration(progress.waiting)}"
    return line


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"

