"""Watching accounts: score every account, and tell its owner in Slack when it crosses over.

``watch_accounts`` is the scheduler's job. For each workspace it reads its accounts
(``store.accounts.account_histories``), scores them (``integration.account_risk``), and for an
account whose score reached the workspace's threshold since it was last scored below it,
queues ONE Slack alert through the outbox, in the same transaction as the new state
(``store.accounts.cross_threshold``), so the alert is neither lost nor sent twice: the
outbox delivers it (retrying until it lands or is recorded failed), and the account is not
alerted again until its score falls below the threshold and rises over it again. Without
Slack connected the crossing is recorded and nothing is sent.

The threshold is the workspace setting ``account_risk.threshold`` (default 0.5); a bad value
is reported for that workspace (naming the field) and its accounts are not scored.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from sqlalchemy.orm import Session

from integration import outbox, store
from integration.account_risk import (
    RiskPolicy,
    RiskScore,
    alert_step,
    policy_from_settings,
    score_account,
)
from integration.context import connected_targets
from integration.errors import EscaladeError, ValidationError
from integration.models import Action, ActionKind
from integration.store.accounts import account_histories, cross_threshold, risk_states
from integration.workspaces.service import public_url

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = [
    "WatchReport",
    "account_path",
    "alert_payload",
    "watch_accounts",
    "workspace_scores",
]

log = logging.getLogger(__name__)


@dataclass(kw_only=True, slots=True)
class WatchReport:
    """What one round of scoring did."""

    accounts: int = 0
    above: int = 0
    alerted: int = 0
    errors: list[str] = field(default_factory=list)


def account_path(slug: str, account_id: str) -> str:
    """The account's page under the app's address."""
    return f"/admin/accounts/{quote(slug, safe='')}/{quote(account_id, safe='')}"


def workspace_scores(s: Session, *, tenant_id: int, now: datetime, policy: RiskPolicy,
                     account_id: str | None = None) -> list[RiskScore]:
    """Every account of the workspace (or the one ``account_id``) scored at ``now``, the
    most ARR at risk first."""
    histories = account_histories(s, tenant_id=tenant_id, now=now, account_id=account_id)
    scores = [score_account(h, now=now, policy=policy) for h in histories]
    return sorted(scores, key=lambda r: (-r.arr_at_risk, -r.score, r.account.name or ""))


def alert_payload(slug: str, result: RiskScore, *, policy: RiskPolicy, crossing: int,
                  base_url: str, zone: str) -> dict[str, Any]:
    """The Slack alert for an account that crossed the threshold (its ``crossing``-th time)."""
    account = result.account
    page = base_url.rstrip("/") + account_path(slug, account.id)
    return {
        "kind": "account_at_risk",
        # What a summary of alerts held by the channel's rate limit lists it as.
        "title": f"Account at risk: {account.name or account.id}",
        "dedupe_key": f"{slug}:account:{account.id}:risk:{crossing}",
        "ticket_key": f"{slug}:account:{account.id}",
        "tenant": slug,
        "account": {"id": account.id, "name": account.name, "arr": account.arr,
                    "owner": account.owner, "plan": account.plan,
                    "renewal_date": (account.renewal_date.isoformat()
                                     if account.renewal_date else None)},
        "score": result.score,
        "threshold": policy.threshold,
        "arr_at_risk": result.arr_at_risk,
        "reasons": [{"text": r.text, "factor": r.factor.value,
                     "url": f"{page}#evidence-{r.factor.value}"} for r in result.reasons],
        "missing": list(result.missing),
        "account_url": page,
        "display_zone": zone,
        "rules": ["account_at_risk"],
    }


def _quiet(s: Session, tenant_id: int, known: dict[str, Any], scored: set[str],
           now: datetime) -> None:
    """Accounts at risk that wrote nothing for months are below now: a return alerts again."""
    for key in known.keys() - scored:
        state = known[key]
        if state.above:
            cross_threshold(s, tenant_id=tenant_id, account_key=key, score=0.0, above=False,
                            alert=False, known=state, now=now)


def watch_accounts(runtime: Runtime, now: datetime) -> WatchReport:
    """Score every workspace's accounts at ``now``; alert owners of accounts that crossed."""
    report = WatchReport()
    with store.session_scope(runtime.sessions) as s:
        tenants = store.detached_tenants(s)
    for tenant in tenants:
        try:
            policy = policy_from_settings(tenant.settings)
        except ValidationError as err:
            report.errors.append(f"{tenant.slug}: {err}")
            log.error("at-risk accounts of %s not scored: %s", tenant.slug, err)
            continue
        try:
            with store.session_scope(runtime.sessions) as s:
                _watch_tenant(runtime, s, tenant, policy, now, report)
        except (EscaladeError, ValueError, KeyError) as err:
            # One workspace's bad data must not stop the others; it is scored again next round.
            report.errors.append(f"{tenant.slug}: {err}")
            log.exception("at-risk accounts of %s", tenant.slug)
    if report.alerted:
        runtime.wake()
        log.info("at-risk accounts: %d scored, %d above, %d owners alerted",
                 report.accounts, report.above, report.alerted)
    return report


def _watch_tenant(runtime: Runtime, s: Session, tenant: store.TenantRow, policy: RiskPolicy,
                  now: datetime, report: WatchReport) -> None:
    scores = workspace_scores(s, tenant_id=tenant.id, now=now, policy=policy)
    known = risk_states(s, tenant_id=tenant.id)
    slack = "slack" in connected_targets(tenant)
    zone = str(getattr(runtime.matrix_for(tenant).display_zone, "key", None) or "UTC")
    _quiet(s, tenant.id, known, {f"account:{r.account.id}" for r in scores}, now)
    for result in scores:
        key = f"account:{result.account.id}"
        state = known.get(key)
        above, alert = alert_step(was_above=state.above if state else False,
                                  score=result.score, threshold=policy.threshold)
        report.accounts += 1
        report.above += above
        if state is not None and state.score == result.score and state.above == above:
            continue  # nothing moved: no write
        crossing = cross_threshold(s, tenant_id=tenant.id, account_key=key, score=result.score,
                                   above=above, alert=alert, known=state, now=now)
        if crossing is None or not slack:
            continue
        payload = alert_payload(tenant.slug, result, policy=policy, crossing=crossing,
                                base_url=public_url(runtime.config), zone=zone)
        outbox.enqueue(
            s, tenant_id=tenant.id, target="slack", ticket_external_id=None,
            actions=[Action(kind=ActionKind.ALERT, target="slack", payload=payload)],
            idempotency_key=outbox.make_idempotency_key(tenant.id, payload["dedupe_key"]),
            now=now,
        )
        report.alerted += 1
