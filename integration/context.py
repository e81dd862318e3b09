"""What one event needs of its tenant, resolved once, and what the edge finds around a ticket.

``TenantContext`` is a tenant's row with its matrix, helpdesk adapter, connected targets,
routing table and context sources (CRM connector, product-activity source, summarizer,
the language model's second reading when the tenant turned it on);
``Runtime.tenant_context`` builds it from its per-tenant caches, once per event.
``gather_context`` asks the CRM and the activity source about a ticket's account: network
calls, so the pipeline makes them outside any database transaction, and both degrade to
"unknown", so an outage there never blocks triage. ``ticket_link`` is where a person opens a
ticket from Slack, a CRM note or a bug report.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import quote, urlencode

from adapters.connectors.base import Connector
from adapters.helpdesk.base import HelpdeskAdapter
from integration.activity import ActivitySource
from integration.answer.respond import AnswerSource
from integration.crypto import SecretCipher
from integration.enrich import Context
from integration.errors import ConfigurationError
from integration.matrix import Matrix
from integration.models import Ticket
from integration.routing import RoutingTable
from integration.second_reading import SecondReader
from integration.store.tables import TenantRow
from integration.summary import SummaryProvider

__all__ = ["TenantContext", "connected_targets", "gather_context", "ticket_link"]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class TenantContext:
    """A tenant and the resources one event of it needs, looked up once."""

    tenant: TenantRow
    matrix: Matrix
    adapter: HelpdeskAdapter
    connected: frozenset[str]
    links: Callable[[str], str | None]
    routing: RoutingTable | None = None
    crm: Connector | None = None
    activity: ActivitySource | None = None
    summarizer: SummaryProvider | None = None
    second_reader: SecondReader | None = None
    # The workspace's help-centre knowledge, indexed; None when it has none.
    answerer: AnswerSource | None = None

    @property
    def id(self) -> int:
        """The tenant's row id."""
        return self.tenant.id

    @property
    def slug(self) -> str:
        """The tenant's slug."""
        return self.tenant.slug

    def ticket_link(self, ticket_id: str) -> str | None:
        """Where a person opens one of the tenant's tickets."""
        return self.links(ticket_id)


def connected_targets(tenant: TenantRow) -> frozenset[str]:
    """Connectors (slack, crm, ...) this tenant has connected; alerts go only there.

    ``manager`` alerts go through Slack, so they count as connected with it.
    """
    connected = set((tenant.settings or {}).get("connectors", ()))
    if "slack" in connected:
        connected.add("manager")
    return frozenset(connected)


def gather_context(tenant: TenantContext, ticket: Ticket) -> Context:
    """Ask the CRM and the product-activity source about the ticket's account."""
    email = ticket.requester.email
    domain = ticket.account.domain if ticket.account is not None else None
    if domain is None and email and "@" in email:
        domain = email.rsplit("@", 1)[1].lower()
    crm = None
    if tenant.crm is not None:
        try:
            crm = tenant.crm.lookup_account(email=email, domain=domain)  # type: ignore[attr-defined]
        except ConfigurationError as err:
            log.warning("tenant %s: CRM not usable: %s", tenant.slug, err)
    activity = None
    if tenant.activity is not None:
        account_id = (crm.id if crm is not None else None) or (
            ticket.account.id if ticket.account is not None else None)
        activity = tenant.activity.lookup(account_id=account_id, domain=domain, email=email)
    return Context(
        crm_account=crm,
        activity=activity,
        ticket_url=tenant.adapter.ticket_url(ticket.id),
        summarizer=tenant.summarizer,
        second_reader=tenant.second_reader,
        answerer=tenant.answerer,
    )


def ticket_link(
    tenant: TenantRow,
    ticket_id: str,
    *,
    adapter: HelpdeskAdapter,
    public_url: str,
    cipher: SecretCipher,
    now: datetime,
) -> str | None:
    """Where a person opens the ticket from Slack, a CRM note or a bug: the helpdesk's page.

    A sandbox has no helpdesk to open, so its link is the ticket's Escalade sidebar page.
    Only the public demo workspace's link carries a token (for that one ticket, outliving
    the message; issued per day, so every link to a ticket made that day is the same);
    any other sandbox workspace's sidebar asks for an admin's sign-in.
    """
    url = adapter.ticket_url(ticket_id)
    if url is not None or not adapter.sidebar_for_admins:
        return url
    from sidebar_ui.auth import DEMO_PROOF, SidebarIdentity, is_demo, issue_sidebar_token

    path = "/".join(quote(part, safe="") for part in ("sidebar", tenant.helpdesk,
                                                      tenant.slug, "tickets", ticket_id))
    if not is_demo(tenant.slug, tenant.helpdesk):
        return f"{public_url}/{path}"
    identity = SidebarIdentity(tenant=tenant.slug, helpdesk=tenant.helpdesk,
                               user="demo-agent", ticket_id=ticket_id, via=DEMO_PROOF)
    today = now.replace(hour=0, minute=0, second=0, microsecond=0)
    token = issue_sidebar_token(identity, key=cipher.sign_key("sidebar"),
                                now=today, ttl=timedelta(days=31))
    return f"{public_url}/{path}?{urlencode({'t': token})}"
