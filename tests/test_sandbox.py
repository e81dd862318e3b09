"""The sandbox helpdesk: signed webhooks in, recorded writes out, failures on demand."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from adapters.helpdesk import sandbox
from adapters.helpdesk.base import HelpdeskConfig
from adapters.helpdesk.sandbox import (
    SIGNATURE_HEADER,
    SandboxAdapter,
    cursor_for,
    sign,
    webhook_body,
)
from adapters.registry import build_adapter
from integration.demo import demo_tickets
from integration.errors import (
    ConfigurationError,
    FatalError,
    RetriableError,
    UnsupportedEvent,
    ValidationError,
    WebhookVerificationError,
)
from integration.models import Action, ActionKind, Author, Priority, Ticket

SECRET = "s3cret-for-tests"
NOW = datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


def config(**options: Any) -> HelpdeskConfig:
    return HelpdeskConfig(tenant="demo", helpdesk="sandbox", webhook_secret=SECRET, options=options)


def ticket(ticket_id: str = "1019") -> Ticket:
    return next(t for t in demo_tickets() if t.id == ticket_id)


class Recorded:
    """A recorder that keeps every call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[dict[str, Any]]]] = []

    def __call__(self, ticket_id: str, writes: list[dict[str, Any]]) -> None:
        self.calls.append((ticket_id, writes))


def escalation_actions(reply: str) -> list[Action]:
    return [
        Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": ["escalade_tier_3"]}),
        Action(
            kind=ActionKind.REMOVE_TAGS, target="helpdesk", payload={"tags": ["escalade_tier_1"]}
        ),
        Action(kind=ActionKind.SET_PRIORITY, target="helpdesk", payload={"priority": "urgent"}),
        Action(kind=ActionKind.ASSIGN, target="helpdesk", payload={"group": "escalations"}),
        Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": "n" * 312}),
        Action(kind=ActionKind.PUBLIC_REPLY, target="helpdesk", payload={"body": reply}),
        Action(kind=ActionKind.ALERT, target="slack", payload={"channel": "#escalations"}),
    ]


# --- signatures -------------------------------------------------------------------------


def test_a_correctly_signed_delivery_is_accepted_whatever_the_header_case() -> None:
    adapter = SandboxAdapter(config=config())
    body = webhook_body(ticket(), delivery_id="d-1", event="ticket.created")
    adapter.verify_webhook(headers={SIGNATURE_HEADER: sign(body, SECRET)}, body=body, now=NOW)
    adapter.verify_webhook(
        headers={SIGNATURE_HEADER.lower(): sign(body, SECRET)}, body=body, now=NOW
    )


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        ({}, "missing"),
        ({SIGNATURE_HEADER: ""}, "missing"),
        ({SIGNATURE_HEADER: "md5=abc"}, "sha256="),
        ({SIGNATURE_HEADER: "sha256=" + "0" * 64}, "does not match"),
    ],
)
def test_a_missing_or_wrong_signature_is_refused(headers: dict[str, str], message: str) -> None:
    adapter = SandboxAdapter(config=config())
    body = webhook_body(ticket(), delivery_id="d-1")
    with pytest.raises(WebhookVerificationError, match=message):
        adapter.verify_webhook(headers=headers, body=body, now=NOW)


def test_a_signature_over_another_body_or_secret_is_refused() -> None:
    adapter = SandboxAdapter(config=config())
    body = webhook_body(ticket(), delivery_id="d-1")
    tampered = body.replace(b"Northwind", b"Southwind")
    with pytest.raises(WebhookVerificationError):
        adapter.verify_webhook(
            headers={SIGNATURE_HEADER: sign(body, SECRET)}, body=tampered, now=NOW
        )
    with pytest.raises(WebhookVerificationError):
        adapter.verify_webhook(headers={SIGNATURE_HEADER: sign(body, "other")}, body=body, now=NOW)


def test_without_a_configured_secret_nothing_is_trusted() -> None:
    adapter = SandboxAdapter(config=HelpdeskConfig(tenant="demo", helpdesk="sandbox"))
    body = webhook_body(ticket(), delivery_id="d-1")
    with pytest.raises(WebhookVerificationError, match="no webhook secret"):
        adapter.verify_webhook(headers={SIGNATURE_HEADER: sign(body, "")}, body=body, now=NOW)


# --- parsing ----------------------------------------------------------------------------


def test_every_demo_ticket_comes_through_the_webhook_whole() -> None:
    adapter = SandboxAdapter(config=config())
    for original in demo_tickets():
        body = webhook_body(original, delivery_id=f"d-{original.id}", event="ticket.created")
        event = adapter.parse_webhook(headers={}, body=body)
        assert event.ticket == original
        assert (event.delivery_id, event.event_type, event.ticket_id) == (
            f"d-{original.id}",
            "ticket.created",
            original.id,
        )
        assert event.occurred_at == original.updated_at
        assert adapter.fetch_ticket(original.id) == original


def _body_with(mutate: Any) -> bytes:
    data = json.loads(webhook_body(ticket(), delivery_id="d-1"))
    mutate(data)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["ticket"]["messages"][0].pop("created_at"), "ticket.messages[0].created_at"),
        (lambda d: d["ticket"]["messages"][1].update(author="robot"), "ticket.messages[1].author"),
        (lambda d: d["ticket"]["account"].update(health=1.7), "ticket.account.health"),
        (lambda d: d["ticket"].update(status="lost"), "ticket.status"),
        (lambda d: d["ticket"].update(tenant="acme"), "ticket.tenant"),
        (lambda d: d["ticket"].update(helpdesk="zendesk"), "ticket.helpdesk"),
        (lambda d: d.update(ticket=None), "ticket"),
        (lambda d: d.update(ticket=[1]), "ticket"),
        (lambda d: d.pop("delivery_id"), "delivery_id"),
        (lambda d: d.update(event=7), "event"),
    ],
)
def test_a_bad_payload_names_the_field(mutate: Any, field: str) -> None:
    adapter = SandboxAdapter(config=config())
    with pytest.raises(ValidationError) as info:
        adapter.parse_webhook(headers={}, body=_body_with(mutate))
    assert info.value.field == field
    with pytest.raises(FatalError):
        adapter.fetch_ticket("1019")


@pytest.mark.parametrize("body", [b"not json", b"\xff\xfe", b"[1, 2]"])
def test_a_body_that_is_not_a_json_object_is_a_body_error(body: bytes) -> None:
    with pytest.raises(ValidationError) as info:
        SandboxAdapter(config=config()).parse_webhook(headers={}, body=body)
    assert info.value.field == "body"


def test_an_unknown_event_is_unsupported_and_not_stored() -> None:
    adapter = SandboxAdapter(config=config())
    body = webhook_body(ticket(), delivery_id="d-1", event="ticket.deleted")
    with pytest.raises(UnsupportedEvent) as info:
        adapter.parse_webhook(headers={}, body=body)
    assert info.value.event_type == "ticket.deleted"
    with pytest.raises(FatalError, match="never sent"):
        adapter.fetch_ticket("1019")


def test_an_older_snapshot_delivered_late_does_not_replace_a_newer_one() -> None:
    newer = ticket()
    older = Ticket.from_dict(
        {
            **newer.to_dict(),
            "messages": [newer.messages[0].to_dict()],
            "updated_at": "2026-11-07T06:50:00Z",
        }
    )
    adapter = SandboxAdapter(config=config())
    adapter.parse_webhook(headers={}, body=webhook_body(newer, delivery_id="d-2"))
    adapter.parse_webhook(headers={}, body=webhook_body(older, delivery_id="d-1"))
    assert adapter.fetch_ticket(newer.id) == newer


def test_normalize_validates_the_normalized_format() -> None:
    adapter = SandboxAdapter(config=config())
    assert adapter.normalize(ticket().to_dict()) == ticket()
    with pytest.raises(ValidationError) as info:
        adapter.normalize({**ticket().to_dict(), "channel": "pigeon"})
    assert info.value.field == "channel"


# --- writing back -----------------------------------------------------------------------


def test_apply_records_each_write_in_plain_words_and_updates_the_ticket() -> None:
    recorded = Recorded()
    adapter = SandboxAdapter(
        config=config(), tickets=[ticket()], recorder=recorded, clock=lambda: NOW
    )
    reply = "Hi Dana, we are restoring your annotations from last night's snapshot."
    result = adapter.apply("1019", escalation_actions(reply))

    assert result.detail["written"] == [
        "tags +escalade_tier_3 -escalade_tier_1",
        "priority → urgent",
        "group → escalations",
        "internal note (312 chars)",
        "public reply: 'Hi Dana, we are restoring your annotations from...'",
    ]
    assert result.detail["skipped"] == ["slack: alert"]
    assert result.applied == (
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.ASSIGN,
        ActionKind.INTERNAL_NOTE,
        ActionKind.PUBLIC_REPLY,
    )
    assert result.external_ref
    [(ticket_id, writes)] = recorded.calls
    assert ticket_id == "1019"
    assert writes[0] == {
        "write": "tags",
        "add": ["escalade_tier_3"],
        "remove": ["escalade_tier_1"],
        "summary": "tags +escalade_tier_3 -escalade_tier_1",
    }
    assert writes[-1]["body"] == reply

    after = adapter.fetch_ticket("1019")
    assert "escalade_tier_3" in after.tags and "escalade_tier_1" not in after.tags
    assert after.priority is Priority.URGENT and after.group == "escalations"
    note, answer = after.messages[-2:]
    assert (note.author, note.public, note.created_at) == (Author.BOT, False, NOW)
    assert (answer.author, answer.public, answer.body) == (Author.BOT, True, reply)
    assert adapter.is_own_write(after)
    assert not adapter.is_own_write(ticket())


def test_the_later_of_adding_and_removing_a_tag_wins() -> None:
    writes = sandbox.describe_writes(
        [
            Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": ["a", "b"]}),
            Action(kind=ActionKind.REMOVE_TAGS, target="helpdesk", payload={"tags": ["a"]}),
            Action(
                kind=ActionKind.SET_FIELD,
                target="helpdesk",
                payload={"field": "escalade_tier", "value": 3},
            ),
        ]
    )
    assert [w["summary"] for w in writes] == ["tags +b -a", "field escalade_tier = 3"]


@pytest.mark.parametrize(
    "action",
    [
        Action(kind=ActionKind.SET_PRIORITY, target="helpdesk", payload={"priority": "asap"}),
        Action(kind=ActionKind.ADD_TAGS, target="helpdesk", payload={"tags": []}),
        Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": "  "}),
        Action(kind=ActionKind.ASSIGN, target="helpdesk", payload={}),
        Action(kind=ActionKind.ALERT, target="helpdesk", payload={}),
    ],
)
def test_a_write_the_helpdesk_would_reject_is_fatal_and_records_nothing(action: Action) -> None:
    recorded = Recorded()
    adapter = SandboxAdapter(config=config(), tickets=[ticket()], recorder=recorded)
    with pytest.raises(FatalError):
        adapter.apply("1019", [action])
    assert recorded.calls == []
    assert adapter.fetch_ticket("1019") == ticket()


def test_apply_without_helpdesk_actions_writes_nothing() -> None:
    recorded = Recorded()
    adapter = SandboxAdapter(config=config(), recorder=recorded)
    result = adapter.apply("1019", [])
    assert result.applied == () and result.detail["written"] == []
    assert recorded.calls == []


def test_apply_to_a_ticket_the_sandbox_never_saw_still_records() -> None:
    recorded = Recorded()
    adapter = SandboxAdapter(config=config(), recorder=recorded)
    result = adapter.apply("77", escalation_actions("Hi"))
    assert result.detail["ticket_known"] is False
    assert recorded.calls[0][0] == "77"


# --- failures on demand -----------------------------------------------------------------


def test_a_configured_rate_limit_is_retriable_then_the_write_lands() -> None:
    recorded = Recorded()
    adapter = SandboxAdapter(
        config=config(fail_with=429, fail_times=2), tickets=[ticket()], recorder=recorded
    )
    for attempt in (1, 2):
        with pytest.raises(RetriableError, match=f"429.*{attempt} of 2") as info:
            adapter.apply("1019", escalation_actions("Hi"))
        assert info.value.retry_after == 1.0
        assert recorded.calls == []
    result = adapter.apply("1019", escalation_actions("Hi"))
    assert len(recorded.calls) == 1 and result.detail["written"]


def test_a_configured_server_error_is_retriable_every_time_without_a_count() -> None:
    adapter = SandboxAdapter(config=config(fail_with=500), tickets=[ticket()])
    for _ in range(3):
        with pytest.raises(RetriableError) as info:
            adapter.apply("1019", escalation_actions("Hi"))
        assert info.value.retry_after is None


def test_a_configured_unprocessable_entity_is_fatal() -> None:
    adapter = SandboxAdapter(config=config(fail_with=422, fail_times=1), tickets=[ticket()])
    with pytest.raises(FatalError, match="422"):
        adapter.apply("1019", escalation_actions("Hi"))
    assert adapter.apply("1019", escalation_actions("Hi")).detail["written"]


@pytest.mark.parametrize(
    "options",
    [
        {"fail_with": 200},
        {"fail_with": "429"},
        {"fail_with": 429, "fail_times": -1},
        {"fail_with": 429, "retry_after": "soon"},
    ],
)
def test_a_wrong_failure_setting_is_a_configuration_error(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError):
        SandboxAdapter(config=config(**options))


# --- the rest of the contract -----------------------------------------------------------


def test_backfill_streams_known_tickets_oldest_first_in_pages_and_resumes_after_a_cursor(
) -> None:
    adapter = SandboxAdapter(config=config(preload_demo=True, backfill_page_size=2))
    since = datetime(2026, 11, 15, tzinfo=UTC)
    pages = list(adapter.backfill(since=since))
    streamed = [t for page in pages for t in page.tickets]
    assert len(streamed) > 4 and all(t.updated_at >= since for t in streamed)
    assert streamed == sorted(streamed, key=lambda t: (t.updated_at, t.id))
    assert all(len(page.tickets) <= 2 for page in pages)
    assert [page.done for page in pages] == [False] * (len(pages) - 1) + [True]
    assert pages[0].cursor == cursor_for(streamed[1])
    rest = adapter.backfill(since=since, cursor=pages[0].cursor)
    assert [t for page in rest for t in page.tickets] == streamed[2:]
    (empty,) = adapter.backfill(since=NOW + timedelta(days=1))
    assert empty.tickets == () and empty.done


def test_backfill_refuses_a_nonsense_page_size() -> None:
    adapter = SandboxAdapter(config=config(backfill_page_size=0))
    with pytest.raises(ConfigurationError, match="backfill_page_size"):
        list(adapter.backfill(since=NOW))


def test_is_own_write_looks_at_the_latest_message_only() -> None:
    adapter = SandboxAdapter(config=config())
    chat = ticket("1047")  # a bot spoke mid-thread, the customer last
    assert chat.messages[0].author is Author.BOT
    assert not adapter.is_own_write(chat)
    empty = Ticket.from_dict({**chat.to_dict(), "messages": []})
    assert not adapter.is_own_write(empty)


def test_the_registry_builds_the_sandbox_with_no_credentials() -> None:
    adapter = build_adapter(config(preload_demo=True))
    assert isinstance(adapter, SandboxAdapter)
    assert adapter.identifier == "sandbox"
    assert adapter.fetch_ticket("1001").subject.startswith("Invoice")


def test_exported_names_exist() -> None:
    assert all(hasattr(sandbox, name) for name in sandbox.__all__)
