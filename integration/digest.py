"""The weekly digest job: each workspace's week, once, to its Slack channel through the outbox.

``send_digests`` is the scheduler's job. For each workspace whose ``digest`` option names a
channel (``integration.analytics.digest``) and that has Slack connected, once the week's
sending moment has passed in the workspace's time zone, it reads the week before from the
dashboard's rollups (volume, tiers, SLA, triggers), the at-risk scores
(``integration.account_watch``) and the open bug groups, and queues ONE Slack message. The
week is recorded with a conditional insert in the same transaction as the outbox row
(``store.digests.record_week``): two schedulers on one database send it once, and the outbox
retries it until it lands or records it failed. A week without any ticket is recorded and
not sent (the log says so).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy.orm import Session

from integration import outbox, store
from integration.account_risk import policy_from_settings as risk_policy
from integration.account_watch import account_path, workspace_scores
from integration.analytics.board import fold_board
from integration.analytics.digest import (
    SHOWN,
    AtRisk,
    Digest,
    DigestPolicy,
    Emerging,
    digest_payload,
    due_week,
    new_triggers,
    page_links,
    policy_from_settings,
    trigger_link,
    week_label,
)
from integration.context import connected_targets
from integration.errors import EscaladeError, ValidationError
from integration.models import Action, ActionKind
from integration.store.dashboard import DashboardFilter, breakdown_rows, total_rows
from integration.store.digests import incidents_between, record_week, week_recorded
from integration.workspaces.service import public_url

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["DigestRun", "queue_digest", "read_digest", "send_digests", "slack_currency"]

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class DigestRun:
    """What one round of the job did."""

    queued: list[str] = field(default_factory=list)
    empty: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


def slack_currency(tenant: store.TenantRow) -> str:
    """The ARR prefix the workspace's Slack messages use."""
    slack = (tenant.settings or {}).get("slack") or {}
    return str(slack.get("currency") or "$") if isinstance(slack, dict) else "$"


def _triggers(rows: Iterable[Sequence[Any]]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _kind, value, _tier, tickets, *_ in rows:
        counts[str(value)] = counts.get(str(value), 0) + int(tickets or 0)
    return counts


def _utc_week(monday: date, zone: Any) -> tuple[datetime, datetime]:
    start = datetime.combine(monday, time(0), tzinfo=zone)
    return start, datetime.combine(monday + timedelta(weeks=1), time(0), tzinfo=zone)


def _accounts(s: Session, tenant: store.TenantRow, now: datetime, base: str) -> list[AtRisk]:
    try:
        policy = risk_policy(tenant.settings)
    except ValidationError as err:
        log.warning("weekly digest of %s: at-risk accounts left out: %s", tenant.slug, err)
        return []
    scores = [r for r in workspace_scores(s, tenant_id=tenant.id, now=now, policy=policy)
              if r.score >= policy.threshold]
    return [AtRisk(name=r.account.name or r.account.id, arr_at_risk=r.arr_at_risk,
                   score=r.score, url=base + account_path(tenant.slug, r.account.id))
            for r in scores[:SHOWN]]


def read_digest(runtime: Runtime, s: Session, tenant: store.TenantRow, monday: date, *,
                now: datetime) -> Digest:
    """The digest of the week from ``monday`` (local days), read at ``now``."""
    zone = runtime.matrix_for(tenant).display_zone
    week = DashboardFilter(tenant_ids=(tenant.id,), first=monday,
                           last=monday + timedelta(days=6))
    before = replace(week, first=monday - timedelta(weeks=1), last=monday - timedelta(days=1))
    usual = replace(week, first=monday - timedelta(weeks=4), last=monday - timedelta(days=1))
    base = public_url(runtime.config)
    rising = new_triggers(_triggers(breakdown_rows(s, week, grain="w", kinds=("trigger",))),
                          _triggers(breakdown_rows(s, usual, grain="w", kinds=("trigger",))))
    since, until = _utc_week(monday, zone)
    incidents = [Emerging(title=i.title, tickets=i.tickets, spiked=i.spiked,
                          tracker_key=i.tracker_key, url=i.tracker_url)
                 for i in incidents_between(s, tenant_id=tenant.id, since=since,
                                            until=until)[:SHOWN]]
    return Digest(
        workspace=tenant.slug, monday=monday, zone=str(getattr(zone, "key", None) or zone),
        week=fold_board(total_rows(s, week)), previous=fold_board(total_rows(s, before)),
        triggers=[replace(t, url=trigger_link(base, tenant.slug, monday, t.name))
                  for t in rising],
        accounts=_accounts(s, tenant, now, base), incidents=incidents,
        links=page_links(base, tenant.slug, monday),
    )


def queue_digest(s: Session, tenant: store.TenantRow, digest: Digest, policy: DigestPolicy,
                 now: datetime) -> str:
    """Record the week and queue its message: ``queued``, ``empty`` (no ticket, nothing
    sent) or ``already`` (recorded before)."""
    empty = digest.tickets == 0
    if not record_week(s, tenant_id=tenant.id, week=digest.label,
                       status="empty" if empty else "queued", tickets=digest.tickets, now=now):
        return "already"
    if empty:
        log.info("weekly digest of %s for %s not sent: no tickets that week", tenant.slug,
                 digest.label)
        return "empty"
    payload = digest_payload(digest, channel=policy.channel, currency=slack_currency(tenant))
    outbox.enqueue(
        s, tenant_id=tenant.id, target="slack", ticket_external_id=None,
        actions=[Action(kind=ActionKind.ALERT, target="slack", payload=payload)],
        idempotency_key=outbox.make_idempotency_key(tenant.id, payload["dedupe_key"]), now=now,
    )
    return "queued"


def send_digests(runtime: Runtime, now: datetime) -> DigestRun:
    """Queue the digest of every workspace whose week is due at ``now`` and not yet sent."""
    run = DigestRun()
    with store.session_scope(runtime.sessions) as s:
        tenants = store.detached_tenants(s)
    for tenant in tenants:
        try:
            policy = policy_from_settings(tenant.settings)
        except ValidationError as err:
            run.errors.append(f"{tenant.slug}: {err}")
            log.error("weekly digest of %s not sent: %s", tenant.slug, err)
            continue
        if policy is None or "slack" not in connected_targets(tenant):
            continue  # no digest asked for, or nowhere to post it
        monday = due_week(now.astimezone(runtime.matrix_for(tenant).display_zone), policy)
        if monday is None:
            continue
        try:
            with store.session_scope(runtime.sessions) as s:
                if week_recorded(s, tenant_id=tenant.id, week=week_label(monday)):
                    continue
                digest = read_digest(runtime, s, tenant, monday, now=now)
                status = queue_digest(s, tenant, digest, policy, now)
        except (EscaladeError, ValueError, KeyError) as err:
            # One workspace's bad data must not stop the others; it is tried again next round.
            run.errors.append(f"{tenant.slug}: {err}")
            log.exception("weekly digest of %s", tenant.slug)
            continue
        if status == "queued":
            run.queued.append(f"{tenant.slug}:{digest.label}")
        elif status == "empty":
            run.empty.append(f"{tenant.slug}:{digest.label}")
    if run.queued:
        runtime.wake()
        log.info("weekly digest queued for %s", ", ".join(run.queued))
    return run
