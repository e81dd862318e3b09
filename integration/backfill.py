"""History import: stream a helpdesk's past tickets into the store, page by page, resumably.

Works with any ``HelpdeskAdapter`` through ``backfill(since=, cursor=)``. Each page's tickets
and the cursor after it are committed in one transaction, so a run killed between pages
resumes at the next one; ``restart`` starts over. A resumed run keeps its own window: asking
for other ``days`` raises ``WindowChanged`` instead of mixing two windows. Imported tickets feed
repeat-contact detection and the handoff note's previous tickets only: nothing is decided,
nothing goes to the outbox, nothing is written back to the helpdesk.

This runs from the command line, not in a web request, so trouble is waited out here (with an
injectable ``sleep``) and the same page is asked for again. Each kind has its own waits and
its own number of tries at one page:

- rate limited (429): the vendor's ``Retry-After``, else 2, 4, 8 ... s; ``max_tries``;
- the vendor's server error (5xx): its ``Retry-After``, else 5, 10, 20 ... s; ``max_tries``;
- unreachable (name does not resolve, refused, timed out): 5, 10, 20, 40, 60 s;
  ``network_tries``.

After the last try the run is marked failed with a one-line reason; its cursor stays, so the
next run resumes there. ``integration.backfill_progress`` shows a run as it goes.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from sqlalchemy.orm import Session, sessionmaker

from adapters.helpdesk.base import BackfillPage, HelpdeskAdapter, SkippedTicket, SkipReason
from integration import store
from integration.backfill_progress import BackfillProgress, Progress, duration_text, plural
from integration.errors import (
    RateLimited,
    RetriableError,
    ServerError,
    Unreachable,
    ValidationError,
)

__all__ = [
    "BACKOFF",
    "DEFAULT_DAYS",
    "DEFAULT_MAX_TRIES",
    "DEFAULT_NETWORK_TRIES",
    "Backoff",
    "BackfillReport",
    "Trouble",
    "WindowChanged",
    "run_backfill",
    "trouble_of",
    "trouble_text",
]

log = logging.getLogger(__name__)

DEFAULT_DAYS = 60.0
DEFAULT_MAX_TRIES = 5
DEFAULT_NETWORK_TRIES = 6
# A resumed run's window is compared with the asked one to this precision.
_WINDOW_SLACK = timedelta(minutes=1)
_SHOWN_SKIP_DETAILS = 1


@dataclass(frozen=True, kw_only=True, slots=True)
class Backoff:
    """Waits between tries of one page: doubling from ``first`` up to ``cap`` seconds."""

    first: float
    cap: float

    def wait(self, failures: int, hint: float | None) -> float:
        """Seconds before the next try after ``failures`` in a row; the vendor's hint wins."""
        if hint is not None:
            return max(0.0, float(hint))
        return min(self.cap, self.first * 2.0 ** (failures - 1))


class Trouble(StrEnum):
    """What kind of retriable failure stopped a page."""

    RATE_LIMITED = "rate limited"
    SERVER_ERROR = "server error"
    UNREACHABLE = "unreachable"
    OTHER = "temporary failure"


BACKOFF: Mapping[Trouble, Backoff] = {
    Trouble.RATE_LIMITED: Backoff(first=2.0, cap=120.0),
    Trouble.SERVER_ERROR: Backoff(first=5.0, cap=60.0),
    Trouble.UNREACHABLE: Backoff(first=5.0, cap=60.0),
    Trouble.OTHER: Backoff(first=5.0, cap=60.0),
}


def trouble_of(err: RetriableError) -> Trouble:
    """The kind of ``err``, which picks its waits and its number of tries."""
    if isinstance(err, RateLimited):
        return Trouble.RATE_LIMITED
    if isinstance(err, ServerError):
        return Trouble.SERVER_ERROR
    if isinstance(err, Unreachable):
        return Trouble.UNREACHABLE
    return Trouble.OTHER


def trouble_text(err: RetriableError, helpdesk: str) -> str:
    """What went wrong in plain words: rate limited, the vendor's server error, or unreachable."""
    vendor = helpdesk.capitalize()
    if isinstance(err, RateLimited):
        return f"rate limited by {vendor} (HTTP 429)"
    if isinstance(err, ServerError):
        return f"{vendor} server error (HTTP {err.status})"
    return str(err)  # Unreachable says "cannot reach <host>: <reason>"


class WindowChanged(ValidationError):
    """``days`` differs from the window of the unfinished run that would be resumed."""

    def __init__(
        self, *, requested: float, window: float, run_id: int, since: datetime, tickets: int
    ) -> None:
        self.requested = requested
        self.window = window
        self.run_id = run_id
        self.since = since
        self.tickets = tickets
        super().__init__(
            "days",
            f"{requested:g} differs from the {window:g} days of unfinished run #{run_id}",
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillReport:
    """What a run came to: its totals so far and what this invocation added."""

    run_id: int
    tenant: str
    helpdesk: str
    since: datetime
    days: float
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
    skipped: Mapping[SkipReason, int] = field(default_factory=dict)
    # The first few invalid tickets, for the summary (every one is logged as it is met).
    invalid: tuple[SkippedTicket, ...] = ()
    retried: Mapping[Trouble, int] = field(default_factory=dict)
    last_error: str | None = None

    def summary(self) -> str:
        """One line: what was imported and skipped (why), how long it took, where it is used."""
        name = f"{self.tenant}/{self.helpdesk}"
        state = "done" if self.status is store.BackfillStatus.DONE else self.status.value
        head = f"{name}: history import {state}"
        if self.resumed:
            head += f" (resumed run #{self.run_id}: {self.tickets_seen:,} tickets in all)"
        more = "more " if self.resumed else ""
        line = (
            f"{head}: {self.added_seen:,} {more}{plural(self.added_seen, 'ticket')} from the "
            f"last {self.days:g} days ({self.added_stored:,} new or updated) in "
            f"{self.added_pages:,} {plural(self.added_pages, 'page')}, "
            f"{_seconds(self.elapsed)}"
        )
        handled = self.added_seen + sum(self.skipped.values())
        if handled and self.elapsed > 0:
            line += f", {handled / self.elapsed:,.1f} tickets/s"
        if self.skipped:
            line += f"; {self._skipped_text()}"
        if self.retried:
            waits = ", ".join(f"{count} {kind.value}" for kind, count in self.retried.items())
            line += f"; {self.retries} {plural(self.retries, 'retry', 'retries')} ({waits})"
        if self.last_error:
            line += f"; stopped: {self.last_error}"
        return (
            f"{line}. New tickets from the same requester or account now count these as "
            "earlier contacts (repeat contacts, previous tickets in the handoff note)."
        )

    def failure(self) -> str:
        """One line for a run that gave up: why, what is kept, and that re-running resumes."""
        head = f"{self.tenant}/{self.helpdesk}: history import stopped: {self.last_error}"
        if not self.tickets_seen:
            return f"{head}; nothing was imported yet, the same command tries again"
        return (
            f"{head}; the {self.tickets_seen:,} {plural(self.tickets_seen, 'ticket')} read so "
            "far are saved and the same command resumes after them"
        )

    def _skipped_text(self) -> str:
        total = sum(self.skipped.values())
        parts = []
        for reason, count in self.skipped.items():
            if reason is SkipReason.DELETED:
                parts.append(f"{count:,} deleted in {self.helpdesk.capitalize()}")
            elif reason is SkipReason.INVALID:
                details = "; ".join(f"ticket {s.id}: {s.detail}" for s in self.invalid)
                rest = count - len(self.invalid)
                if rest > 0:
                    details += f"; {rest:,} more logged above"
                parts.append(f"{count:,} invalid ({details})")
            else:
                parts.append(f"{count:,} {reason.value}")
        return f"{total:,} skipped: " + ", ".join(parts)


@dataclass(slots=True)
class _Tally:
    """What this invocation did so far."""

    pages: int = 0
    seen: int = 0
    stored: int = 0
    total: int | None = None
    skipped: Counter[SkipReason] = field(default_factory=Counter)
    invalid: list[SkippedTicket] = field(default_factory=list)
    retried: Counter[Trouble] = field(default_factory=Counter)

    def add(self, page: BackfillPage, stored: int, helpdesk: str) -> None:
        self.pages += 1
        self.seen += len(page.tickets)
        self.stored += stored
        if page.total is not None:
            self.total = page.total
        for skip in page.skipped:
            self.skipped[skip.reason] += 1
            if skip.reason is SkipReason.INVALID:
                log.warning("%s: skipped ticket %s (invalid): %s", helpdesk, skip.id, skip.detail)
                if len(self.invalid) < _SHOWN_SKIP_DETAILS:
                    self.invalid.append(skip)


def run_backfill(
    sessions: sessionmaker[Session],
    adapter: HelpdeskAdapter,
    *,
    tenant_id: int,
    days: float | None = None,
    restart: bool = False,
    max_tries: int = DEFAULT_MAX_TRIES,
    network_tries: int = DEFAULT_NETWORK_TRIES,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    timer: Callable[[], float] = time.monotonic,
    progress: Progress | None = None,
) -> BackfillReport:
    """Import tickets changed in the last ``days``, resuming an unfinished run unless ``restart``.

    ``days`` None resumes with the unfinished run's window, or starts a new one of 60 days;
    ``days`` that differ from the unfinished run's raise ``WindowChanged`` (nothing touched).
    Returns a report with status ``done``, or ``failed`` after ``max_tries`` rate limits or
    server errors, or ``network_tries`` failures to reach the vendor, at one page; any other
    error marks the run failed (resumable) and propagates.
    """
    _check_limits(days=days, max_tries=max_tries, network_tries=network_tries)
    helpdesk = adapter.identifier
    run, resumed, window = _open_run(sessions, tenant_id, helpdesk, days, restart, clock())
    if resumed:
        log.info("%s: resuming run #%d (the last %g days, since %s UTC): %s tickets read so far",
                 helpdesk, run.id, window, f"{run.since:%Y-%m-%d %H:%M}", f"{run.tickets_seen:,}")
    job = _Import(
        sessions=sessions, adapter=adapter, tenant_id=tenant_id, run=run, resumed=resumed,
        max_tries=max_tries, network_tries=network_tries, sleep=sleep, clock=clock,
        timer=timer, progress=progress, started=timer(),
    )
    status, error = job.import_pages()
    return job.report(window=window, status=status, error=error)


def _check_limits(*, days: float | None, max_tries: int, network_tries: int) -> None:
    """Refuse a window or numbers of tries that could never import anything."""
    if days is not None and days <= 0:
        raise ValidationError("days", f"must be positive, got {days}")
    for name, value in (("max_tries", max_tries), ("network_tries", network_tries)):
        if value < 1:
            raise ValidationError(name, f"must be at least 1, got {value}")


@dataclass(kw_only=True)
class _Import:
    """One invocation of a run: pages read, stored and counted, trouble waited out."""

    sessions: sessionmaker[Session]
    adapter: HelpdeskAdapter
    tenant_id: int
    run: store.BackfillRunRow
    resumed: bool
    max_tries: int
    network_tries: int
    sleep: Callable[[float], None]
    clock: Callable[[], datetime]
    timer: Callable[[], float]
    progress: Progress | None
    started: float
    tally: _Tally = field(default_factory=_Tally)
    # Failures in a row at the current page, by kind, and when the first of them happened.
    failures: Counter[Trouble] = field(default_factory=Counter)
    trouble_started: float = 0.0

    def __post_init__(self) -> None:
        self.helpdesk = self.adapter.identifier
        self.tenant = self.adapter.config.tenant
        self.cursor = self.run.cursor

    def import_pages(self) -> tuple[store.BackfillStatus, str | None]:
        """Read, store and count pages until the export ends or trouble outlasts its tries."""
        self.report_progress()  # shown at once: the first page can take a while
        pages = self._pages()
        status = store.BackfillStatus.RUNNING
        error: str | None = None
        try:
            while status is store.BackfillStatus.RUNNING:
                try:
                    page = next(pages)
                except StopIteration:
                    status = store.BackfillStatus.DONE
                    with store.session_scope(self.sessions) as s:
                        store.mark_backfill_run(s, self.run.id, status=status, now=self.clock())
                    break
                except RetriableError as err:
                    error = self._wait_out(err)
                    if error is not None:
                        status = store.BackfillStatus.FAILED
                        break
                    _close(pages)
                    pages = self._pages()
                    continue
                status = self._take(page)
        except BaseException as err:
            # Interrupted (Ctrl-C) or broken: the committed pages stay, the run resumes later.
            with store.session_scope(self.sessions) as s:
                store.fail_backfill_run(
                    s, self.run.id, error=f"{type(err).__name__}: {err}", now=self.clock()
                )
            raise
        finally:
            _close(pages)
        return status, error

    def _pages(self) -> Iterator[BackfillPage]:
        return self.adapter.backfill(since=self.run.since, cursor=self.cursor)

    def _take(self, page: BackfillPage) -> store.BackfillStatus:
        """Store one page and count it; the run is done when the page says so."""
        self.failures.clear()
        stored = _store_page(
            self.sessions, self.run.id, self.tenant_id, self.tenant, page, self.clock()
        )
        self.cursor = page.cursor
        self.tally.add(page, stored, self.helpdesk)
        self.report_progress()
        return store.BackfillStatus.DONE if page.done else store.BackfillStatus.RUNNING

    def _wait_out(self, err: RetriableError) -> str | None:
        """Sleep before trying the page again, or the reason the run gives up (recorded)."""
        kind = trouble_of(err)
        if not self.failures:
            self.trouble_started = self.timer()
        self.failures[kind] += 1
        tries = self.network_tries if kind is Trouble.UNREACHABLE else self.max_tries
        what = trouble_text(err, self.helpdesk)
        if self.failures[kind] >= tries:
            error = (f"{what}: gave up after {self.failures[kind]} tries in "
                     f"{duration_text(self.timer() - self.trouble_started)}")
            with store.session_scope(self.sessions) as s:
                store.fail_backfill_run(s, self.run.id, error=error, now=self.clock())
            return error
        wait = BACKOFF[kind].wait(self.failures[kind], err.retry_after)
        self.tally.retried[kind] += 1
        asked = " (as Retry-After asks)" if err.retry_after is not None else ""
        log.warning("%s: %s; retry %d of %d in %s%s", self.helpdesk, what, self.failures[kind],
                    tries - 1, duration_text(wait), asked)
        self.report_progress(waiting=wait, problem=what)
        self.sleep(wait)
        return None

    def report_progress(self, waiting: float | None = None, problem: str | None = None) -> None:
        """Tell the progress display how far this invocation got."""
        if self.progress is None:
            return
        tally = self.tally
        self.progress(
            BackfillProgress(
                helpdesk=self.helpdesk, pages=tally.pages, tickets_seen=tally.seen,
                tickets_stored=tally.stored, elapsed=self.timer() - self.started,
                total=tally.total, skipped=sum(tally.skipped.values()),
                before=self.run.tickets_seen if self.resumed else 0,
                waiting=waiting, problem=problem,
            )
        )

    def report(
        self, *, window: float, status: store.BackfillStatus, error: str | None
    ) -> BackfillReport:
        """The run's totals as stored, and what this invocation added."""
        with store.session_scope(self.sessions) as s:
            final = s.get(store.BackfillRunRow, self.run.id)
            assert final is not None
            s.expunge(final)
        tally = self.tally
        return BackfillReport(
            run_id=self.run.id, tenant=self.tenant, helpdesk=self.helpdesk, since=self.run.since,
            days=window, status=status, resumed=self.resumed, pages=final.pages,
            tickets_seen=final.tickets_seen, tickets_stored=final.tickets_stored,
            added_pages=tally.pages, added_seen=tally.seen, added_stored=tally.stored,
            retries=sum(tally.retried.values()), elapsed=self.timer() - self.started,
            skipped=dict(tally.skipped), invalid=tuple(tally.invalid),
            retried=dict(tally.retried), last_error=error,
        )


def _open_run(
    sessions: sessionmaker[Session],
    tenant_id: int,
    helpdesk: str,
    days: float | None,
    restart: bool,
    now: datetime,
) -> tuple[store.BackfillRunRow, bool, float]:
    """The run to continue (or a new one), whether it is resumed, and its window in days."""
    with store.session_scope(sessions) as s:
        run = store.latest_backfill_run(s, tenant_id=tenant_id, helpdesk=helpdesk)
        if run is not None and run.resumable and not restart:
            window = run.started_at - run.since
            if days is not None and abs(window - timedelta(days=days)) > _WINDOW_SLACK:
                raise WindowChanged(
                    requested=days, window=round(window / timedelta(days=1), 3), run_id=run.id,
                    since=run.since, tickets=run.tickets_seen,
                )
            store.mark_backfill_run(s, run.id, status=store.BackfillStatus.RUNNING, now=now)
            s.refresh(run)
            s.expunge(run)
            return run, True, round(window / timedelta(days=1), 3)
        if run is not None and run.resumable:
            store.fail_backfill_run(s, run.id, error="abandoned: restarted", now=now)
        days = DEFAULT_DAYS if days is None else days
        fresh = store.start_backfill_run(
            s, tenant_id=tenant_id, helpdesk=helpdesk, since=now - timedelta(days=days), now=now
        )
        s.expunge(fresh)
        return fresh, False, days


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


def _close(pages: Iterator[BackfillPage]) -> None:
    if isinstance(pages, Generator):
        pages.close()


def _seconds(seconds: float) -> str:
    return f"{seconds:.1f}s" if seconds < 60 else duration_text(seconds)
