"""``/admin/accounts``: accounts at risk, most ARR at risk first, each with its timeline.

The list scores every account of a workspace as the scheduler does (``integration.
account_watch.workspace_scores``) and says the formula. Each reason links to its evidence on
the account's page (``/admin/accounts/<workspace>/<account>``): the tickets behind it, each
opening the start page on that ticket with its timeline. The account's page also shows all
its tickets over time (tier, state, sentiment) and what could not be known. The workspace's
threshold is changed here too (``account_risk.threshold``, default 0.5).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, tzinfo
from typing import Any

from flask import abort, flash, redirect, request, url_for

from integration import store
from integration.account_risk import (
    DEFAULT_THRESHOLD,
    Factor,
    RiskScore,
    TicketPoint,
    formula_text,
    policy_from_settings,
)
from integration.account_watch import workspace_scores
from integration.calendars import format_local
from integration.errors import ValidationError
from integration.store.accounts import account_timeline, risk_states
from sidebar_ui.admin.core import bp, page, runtime
from sidebar_ui.sidebar_view import currency_of, format_money

__all__ = ["account_page", "accounts_page", "accounts_threshold"]

# How many weeks the list's small timeline shows.
WEEKS = 17
MAX_LISTED = 200
_FACTOR_TITLES = {
    Factor.ACTIVITY: "Product activity",
    Factor.CONTACTS: "Contact rate",
    Factor.SENTIMENT: "Sentiment",
    Factor.TIER3: "Open Tier 3 tickets",
    Factor.RENEWAL: "Renewal",
}


def _pick_tenant(s: Any, slug: str | None) -> tuple[list[str], store.TenantRow | None]:
    tenants = [t.slug for t in store.list_tenants(s)]
    if not slug and len(tenants) == 1:
        slug = tenants[0]
    return tenants, (store.get_tenant(s, slug) if slug else None)


def _policy(tenant: store.TenantRow) -> tuple[Any, str | None]:
    """The workspace's policy, or the default and what is wrong with its setting."""
    try:
        return policy_from_settings(tenant.settings), None
    except ValidationError as err:
        return policy_from_settings({}), str(err)


@bp.get("/accounts")
def accounts_page() -> Any:
    """Every account of a workspace scored, the most ARR at risk first."""
    rt = runtime()
    now = rt.now()
    with store.session_scope(rt.sessions) as s:
        tenants, tenant = _pick_tenant(s, request.args.get("tenant") or None)
        if tenant is None:
            asked = request.args.get("tenant") or ""
            return page("admin/accounts.html", 404 if asked else 200, tenants=tenants,
                        tenant="", asked=asked, known=False)
        policy, problem = _policy(tenant)
        zone = rt.matrix_for(tenant).display_zone
        currency = currency_of(tenant.settings)
        scores = workspace_scores(s, tenant_id=tenant.id, now=now, policy=policy)
        states = risk_states(s, tenant_id=tenant.id)
        rows = [_row(tenant.slug, r, states.get(f"account:{r.account.id}"), currency, zone, now)
                for r in scores[:MAX_LISTED]]
        slug = tenant.slug
    return page("admin/accounts.html", tenants=tenants, tenant=slug, known=True, rows=rows,
                formula=formula_text(policy), threshold=policy.threshold, problem=problem,
                default_threshold=DEFAULT_THRESHOLD, at_risk=sum(r["above"] for r in rows),
                hidden=max(len(scores) - MAX_LISTED, 0))


def _row(slug: str, result: RiskScore, state: Any, currency: str, zone: tzinfo,
         now: datetime) -> dict[str, Any]:
    account = result.account
    page_url = url_for("admin.account_page", tenant=slug, account_id=account.id)
    return {
        "id": account.id,
        "name": account.name or account.id,
        "url": page_url,
        "score": result.score,
        "above": result.above,
        "arr": format_money(account.arr, currency) or "unknown",
        "at_risk": format_money(result.arr_at_risk, currency) if account.arr else "—",
        "owner": account.owner,
        "reasons": [{"text": r.text, "url": f"{page_url}#evidence-{r.factor.value}",
                     "factor": r.factor.value} for r in result.reasons],
        "missing": len(result.missing),
        "alerted": (format_local(state.alerted_at, zone)
                    if state is not None and state.above and state.alerted_at else None),
        "weeks": _weeks(result.tickets, now),
    }


def _weeks(tickets: Sequence[TicketPoint], now: datetime) -> list[dict[str, Any]]:
    """Tickets per week for the last ``WEEKS`` weeks, oldest first, with each week's top tier."""
    weeks: list[dict[str, Any]] = [{"count": 0, "tier": 0} for _ in range(WEEKS)]
    for ticket in tickets:
        back = int((now - ticket.created_at) / timedelta(weeks=1))
        if 0 <= back < WEEKS:
            week = weeks[WEEKS - 1 - back]
            week["count"] += 1
            week["tier"] = max(week["tier"], ticket.tier or 0)
    for index, week in enumerate(weeks):
        ago = WEEKS - 1 - index
        when = "this week" if ago == 0 else f"{ago} week{'s' if ago != 1 else ''} ago"
        tier = f", highest Tier {week['tier']}" if week["tier"] else ""
        week["label"] = f"{when}: {week['count']} ticket{'s' if week['count'] != 1 else ''}{tier}"
    return weeks


@bp.get("/accounts/<tenant>/<account_id>")
def account_page(tenant: str, account_id: str) -> Any:
    """One account: its score, each reason with the tickets behind it, its timeline."""
    rt = runtime()
    now = rt.now()
    with store.session_scope(rt.sessions) as s:
        row = store.get_tenant(s, tenant)
        if row is None:
            abort(404)
        policy, problem = _policy(row)
        zone = rt.matrix_for(row).display_zone
        currency = currency_of(row.settings)
        result = next(iter(workspace_scores(s, tenant_id=row.id, now=now, policy=policy,
                                            account_id=account_id)), None)
        timeline = account_timeline(s, tenant_id=row.id, account_id=account_id)
        state = risk_states(s, tenant_id=row.id, keys=[f"account:{account_id}"]).get(
            f"account:{account_id}")
    if result is None and not timeline:
        abort(404)
    by_ref = {t.ref: t for t in timeline}
    return page(
        "admin/account.html", tenant=tenant, problem=problem,
        account=_account_view(result, account_id, currency, zone, state),
        evidence=_evidence(tenant, result, by_ref, zone) if result is not None else [],
        missing=list(result.missing) if result is not None else [],
        timeline=[_point(tenant, t, zone) for t in timeline],
        chart=_chart(timeline, now, zone), chart_box=_CHART, chart_days=CHART_DAYS,
        formula=formula_text(policy),
    )


def _account_view(result: RiskScore | None, account_id: str, currency: str, zone: tzinfo,
                  state: Any) -> dict[str, Any]:
    if result is None:
        # Tickets, but none in the months the score reads.
        return {"id": account_id, "name": account_id, "score": None, "above": False,
                "arr": "unknown", "at_risk": "—", "owner": None, "renewal": None,
                "plan": None, "alerted": None}
    account = result.account
    return {
        "id": account.id, "name": account.name or account.id, "score": result.score,
        "above": result.above, "arr": format_money(account.arr, currency) or "unknown",
        "at_risk": format_money(result.arr_at_risk, currency) if account.arr else "—",
        "owner": account.owner, "plan": account.plan,
        "renewal": account.renewal_date.isoformat() if account.renewal_date else None,
        "alerted": (format_local(state.alerted_at, zone)
                    if state is not None and state.above and state.alerted_at else None),
    }


def _evidence(slug: str, result: RiskScore, by_ref: dict[str, Any],
              zone: tzinfo) -> list[dict[str, Any]]:
    sections = []
    for reason in result.reasons:
        tickets = [_point(slug, by_ref[ref], zone) for ref in reason.tickets if ref in by_ref]
        sections.append({"id": f"evidence-{reason.factor.value}",
                         "title": _FACTOR_TITLES[reason.factor], "text": reason.text,
                         "points": reason.points, "weighted": reason.weighted,
                         "tickets": tickets})
    return sections


def _point(slug: str, point: Any, zone: tzinfo) -> dict[str, Any]:
    return {
        "ref": point.ref,
        "subject": point.subject or "(no subject)",
        "created": format_local(point.created_at, zone),
        "tier": point.tier,
        "status": point.status,
        "sentiment": point.sentiment,
        # The start page narrowed to this ticket shows its timeline.
        "url": url_for("pages.index", q=point.ref),
    }


# The account page's chart: x is the last 120 days, y the sentiment from +1 (top) to -1.
_CHART = {"left": 48.0, "right": 990.0, "top": 12.0, "bottom": 112.0, "unread": 140.0}
CHART_DAYS = 120


def _chart(timeline: Sequence[Any], now: datetime, zone: tzinfo) -> list[dict[str, Any]]:
    """One dot per ticket: when (x), its sentiment (y; a row of its own when unread), tier."""
    span = _CHART["right"] - _CHART["left"]
    dots = []
    for point in timeline:
        age = (now - point.created_at) / timedelta(days=1)
        x = _CHART["left"] + span * (1.0 - min(max(age, 0.0), CHART_DAYS) / CHART_DAYS)
        if point.sentiment is None:
            y, said = _CHART["unread"], "no sentiment reading"
        else:
            middle = (_CHART["top"] + _CHART["bottom"]) / 2
            y = middle - point.sentiment * (_CHART["bottom"] - _CHART["top"]) / 2
            said = f"sentiment {point.sentiment:+.2f}"
        tier = f"Tier {point.tier}" if point.tier else "not decided"
        dots.append({"x": round(x, 1), "y": round(y, 1), "tier": point.tier or 0,
                     "label": f"#{point.ref} {point.subject or '(no subject)'} — "
                              f"{format_local(point.created_at, zone)}, {tier}, {said}"})
    return dots


@bp.post("/accounts/threshold")
def accounts_threshold() -> Any:
    """Set the workspace's at-risk threshold (a score from above 0 to 1)."""
    slug = request.form.get("tenant", "")
    raw = request.form.get("threshold", "").strip()
    rt = runtime()
    with store.session_scope(rt.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            flash(f"Workspace: no workspace named “{slug}”.", "error")
            return redirect(url_for("admin.accounts_page")), 303
        try:
            value = float(raw)
            policy_from_settings({"account_risk": {"threshold": value}})
        except (ValueError, ValidationError):
            flash(f"Threshold: a number above 0 and at most 1, like 0.5, not “{raw}”.", "error")
            return redirect(url_for("admin.accounts_page", tenant=slug)), 303
        settings = dict(tenant.settings.get("account_risk") or {})
        store.update_tenant(s, tenant, cipher=rt.cipher,
                            settings={"account_risk": {**settings, "threshold": value}})
    flash(f"Accounts of {slug} are at risk from a score of {value:.2f} on; owners are told "
          "when one crosses it.", "ok")
    return redirect(url_for("admin.accounts_page", tenant=slug)), 303
