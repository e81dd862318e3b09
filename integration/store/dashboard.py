"""The dashboard's tables and queries: one fact per decided ticket, and rollups of the facts.

``dashboard_facts`` holds each decided ticket as the dashboard counts it
(``integration.analytics.facts``); ``dashboard_rollups`` holds the sums of those facts per
workspace, day (week and month) in the workspace's time zone, tier and filter dimension, once
as totals and per breakdown (hour of day, group, trigger, product area, onboarding age): with
no filter dimension, with each one alone, and per month with every one (``kept``).
The one writer of decisions notes each ticket it decided in ``dashboard_pending``, in its
transaction (``note``); ``fold`` takes a batch of notes in a transaction of its own and
``refresh`` recomputes those tickets' facts and adds the difference to the rollups, so the page
reads a few thousand rollup rows however many tickets there are. A decision so holds the
database's write lock for its own rows only; counting a ticket (about a hundred rollup rows,
2.5 ms of CPU) happens on the delivery loop. The workers fold after each pass and every reader
here folds its workspace's notes first, so a page never shows a count older than the decisions
stored. ``rebuild`` recomputes a
workspace's facts and rollups from its stored tickets and decisions (an existing install, a
changed time zone). The page's queries read the rollups, with one exception: breakdowns
filtered by two or more of helpdesk, plan, ARR band, channel and category read the month rows
that keep every dimension for the period's whole months and the facts of its other days (at
most two partial months), through an index that holds every column they need. Following a
number to its tickets filters the start page's list by the facts (``fact_condition``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any, cast
from zoneinfo import ZoneInfo

from sqlalchemy import (
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    bindparam,
    delete,
    func,
    insert,
    select,
    union_all,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column, sessionmaker

from integration.analytics.facts import (
    DIMENSIONS,
    EVERY,
    MEASURES,
    Fact,
    Key,
    breakdown_values,
    deltas,
    fact_of,
)
from integration.store.db import Base, session_scope
from integration.store.tables import BigId, DecisionRow, TenantRow, TicketRow

__all__ = [
    "FOLD_BATCH",
    "DashboardFactRow",
    "DashboardFilter",
    "DashboardPendingRow",
    "DashboardRollupRow",
    "Touched",
    "breakdown_rows",
    "chart_spans",
    "current",
    "fact_condition",
    "fold",
    "fold_all",
    "fold_workspace",
    "missing_rollups",
    "note",
    "period_breakdowns",
    "rebuild",
    "refresh",
    "segment_days",
    "series_rows",
    "spans",
    "total_rows",
    "write_rollups",
]

# Notes folded per transaction. A new fact moves about a hundred rollup rows (2.5 ms of CPU
# a ticket); in a busy server a fold held the write lock 30-40 ms at 3, 10 or 50 notes alike
# (the other threads' share of the interpreter, not the batch, sets that), so fewer, larger
# folds keep fewer webhooks waiting.
FOLD_BATCH = 50

_KEY = ("tenant_id", "grain", "kept", "kind", "day", "value", "tier", "helpdesk", "plan",
        "arr_band", "channel", "category")


class DashboardFactRow(Base):
    """One decided ticket as the dashboard counts it."""

    __tablename__ = "dashboard_facts"
    __table_args__ = (
        # A breakdown filtered by several dimensions: every column it reads, in day order.
        Index("ix_dashboard_facts_scan", "tenant_id", "day", "tier", "helpdesk", "plan",
              "arr_band", "channel", "category", "hour", "grp", "area", "age", "sla",
              "triggers"),
        Index(None, "day"),
    )

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("tickets.id", ondelete="CASCADE"), primary_key=True, autoincrement=False)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    day: Mapped[date] = mapped_column(Date)
    hour: Mapped[int] = mapped_column(Integer)
    tier: Mapped[int] = mapped_column(Integer)
    helpdesk: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(32))
    arr_band: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    grp: Mapped[str] = mapped_column(String(64))
    area: Mapped[str] = mapped_column(String(64))
    age: Mapped[str] = mapped_column(String(16))
    # "|churn|refund|": one LIKE finds a trigger's tickets.
    triggers: Mapped[str] = mapped_column(String(500))
    escalated_s: Mapped[float | None] = mapped_column(Float)
    first_s: Mapped[float | None] = mapped_column(Float)
    resolved_s: Mapped[float | None] = mapped_column(Float)
    sla: Mapped[str] = mapped_column(String(8))
    csat: Mapped[float | None] = mapped_column(Float)


class DashboardRollupRow(Base):
    """The sums of the facts of one workspace, day or month, tier and dimension values."""

    __tablename__ = "dashboard_rollups"
    __table_args__ = (
        UniqueConstraint(*_KEY, name="uq_dashboard_rollups_key"),
        # Every workspace at once: the same ranges without the workspace.
        Index(None, "grain", "kept", "kind", "day"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"))
    # "d" a day, "w" a week (its Monday), "m" a month (its first day)
    grain: Mapped[str] = mapped_column(String(1))
    # The filter dimensions the row keeps: "all", none ("") or the one named.
    kept: Mapped[str] = mapped_column(String(8))
    kind: Mapped[str] = mapped_column(String(8))  # "" the totals, else a breakdown
    day: Mapped[date] = mapped_column(Date)
    value: Mapped[str] = mapped_column(String(64))
    tier: Mapped[int] = mapped_column(Integer)
    helpdesk: Mapped[str] = mapped_column(String(32))
    plan: Mapped[str] = mapped_column(String(32))
    arr_band: Mapped[str] = mapped_column(String(16))
    channel: Mapped[str] = mapped_column(String(16))
    category: Mapped[str] = mapped_column(String(32))
    tickets: Mapped[int] = mapped_column(Integer)
    escalated_n: Mapped[int] = mapped_column(Integer)
    escalated_s: Mapped[float] = mapped_column(Float)
    first_n: Mapped[int] = mapped_column(Integer)
    first_s: Mapped[float] = mapped_column(Float)
    resolved_n: Mapped[int] = mapped_column(Integer)
    resolved_s: Mapped[float] = mapped_column(Float)
    sla_met: Mapped[int] = mapped_column(Integer)
    sla_breached: Mapped[int] = mapped_column(Integer)
    csat_n: Mapped[int] = mapped_column(Integer)
    csat_sum: Mapped[float] = mapped_column(Float)


class DashboardPendingRow(Base):
    """A ticket decided since its fact was last computed, with what its decision added."""

    __tablename__ = "dashboard_pending"

    id: Mapped[int] = mapped_column(BigId, primary_key=True)
    tenant_id: Mapped[int] = mapped_column(ForeignKey("tenants.id", ondelete="CASCADE"),
                                           index=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"))
    # The workspace's display zone (IANA name): the day the ticket is counted on.
    zone: Mapped[str] = mapped_column(String(64))
    triggers: Mapped[str] = mapped_column(String(500))
    grp: Mapped[str | None] = mapped_column(String(64))


_PENDING = cast(Table, DashboardPendingRow.__table__)


@dataclass(frozen=True, kw_only=True, slots=True)
class Touched:
    """A ticket a decision (or an SLA step) was just written for, and its workspace's zone."""

    ticket_id: int
    zone: tzinfo
    triggers: tuple[str, ...] = ()
    group: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class DashboardFilter:
    """What the page (or the list behind one of its numbers) is narrowed to; None is all.

    ``first``/``last`` are local days, inclusive. The rollup queries use the workspace, the
    period and the dimensions; the list of tickets also the breakdown values.
    """

    tenant_ids: tuple[int, ...] | None = None
    first: date | None = None
    last: date | None = None
    tier: int | None = None
    helpdesk: str | None = None
    plan: str | None = None
    arr_band: str | None = None
    channel: str | None = None
    category: str | None = None
    sla: str | None = None
    hour: int | None = None
    group: str | None = None
    trigger: str | None = None
    area: str | None = None
    age: str | None = None

    @property
    def dimensions(self) -> tuple[str, ...]:
        """The filter dimensions set (of helpdesk, plan, ARR band, channel, category)."""
        return tuple(name for name in DIMENSIONS if getattr(self, name) is not None)


# --- writing --------------------------------------------------------------------------------


def note(s: Session, touched: Sequence[tuple[int, Touched]]) -> None:
    """Note ``(workspace id, ticket)`` pairs for the next ``fold``, in one statement."""
    if not touched:
        return
    s.flush()
    s.connection().execute(insert(_PENDING), [
        {"tenant_id": tenant_id, "ticket_id": t.ticket_id, "zone": _zone_name(t.zone),
         "triggers": _joined(t.triggers), "grp": t.group} for tenant_id, t in touched])


def fold(s: Session, *, limit: int = FOLD_BATCH, tenant_id: int | None = None) -> int:
    """Fold up to ``limit`` of the oldest notes (of one workspace) into facts and rollups.

    The notes are deleted first: the statement that takes them makes them this transaction's
    alone, so two folders never count one note twice. Returns how many notes it took.
    """
    oldest = select(_PENDING.c.id).order_by(_PENDING.c.id).limit(limit)
    if tenant_id is not None:
        oldest = oldest.where(_PENDING.c.tenant_id == tenant_id)
    if s.scalar(oldest.limit(1)) is None:
        return 0  # nothing noted: no write, no lock
    taken = sorted(s.execute(delete(_PENDING).where(_PENDING.c.id.in_(oldest)).returning(
        _PENDING.c.id, _PENDING.c.ticket_id, _PENDING.c.zone, _PENDING.c.triggers,
        _PENDING.c.grp)).all())
    merged: dict[int, Touched] = {}
    for _, ticket_id, zone, triggers, group in taken:
        earlier = merged.get(ticket_id)
        merged[ticket_id] = Touched(
            ticket_id=ticket_id, zone=_zone(zone),
            triggers=tuple(dict.fromkeys((*(earlier.triggers if earlier else ()),
                                          *_split(triggers)))),
            group=group or (earlier.group if earlier else None))
    refresh(s, list(merged.values()))
    return len(taken)


def fold_all(sessions: sessionmaker[Session], *, limit: int = FOLD_BATCH,
             max_batches: int = 20) -> int:
    """Fold the notes, ``limit`` per transaction, at most ``max_batches``; how many.

    The bound lets the delivery loop that calls it deliver between folds however fast
    decisions come; what is left waits for the next call.
    """
    total = 0
    for _ in range(max_batches):
        with session_scope(sessions) as s:
            taken = fold(s, limit=limit)
        total += taken
        if taken < limit:
            break
    return total


def fold_workspace(s: Session, tenant_id: int | None) -> int:
    """Fold every note of one workspace (None: of all); how many. Readers call it first."""
    total = 0
    while taken := fold(s, tenant_id=tenant_id, limit=1000):
        total += taken
    return total


def current(s: Session, f: DashboardFilter) -> None:
    """Fold the notes of ``f``'s workspaces: what is read then counts every stored decision."""
    for tenant_id in f.tenant_ids if f.tenant_ids is not None else (None,):
        fold_workspace(s, tenant_id)


def _zone_name(zone: tzinfo) -> str:
    return str(getattr(zone, "key", None) or "UTC")


def _zone(name: str) -> tzinfo:
    return UTC if name == "UTC" else ZoneInfo(name)


def _joined(triggers: Sequence[str]) -> str:
    """``("churn", "refund")`` as ``"|churn|refund|"``: one LIKE finds a trigger's rows."""
    return ("|" + "|".join(triggers) + "|")[:500] if triggers else ""


def refresh(s: Session, touched: Sequence[Touched]) -> int:
    """Recompute the facts of ``touched`` tickets and move the rollups by the difference."""
    by_id = {t.ticket_id: t for t in touched}
    if not by_id:
        return 0
    # Locked in id order (PostgreSQL): a second folder of one of these tickets waits, then
    # reads the facts this one wrote.
    tickets = list(s.scalars(
        select(TicketRow).where(TicketRow.id.in_(list(by_id)), TicketRow.tier.is_not(None))
        .order_by(TicketRow.id).with_for_update()
        .execution_options(populate_existing=True)))
    # Read and written as plain rows, many per statement: a sweep refreshes a thousand.
    facts = cast(Table, DashboardFactRow.__table__)
    old = {f.ticket_id: f for f in s.execute(
        select(facts).where(facts.c.ticket_id.in_(list(by_id))))}
    seen = first_seen(s, tickets)
    change: dict[Key, list[float]] = {}
    added: list[dict[str, Any]] = []
    moved: list[dict[str, Any]] = []
    for row in tickets:
        touch, before = by_id[row.id], old.get(row.id)
        triggers = tuple(dict.fromkeys((*_split(before.triggers if before else ""),
                                        *touch.triggers)))
        fact = _fact(row, zone=touch.zone, triggers=triggers,
                     group=touch.group or (before.grp if before else None),
                     first=seen.get(row.account_key or ""))
        _add(change, deltas(_as_fact(before) if before else None, fact))
        (added if before is None else moved).append(_fact_values(fact))
    _write_facts(s, facts, added, moved)
    write_rollups(s, {k: tuple(v) for k, v in change.items() if any(v)})
    return len(tickets)


def _write_facts(s: Session, facts: Table, added: list[dict[str, Any]],
                 moved: list[dict[str, Any]]) -> None:
    """Insert the new facts and overwrite the changed ones, one executemany each."""
    s.flush()
    if added:
        s.connection().execute(insert(facts), added)
    if moved:
        stmt = update(facts).where(facts.c.ticket_id == bindparam("b_ticket_id")).values(
            {c.name: bindparam(c.name) for c in facts.c if c.name != "ticket_id"})
        s.connection().execute(stmt, [{**v, "b_ticket_id": v["ticket_id"]} for v in moved])


def first_seen(s: Session, tickets: Iterable[TicketRow]) -> dict[str, datetime]:
    """When each of these tickets' accounts first wrote (the onboarding age's start)."""
    keys: dict[int, set[str]] = defaultdict(set)
    for row in tickets:
        if row.account_key:
            keys[row.tenant_id].add(row.account_key)
    out: dict[str, datetime] = {}
    for tenant_id, accounts in keys.items():
        for key, at in s.execute(
            select(TicketRow.account_key, func.min(TicketRow.created_at))
            .where(TicketRow.tenant_id == tenant_id, TicketRow.account_key.in_(list(accounts)))
            .group_by(TicketRow.account_key)
        ):
            if key is not None:
                out[key] = _aware(at)
    return out


def write_rollups(s: Session, change: Mapping[Key, Sequence[float]]) -> None:
    """Add ``change`` to the rollup rows (created as needed), in one statement."""
    if not change:
        return
    rows = [dict(zip(_KEY, key, strict=True)) | dict(zip(MEASURES, values, strict=True))
            for key, values in sorted(change.items())]
    s.flush()
    s.connection().execute(_upsert(s.get_bind().dialect.name), rows)


def _upsert(dialect: str) -> Any:
    from sqlalchemy.dialects import postgresql, sqlite

    table = cast(Table, DashboardRollupRow.__table__)
    stmt = (postgresql.insert(table) if dialect == "postgresql" else sqlite.insert(table))
    return stmt.on_conflict_do_update(
        index_elements=list(_KEY),
        set_={m: table.c[m] + stmt.excluded[m] for m in MEASURES},
    )


def rebuild(s: Session, tenant_id: int, *, zone: tzinfo, batch: int = 5000) -> int:
    """Recompute a workspace's facts and rollups from its tickets and decisions."""
    s.execute(delete(DashboardRollupRow).where(DashboardRollupRow.tenant_id == tenant_id))
    s.execute(delete(DashboardFactRow).where(DashboardFactRow.tenant_id == tenant_id))
    # What was noted is counted from the stored decisions below.
    s.execute(delete(DashboardPendingRow).where(DashboardPendingRow.tenant_id == tenant_id))
    seen = _first_seen_all(s, tenant_id)
    totals: dict[Key, list[float]] = {}
    done, after = 0, 0
    while True:
        rows = list(s.scalars(
            select(TicketRow).where(TicketRow.tenant_id == tenant_id, TicketRow.id > after,
                                    TicketRow.tier.is_not(None))
            .order_by(TicketRow.id).limit(batch)))
        if not rows:
            break
        decided = _decided(s, [r.id for r in rows])
        facts = [_fact(r, zone=zone, triggers=decided.get(r.id, ((), None))[0],
                       group=decided.get(r.id, ((), None))[1],
                       first=seen.get(r.account_key or "")) for r in rows]
        s.execute(insert(DashboardFactRow), [_fact_values(f) for f in facts])
        for fact in facts:
            _add(totals, deltas(None, fact))
        done, after = done + len(rows), rows[-1].id
        for row in rows:
            s.expunge(row)  # a large workspace is read a batch at a time
    write_rollups(s, {k: tuple(v) for k, v in totals.items()})
    return done


def missing_rollups(s: Session) -> list[int]:
    """Workspaces with decided tickets but nothing counted (decided before the dashboard)."""
    decided = select(TicketRow.id).where(TicketRow.tenant_id == TenantRow.id,
                                         TicketRow.tier.is_not(None)).exists()
    counted = select(DashboardFactRow.ticket_id).where(
        DashboardFactRow.tenant_id == TenantRow.id).exists()
    noted = select(DashboardPendingRow.id).where(
        DashboardPendingRow.tenant_id == TenantRow.id).exists()
    return list(s.scalars(select(TenantRow.id).where(decided, ~counted, ~noted)
                          .order_by(TenantRow.id)))


def _first_seen_all(s: Session, tenant_id: int) -> dict[str, datetime]:
    return {str(key): _aware(at) for key, at in s.execute(
        select(TicketRow.account_key, func.min(TicketRow.created_at))
        .where(TicketRow.tenant_id == tenant_id, TicketRow.account_key.is_not(None))
        .group_by(TicketRow.account_key))}


def _decided(s: Session, ticket_ids: list[int]) -> dict[int, tuple[tuple[str, ...], str | None]]:
    """Per ticket: every trigger any of its decisions cited, and its latest routed group."""
    out: dict[int, tuple[tuple[str, ...], str | None]] = {}
    for ticket_id, triggers, route in s.execute(
        select(DecisionRow.ticket_id, DecisionRow.triggers, DecisionRow.route)
        .where(DecisionRow.ticket_id.in_(ticket_ids))
        .order_by(DecisionRow.ticket_id, DecisionRow.decided_at, DecisionRow.id)
    ):
        before, group = out.get(ticket_id, ((), None))
        routed = (route or {}).get("group") if isinstance(route, Mapping) else None
        out[ticket_id] = (tuple(dict.fromkeys((*before, *(triggers or ())))), routed or group)
    return out


def _fact(row: TicketRow, *, zone: tzinfo, triggers: Sequence[str], group: str | None,
          first: datetime | None) -> Fact:
    assert row.tier is not None
    return fact_of(
        ticket_id=row.id, tenant_id=row.tenant_id, helpdesk=row.helpdesk,
        created_at=_aware(row.created_at), tier=row.tier, category=row.category or "other",
        data=row.data or {}, timeline=row.timeline, clock=row.sla_clock,
        sla_state=row.sla_state, triggers=triggers, group=group, first_seen=first, zone=zone,
    )


def _aware(value: datetime) -> datetime:
    from datetime import UTC

    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def _add(into: dict[Key, list[float]], change: Mapping[Key, Sequence[float]]) -> None:
    for key, values in change.items():
        row = into.setdefault(key, [0.0] * len(MEASURES))
        for i, value in enumerate(values):
            row[i] += value


def _split(triggers: str) -> tuple[str, ...]:
    return tuple(t for t in triggers.split("|") if t)


def _fact_values(fact: Fact) -> dict[str, Any]:
    return {
        "ticket_id": fact.ticket_id, "tenant_id": fact.tenant_id, "day": fact.day,
        "hour": fact.hour, "tier": fact.tier, "helpdesk": fact.helpdesk, "plan": fact.plan,
        "arr_band": fact.arr_band, "channel": fact.channel, "category": fact.category,
        "grp": fact.group, "area": fact.area, "age": fact.age,
        "triggers": _joined(fact.triggers),
        "escalated_s": fact.escalated_s, "first_s": fact.first_s,
        "resolved_s": fact.resolved_s, "sla": fact.sla, "csat": fact.csat,
    }


def _as_fact(row: Any) -> Fact:
    # A DashboardFactRow or a plain row of its table: the same attributes.
    return Fact(
        ticket_id=row.ticket_id, tenant_id=row.tenant_id, day=row.day, hour=row.hour,
        tier=row.tier, helpdesk=row.helpdesk, plan=row.plan, arr_band=row.arr_band,
        channel=row.channel, category=row.category, group=row.grp, area=row.area,
        age=row.age, triggers=_split(row.triggers), escalated_s=row.escalated_s,
        first_s=row.first_s, resolved_s=row.resolved_s, sla=row.sla, csat=row.csat,
    )


# --- reading --------------------------------------------------------------------------------

_R = DashboardRollupRow
_SUMS = tuple(func.sum(getattr(_R, m)) for m in MEASURES)
_DIMS = (_R.tier, _R.helpdesk, _R.plan, _R.arr_band, _R.channel, _R.category)


def _where(f: DashboardFilter, grain: str, *, kinds: Sequence[str],
           kept: str = EVERY) -> list[Any]:
    out: list[Any] = [_R.grain == grain, _R.kept == kept,
                      _R.kind == kinds[0] if len(kinds) == 1 else _R.kind.in_(list(kinds))]
    if f.tenant_ids is not None:
        out.append(_R.tenant_id.in_(list(f.tenant_ids)))
    if f.first is not None:
        out.append(_R.day >= f.first)
    if f.last is not None:
        out.append(_R.day <= f.last)
    if f.tier is not None:
        out.append(_R.tier == f.tier)
    for column, value in ((_R.helpdesk, f.helpdesk), (_R.plan, f.plan),
                          (_R.arr_band, f.arr_band), (_R.channel, f.channel),
                          (_R.category, f.category)):
        if value is not None:
            out.append(column == value)
    return out


def total_rows(s: Session, f: DashboardFilter) -> list[tuple[Any, ...]]:
    """Per tier and dimension values: every measure's sum (``MEASURES`` order) in the period.

    The period is read as whole months, whole weeks and the days left over (``spans``): the
    fewest rollup rows that add up to it.
    """
    current(s, f)
    if f.first is None or f.last is None:
        parts = [select(*_DIMS, *_SUMS).where(*_where(f, "m", kinds=("",))).group_by(*_DIMS)]
    else:
        parts = [select(*_DIMS, *_SUMS).where(*_where(
            DashboardFilter(**{**_fields(f), "first": first, "last": last}), grain,
            kinds=("",))).group_by(*_DIMS) for grain, first, last in spans(f.first, f.last)]
    if len(parts) == 1:
        return [tuple(r) for r in s.execute(parts[0])]
    both = union_all(*parts).subquery()
    dims = [both.c[i] for i in range(len(_DIMS))]
    query = select(*dims, *(func.sum(both.c[len(_DIMS) + i]) for i in range(len(MEASURES))))
    return [tuple(r) for r in s.execute(query.group_by(*dims))]


def spans(first: date, last: date) -> list[tuple[str, date, date]]:
    """``first``..``last`` as (grain, first key, last key): whole months, weeks, then days."""
    out: list[tuple[str, date, date]] = []
    month = first if first.day == 1 else _next_month(first)
    months: list[date] = []
    while _next_month(month) - timedelta(days=1) <= last:
        months.append(month)
        month = _next_month(month)
    if not months:
        return _weeks_and_days(first, last)
    out += _weeks_and_days(first, months[0] - timedelta(days=1))
    out.append(("m", months[0], months[-1]))
    return out + _weeks_and_days(month, last)


def chart_spans(first: date, last: date, grain: str) -> list[tuple[str, date, date]]:
    """``first``..``last`` in the biggest rows that fit inside one chart bucket of ``grain``:
    whole months (month chart) or weeks (week chart, or inside a partial month), then days."""
    if grain == "m":
        out: list[tuple[str, date, date]] = []
        start = first
        while start <= last:
            month_end = _next_month(start.replace(day=1)) - timedelta(days=1)
            end = min(month_end, last)
            if start.day == 1 and end == month_end:
                whole = out.pop() if out and out[-1][0] == "m" else ("m", start, start)
                out.append(("m", whole[1], start))
            else:
                out += _weeks_and_days(start, end)
            start = end + timedelta(days=1)
        return out
    if grain == "w":
        return _weeks_and_days(first, last)
    return [("d", first, last)]


def _weeks_and_days(start: date, end: date) -> list[tuple[str, date, date]]:
    if start > end:
        return []
    monday = start + timedelta(days=(7 - start.weekday()) % 7)
    weeks = (end - monday).days + 1
    if weeks < 7:
        return [("d", start, end)]
    whole = monday + timedelta(weeks=weeks // 7 - 1)
    out = [("w", monday, whole)]
    if start < monday:
        out.insert(0, ("d", start, monday - timedelta(days=1)))
    if whole + timedelta(days=6) < end:
        out.append(("d", whole + timedelta(days=7), end))
    return out


def _next_month(day: date) -> date:
    return (day.replace(day=1) + timedelta(days=32)).replace(day=1)


def series_rows(s: Session, f: DashboardFilter, *, grain: str = "d") -> list[tuple[Any, ...]]:
    """Per day (or month) and tier: tickets, SLA met, SLA breached."""
    current(s, f)
    query = (select(_R.day, _R.tier, func.sum(_R.tickets), func.sum(_R.sla_met),
                    func.sum(_R.sla_breached))
             .where(*_where(f, grain, kinds=("",))).group_by(_R.day, _R.tier))
    return [tuple(r) for r in s.execute(query)]


def breakdown_rows(s: Session, f: DashboardFilter, *, grain: str = "d",
                   kinds: Sequence[str]) -> list[tuple[Any, ...]]:
    """Per breakdown value and tier: tickets, SLA met, SLA breached, in rows of ``grain``.

    Filtered by two dimensions or more, a month is read from its rows that keep every
    dimension, days and weeks from the facts of their days.
    """
    current(s, f)
    chosen = f.dimensions
    if len(chosen) > 1 and grain != "m":
        assert f.first is not None and f.last is not None
        if grain == "w":  # the days of the weeks whose Mondays are in the range
            f = replace(f, first=f.first + timedelta(days=-f.first.weekday() % 7),
                        last=f.last - timedelta(days=f.last.weekday()) + timedelta(days=6))
        return _fact_breakdowns(s, f, kinds)
    kept = EVERY if len(chosen) > 1 else chosen[0] if chosen else ""
    query = (select(_R.kind, _R.value, _R.tier, func.sum(_R.tickets), func.sum(_R.sla_met),
                    func.sum(_R.sla_breached))
             .where(*_where(f, grain, kinds=kinds, kept=kept))
             .group_by(_R.kind, _R.value, _R.tier))
    return [tuple(r) for r in s.execute(query)]


def period_breakdowns(s: Session, f: DashboardFilter, *,
                      kinds: Sequence[str]) -> list[tuple[Any, ...]]:
    """``breakdown_rows`` of exactly ``f``'s days, from the fewest rows that add up to them.

    Filtered by two dimensions or more: the whole months' rows, and the facts of the days
    before and after them (one read each).
    """
    assert f.first is not None and f.last is not None
    parts = spans(f.first, f.last)
    if len(f.dimensions) < 2:
        return [row for grain, first, last in parts
                for row in breakdown_rows(s, replace(f, first=first, last=last), grain=grain,
                                          kinds=kinds)]
    months = [(first, last) for grain, first, last in parts if grain == "m"]
    if not months:
        return _fact_breakdowns(s, f, kinds)
    first_month, last_month = months[0]
    ranges = ((f.first, first_month - timedelta(days=1)), (_next_month(last_month), f.last))
    return [*breakdown_rows(s, replace(f, first=first_month, last=last_month), grain="m",
                            kinds=kinds),
            *(row for first, last in ranges if first <= last
              for row in _fact_breakdowns(s, replace(f, first=first, last=last), kinds))]


def _fact_breakdowns(s: Session, f: DashboardFilter,
                     kinds: Sequence[str]) -> list[tuple[Any, ...]]:
    """``breakdown_rows`` counted from the facts of ``f``'s days (one scan of the index)."""
    F = DashboardFactRow
    columns = (F.tier, F.hour, F.grp, F.area, F.age, F.triggers, F.sla)
    # Every workspace as a list, so the scan still starts at a workspace's days.
    tenants = (f if f.tenant_ids is not None
               else replace(f, tenant_ids=tuple(s.scalars(select(TenantRow.id)))))
    wanted = frozenset(kinds)
    counts: dict[tuple[str, str, int], list[int]] = {}
    for tier, hour, group, area, age, triggers, sla, tickets in s.execute(
            select(*columns, func.count()).where(*_fact_conditions(tenants))
            .group_by(*columns)):
        met, breached = tickets * (sla == "met"), tickets * (sla == "breached")
        for kind, value in breakdown_values(hour=hour, group=group, triggers=_split(triggers),
                                            area=area, age=age):
            if kind in wanted:
                row = counts.setdefault((kind, value, tier), [0, 0, 0])
                row[0], row[1], row[2] = row[0] + tickets, row[1] + met, row[2] + breached
    return [(kind, value, tier, *row) for (kind, value, tier), row in counts.items()]


def segment_days(s: Session, f: DashboardFilter, *, tier: int = 3) -> list[tuple[Any, ...]]:
    """Per plan and day: tickets of ``tier`` (the spikes per segment)."""
    current(s, f)
    narrowed = DashboardFilter(**{**_fields(f), "tier": tier})
    query = (select(_R.plan, _R.day, func.sum(_R.tickets))
             .where(*_where(narrowed, "d", kinds=("",))).group_by(_R.plan, _R.day))
    return [tuple(r) for r in s.execute(query)]


def _fields(f: DashboardFilter) -> dict[str, Any]:
    return {name: getattr(f, name) for name in DashboardFilter.__dataclass_fields__}


def fact_condition(f: DashboardFilter) -> Any:
    """A condition on tickets: those whose facts match ``f`` (the list behind a number)."""
    return TicketRow.id.in_(select(DashboardFactRow.ticket_id).where(*_fact_conditions(f)))


def _fact_conditions(f: DashboardFilter) -> list[Any]:
    F = DashboardFactRow
    conditions: list[Any] = []
    if f.tenant_ids is not None:
        conditions.append(F.tenant_id.in_(list(f.tenant_ids)))
    if f.first is not None:
        conditions.append(F.day >= f.first)
    if f.last is not None:
        conditions.append(F.day <= f.last)
    for column, value in ((F.tier, f.tier), (F.helpdesk, f.helpdesk), (F.plan, f.plan),
                          (F.arr_band, f.arr_band), (F.channel, f.channel),
                          (F.category, f.category), (F.sla, f.sla), (F.hour, f.hour),
                          (F.grp, f.group), (F.area, f.area), (F.age, f.age)):
        if value is not None:
            conditions.append(column == value)
    if f.trigger is not None:
        escaped = "".join("\\" + c if c in "%_\\" else c for c in f.trigger)
        conditions.append(F.triggers.like(f"%|{escaped}|%", escape="\\"))
    return conditions
