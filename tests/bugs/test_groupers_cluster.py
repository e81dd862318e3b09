"""Several workers group bug reports as one: a group one opens, the others join."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select, text

from integration import store
from integration.bugs.groupers import Groupers
from integration.models import Ticket
from integration.store.bugs import BugGroupRow, BugGroupTicketRow, link_ticket
from integration.worker import drain
from tests.conftest import make_ticket, post_sandbox, sandbox_body


def _report(n: int, *, subject: str, body: str) -> dict[str, Any]:
    at = (datetime.now(UTC) - timedelta(minutes=60 - n)).isoformat().replace("+00:00", "Z")
    return make_ticket(
        id=str(700 + n), subject=subject, created_at=at, updated_at=at,
        requester={"id": f"u{n}", "email": f"ops@customer{n}.example", "name": f"Sam {n}"},
        account={"id": f"acct-{n}", "name": f"Customer {n}", "plan": "pro", "arr": 20000},
        messages=[{"id": f"{n}-m1", "author": "customer", "public": True, "created_at": at,
                   "body": body}])


EXPORT = {"subject": "CSV export fails",
          "body": "When I click Export CSV on the monthly report, the export fails with HTTP 500. "
                  "It worked last week."}
LOGIN = {"subject": "SSO login broken",
         "body": "Since this morning the SSO login page shows error 403 after the redirect and "
                 "nobody on our team can sign in with Okta."}


def _groups(runtime: Any) -> list[int]:
    """Tickets per stored group."""
    with store.session_scope(runtime.sessions) as s:
        return sorted(len(s.scalars(select(BugGroupTicketRow)
                                    .where(BugGroupTicketRow.group_id == gid)).all())
                      for gid in s.scalars(select(BugGroupRow.id)))


def test_a_worker_joins_the_group_another_worker_opened(
        client: Any, runtime: Any, sandbox_tenant: str) -> None:
    first, second = runtime.bug_groupers, Groupers()
    post_sandbox(client, sandbox_body(_report(0, **LOGIN), delivery_id="r0"))
    drain(runtime)  # the first worker has read the groups: one, about logins
    runtime.bug_groupers = second
    post_sandbox(client, sandbox_body(_report(1, **EXPORT), delivery_id="r1"))
    drain(runtime)  # the second opens the export group
    runtime.bug_groupers = first
    post_sandbox(client, sandbox_body(_report(2, **EXPORT), delivery_id="r2"))
    drain(runtime)
    assert _groups(runtime) == [1, 2]  # the first worker joined it, no second export group


def _stored(s: Any, tenant_id: int, n: int) -> tuple[int, Ticket]:
    ticket = Ticket.from_dict(_report(n, **EXPORT))
    row = store.upsert_ticket(s, tenant_id=tenant_id, ticket=ticket, tier=None, priority=None,
                              category=None, sla_due_at=None, input_fingerprint=None)
    return row.id, ticket


def test_two_workers_at_once_open_one_group(runtime: Any, sandbox_tenant: str) -> None:
    if runtime.engine.dialect.name != "postgresql":
        pytest.skip("several processes group at once only on PostgreSQL")
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, sandbox_tenant)
        assert tenant is not None
        tenant_id = tenant.id
    keys: dict[str, str] = {}
    opened = runtime.sessions()

    def group(name: str, s: Any, n: int) -> None:
        row_id, ticket = _stored(s, tenant_id, n)
        keys[name], why = workers[name].assign(s, tenant_id, ticket)
        link_ticket(s, tenant_id=tenant_id, tenant_slug=sandbox_tenant, group_key=keys[name],
                    ticket_id=row_id, title=ticket.subject, matched_on=why,
                    now=ticket.created_at)

    workers = {"a": Groupers(), "b": Groupers()}
    group("a", opened, 1)  # holds the tenant's grouping until it commits

    def other() -> None:
        with store.session_scope(runtime.sessions) as s:
            group("b", s, 2)

    waiting = threading.Thread(target=other)
    waiting.start()
    with runtime.engine.connect() as probe:
        # Until the second worker waits for the first (or, were nothing to stop it, is done).
        while waiting.is_alive() and not probe.scalar(text(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted")):
            probe.rollback()
    opened.commit()
    opened.close()
    waiting.join()
    assert keys["a"] == keys["b"]
    assert _groups(runtime) == [2]
