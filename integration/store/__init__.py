"""Persistence: SQLAlchemy 2 tables, repositories and Alembic migrations.

Runs on SQLite (embedded default, WAL) and PostgreSQL (``ESCALADE_DATABASE_URL``) alike.
Repositories are plain functions that take a ``Session``; nothing here holds a global.
"""

from __future__ import annotations

from integration.store import accounts as accounts  # account_risk
from integration.store import alerts as alerts  # the alert_messages table joins the metadata
from integration.store import answers as answers  # ticket_answers
from integration.store import audits as audits  # audit_runs
from integration.store import bugs as bugs  # bug_groups, bug_group_tickets
from integration.store import checks as checks  # connection_checks
from integration.store import dashboard as dashboard  # dashboard_facts, dashboard_rollups
from integration.store import digests as digests  # weekly_digests
from integration.store import knowledge as knowledge  # knowledge_docs, knowledge_sources
from integration.store import people as people  # tier_overrides, admin_users
from integration.store import review as review  # calibrations
from integration.store import sessions as sessions  # admin_sessions
from integration.store import throttle as throttle  # login_throttle
from integration.store.db import (
    Base,
    current_revision,
    downgrade,
    head_revision,
    make_engine,
    make_session_factory,
    session_scope,
    upgrade,
)
from integration.store.ops import Claim, claim_due, insert_ignore
from integration.store.repo import (
    add_tenant,
    claim_pending_events,
    count_events,
    detached_tenants,
    finish_event,
    get_event,
    get_tenant,
    list_events,
    list_tenants,
    record_inbound_event,
    reencrypt_secrets,
    remove_tenant,
    retry_event,
    store_inbound_event,
    tenant_secrets,
    update_tenant,
)
from integration.store.sla import Transition, save_sla, sla_due, transition_many, transition_sla
from integration.store.tables import (
    DecisionRow,
    EventStatus,
    HelpdeskKind,
    InboundEventRow,
    OutboxRow,
    OutboxStatus,
    TenantRow,
    TicketRow,
)
from integration.store.tickets import (
    account_key,
    add_decision,
    add_decisions,
    decision_values,
    decisions_for_ticket,
    get_ticket,
    last_assigned,
    open_counts,
    requester_key,
    signals_to_json,
    ticket_history,
    tickets_due,
    upsert_ticket,
)

__all__ = [
    "Base",
    "Claim",
    "DecisionRow",
    "EventStatus",
    "HelpdeskKind",
    "InboundEventRow",
    "OutboxRow",
    "OutboxStatus",
    "TenantRow",
    "TicketRow",
    "Transition",
    "account_key",
    "add_decision",
    "add_decisions",
    "add_tenant",
    "claim_due",
    "claim_pending_events",
    "count_events",
    "current_revision",
    "decision_values",
    "decisions_for_ticket",
    "downgrade",
    "finish_event",
    "get_event",
    "get_tenant",
    "get_ticket",
    "head_revision",
    "insert_ignore",
    "last_assigned",
    "list_events",
    "detached_tenants",
    "list_tenants",
    "reencrypt_secrets",
    "make_engine",
    "make_session_factory",
    "open_counts",
    "remove_tenant",
    "requester_key",
    "record_inbound_event",
    "retry_event",
    "save_sla",
    "session_scope",
    "signals_to_json",
    "sla_due",
    "store_inbound_event",
    "tenant_secrets",
    "ticket_history",
    "tickets_due",
    "transition_many",
    "transition_sla",
    "update_tenant",
    "upgrade",
    "upsert_ticket",
]

# History imports: backfilling a helpdesk's past tickets.
from integration.store.backfill import (  # noqa: E402
    BackfillRunRow,
    BackfillStatus,
    fail_backfill_run,
    import_ticket,
    latest_backfill_run,
    mark_backfill_run,
    record_backfill_page,
    start_backfill_run,
)

__all__ += [
    "BackfillRunRow",
    "BackfillStatus",
    "fail_backfill_run",
    "import_ticket",
    "latest_backfill_run",
    "mark_backfill_run",
    "record_backfill_page",
    "start_backfill_run",
]

# The start page and the decision timeline.
from integration.store.overview import (  # noqa: E402
    UNDECIDED,
    Story,
    TicketFilter,
    TicketPage,
    ticket_page,
    ticket_stories,
)

__all__ += ["UNDECIDED", "Story", "TicketFilter", "TicketPage", "ticket_page", "ticket_stories"]
