"""The start page's and the sidebar's queries: a filtered page of tickets, and their stories.

``ticket_page`` answers one page of the ticket list in two queries however many tickets there
are: the rows (filters, then tier and last update, newest first, the id breaking ties so pages
never overlap) and the count per tier under the same filters. ``ticket_stories`` reads what
was decided about a page of tickets and what was written back, in two queries for the whole
page: each ticket's latest decisions (a window, so a long-lived ticket costs no more) and the
outbox rows of those tickets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, aliased, defer

from integration.models import Ticket
from integration.store.dashboard import DashboardFilter, current, fact_condition
from integration.store.tables import DecisionRow, OutboxRow, TicketRow

__all__ = [
    "UNDECIDED",
    "Story",
    "TicketFilter",
    "TicketPage",
    "search_text",
    "ticket_page",
    "ticket_stories",
]

# The tier filter's value for tickets nothing was decided about yet (imported history).
UNDECIDED = 0
_LIKE_ESCAPE = "\\"
SEARCH_TEXT_CHARS = 300  # kept short: the list's indexes hold it


@dataclass(frozen=True, kw_only=True, slots=True)
class TicketFilter:
    """Which tickets a page lists; ``None`` everywhere means every decided ticket.

    ``tier`` ``UNDECIDED`` lists the tickets with no decision yet (a history import), which
    are otherwise left out. ``search`` matches the ticket id, subject, account name and the
    requester's name or e-mail, ignoring case.
    """

    tenant_ids: tuple[int, ...] | None = None
    tier: int | None = None
    status: str | None = None
    helpdesk: str | None = None
    category: str | None = None
    search: str | None = None
    # The tickets behind a dashboard number (their dashboard facts match).
    facts: DashboardFilter | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class TicketPage:
    """One page of tickets, how many match in all, and how many of those per tier."""

    rows: tuple[TicketRow, ...]
    total: int
    offset: int
    # Under the same filters except the tier: tier (UNDECIDED for none) -> tickets.
    tier_counts: Mapping[int, int]


@dataclass(frozen=True, kw_only=True, slots=True)
class Story:
    """What was decided about a ticket and what was written back, newest first."""

    decisions: tuple[DecisionRow, ...] = ()
    # Outbox rows of those decisions, and the ones no decision caused (SLA warnings, notes
    # linking a bug), no older than the oldest decision shown.
    writes: tuple[OutboxRow, ...] = ()
    earlier: int = 0  # older decisions not read


def search_text(ticket: Ticket) -> str:
    """What the search looks in (id, subject, account, requester), lower-cased, one column."""
    parts = (ticket.id, ticket.subject, ticket.account.name if ticket.account else None,
             ticket.requester.name, ticket.requester.email)
    return "\n".join(p for p in parts if p).lower()[:SEARCH_TEXT_CHARS]


def ticket_page(
    s: Session, filters: TicketFilter, *, offset: int = 0, limit: int = 50
) -> TicketPage:
    """One page of the tickets ``filters`` select, highest tier and latest update first."""
    if offset < 0 or limit < 1:
        raise ValueError(f"offset must be >= 0 and limit >= 1, got {offset}, {limit}")
    if filters.facts is not None:
        current(s, filters.facts)  # a number followed to its tickets finds them all
    common = _conditions(filters)
    counts: dict[int, int] = {}
    for tier, count in s.execute(
        select(TicketRow.tier, func.count()).where(*common).group_by(TicketRow.tier)
    ):
        counts[UNDECIDED if tier is None else int(tier)] = int(count)
    wanted: list[ColumnElement[bool]]
    if filters.tier is None:
        wanted = [TicketRow.tier.is_not(None)]
        total = sum(n for tier, n in counts.items() if tier != UNDECIDED)
    elif filters.tier == UNDECIDED:
        wanted = [TicketRow.tier.is_(None)]
        total = counts.get(UNDECIDED, 0)
    else:
        wanted = [TicketRow.tier == filters.tier]
        total = counts.get(filters.tier, 0)
    query = (
        select(TicketRow)
        .where(*common, *wanted)
        .order_by(TicketRow.tier.desc(), TicketRow.updated_at.desc(), TicketRow.id.desc())
        .offset(offset)
        .limit(limit)
        # The list shows the ticket, not its SLA arithmetic or status history.
        .options(defer(TicketRow.sla_clock), defer(TicketRow.timeline))
    )
    return TicketPage(rows=tuple(s.scalars(query)), total=total, offset=offset,
                      tier_counts=counts)


def ticket_stories(
    s: Session, ticket_ids: Sequence[int], *, per_ticket: int = 20, context: bool = False
) -> dict[int, Story]:
    """The latest ``per_ticket`` decisions of each ticket and what they wrote back.

    ``context`` also reads each decision's evidence and handoff (the sidebar shows them);
    without it, touching those raises instead of costing a query per decision.
    """
    if not ticket_ids:
        return {}
    ids = list(dict.fromkeys(ticket_ids))
    ranked = (
        select(
            DecisionRow,
            func.row_number().over(
                partition_by=DecisionRow.ticket_id,
                order_by=(DecisionRow.decided_at.desc(), DecisionRow.id.desc()),
            ).label("n"),
            func.count().over(partition_by=DecisionRow.ticket_id).label("of"),
        )
        .where(DecisionRow.ticket_id.in_(ids))
        .subquery()
    )
    decision = aliased(DecisionRow, ranked)
    decisions: dict[int, list[DecisionRow]] = defaultdict(list)
    earlier: dict[int, int] = {}
    query = (
        select(decision, ranked.c.of)
        .where(ranked.c.n <= per_ticket)
        .order_by(ranked.c.ticket_id, ranked.c.n)
    )
    if not context:
        query = query.options(defer(decision.signals, raiseload=True),
                              defer(decision.handoff, raiseload=True))
    for row, total in s.execute(query):
        decisions[row.ticket_id].append(row)
        earlier[row.ticket_id] = int(total) - per_ticket if total > per_ticket else 0
    writes: dict[int, list[OutboxRow]] = defaultdict(list)
    for out in s.scalars(
        select(OutboxRow).where(OutboxRow.ticket_id.in_(ids)).order_by(OutboxRow.id.desc())
    ):
        assert out.ticket_id is not None
        writes[out.ticket_id].append(out)
    stories = {}
    for ticket_id in ids:
        shown = decisions.get(ticket_id, [])
        stories[ticket_id] = Story(
            decisions=tuple(shown),
            writes=_writes_of(shown, writes.get(ticket_id, []), cut=bool(earlier.get(ticket_id))),
            earlier=earlier.get(ticket_id, 0),
        )
    return stories


def _writes_of(
    decisions: list[DecisionRow], rows: list[OutboxRow], *, cut: bool
) -> tuple[OutboxRow, ...]:
    shown = {d.id for d in decisions}
    oldest = decisions[-1].decided_at if cut and decisions else None
    return tuple(
        r for r in rows
        if r.decision_id in shown
        or (r.decision_id is None and (oldest is None or r.created_at >= oldest))
    )


def _conditions(filters: TicketFilter) -> list[ColumnElement[bool]]:
    """Every condition but the tier's."""
    out: list[ColumnElement[bool]] = []
    if filters.tenant_ids is not None:
        out.append(TicketRow.tenant_id.in_(list(filters.tenant_ids)))
    for column, value in ((TicketRow.status, filters.status),
                          (TicketRow.helpdesk, filters.helpdesk),
                          (TicketRow.category, filters.category)):
        if value is not None:
            out.append(column == value)
    term = (filters.search or "").strip().lstrip("#").strip().lower()
    if term:
        out.append(_matches(term))
    if filters.facts is not None:
        out.append(fact_condition(filters.facts))
    return out


def _matches(term: str) -> ColumnElement[bool]:
    escaped = "".join(_LIKE_ESCAPE + c if c in "%_\\" else c for c in term)
    # Only the one column: the list's indexes hold it, so a search reads no ticket's JSON.
    return TicketRow.search_text.like(f"%{escaped}%", escape=_LIKE_ESCAPE)
