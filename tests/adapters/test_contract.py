"""One contract, every helpdesk: the same tests run over each vendor's kit."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import requests
import responses

from adapters.helpdesk.base import HelpdeskAdapter
from adapters.registry import HELPDESKS, adapter_class
from integration.errors import (
    FatalError,
    RetriableError,
    UnsupportedEvent,
    WebhookVerificationError,
)
from integration.models import ActionKind, Ticket
from tests.adapters.contract import KITS, STANDARD_ACTIONS, ContractKit, load_kit
from tests.adapters.kit import refuse_sleep, validate_calls

NOW = datetime.now(UTC)


@pytest.fixture(params=KITS)
def kit(request: pytest.FixtureRequest) -> ContractKit:
    """Each helpdesk's kit in turn."""
    return load_kit(request.param)


@pytest.fixture
def adapter(kit: ContractKit) -> HelpdeskAdapter:
    """The kit's adapter on a fresh session."""
    return kit.make_adapter(requests.Session())


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A transport that refuses any request not registered by the test."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail if an adapter waits out a rate limit inside the call."""
    refuse_sleep(monkeypatch)


def test_every_registered_helpdesk_has_a_kit() -> None:
    assert set(HELPDESKS) - {"sandbox"} == set(KITS)


def test_adapter_is_the_registered_class(kit: ContractKit, adapter: HelpdeskAdapter) -> None:
    assert type(adapter) is adapter_class(kit.identifier)
    assert adapter.identifier == kit.identifier


def test_signed_events_verify_and_name_the_ticket(kit: ContractKit,
                                                  adapter: HelpdeskAdapter) -> None:
    assert kit.events, "a kit needs at least one supported event"
    for name, body in kit.events.items():
        headers = kit.sign(body, NOW)
        adapter.verify_webhook(headers=headers, body=body, now=NOW)
        event = adapter.parse_webhook(headers=headers, body=body)
        assert event.ticket_id == kit.ticket_id, name
        assert event.delivery_id, name


def test_tampered_or_unsigned_bodies_are_rejected(kit: ContractKit,
                                                  adapter: HelpdeskAdapter) -> None:
    body = next(iter(kit.events.values()))
    headers = kit.sign(body, NOW)
    if kit.signs_body:
        with pytest.raises(WebhookVerificationError):
            adapter.verify_webhook(headers=headers, body=body + b" ", now=NOW)
    with pytest.raises(WebhookVerificationError):
        adapter.verify_webhook(headers={"Content-Type": "application/json"}, body=body, now=NOW)


def test_unknown_events_are_unsupported(kit: ContractKit, adapter: HelpdeskAdapter) -> None:
    headers = kit.sign(kit.unknown_event, NOW)
    adapter.verify_webhook(headers=headers, body=kit.unknown_event, now=NOW)
    with pytest.raises(UnsupportedEvent):
        adapter.parse_webhook(headers=headers, body=kit.unknown_event)


def test_fetched_ticket_is_a_valid_normalized_ticket(
    kit: ContractKit, adapter: HelpdeskAdapter, rsps: responses.RequestsMock
) -> None:
    kit.register_fetch(rsps)
    ticket = adapter.fetch_ticket(kit.ticket_id)
    assert (ticket.helpdesk, ticket.id) == (kit.identifier, kit.ticket_id)
    assert Ticket.from_dict(ticket.to_dict()) == ticket
    assert ticket.customer_messages, "the customer's own words must come through"
    _validate(kit, rsps)


def test_standard_actions_become_the_vendor_calls(
    kit: ContractKit, adapter: HelpdeskAdapter, rsps: responses.RequestsMock, no_sleep: None
) -> None:
    kit.register_apply(rsps)
    result = adapter.apply(kit.ticket_id, STANDARD_ACTIONS)
    kit.check_apply(rsps.calls)
    assert ActionKind.ALERT not in result.applied
    assert {ActionKind.ADD_TAGS, ActionKind.SET_PRIORITY, ActionKind.INTERNAL_NOTE,
            ActionKind.PUBLIC_REPLY} <= set(result.applied)
    _validate(kit, rsps)


@pytest.mark.parametrize(
    ("status", "headers", "retry_after"),
    [(429, {"Retry-After": "42"}, 42.0), (503, {}, None), (500, {}, None)],
)
def test_rate_limits_and_server_errors_are_retriable(
    kit: ContractKit, adapter: HelpdeskAdapter, rsps: responses.RequestsMock, no_sleep: None,
    status: int, headers: dict[str, str], retry_after: float | None,
) -> None:
    method, url = kit.write_call
    rsps.add(method, url, status=status, headers=headers, json={"error": "unavailable"})
    kit.register_apply(rsps)  # registered after: the failure answers first
    actions = [a for a in STANDARD_ACTIONS if a.kind is not ActionKind.PUBLIC_REPLY]
    with pytest.raises(RetriableError) as info:
        adapter.apply(kit.ticket_id, actions)
    if retry_after is not None:
        assert info.value.retry_after == retry_after


def test_alerts_never_reach_the_helpdesk(kit: ContractKit, adapter: HelpdeskAdapter,
                                         rsps: responses.RequestsMock) -> None:
    alerts = [a for a in STANDARD_ACTIONS if a.kind is ActionKind.ALERT]
    result = adapter.apply(kit.ticket_id, alerts)
    assert result.applied == ()
    assert len(rsps.calls) == 0


def test_connection_test_says_who_answered_and_lists_the_groups(
    kit: ContractKit, adapter: HelpdeskAdapter, rsps: responses.RequestsMock
) -> None:
    url, me = kit.who_am_i
    rsps.get(url, json=me)
    kit.register_groups(rsps)
    found = adapter.test_connection()
    assert found.message == kit.signed_in_as
    assert found.groups and all(group.id and group.name for group in found.groups)
    validate_calls(kit.identifier, rsps.calls[:1])  # the groups' own test validates them


@pytest.mark.parametrize(("status", "error"), [(401, FatalError), (503, RetriableError)])
def test_connection_test_refused_or_down_is_a_typed_error_with_the_vendors_words(
    kit: ContractKit, adapter: HelpdeskAdapter, rsps: responses.RequestsMock, status: int,
    error: type[Exception],
) -> None:
    rsps.get(kit.who_am_i[0], status=status, json={"message": "Couldn't authenticate you"})
    with pytest.raises(error, match=f"answered {status}: Couldn't authenticate you"):
        adapter.test_connection()
    assert len(rsps.calls) == 1


def test_stale_signatures_are_rejected(kit: ContractKit, adapter: HelpdeskAdapter) -> None:
    body = next(iter(kit.events.values()))
    old = NOW - timedelta(hours=2)
    headers = kit.sign(body, old)
    if not any("time" in k.lower() for k in headers):
        pytest.skip(f"{kit.identifier} signs no timestamp, so staleness cannot be told")
    with pytest.raises(WebhookVerificationError):
        adapter.verify_webhook(headers=headers, body=body, now=NOW)


def _validate(kit: ContractKit, rsps: responses.RequestsMock) -> None:
    validate_calls(kit.identifier, rsps.calls)
