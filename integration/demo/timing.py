"""When the demo's sample tickets happened: dated relative to the moment the demo is seeded.

The sample tickets carry fixed dates in November 2026 (the detection tests read them as
written). Replayed as they are, every SLA clock would long have run out and the scheduler's
first sweep would breach them all. ``redate`` moves them so that the sweep changes only what
the demo means to show, at whatever weekday or hour it is seeded:

* Most tickets arrived in the last few minutes, one every ``SLOT`` in file order (so repeat
  contacts keep their order), each keeping its messages' order; a thread longer than the time
  left until seeding is squeezed into it. Tier 3's 24/7 clock warns after 30 minutes and the
  business-hours tiers after hours of open time, so the first sweeps leave these alone.
* A few *scenes* are staged on purpose (``SCENES``): each has run ``open_for`` on its tier's
  clock at seeding, counted on that tier's calendar — a scene seeded on a Saturday night
  started on Friday afternoon, one seeded on a Tuesday morning earlier that morning — so the
  sweep warns, breaches or promotes exactly those, and the start page says why.

Pure: no I/O, no clock of its own.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from integration.calendars import Calendar, business_time_between
from integration.matrix import Matrix
from integration.models import Ticket, Tier

__all__ = ["SCENES", "SLOT", "Scene", "redate", "started_before"]

# Time between two quiet sample tickets: 58 of them arrive over the last ten minutes.
SLOT = timedelta(seconds=10)


@dataclass(frozen=True, kw_only=True, slots=True)
class Scene:
    """A sample ticket staged so the SLA sweep acts on it on purpose."""

    ticket_id: str
    tier: Tier  # the tier the matrix gives it; its calendar counts ``open_for``
    open_for: timedelta  # how long its clock has run when the demo is seeded
    outcome: str  # the SLA state the first sweep leaves it in
    shows: str  # what the start page says about it


SCENES: Mapping[str, Scene] = {
    scene.ticket_id: scene
    for scene in (
        Scene(
            ticket_id="1015", tier=Tier.TWO, open_for=timedelta(hours=4, minutes=15),
            outcome="promoted",
            shows="Staged: nobody answered within Tier 2's 4 business hours, so the SLA "
                  "sweep promotes it to Tier 3 with no human action.",
        ),
        Scene(
            ticket_id="1017", tier=Tier.THREE, open_for=timedelta(days=5),
            outcome="breached",
            shows="Staged: the customer has waited five days for an admin; the SLA ran out "
                  "long before the demo began, so the first sweep records the breach.",
        ),
        Scene(
            ticket_id="1019", tier=Tier.THREE, open_for=timedelta(minutes=45),
            outcome="warning",
            shows="Staged: reported 45 minutes ago with only an internal note since; the "
                  "1-hour first response is due in 15 minutes, so the sweep warns.",
        ),
        Scene(
            ticket_id="1042", tier=Tier.TWO, open_for=timedelta(hours=3, minutes=45),
            outcome="warning",
            shows="Staged: 15 business minutes are left of Tier 2's 4-hour first response, "
                  "so the sweep warns.",
        ),
    )
}


def redate(
    tickets: Sequence[Ticket],
    *,
    now: datetime,
    matrix: Matrix,
    scenes: Mapping[str, Scene] = SCENES,
) -> list[Ticket]:
    """The sample ``tickets`` (file order) moved to just before ``now``; scenes as staged."""
    # Whole seconds: the wire format has no fractions, and a webhook must round-trip.
    anchor = now.replace(microsecond=0)
    quiet = [t for t in tickets if t.id not in scenes]
    starts = {t.id: anchor - SLOT * (len(quiet) - n) for n, t in enumerate(quiet)}
    out = []
    for ticket in tickets:
        scene = scenes.get(ticket.id)
        if scene is None:
            out.append(_moved(ticket, start=starts[ticket.id], end=anchor))
            continue
        calendar = matrix.tier_settings(scene.tier).sla.calendar
        out.append(_moved(ticket, start=started_before(anchor, scene.open_for, calendar),
                          end=anchor))
    return out


def started_before(end: datetime, open_for: timedelta, calendar: Calendar | None) -> datetime:
    """The latest start from which ``calendar`` counts ``open_for`` of open time until ``end``.

    ``calendar=None`` is 24/7. Found by bisection on whole seconds: business time elapsed only
    grows as the start moves back, and the calendar module counts forwards only.
    """
    if calendar is None:
        return end - open_for
    short, long = int(open_for.total_seconds()), int(open_for.total_seconds())
    while business_time_between(end - timedelta(seconds=long), end, calendar) < open_for:
        short, long = long, long * 2
    while long - short > 1:
        middle = (short + long) // 2
        if business_time_between(end - timedelta(seconds=middle), end, calendar) < open_for:
            short = middle
        else:
            long = middle
    return end - timedelta(seconds=long)


def _moved(ticket: Ticket, *, start: datetime, end: datetime) -> Ticket:
    """``ticket`` created at ``start``, its messages in order and none after ``end``."""
    span = (ticket.updated_at - ticket.created_at).total_seconds()
    room = (end - start).total_seconds()
    squeeze = min(1.0, room / span) if span > 0 else 1.0

    def at(value: datetime) -> datetime:
        offset = int((value - ticket.created_at).total_seconds() * squeeze)
        return start + timedelta(seconds=offset)

    return replace(
        ticket,
        created_at=at(ticket.created_at),
        updated_at=at(ticket.updated_at),
        messages=tuple(replace(m, created_at=at(m.created_at)) for m in ticket.messages),
    )
