"""Bugs from tickets, wired to the store and the outbox: group, report, link, spike, close.

``on_ticket`` runs in the transaction that stores a decision: a bug-shaped ticket joins its
group; when the matrix's rule says the group is due (or it was already filed), the drafted
report goes to the tracker through the outbox — the tracker comments instead of filing twice.
``after_filed`` runs when the tracker answered: each ticket of the group gets one internal note
linking the issue. ``on_resolved`` closes the loop when the tracker says the issue is done.
An emerging incident (a spike in the group's hourly count) is alerted to Slack once per hour.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from integration import outbox, store
from integration.bugs.groupers import Groupers
from integration.bugs.policy import bug_shape, report_due, window_start
from integration.bugs.report import GroupTicket, draft_report
from integration.bugs.spikes import Spike, SpikeSettings, detect_spike
from integration.bugs.totals import GroupTotals, totals_of
from integration.context import TenantContext, connected_targets
from integration.models import Action, ActionKind, Signals, Ticket, format_time
from integration.store.bugs import (
    BugGroupRow,
    BugGroupTicketRow,
    get_group,
    group_by_tracker_key,
    group_hourly_counts,
    group_sample,
    group_tickets,
    group_totals,
    link_ticket,
    links_not_noted,
)

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = [
    "TRACKERS",
    "Assigned",
    "after_filed",
    "assign",
    "incident_key",
    "incident_payload",
    "on_resolved",
    "on_ticket",
    "tracker_for",
]

log = logging.getLogger(__name__)
TRACKERS = ("jira", "linear")
# What a report or an incident alert quotes of a group: its first tickets (where the steps and
# the error were first told) and its newest. The counts cover the whole group, read in SQL, so
# a ticket joining a group of thousands costs what joining a group of thirty does.
SAMPLE_FIRST = 25
SAMPLE_NEWEST = 5


def tracker_for(tenant: TenantContext) -> str | None:
    """The tracker bug reports go to: the matrix's choice, else the one the tenant connected."""
    wanted = tenant.matrix.bugs.tracker
    if wanted is not None:
        return wanted if wanted in tenant.connected else None
    return next((t for t in TRACKERS if t in tenant.connected), None)


def _group_items(tenant: TenantContext,
                 members: list[tuple[BugGroupTicketRow, store.TicketRow]]) -> list[GroupTicket]:
    return [GroupTicket(ticket=Ticket.from_dict(row.data), tier=row.tier,
                        url=tenant.ticket_link(row.external_id)) for _, row in members]


@dataclass(frozen=True, kw_only=True, slots=True)
class Assigned:
    """The stored group a bug-shaped ticket joins, and why."""

    key: str
    matched_on: str


def assign(s: Session, tenant: TenantContext, groupers: Groupers, *, ticket: Ticket,
           signals: Signals) -> Assigned | None:
    """The group a bug-shaped ticket joins (None: it is not bug-shaped).

    Called before the decision's first write: comparing the ticket with the groups is the
    CPU-heavy part, and on SQLite the write lock is held from the first write to the commit.
    """
    if not bug_shape(tenant.matrix.bugs, signals):
        return None
    key, matched_on = groupers.assign(s, tenant.id, ticket)
    return Assigned(key=key, matched_on=matched_on)


def on_ticket(
    s: Session,
    tenant: TenantContext,
    assigned: Assigned | None,
    *,
    row: store.TicketRow,
    ticket: Ticket,
    now: datetime,
) -> list[str]:
    """Put an assigned ticket in its group, queue the report when due, alert a spike; what
    was done."""
    if assigned is None:
        return []
    policy = tenant.matrix.bugs
    key, matched_on = assigned.key, assigned.matched_on
    group = link_ticket(s, tenant_id=tenant.id, tenant_slug=tenant.slug, group_key=key,
                        ticket_id=row.id, title=ticket.subject, matched_on=matched_on, now=now)
    done = [f"bug group {group.fingerprint}: {matched_on}"]
    totals = group_totals(s, group.id, since=window_start(policy, now))
    tracker = tracker_for(tenant)
    due = report_due(policy, totals)
    members: list[tuple[BugGroupTicketRow, store.TicketRow]] | None = None
    if tracker is not None and (due.due or group.status == "reported"):
        members = _sample(s, group, row)
        items = _group_items(tenant, members)
        # A group already filed links only its newest tickets and this one: the others were
        # linked when they joined.
        links = None
        if group.status == "reported":
            newest = {r.id for _, r in members[-SAMPLE_NEWEST:]} | {row.id}
            links = [i for i, (_, r) in zip(items, members, strict=True) if r.id in newest]
        draft = draft_report(items, fingerprint=group.fingerprint, totals=totals, links=links)
        payload = {"kind": "bug_report", "report": draft.to_dict(), "group_id": group.id,
                   "reason": due.reason}
        queued = outbox.enqueue(
            s, tenant_id=tenant.id, target=tracker, ticket_external_id=ticket.id,
            actions=[Action(kind=ActionKind.ALERT, target=tracker, payload=payload)],
            # One report per group size: a retry or a re-scored ticket files nothing new.
            idempotency_key=f"{tenant.slug}:bug:{group.id}:{totals.tickets}",
            ticket_id=row.id, now=now,
        )
        if queued is not None:
            group.reports += 1
            if group.status == "open":
                group.status, group.tracker, group.reported_at = "reported", tracker, now
            done.append(f"report queued for {tracker} ({due.reason})")
    done += _spike(s, tenant, group=group, totals=totals, members=members, ticket=ticket,
                   row=row, now=now)
    return done


def _sample(s: Session, group: BugGroupRow,
            row: store.TicketRow) -> list[tuple[BugGroupTicketRow, store.TicketRow]]:
    """The tickets a report quotes: the group's first and newest, and the one that joined."""
    return group_sample(s, group.id, first=SAMPLE_FIRST, newest=SAMPLE_NEWEST, also=row.id)


def _spike(s: Session, tenant: TenantContext, *, group: BugGroupRow, totals: GroupTotals,
           members: list[tuple[BugGroupTicketRow, store.TicketRow]] | None, ticket: Ticket,
           row: store.TicketRow, now: datetime) -> list[str]:
    """Alert a spike in the group's hourly count once per hour (``members``: the sample, when
    the report already read it)."""
    policy = tenant.matrix.bugs
    settings = SpikeSettings(weeks=policy.spike_weeks, z=policy.spike_z,
                             min_count=policy.spike_min_count)
    counts = group_hourly_counts(s, group.id, since=now - timedelta(weeks=settings.weeks, hours=1))
    spike = detect_spike(counts, ticket.created_at, settings)
    if spike is None or group.spike_hour == spike.hour:
        return []
    group.spike_hour = spike.hour
    if "slack" not in tenant.connected:
        return [f"spike: {spike.reason} (Slack not connected)"]
    sample = members if members is not None else _sample(s, group, row)
    payload = incident_payload(tenant, group, _group_items(tenant, sample), spike=spike,
                               latest=ticket, totals=totals)
    outbox.enqueue(
        s, tenant_id=tenant.id, target="slack", ticket_external_id=ticket.id,
        actions=[Action(kind=ActionKind.ALERT, target="slack", payload=payload)],
        idempotency_key=f"{tenant.slug}:spike:{group.id}:{spike.hour:%Y%m%d%H}",
        ticket_id=row.id, now=now,
    )
    return [f"spike alerted: {spike.reason}"]


def incident_key(tenant_slug: str, fingerprint: str) -> str:
    """The dedupe key of a bug's emerging-incident alert: one message, later spikes threaded."""
    return f"{tenant_slug}:bug:{fingerprint}:incident"


def incident_payload(tenant: TenantContext, group: BugGroupRow, items: list[GroupTicket], *,
                     spike: Spike, latest: Ticket, totals: GroupTotals | None = None
                     ) -> dict[str, Any]:
    """What the incident alert shows: the error, tickets and accounts hit, ARR, when, the bug.

    ``items`` may be a sample of the group; ``totals`` then counts all of it.
    """
    totals = totals or totals_of((i.ticket, i.tier) for i in items)
    draft = draft_report(items, fingerprint=group.fingerprint, totals=totals)
    zone = tenant.matrix.display_zone
    accounts: dict[str, dict[str, Any]] = {}
    for item in items:
        account = item.ticket.account
        key = account.id if account is not None else f"requester:{item.ticket.requester.id}"
        accounts.setdefault(key, {
            "name": (account.name or account.id) if account is not None
            else (item.ticket.requester.name or item.ticket.requester.email or "?"),
            "arr": account.arr if account is not None else None,
            "plan": account.plan if account is not None else None,
            "ticket_url": item.url,
        })
    times = [i.ticket.created_at for i in items]
    newest = sorted(items, key=lambda i: i.ticket.created_at, reverse=True)[:5]
    return {
        "kind": "emerging_incident",
        "dedupe_key": incident_key(tenant.slug, group.fingerprint),
        "ticket_key": latest.key, "ticket_id": latest.id, "tenant": tenant.slug,
        # The title without its "(N accounts)": the count is shown beside it.
        "title": re.sub(r"\s*\(\d+ accounts?\)$", "", draft.title),
        "error": draft.error_text,
        "reason": (f"{spike.count} tickets this hour, where this hour of the week usually "
                   f"has {spike.baseline:.1f}: well above the usual."),
        "count": spike.count,
        "baseline": round(spike.baseline, 2),
        "tickets_total": draft.ticket_total,
        "accounts": list(accounts.values()),
        "accounts_total": draft.customer_total,
        "arr_affected": totals.arr,
        "first_seen": format_time(totals.first_at or min(times)),
        "last_seen": format_time(totals.last_at or max(times)),
        "display_zone": str(getattr(zone, "key", None) or "UTC"),
        "tracker_issue": ({"key": group.tracker_key, "url": group.tracker_url}
                          if group.tracker_key else None),
        "tickets": [{"id": i.ticket.id, "url": i.url,
                     "account": (i.ticket.account.name if i.ticket.account else None)}
                    for i in newest],
        "rules": ["bug_spike"],
    }


def after_filed(runtime: Runtime, tenant: store.TenantRow, detail: Any, group_id: int,
                *, now: datetime) -> int:
    """Record the tracker issue and note it on every ticket of the group once; notes queued."""
    issues = (detail or {}).get("issues") or []
    if not issues:
        return 0
    key, url = str(issues[-1]["key"]), str(issues[-1].get("url") or "")
    written = 0
    with store.session_scope(runtime.sessions) as s:
        group = get_group(s, group_id)
        if group is None:
            return 0
        newly_filed = group.tracker_key != key
        group.tracker_key, group.tracker_url = key, url or None
        slack = "slack" in connected_targets(tenant)
        issue = {"key": key, "url": url or None}
        if slack and newly_filed:
            incident = incident_key(tenant.slug, group.fingerprint)
            if store.alerts.open_alert(s, tenant_id=tenant.id, dedupe_key=incident):
                _bug_note(s, tenant, incident, None, issue, group_id=group.id, now=now)
        for link, row in links_not_noted(s, group.id, key):
            link.noted_key = key
            ticket_key = f"{tenant.slug}:{row.helpdesk}:{row.external_id}"
            alert = store.alerts.open_alert_key(s, tenant_id=tenant.id, ticket_key=ticket_key)
            if slack and alert is not None:
                _bug_note(s, tenant, alert, row, issue, group_id=group.id, now=now)
            body = f"Escalade: linked to bug {key} {url}".rstrip() + (
                f" ({group.title}). Customers affected so far are listed there.")
            outbox.enqueue(
                s, tenant_id=tenant.id, target="helpdesk", ticket_external_id=row.external_id,
                actions=[Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk",
                                payload={"body": body})],
                idempotency_key=f"{tenant.slug}:bugnote:{group.id}:{key}:{row.id}",
                ticket_id=row.id, now=now,
            )
            written += 1
    runtime.wake()
    return written


def _bug_note(s: Session, tenant: store.TenantRow, alert_key: str,
              row: store.TicketRow | None, issue: dict[str, Any], *, group_id: int,
              now: datetime) -> None:
    """Tell an alert's Slack thread which bug now tracks its ticket (or incident)."""
    payload = {"kind": "bug_linked", "dedupe_key": alert_key, "tracker_issue": issue,
               "ticket_key": alert_key.rsplit(":", 1)[0] if row is not None else None}
    outbox.enqueue(
        s, tenant_id=tenant.id, target="slack",
        ticket_external_id=row.external_id if row is not None else None,
        actions=[Action(kind=ActionKind.ALERT, target="slack", payload=payload)],
        idempotency_key=f"{tenant.slug}:bugslack:{group_id}:{issue['key']}:{alert_key}",
        ticket_id=row.id if row is not None else None, now=now,
    )


def on_resolved(runtime: Runtime, tenant_slug: str, tracker: str, issue_key: str) -> int:
    """The tracker closed the issue: a note on each linked ticket, and the customer told if the
    matrix asks (``bugs.notify_customers_on_fix``); the number of tickets notified."""
    now = runtime.now()
    notified = 0
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, tenant_slug)
        if tenant is None:
            return 0
        group = group_by_tracker_key(s, tenant_id=tenant.id, tracker_key=issue_key)
        if group is None:
            log.info("%s: %s %s resolved, but no group was filed as it", tenant_slug, tracker,
                     issue_key)
            return 0
        group.status, group.resolved_at = "resolved", now
        tell = runtime.matrix_for(tenant).bugs.notify_customers_on_fix
        for link, row in group_tickets(s, group.id):
            if link.fixed_noted or row.status in ("solved", "closed"):
                continue
            link.fixed_noted = True
            actions = [Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={
                "body": f"Escalade: bug {issue_key} was resolved in {tracker}; "
                        "please confirm with the customer."})]
            if tell:
                name = (row.data.get("requester") or {}).get("name") or "there"
                actions.append(Action(kind=ActionKind.PUBLIC_REPLY, target="helpdesk", payload={
                    "body": f"Hi {name},\n\nGood news: the problem you reported "
                            f"(\"{row.data.get('subject', '')}\") has been fixed. If you still "
                            "see it, reply here and we will look again right away."}))
            outbox.enqueue(
                s, tenant_id=tenant.id, target="helpdesk", ticket_external_id=row.external_id,
                actions=actions, idempotency_key=f"{tenant_slug}:fixed:{group.id}:{row.id}",
                ticket_id=row.id, now=now,
            )
            notified += 1
    runtime.wake()
    return notified
