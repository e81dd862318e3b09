"""Bad input gets the right 4xx naming the problem, and nothing is stored."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from integration import store
from tests.conftest import make_ticket, post_sandbox, sandbox_body


def _event_count(runtime: Any) -> int:
    with store.session_scope(runtime.sessions) as s:
        return s.scalar(select(func.count()).select_from(store.InboundEventRow)) or 0


def test_valid_delivery_is_stored_and_accepted(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    response = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d1"))
    assert response.status_code == 202
    assert response.json["status"] == "accepted"
    assert _event_count(runtime) == 1


def test_duplicate_delivery_is_stored_once(client: Any, runtime: Any, sandbox_tenant: str) -> None:
    body = sandbox_body(make_ticket(), delivery_id="d1")
    assert post_sandbox(client, body).status_code == 202
    second = post_sandbox(client, body)
    assert second.status_code == 200
    assert second.json["status"] == "duplicate"
    assert _event_count(runtime) == 1


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        ({"tenant": "nobody"}, 404, "unknown tenant 'nobody'"),
        ({"secret": "wrong-secret"}, 401, "signature"),
        ({"Content-Type": "text/plain"}, 415, "Content-Type must be application/json"),
    ],
)
def test_rejections_store_nothing(client: Any, runtime: Any, sandbox_tenant: str,
                                  kwargs: dict[str, Any], status: int, needle: str) -> None:
    headers = {k: v for k, v in kwargs.items() if k[0].isupper()}
    other = {k: v for k, v in kwargs.items() if not k[0].isupper()}
    response = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d1"), **other,
                            **headers)
    assert response.status_code == status
    assert needle.lower() in response.json["error"].lower()
    assert _event_count(runtime) == 0


def test_missing_signature_is_401(client: Any, runtime: Any, sandbox_tenant: str) -> None:
    body = sandbox_body(make_ticket(), delivery_id="d1")
    response = client.post("/webhooks/sandbox/demo", data=body,
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 401
    assert _event_count(runtime) == 0


def test_malformed_json_is_400(client: Any, runtime: Any, sandbox_tenant: str) -> None:
    response = post_sandbox(client, b'{"delivery_id": "d1", "ticket": ')
    assert response.status_code == 400
    assert response.json["field"] == "body"
    assert "not valid JSON" in response.json["error"]
    assert _event_count(runtime) == 0


def test_bad_ticket_field_is_422_naming_it(client: Any, runtime: Any, sandbox_tenant: str) -> None:
    bad = make_ticket(messages=[{"id": "m1", "author": "customer", "body": "x",
                                 "created_at": "yesterday"}])
    response = post_sandbox(client, sandbox_body(bad, delivery_id="d1"))
    assert response.status_code == 422
    assert "messages[0].created_at" in response.json["error"]
    assert _event_count(runtime) == 0


def test_oversized_body_is_413(app_config: dict[str, Any], sandbox_tenant: str,
                               runtime: Any) -> None:
    from integration.web import create_app

    small = create_app({**app_config, "MAX_BODY_BYTES": 200}, runtime=None)
    body = sandbox_body(make_ticket(subject="x" * 500), delivery_id="d1")
    response = post_sandbox(small.test_client(), body)
    assert response.status_code == 413
    assert "200" in response.json["error"]
    assert _event_count(runtime) == 0
    small.extensions["escalade"].engine.dispose()


def test_unknown_event_type_is_ignored_with_202(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    body = sandbox_body(make_ticket(), delivery_id="d1", event="ticket.exploded")
    response = post_sandbox(client, body)
    assert response.status_code == 202
    assert response.json["status"] == "ignored"
    assert _event_count(runtime) == 0


def test_health_reports_the_matrix_version(client: Any) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json["matrix_version"]


@pytest.mark.parametrize("helpdesk", ["intercom", "zendesk", "freshdesk", "sandbox"])
def test_a_reachability_check_is_answered_and_stores_nothing(
    client: Any, runtime: Any, helpdesk: str
) -> None:
    # Intercom sends HEAD to an endpoint URL when it is saved in the Developer Hub.
    response = client.head(f"/webhooks/{helpdesk}/acme")
    assert response.status_code == 200
    assert response.data == b""
    assert _event_count(runtime) == 0


def test_each_event_of_a_batch_is_decided_at_its_own_time(
    client: Any, runtime: Any, sandbox_tenant: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from datetime import UTC, datetime, timedelta

    from integration.worker import process_events

    for n in range(3):
        body = sandbox_body(make_ticket(id=f"t{n}"), delivery_id=f"d{n}")
        assert post_sandbox(client, body).status_code == 202
    ticks = iter(datetime.now(UTC) + timedelta(minutes=m)
                 for m in range(1, 1000))
    monkeypatch.setattr(runtime, "now", lambda: next(ticks))
    assert process_events(runtime).decided == 3
    with store.session_scope(runtime.sessions) as s:
        decided = list(s.scalars(select(store.DecisionRow.decided_at)
                                 .order_by(store.DecisionRow.id)))
    # Not the batch's start for all three: a decision's time (and its SLA clock) is its own.
    assert len(set(decided)) == 3 and decided == sorted(decided)


def test_an_event_whose_worker_died_is_taken_again_after_the_lease(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    from datetime import UTC, datetime, timedelta

    from integration.worker import event_lease

    runtime.config["EVENT_LEASE_SECONDS"] = 2
    assert post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d1")).status_code == 202
    now = datetime.now(UTC)
    lease = event_lease(runtime)
    taken = store.claim_pending_events(runtime.sessions, now=now, lease=lease)
    assert len(taken) == 1
    # Its worker is gone (killed): nobody else takes it while the lease runs...
    assert store.claim_pending_events(runtime.sessions, now=now + timedelta(seconds=1),
                                      lease=lease) == []
    # ...and the next worker does once it has run out.
    assert store.claim_pending_events(runtime.sessions, now=now + timedelta(seconds=3),
                                      lease=lease) == taken


def _tenant_reads(runtime: Any) -> list[str]:
    """Every SQL statement that reads the tenants table, from now on."""
    from sqlalchemy import event

    seen: list[str] = []

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if "FROM tenants" in statement:
            seen.append(statement)

    event.listen(runtime.engine, "before_cursor_execute", before)
    return seen


def _status(client: Any, delivery: str, **kwargs: Any) -> int:
    """The status a signed delivery of a new ticket is answered with."""
    response = post_sandbox(client, sandbox_body(make_ticket(), delivery_id=delivery), **kwargs)
    return int(response.status_code)


def test_a_webhook_reuses_the_workspace_it_read_moments_ago(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    assert _status(client, "d1") == 202
    reads = _tenant_reads(runtime)
    assert _status(client, "d2") == 202
    # The acknowledgment only verifies, stores and answers.
    assert reads == []
    assert _event_count(runtime) == 2


def test_a_secret_changed_by_another_process_works_at_once(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    assert _status(client, "d1") == 202
    # Another process (the CLI) stores a new secret: this one is not told.
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, sandbox_tenant)
        assert row is not None
        store.update_tenant(s, row, cipher=runtime.cipher, secrets={"webhook_secret": "new-one"})
    assert _status(client, "d2", secret="new-one") == 202
    assert _status(client, "d3") == 401
    assert _event_count(runtime) == 2


def test_a_workspace_removed_by_another_process_is_404_not_500(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    assert _status(client, "d1") == 202
    with store.session_scope(runtime.sessions) as s:
        assert store.remove_tenant(s, sandbox_tenant)
    response = post_sandbox(client, sandbox_body(make_ticket(), delivery_id="d2"))
    assert response.status_code == 404
    assert "unknown tenant 'demo'" in response.json["error"]
    assert _event_count(runtime) == 0


def test_a_helpdesk_typo_in_the_url_is_named(
    client: Any, runtime: Any, sandbox_tenant: str
) -> None:
    response = client.post("/webhooks/zendsk/demo", data=b"{}",
                           headers={"Content-Type": "application/json"})
    assert response.status_code == 404
    assert "unknown helpdesk 'zendsk'" in response.json["error"]
    assert "zendesk" in response.json["error"].split("one of:")[1]
    assert _event_count(runtime) == 0
