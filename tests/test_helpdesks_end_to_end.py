"""Every helpdesk through the app: signed webhook -> stored -> fetched -> decided -> written."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from sqlalchemy import select

from integration import store
from tests import recorded
from tests.adapters.contract import KITS, ContractKit, load_kit
from tests.work import run_once

pytestmark = pytest.mark.scaleout


@pytest.fixture(params=KITS)
def kit(request: pytest.FixtureRequest) -> ContractKit:
    """Each helpdesk's contract kit."""
    return load_kit(request.param)


@pytest.fixture
def tenant(runtime: Any, kit: ContractKit) -> str:
    """A tenant connected exactly as the kit's adapter is configured."""
    config = kit.make_adapter(requests.Session()).config
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(
            s, slug=config.tenant, name=config.tenant, helpdesk=kit.identifier,
            base_url=config.base_url,
            secrets={**config.credentials, "webhook_secret": config.webhook_secret or ""},
            settings=dict(config.options), cipher=runtime.cipher,
        )
    return config.tenant


def test_event_is_decided_and_written_back_once(client: Any, runtime: Any, kit: ContractKit,
                                                tenant: str) -> None:
    name, body = next(iter(kit.events.items()))
    headers = {"Content-Type": "application/json", **kit.sign(body, datetime.now(UTC))}
    response = client.post(f"/webhooks/{kit.identifier}/{tenant}", data=body, headers=headers)
    assert response.status_code == 202, response.json
    assert client.post(f"/webhooks/{kit.identifier}/{tenant}", data=body,
                       headers=headers).json["status"] == "duplicate"

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        kit.register_fetch(rsps)
        kit.register_apply(rsps)
        report = run_once(runtime)
        writes = [c for c in rsps.calls if c.request.method in ("PUT", "POST", "DELETE")
                  and "search" not in recorded.url(c.request)]
    assert (report.decided, report.delivered, report.failed) == (1, 1, 0), name
    assert writes, "the decision must be written back to the helpdesk"
    with store.session_scope(runtime.sessions) as s:
        row = s.scalars(select(store.TicketRow)).one()
        assert (row.helpdesk, row.external_id) == (kit.identifier, kit.ticket_id)
        assert row.tier in (1, 2, 3)
        outbox = s.scalars(select(store.OutboxRow)).all()
        assert [o.status for o in outbox] == ["delivered"]


def test_unknown_event_is_ignored_with_202(client: Any, runtime: Any, kit: ContractKit,
                                           tenant: str) -> None:
    body = kit.unknown_event
    headers = {"Content-Type": "application/json", **kit.sign(body, datetime.now(UTC))}
    response = client.post(f"/webhooks/{kit.identifier}/{tenant}", data=body, headers=headers)
    assert response.status_code == 202
    assert response.json["status"] == "ignored"
    with store.session_scope(runtime.sessions) as s:
        assert s.scalars(select(store.InboundEventRow)).first() is None


def test_unauthenticated_event_is_401(client: Any, runtime: Any, kit: ContractKit,
                                      tenant: str) -> None:
    body = next(iter(kit.events.values()))
    response = client.post(f"/webhooks/{kit.identifier}/{tenant}", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401
