"""The start page: every ticket with its tier, why, and exactly what was written back."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from flask import Blueprint, current_app, render_template
from sqlalchemy import select

from integration import store

__all__ = ["bp", "ticket_overview"]

bp = Blueprint("pages", __name__, template_folder="templates", static_folder="static",
               static_url_path="/ui-static")


def ticket_overview(s: Any, *, limit: int = 200) -> list[dict[str, Any]]:
    """Tickets newest first with their latest decision and outbox deliveries."""
    tickets = s.scalars(
        select(store.TicketRow).order_by(store.TicketRow.updated_at.desc()).limit(limit)
    ).all()
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
    with store.session_scope(runtime.sessions) as s:
        rows = ticket_overview(s)
    counts = {tier: sum(1 for r in rows if r["tier"] == tier) for tier in (1, 2, 3)}
    return render_template(
        "index.html", rows=rows, counts=counts, matrix_version=runtime.matrix.version
    )
