"""The start page: every ticket with its tier, why, and exactly what was written back."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, current_app, render_template, url_for
from sqlalchemy import select

from integration import store
from sidebar_ui.admin.core import current_admin
from sidebar_ui.auth import SidebarIdentity, issue_sidebar_token

__all__ = ["bp", "ticket_overview"]

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui-static")


def ticket_overview(
    s: Any, *, limit: int = 200, helpdesks: tuple[str, ...] | None = None
) -> list[dict[str, Any]]:
    """Tickets newest first with their latest decision and outbox deliveries.

    ``helpdesks`` limits the list to tenants on those helpdesks (e.g. only the sandbox).
    """
    query = select(store.TicketRow).order_by(store.TicketRow.updated_at.desc()).limit(limit)
    if helpdesks is not None:
        query = query.where(store.TicketRow.helpdesk.in_(list(helpdesks)))
    tickets = s.scalars(query).all()
    ids = [t.id for t in tickets]
    decisions: dict[int, Any] = {}
    for d in s.scalars(
        select(store.DecisionRow)
        .where(store.DecisionRow.ticket_id.in_(ids))
        .order_by(store.DecisionRow.id)
    ):
        decisions[d.ticket_id] = d
    deliveries: dict[int, list[Any]] = defaultdict(list)
    for o in s.scalars(
        select(store.OutboxRow).where(store.OutboxRow.ticket_id.in_(ids)).order_by(store.OutboxRow.id)
    ):
        deliveries[o.ticket_id].append(o)
    tenants = {t.id: t.slug for t in s.scalars(select(store.TenantRow))}
    rows = []
    for t in tickets:
        decision = decisions.get(t.id)
        data = t.data or {}
        rows.append(
            {
                "tenant": tenants.get(t.tenant_id, "?"),
                "helpdesk": t.helpdesk,
                "id": t.external_id,
                "subject": data.get("subject", ""),
                "account": (data.get("account") or {}).get("name"),
                "plan": (data.get("account") or {}).get("plan"),
                "tier": t.tier,
                "priority": t.priority,
                "category": t.category,
                "sla_due_at": t.sla_due_at,
                "sla_state": t.sla_state,
                "rules": (decision.rules if decision else []) or [],
                "deliveries": [
                    {
                        "target": o.target,
                        "status": o.status,
                        "attempts": o.attempts,
                        "error": o.last_error,
                        "written": ((o.result or {}).get("detail") or {}).get("written")
                        or [a.get("kind") for a in o.actions],
                    }
                    for o in deliveries.get(t.id, [])
                ],
            }
        )
    rows.sort(key=lambda r: (-(r["tier"] or 0), r["tenant"], r["id"]))
    return rows


@bp.get("/")
def index() -> str:
    """List tickets with tier, reasons and write-backs."""
    runtime = current_app.extensions["escalade"]
    # Real customers' tickets only for a signed-in admin; the demo workspace for anyone.
    admin = current_admin()
    with store.session_scope(runtime.sessions) as s:
        rows = ticket_overview(s, helpdesks=None if admin else ("sandbox",))
    now = runtime.now()
    for row in rows:
        if row["helpdesk"] == "sandbox":
            identity = SidebarIdentity(tenant=row["tenant"], helpdesk="sandbox",
                                       user="demo-agent", ticket_id=row["id"],
                                       via="sidebar_token")
            token = issue_sidebar_token(identity, key=runtime.cipher.sign_key("sidebar"),
                                        now=now)
            row["sidebar_url"] = url_for("sidebar.ticket_page", helpdesk="sandbox",
                                         tenant=row["tenant"], ticket_id=row["id"], t=token)
    counts = {tier: sum(1 for r in rows if r["tier"] == tier) for tier in (1, 2, 3)}
    return render_template(
        "index.html", rows=rows, counts=counts, matrix_version=runtime.matrix.version,
        admin=admin,
    )
