"""What the demo's agents corrected: overrides with their reasons, for the monthly review.

A team's first weeks with Escalade: agents lowered a few Tier 3 decisions they found too
loud (a cosmetic bug and a routine invoice fix at a big, annoyed account; a how-to question
read as a relationship at stake) and raised two enterprise requests left in Tier 1. Each goes
through the same override an agent makes in the sidebar, so it is written back to the sandbox
helpdesk and kept for the review. The history's tickets escalated in the helpdesk (their
``escalated_…`` tags) are the hand escalations. Running it again adds nothing.
"""

from __future__ import annotations

from integration import store
from integration.context import connected_targets
from integration.decisions import record_override
from integration.demo import DEMO_HELPDESK, DEMO_TENANT
from integration.models import Tier
from integration.runtime import Runtime
from integration.store.people import overrides_for_ticket

__all__ = ["DEMO_CORRECTIONS", "record_demo_corrections"]

# (ticket, tier the agent set, the agent, their reason)
DEMO_CORRECTIONS: tuple[tuple[str, int, str, str], ...] = (
    ("1021", 2, "nina.park@ourco.example.com",
     "Cosmetic: the PDF loses its last page and printing from the browser works meanwhile. "
     "Annoyed, yes, but nothing for the on-call team."),
    ("1004", 2, "marcus.bell@ourco.example.com",
     "Billing corrects a VAT ID the same day; the customer is irritated, not at risk."),
    ("1012", 2, "sofia.lind@ourco.example.com",
     "A how-to question about permissions; nothing in it puts the relationship at stake."),
    ("1048", 2, "marcus.bell@ourco.example.com",
     "A Pro team asking what Enterprise adds is an upgrade in the making: the account "
     "manager answers it, not the help centre."),
    ("1052", 2, "sofia.lind@ourco.example.com",
     "Enterprise customer asking to buy an add-on: sales should answer today, not Tier 1."),
)


def record_demo_corrections(runtime: Runtime) -> int:
    """Record the demo's overrides once; how many were recorded now."""
    recorded = 0
    for ticket_id, tier, agent, reason in DEMO_CORRECTIONS:
        with store.session_scope(runtime.sessions) as s:
            tenant = store.get_tenant(s, DEMO_TENANT)
            assert tenant is not None
            ticket = store.get_ticket(s, tenant.id, DEMO_HELPDESK, ticket_id)
            if ticket is None or ticket.tier == tier or overrides_for_ticket(s, ticket.id):
                continue
            now = runtime.now()
            record_override(s, tenant=tenant, ticket=ticket, tier=Tier(tier), reason=reason,
                            agent=agent, matrix=runtime.matrix_for(tenant), now=now,
                            connected=connected_targets(tenant))
            recorded += 1
    return recorded
