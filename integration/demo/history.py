"""Eight weeks of past, solved tickets for the demo workspace, so its audit has something to say.

The demo's 58 live tickets are open and none records an escalation, so an audit or a matrix
replay of them alone has nothing to measure. ``demo_history`` writes a plausible history of
the same accounts and problems, as a helpdesk import would store it: solved tickets spread
over working days and hours in the demo's time zone, with what happened to each — the agent's
ticket type, an escalation tag for most churn, outage and refund cases (and a few others),
reply and resolution times, reopens, reassignments, a satisfaction rating. Half the bug
reports are filed as questions, and they take days and are rated badly (the audit's label
check does not flag them yet: too few other questions form the norm to compare with). The same
``now`` gives the same history.
"""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import datetime, timedelta, tzinfo
from typing import Any

from integration.models import Status, Ticket

__all__ = ["HISTORY_DAYS", "HISTORY_TICKETS", "demo_history"]

HISTORY_DAYS = 56
HISTORY_TICKETS = 320
# Share of each tier's tickets the team escalated by hand.
_ESCALATED = {1: 0.02, 2: 0.12, 3: 0.7}
# The ticket type an agent picks for each category (a helpdesk's own words).
_TYPES = {"how_to": "question", "bug": "problem", "outage": "incident", "feature_request": "task"}
# Renewal dates the CRM knows for some accounts, in days from the moment the demo is seeded.
_RENEWS_IN_DAYS = {"org-halcyon": 24, "org-kestrel": 52, "org-northwind": 75,
                   "org-granite": 200}
# Accounts whose tickets came mostly in the last four weeks (a rising contact rate): the
# at-risk page then shows the spike whatever day the demo is seeded.
_WRITING_MORE = frozenset({"org-halcyon", "org-kestrel"})
# Working hours weigh most; evenings and nights a little.
_HOURS = [1] * 7 + [4, 8, 9, 9, 8, 6, 8, 9, 8, 7, 5, 3, 2, 2, 1, 1, 1]


def demo_history(samples: list[Ticket], expected: dict[str, dict[str, Any]], *,
                 now: datetime, zone: tzinfo) -> list[Ticket]:
    """``HISTORY_TICKETS`` solved tickets made from ``samples``, created in the last weeks."""
    rng = random.Random("demo-history")
    out = []
    for n in range(HISTORY_TICKETS):
        sample = samples[n % len(samples)]
        labels = expected.get(sample.id, {})
        created = _created(rng, now, zone)
        out.append(_past(sample, n, created, rng, tier=int(labels.get("tier", 2)),
                         category=str(labels.get("category", "how_to"))))
    return [_solved_by(_story(t, now, zone), now) for t in out]


def _solved_by(ticket: Ticket, now: datetime) -> Ticket:
    """The ticket, whole weeks earlier if it would be solved only after ``now``.

    A history import holds tickets already solved; one solved in the future would also top the
    start page (latest update first) above the live tickets. Whole weeks keep the weekday and
    hour it came in.
    """
    if ticket.updated_at < now:
        return ticket
    return _moved(ticket, -timedelta(weeks=(ticket.updated_at - now) // timedelta(weeks=1) + 1))


def _moved(ticket: Ticket, by: timedelta) -> Ticket:
    return replace(
        ticket, created_at=ticket.created_at + by, updated_at=ticket.updated_at + by,
        messages=tuple(replace(m, created_at=m.created_at + by) for m in ticket.messages),
    )


def _story(ticket: Ticket, now: datetime, zone: tzinfo) -> Ticket:
    """The at-risk page's story: renewal dates the CRM knows, and an account writing more."""
    account = ticket.account
    if account is None or account.id not in _RENEWS_IN_DAYS:
        return ticket
    renewal = (now.astimezone(zone) + timedelta(days=_RENEWS_IN_DAYS[account.id])).date()
    ticket = replace(ticket, account=replace(account, renewal_date=renewal))
    age = now - ticket.created_at
    if account.id not in _WRITING_MORE or age <= timedelta(weeks=4) or int(ticket.id[1:]) % 4 == 0:
        return ticket
    # Four weeks later: the same weekday and hour, so the working-hours pattern holds.
    return _moved(ticket, timedelta(weeks=4))


def _created(rng: random.Random, now: datetime, zone: tzinfo) -> datetime:
    while True:
        day = (now - timedelta(days=rng.randint(1, HISTORY_DAYS))).astimezone(zone)
        if day.weekday() < 5 or rng.random() < 0.25:
            break
    hour = rng.choices(range(24), weights=_HOURS)[0]
    local = day.replace(hour=hour, minute=rng.randint(0, 59), second=0, microsecond=0)
    return local.astimezone(now.tzinfo)


def _past(sample: Ticket, n: int, created: datetime, rng: random.Random, *,
          tier: int, category: str) -> Ticket:
    misfiled = category == "bug" and n % 2 == 0
    escalated = rng.random() < _ESCALATED.get(tier, 0.1)
    outcome = _outcome(rng, tier=tier, escalated=escalated, slow=misfiled)
    resolved = created + timedelta(minutes=outcome["resolution_minutes"])
    messages = tuple(replace(m, id=f"h{n:04d}-{i}", created_at=created + timedelta(minutes=i))
                     for i, m in enumerate(sample.messages))
    return replace(
        sample, id=f"h{n:04d}", status=Status.SOLVED if rng.random() < 0.6 else Status.CLOSED,
        created_at=created, updated_at=resolved, messages=messages, page_url=None,
        tags=(f"escalated_{category}",) if escalated else (),
        group="escalations" if escalated else ("billing" if category == "billing" else "support"),
        csat=outcome.pop("csat"),
        custom={"type": "question" if misfiled else _TYPES.get(category, category), **outcome},
    )


def _outcome(rng: random.Random, *, tier: int, escalated: bool, slow: bool) -> dict[str, Any]:
    first_reply = rng.uniform(5, 60) if tier == 3 else rng.uniform(20, 240)
    resolution = rng.uniform(60, 900) * (1 + tier) * (3 if escalated else 1)
    if slow:
        resolution = rng.uniform(2500, 7000)
    rated_badly = slow or escalated and rng.random() < 0.5 or rng.random() < 0.1
    return {
        "first_reply_minutes": round(first_reply),
        "resolution_minutes": round(max(resolution, first_reply + 5)),
        "reopens": 1 if rng.random() < (0.3 if slow else 0.08) else 0,
        "reassignments": rng.randint(1, 3) if escalated or slow else rng.randint(0, 1),
        "csat": (None if rng.random() < 0.4
                 else round(rng.uniform(0.0, 0.4) if rated_badly else rng.uniform(0.7, 1.0), 2)),
    }
