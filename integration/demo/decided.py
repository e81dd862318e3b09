"""The demo's past tickets decided as Escalade would have decided them when they came in.

``escalade demo`` stores eight weeks of solved tickets as a history import would: nothing
decided. For the dashboard to have weeks to show, ``decide_history`` runs the matrix over each
of them as of its last update (no write-back: they are long solved), through the one writer
of decisions, so the dashboard's rollups move exactly as they do for live tickets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from integration import store
from integration.decide import decide
from integration.decisions import DecisionLog, Entry
from integration.demo import DEMO_TENANT
from integration.models import Ticket

if TYPE_CHECKING:
    from integration.runtime import Runtime

__all__ = ["decide_history"]

_MOST = 5000


def decide_history(runtime: Runtime, *, slug: str = DEMO_TENANT) -> int:
    """Decide the workspace's undecided past tickets (no actions); how many were decided."""
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        if tenant is None:
            raise LookupError(f"no workspace named {slug!r}")
        matrix = runtime.matrix_for(tenant)
        page = store.ticket_page(s, store.TicketFilter(tenant_ids=(tenant.id,),
                                                       tier=store.UNDECIDED), limit=_MOST)
        writes = DecisionLog(s)
        for row in page.rows:
            ticket = Ticket.from_dict(row.data)
            decided = decide(ticket, (), matrix=matrix, detector=runtime.detector,
                             now=ticket.updated_at, with_actions=False)
            row.category = decided.decision.category.value
            writes.add(Entry(
                tenant_id=tenant.id, tenant_slug=tenant.slug, ticket_id=row.id,
                ticket_external_id=row.external_id, cause_key=f"history:{row.id}",
                decided_at=ticket.created_at, decision=decided.decision, cause="backfill",
                zone=matrix.display_zone,
            ), sla=decided.sla, ticket=row)
        writes.flush()
        return len(page.rows)
