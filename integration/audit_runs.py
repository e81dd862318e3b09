"""Running the audits admins queue from the admin pages, one at a time, in the background.

The admin page stores a request (``store.audits.request_audit``); the scheduler calls
``run_next_audit`` every few seconds. It claims the oldest queued run, streams the workspace's
stored history through the audit with its matrix — organizations taken from the workspace's
CRM when one is connected (``integration.audit_orgs``) — records progress on the run as it
goes (the page shows it) and stores the report's JSON. A failure is recorded with its reason
on the run, never lost in a log; a process that dies mid-way leaves a lease that lets another
one retry.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING

from integration import store
from integration.errors import ConfigurationError
from integration.store.audits import (
    audit_progress,
    claim_audit,
    fail_audit,
    finish_audit,
)
from integration.store.history import count_history, stored_history
from integration.store.repo import tenant_by_id

if TYPE_CHECKING:
    from integration.audit.progress import Progress
    from integration.audit.run import OrganizationSource
    from integration.runtime import Runtime
    from integration.store.tables import TenantRow

__all__ = ["run_next_audit"]

log = logging.getLogger(__name__)


def run_next_audit(runtime: Runtime) -> int | None:
    """Run the oldest queued audit to the end; the run's id, or None when none waits."""
    from integration.audit.page import organizations_line
    from integration.audit.report import audit_json
    from integration.audit.run import audit_tickets

    with store.session_scope(runtime.sessions) as s:
        run = claim_audit(s, now=runtime.now())
        if run is None:
            return None
        run_id, tenant_id, days = run.id, run.tenant_id, run.days
        # Removing a workspace removes its runs, so the tenant is there.
        tenant = tenant_by_id(s, tenant_id)
        since = runtime.now() - timedelta(days=days)
        total = count_history(s, tenant_id=tenant_id, since=since)
    log.info("audit %d of %s: %d stored tickets (last %d days)", run_id, tenant.slug, total, days)

    def progress(step: Progress) -> None:
        with store.session_scope(runtime.sessions) as s:
            audit_progress(s, run_id, done=step.tickets, total=total, now=runtime.now())

    try:
        result = audit_tickets(stored_history(runtime.sessions, tenant_id=tenant_id, since=since),
                               matrix=runtime.matrix_for(tenant), matrix_text=runtime.matrix_text(),
                               organizations=_organizations(runtime, tenant, run_id),
                               on_progress=progress)
        report = audit_json(result)
    except Exception as err:
        log.exception("audit %d of %s failed", run_id, tenant.slug)
        with store.session_scope(runtime.sessions) as s:
            fail_audit(s, run_id, error=f"{type(err).__name__}: {err}", now=runtime.now())
        return run_id
    with store.session_scope(runtime.sessions) as s:
        finish_audit(s, run_id, report=report, now=runtime.now())
    log.info("audit %d of %s: done, %d tickets; %s", run_id, tenant.slug,
             report.get("tickets", 0), organizations_line(report.get("organizations")))
    return run_id


def _organizations(runtime: Runtime, tenant: TenantRow, run_id: int) -> OrganizationSource:
    """The workspace's CRM when one is connected and usable, else what the tickets carry."""
    from integration.audit_orgs import CrmOrganizations, TicketOrganizations, crm_directory

    try:
        found = crm_directory(runtime, tenant)
    except ConfigurationError as err:
        log.warning("audit %d of %s: %s", run_id, tenant.slug, err)
        return TicketOrganizations(note=str(err))
    if found is None:
        return TicketOrganizations()
    return CrmOrganizations(found, limit=int(runtime.config.get("AUDIT_CRM_LOOKUPS", 2000)),
                            on_progress=lambda line: log.info("audit %d of %s: %s", run_id,
                                                              tenant.slug, line))
