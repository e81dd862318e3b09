"""Between tickets and SLA clocks: the stored timeline, the clock, and what the sweep acts on.

The store keeps, per ticket, a timeline of status and tier changes (JSON) and the SLA fields
the sweep's indexed query reads: ``sla_due_at``, ``sla_warn_at``, ``sla_next_at`` and
``sla_state`` — the step the sweep last acted on. Whenever the ticket changes these are
recomputed here (not on read). Pure: no I/O.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from integration.matrix import Matrix
from integration.models import Status, Ticket, Tier, parse_time
from integration.sla import SlaClock, SlaState, Timeline, sla_clock

__all__ = ["SlaFields", "clock_for", "next_step", "sla_fields", "timeline_json"]

# States that record an action already taken for the current due time.
_ACTED = frozenset({SlaState.WARNING, SlaState.BREACHED, SlaState.PROMOTED})


@dataclass(frozen=True, kw_only=True, slots=True)
class SlaFields:
    """What the ticket row stores about its SLA."""

    state: SlaState
    due_at: datetime | None
    warn_at: datetime | None
    next_at: datetime | None
    clock: dict[str, Any]
    timeline: dict[str, Any]


def timeline_json(
    previous: Mapping[str, Any] | None,
    ticket: Ticket,
    tier: Tier | None,
    *,
    at: datetime | None = None,
) -> dict[str, Any]:
    """The stored timeline with ``ticket``'s current status and ``tier`` appended if changed.

    A change is stamped ``at`` (default: the helpdesk's ``updated_at``, so a history import
    and a live webhook build the same timeline), never before the last entry.
    """
    statuses = [list(e) for e in (previous or {}).get("statuses", [])]
    tiers = [list(e) for e in (previous or {}).get("tiers", [])]
    if not statuses:
        # First sight of the ticket: it was open from creation until this update.
        statuses.append([_iso(ticket.created_at), Status.OPEN.value])
    # Helpdesk clocks drift: nothing is stamped before the ticket's own creation.
    at = max(at or ticket.updated_at, ticket.created_at)

    def stamp(entries: list[list[Any]]) -> str:
        last = parse_time(entries[-1][0], "timeline") if entries else at
        return _iso(max(at, last))

    if statuses[-1][1] != ticket.status.value:
        statuses.append([stamp(statuses), ticket.status.value])
    if tier is not None and (not tiers or tiers[-1][1] != int(tier)):
        tiers.append([stamp(tiers) if tiers else _iso(ticket.created_at), int(tier)])
    return {"statuses": statuses, "tiers": tiers}


def _iso(value: datetime) -> str:
    # Microseconds kept: a timeline entry must never sort before the ticket's creation.
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _timeline(ticket: Ticket, data: Mapping[str, Any]) -> Timeline:
    statuses = tuple(
        (parse_time(at, "timeline.statuses"), Status(st)) for at, st in data.get("statuses", [])
    )
    tiers = tuple((parse_time(at, "timeline.tiers"), Tier(t)) for at, t in data.get("tiers", []))
    return Timeline.of(ticket, statuses=statuses, tiers=tiers)


def clock_for(
    matrix: Matrix, ticket: Ticket, timeline: Mapping[str, Any], *, now: datetime
) -> SlaClock:
    """The ticket's SLA clock under ``matrix``'s per-tier targets."""
    targets = {tier: matrix.tier_settings(tier).sla for tier in Tier}
    return sla_clock(
        _timeline(ticket, timeline),
        targets,
        # A ticket stamped a little ahead of our clock (helpdesk clock skew) starts now.
        now=max(now, ticket.created_at),
        warn_before=matrix.warn_before,
        pause_on=frozenset(matrix.pause_on),
    )


def next_step(
    clock: SlaClock, *, previous_state: str | None, previous_due: datetime | None
) -> tuple[SlaState, datetime | None]:
    """The state to store and when the sweep should look again.

    A warning or breach already acted on for the same due time stays acted on; a new due
    time (an agent replied, the tier changed, the ticket was reopened) starts over at ok. A
    threshold already in the past is left to the next sweep, which acts on it within seconds.
    """
    if clock.state in (SlaState.PAUSED, SlaState.DONE) or clock.due_at is None:
        state = clock.state if clock.state in (SlaState.PAUSED, SlaState.DONE) else SlaState.DONE
        return state, None
    if previous_state in _ACTED and previous_due == clock.due_at:
        acted = SlaState(previous_state)
        return acted, clock.due_at if acted is SlaState.WARNING else None
    return SlaState.OK, clock.warn_at or clock.due_at


def sla_fields(
    matrix: Matrix,
    ticket: Ticket,
    *,
    tier: Tier | None,
    timeline: Mapping[str, Any] | None,
    previous_state: str | None,
    previous_due: datetime | None,
    now: datetime,
) -> SlaFields:
    """Everything the row stores about the SLA after ``ticket`` changed."""
    data = timeline_json(timeline, ticket, tier)
    clock = clock_for(matrix, ticket, data, now=now)
    state, next_at = next_step(clock, previous_state=previous_state, previous_due=previous_due)
    return SlaFields(
        state=state,
        due_at=clock.due_at,
        warn_at=clock.warn_at,
        next_at=next_at,
        clock=clock.to_dict(),
        timeline=data,
    )
