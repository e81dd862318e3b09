"""SLA clocks: first response, next response and resolution per tier, rebuilt from history.

``sla_clock`` is pure: given what the store knows of a ticket (a ``Timeline``), the tier
targets of the matrix and ``now``, it recomputes every clock from scratch, so replaying the
same history always gives the same answer. Calendar maths lives in ``integration.calendars``;
``SlaTargets`` (a tier's windows) is defined here so that the matrix builds on the clock, not
the other way round.

Rules, in the order they apply:

* First response runs from creation to the first public agent reply; next response runs from
  a customer message that follows an agent reply (or from a reopen) to the next agent reply.
  Solving the ticket meets any response clock still running. Bot replies do not count.
* Resolution runs from creation until solved/closed; a reopen resumes it, the solved span
  counting as paused.
* Statuses in ``pause_on`` stop every clock; elapsed time excludes the paused spans, and
  while paused a clock has no due time. The future is assumed to look like the present.
* Business time is counted on the calendar of the tier whose target applies. A tier change
  re-targets from the original start: the due is where elapsed time reaches the new tier's
  target, which may already be past (breached at the change).
* Blame: a clock is breached at the first instant the target in force was exceeded, and the
  breach is blamed on the tier the ticket was at when that target's due time passed. A Tier-2
  window that ran out at Tier 2 stays Tier 2's breach after a promotion; a promotion to a
  shorter window that had already run out is breached at the promotion but blamed on the tier
  that held the ticket when the new window ended (the late handoff). Breaches stick: a later
  tier with a longer window does not clear them.
* A reply at the due instant is in time; a running clock is breached from its due instant on.
  A tier whose target is None does not track that metric (an earlier breach stays).
* Events after ``now`` are ignored; messages stamped before ``created_at`` count as at it.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from integration.calendars import Calendar, add_business_time, business_time_between
from integration.models import Author, Status, Ticket, Tier

__all__ = [
    "DEFAULT_PAUSE_ON",
    "MetricClock",
    "SlaClock",
    "SlaMetric",
    "SlaState",
    "SlaTargets",
    "Timeline",
    "sla_clock",
]

DEFAULT_PAUSE_ON = frozenset({Status.PENDING, Status.ON_HOLD})
_FINISHED = frozenset({Status.SOLVED, Status.CLOSED})

# (begin, end) in UTC; end None: still going.
_Span = tuple[datetime, datetime | None]


@dataclass(frozen=True, kw_only=True, slots=True)
class SlaTargets:
    """SLA windows of a tier; ``calendar=None`` means 24/7."""

    first_response: timedelta | None = None
    next_response: timedelta | None = None
    resolution: timedelta | None = None
    calendar: Calendar | None = None

    def __reduce__(self) -> tuple[object, tuple[timedelta | None, timedelta | None,
                                                timedelta | None, Calendar | None]]:
        # Compiled, the default pickling calls __init__ without its keyword arguments.
        return _targets, (self.first_response, self.next_response, self.resolution,
                          self.calendar)


def _targets(first: timedelta | None, next_: timedelta | None, resolution: timedelta | None,
             calendar: Calendar | None) -> SlaTargets:
    return SlaTargets(first_response=first, next_response=next_, resolution=resolution,
                      calendar=calendar)


class SlaMetric(StrEnum):
    """What a clock measures."""

    FIRST_RESPONSE = "first_response"
    NEXT_RESPONSE = "next_response"
    RESOLUTION = "resolution"


class SlaState(StrEnum):
    """Where a ticket stands; ``PROMOTED`` is set by the scheduler, never by ``sla_clock``."""

    OK = "ok"
    WARNING = "warning"
    BREACHED = "breached"
    PROMOTED = "promoted"
    PAUSED = "paused"
    DONE = "done"


@dataclass(frozen=True, kw_only=True, slots=True)
class Timeline:
    """What the store knows about one ticket; every list in time order, times aware."""

    created_at: datetime
    statuses: tuple[tuple[datetime, Status], ...]  # the first one holds from creation
    tiers: tuple[tuple[datetime, Tier], ...]  # the first one holds from creation
    customer_messages: tuple[datetime, ...] = ()
    agent_replies: tuple[datetime, ...] = ()

    def __post_init__(self) -> None:
        created = _utc(self.created_at, "created_at")
        statuses = tuple((_utc(t, "statuses"), Status(s)) for t, s in self.statuses)
        tiers = tuple((_utc(t, "tiers"), Tier(v)) for t, v in self.tiers)
        customer = tuple(_utc(t, "customer_messages") for t in self.customer_messages)
        agent = tuple(_utc(t, "agent_replies") for t in self.agent_replies)
        for name, times in (
            ("statuses", [t for t, _ in statuses]),
            ("tiers", [t for t, _ in tiers]),
            ("customer_messages", list(customer)),
            ("agent_replies", list(agent)),
        ):
            if any(b < a for a, b in zip(times, times[1:], strict=False)):
                raise ValueError(f"{name} are not in time order")
            if name in ("statuses", "tiers") and times and times[0] < created:
                raise ValueError(f"{name} start at {times[0].isoformat()}, before created_at")
        for key, value in (
            ("created_at", created),
            ("statuses", statuses),
            ("tiers", tiers),
            ("customer_messages", customer),
            ("agent_replies", agent),
        ):
            object.__setattr__(self, key, value)

    @classmethod
    def of(
        cls,
        ticket: Ticket,
        *,
        statuses: Iterable[tuple[datetime, Status]] = (),
        tiers: Iterable[tuple[datetime, Tier]] = (),
    ) -> Timeline:
        """The timeline of ``ticket``: public messages from it, status and tier history given."""
        public = sorted((m for m in ticket.messages if m.public), key=lambda m: m.created_at)
        return cls(
            created_at=ticket.created_at,
            statuses=tuple(statuses) or ((ticket.created_at, ticket.status),),
            tiers=tuple(tiers),
            customer_messages=tuple(m.created_at for m in public if m.author is Author.CUSTOMER),
            agent_replies=tuple(m.created_at for m in public if m.author is Author.AGENT),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class MetricClock:
    """One clock: its tier's target, due and warning times, and whether and whom it breached."""

    metric: SlaMetric
    tier: Tier  # the tier whose target applies (the tier at met_at, or now)
    started_at: datetime
    due_at: datetime | None  # None while paused or met
    warn_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    blamed_tier: Tier | None  # the tier the ticket was at when the due time passed
    elapsed: timedelta  # business time on the tier's calendar, pauses excluded

    @property
    def running(self) -> bool:
        """True until the clock is met."""
        return self.met_at is None

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ISO times in UTC, ``elapsed`` in seconds."""
        return {
            "metric": self.metric.value,
            "tier": int(self.tier),
            "started_at": _iso(self.started_at),
            "due_at": _iso(self.due_at),
            "warn_at": _iso(self.warn_at),
            "met_at": _iso(self.met_at),
            "breached_at": _iso(self.breached_at),
            "blamed_tier": None if self.blamed_tier is None else int(self.blamed_tier),
            "elapsed": self.elapsed.total_seconds(),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> MetricClock:
        """Rebuild from ``to_dict``."""
        blamed = data["blamed_tier"]
        return cls(
            metric=SlaMetric(data["metric"]),
            tier=Tier(data["tier"]),
            started_at=_from_iso(data["started_at"]),
            due_at=_from_iso_opt(data["due_at"]),
            warn_at=_from_iso_opt(data["warn_at"]),
            met_at=_from_iso_opt(data["met_at"]),
            breached_at=_from_iso_opt(data["breached_at"]),
            blamed_tier=None if blamed is None else Tier(blamed),
            elapsed=timedelta(seconds=float(data["elapsed"])),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class SlaClock:
    """Every clock of a ticket at one instant, and what the scheduler needs from them."""

    metrics: tuple[MetricClock, ...]
    state: SlaState
    due_at: datetime | None  # earliest due of a running clock
    warn_at: datetime | None
    next_check_at: datetime | None  # when the state changes next without new input
    tier_elapsed: Mapping[Tier, timedelta] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe form: ISO times in UTC, durations in seconds, tiers as strings."""
        return {
            "state": self.state.value,
            "due_at": _iso(self.due_at),
            "warn_at": _iso(self.warn_at),
            "next_check_at": _iso(self.next_check_at),
            "tier_elapsed": {str(int(t)): d.total_seconds() for t, d in self.tier_elapsed.items()},
            "metrics": [m.to_dict() for m in self.metrics],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> SlaClock:
        """Rebuild from ``to_dict``; ``ValueError`` when the data is not such a dict."""
        try:
            return cls(
                metrics=tuple(MetricClock.from_dict(m) for m in data["metrics"]),
                state=SlaState(data["state"]),
                due_at=_from_iso_opt(data["due_at"]),
                warn_at=_from_iso_opt(data["warn_at"]),
                next_check_at=_from_iso_opt(data["next_check_at"]),
                tier_elapsed={
                    Tier(int(t)): timedelta(seconds=float(s))
                    for t, s in data["tier_elapsed"].items()
                },
            )
        except (KeyError, TypeError, AttributeError, ValueError) as err:
            raise ValueError(f"not a stored SLA clock: {err!r}") from err


@dataclass(frozen=True, kw_only=True, slots=True)
class _Run:
    metric: SlaMetric
    start: datetime
    end: datetime | None  # when it was met


def sla_clock(
    timeline: Timeline,
    targets: Mapping[Tier, SlaTargets],
    *,
    now: datetime,
    warn_before: timedelta = timedelta(minutes=30),
    pause_on: frozenset[Status] = DEFAULT_PAUSE_ON,
) -> SlaClock:
    """Every SLA clock of ``timeline`` at ``now`` under the per-tier ``targets`` (see module)."""
    now = _utc(now, "now")
    if now < timeline.created_at:
        raise ValueError(f"now {now.isoformat()} is before the ticket was created")
    if warn_before < timedelta(0):
        raise ValueError(f"negative warn_before {warn_before}")
    tiers = _tier_changes(timeline, now)
    statuses = [(max(t, timeline.created_at), s) for t, s in timeline.statuses if t <= now]
    status = statuses[-1][1] if statuses else Status.NEW
    stops = _status_spans(timeline.created_at, statuses, pause_on | _FINISHED)
    paused = status in pause_on and status not in _FINISHED

    metrics = []
    for run in _runs(timeline, statuses, now):
        active = _subtract(run.start, run.end, stops)
        clock = _metric_clock(run, active, tiers, targets, now, warn_before, paused)
        if clock is not None:
            metrics.append(clock)
    metrics.sort(key=lambda m: (m.started_at, list(SlaMetric).index(m.metric)))

    running = [m for m in metrics if m.running]
    due_at = min((m.due_at for m in running if m.due_at is not None), default=None)
    warn_at = min((m.warn_at for m in running if m.warn_at is not None), default=None)
    if status in _FINISHED or not running:
        state = SlaState.DONE
    elif paused:
        state = SlaState.PAUSED
    elif any(m.breached_at is not None for m in metrics):
        state = SlaState.BREACHED
    elif warn_at is not None and now >= warn_at:
        state = SlaState.WARNING
    else:
        state = SlaState.OK
    next_check = {SlaState.OK: warn_at, SlaState.WARNING: due_at}.get(state)
    return SlaClock(
        metrics=tuple(metrics),
        state=state,
        due_at=due_at,
        warn_at=warn_at,
        next_check_at=next_check,
        tier_elapsed=_tier_elapsed(timeline.created_at, now, stops, tiers, targets),
    )


def _runs(timeline: Timeline, statuses: list[tuple[datetime, Status]], now: datetime) -> list[_Run]:
    created = timeline.created_at
    # At one instant: status changes, then agent replies, then customer messages.
    events: list[tuple[datetime, int, Status | None]] = [(t, 0, s) for t, s in statuses]
    events += [(max(t, created), 1, None) for t in timeline.agent_replies if t <= now]
    events += [(max(t, created), 2, None) for t in timeline.customer_messages if t <= now]
    events.sort(key=lambda e: (e[0], e[1]))

    runs: list[_Run] = []
    waiting: tuple[SlaMetric, datetime] | None = (SlaMetric.FIRST_RESPONSE, created)
    finished = False
    finished_at: datetime | None = None
    for at, kind, status in events:
        if kind == 0 and status is not None:
            now_finished = status in _FINISHED
            if now_finished and not finished:
                finished_at = at
                if waiting is not None:
                    runs.append(_Run(metric=waiting[0], start=waiting[1], end=at))
                    waiting = None
            elif finished and not now_finished and waiting is None:
                waiting = (SlaMetric.NEXT_RESPONSE, at)  # reopened
            finished = now_finished
        elif kind == 1 and waiting is not None:
            runs.append(_Run(metric=waiting[0], start=waiting[1], end=at))
            waiting = None
        elif kind == 2 and waiting is None and not finished:
            waiting = (SlaMetric.NEXT_RESPONSE, at)
    if waiting is not None:
        runs.append(_Run(metric=waiting[0], start=waiting[1], end=None))
    runs.append(
        _Run(metric=SlaMetric.RESOLUTION, start=created, end=finished_at if finished else None)
    )
    return runs


def _metric_clock(
    run: _Run,
    active: list[_Span],
    tiers: list[tuple[datetime, Tier]],
    targets: Mapping[Tier, SlaTargets],
    now: datetime,
    warn_before: timedelta,
    paused: bool,
) -> MetricClock | None:
    stop = now if run.end is None else run.end
    segments = [(run.start, _tier_at(tiers, run.start))]
    segments += [
        (t, tier) for t, tier in tiers if run.start < t and (t < stop or (t == now and not run.end))
    ]
    breached_at = blamed = None
    due = None
    for index, (begin, tier) in enumerate(segments):
        target = _target(targets, tier, run.metric)
        if target is None:
            due = None
            continue
        due = _reach(active, target, _calendar(targets, tier))
        if due is None:
            continue
        if index + 1 < len(segments):
            passed = due < segments[index + 1][0]
        else:
            passed = due <= now if run.end is None else due < run.end
        if passed:
            breached_at, blamed = max(due, begin), _tier_at(tiers, due)
            break
    tier = segments[-1][1]
    target = _target(targets, tier, run.metric)
    if target is None and breached_at is None:
        return None
    calendar = _calendar(targets, tier)
    due_at = warn_at = None
    if run.end is None and target is not None and not paused:
        # The last segment's due time was just computed on the same spans and calendar.
        due_at = due if breached_at is None else _reach(active, target, calendar)
        warn_at = _reach(active, max(target - warn_before, timedelta(0)), calendar)
    return MetricClock(
        metric=run.metric,
        tier=tier,
        started_at=run.start,
        due_at=due_at,
        warn_at=warn_at,
        met_at=run.end,
        breached_at=breached_at,
        blamed_tier=blamed,
        elapsed=_elapsed(active, stop, calendar),
    )


def _tier_elapsed(
    created: datetime,
    now: datetime,
    stops: list[_Span],
    tiers: list[tuple[datetime, Tier]],
    targets: Mapping[Tier, SlaTargets],
) -> dict[Tier, timedelta]:
    """Business time (pauses excluded) spent at each tier, on that tier's calendar."""
    active = _subtract(created, now, stops)
    begins = [created] + [t for t, _ in tiers[1:]]
    out: dict[Tier, timedelta] = {}
    for begin, end, (_, tier) in zip(begins, [*begins[1:], now], tiers, strict=True):
        calendar = _calendar(targets, tier)
        spent = sum(
            (
                business_time_between(max(a, begin), end if b is None else min(b, end), calendar)
                for a, b in active
                if a < end and (b is None or b > begin)
            ),
            timedelta(0),
        )
        out[tier] = out.get(tier, timedelta(0)) + spent
    return out


# --- small helpers ------------------------------------------------------------------------


def _tier_changes(timeline: Timeline, now: datetime) -> list[tuple[datetime, Tier]]:
    """Tier decisions up to ``now`` that change the tier; the first holds from creation."""
    if not timeline.tiers:
        raise ValueError("the timeline has no tier decision, so no SLA targets apply")
    out: list[tuple[datetime, Tier]] = []
    for at, tier in timeline.tiers:
        if at <= now and (not out or out[-1][1] != tier):
            out.append((at, tier))
    return out or [(timeline.created_at, timeline.tiers[0][1])]


def _tier_at(tiers: list[tuple[datetime, Tier]], at: datetime) -> Tier:
    index = bisect_right([t for t, _ in tiers], at)
    return tiers[max(index - 1, 0)][1]


def _target(targets: Mapping[Tier, SlaTargets], tier: Tier, metric: SlaMetric) -> timedelta | None:
    settings = targets.get(tier)
    if settings is None:
        return None
    if metric is SlaMetric.FIRST_RESPONSE:
        return settings.first_response
    if metric is SlaMetric.NEXT_RESPONSE:
        return settings.next_response
    return settings.resolution


def _calendar(targets: Mapping[Tier, SlaTargets], tier: Tier) -> Calendar | None:
    settings = targets.get(tier)
    return None if settings is None else settings.calendar


def _status_spans(
    created: datetime, statuses: list[tuple[datetime, Status]], which: frozenset[Status]
) -> list[_Span]:
    """Spans spent in a status of ``which``; the first status holds from creation."""
    spans: list[_Span] = []
    begin: datetime | None = None
    for index, (at, status) in enumerate(statuses):
        at = created if index == 0 else at
        if status in which and begin is None:
            begin = at
        elif status not in which and begin is not None:
            if at > begin:
                spans.append((begin, at))
            begin = None
    if begin is not None:
        spans.append((begin, None))
    return spans


def _subtract(start: datetime, end: datetime | None, stops: list[_Span]) -> list[_Span]:
    """``[start, end)`` minus the (sorted, disjoint) ``stops``."""
    out: list[_Span] = []
    cursor: datetime | None = start
    for begin, stop in stops:
        if cursor is None or (end is not None and begin >= end):
            break
        if stop is not None and stop <= cursor:
            continue
        if begin > cursor:
            out.append((cursor, begin))
        cursor = stop
    if cursor is not None and (end is None or cursor < end):
        out.append((cursor, end))
    return out


def _reach(spans: list[_Span], amount: timedelta, calendar: Calendar | None) -> datetime | None:
    """The instant business time over ``spans`` reaches ``amount``; None if it never does."""
    remaining = max(amount, timedelta(0))
    for begin, end in spans:
        available = None if end is None else business_time_between(begin, end, calendar)
        # A span without open time cannot hold even a zero amount: the clock never ran there.
        if available is None or remaining < available or (remaining == available and available):
            return add_business_time(begin, remaining, calendar)
        remaining -= available
    return None


def _elapsed(spans: list[_Span], until: datetime, calendar: Calendar | None) -> timedelta:
    total = timedelta(0)
    for begin, end in spans:
        if begin >= until:
            break
        total += business_time_between(begin, until if end is None else min(end, until), calendar)
    return total


def _utc(value: datetime, name: str) -> datetime:
    if not isinstance(value, datetime):
        raise ValueError(f"{name}: expected a datetime, got {type(value).__name__}")
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{name}: naive datetime {value.isoformat()} (SLA maths needs a zone)")
    return value.astimezone(UTC)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _from_iso(value: str) -> datetime:
    parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return _utc(parsed, "time")


def _from_iso_opt(value: str | None) -> datetime | None:
    return None if value is None else _from_iso(value)
