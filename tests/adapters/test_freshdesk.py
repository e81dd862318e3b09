"""Freshdesk adapter: fixtures in / model out, request bodies, webhooks, HTTP faked by responses."""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import jsonschema
import pytest
import requests
import responses
from responses import matchers

from adapters.helpdesk.base import HelpdeskConfig
from adapters.helpdesk.common import BOT_MARKER, written_kinds
from adapters.helpdesk.freshdesk import (
    AUTOMATION_BODY,
    BackfillCursor,
    FreshdeskAdapter,
    parse_triggered_event,
    parse_webhook_body,
    to_freshdesk_note,
    to_freshdesk_reply,
    to_freshdesk_update,
    to_ticket,
)
from adapters.helpdesk.freshdesk.update import UPDATE_KINDS
from integration.errors import (
    ConfigurationError,
    FatalError,
    RetriableError,
    UnsupportedEvent,
    ValidationError,
    WebhookVerificationError,
)
from integration.models import (
    Action,
    ActionKind,
    Author,
    Channel,
    Message,
    Priority,
    Status,
    Ticket,
)
from tests import recorded
from tests.adapters import freshdesk_schemas, kit
from tests.adapters.kit import act

FIXTURES = kit.Fixtures("freshdesk")
BASE = "https://acme.freshdesk.com"
API = f"{BASE}/api/v2"
API_KEY = "fd-api-key-made-up"
SECRET = "whsec-made-up-for-these-tests"
BOT = 9001
GROUPS = {"support": 3001, "escalations": 3002}
TIER_FIELD = "cf_escalade_tier"
PAGE_FIELD = "cf_page_url"
NOW = datetime(2026, 11, 3, 10, 2, tzinfo=UTC)


load = FIXTURES.load
raw = FIXTURES.raw
INSTALL = kit.Install(
    helpdesk="freshdesk", base_url=BASE, credentials={"api_key": API_KEY},
    webhook_secret=SECRET,
    options={"tier_field": TIER_FIELD, "page_url_field": PAGE_FIELD, "group_ids": GROUPS},
)
config = INSTALL.config
adapter = INSTALL.adapter


def bundle() -> dict[str, Any]:
    """The bundle ``fetch_bundle`` gathers for ticket 4711, built from the API fixtures."""
    return {
        "ticket": load("ticket_view.json"),
        "conversations": load("conversations.json") + load("conversations_page2.json"),
        "company": load("company.json"),
    }


def normalize(data: dict[str, Any], **kwargs: Any) -> Ticket:
    """``to_ticket`` with this suite's tenant and options."""
    options: dict[str, Any] = {
        "tenant": "acme",
        "bot_user_id": None,
        "group_names": {v: k for k, v in GROUPS.items()},
        "tier_field": TIER_FIELD,
        "page_url_field": PAGE_FIELD,
    }
    options.update(kwargs)
    return to_ticket(data, **options)


def basic(user: str, password: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{user}:{password}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def page_link(url: str) -> dict[str, str]:
    """The ``Link`` header Freshdesk sends when another page follows."""
    return {"Link": f'<{url}>; rel="next"'}


def mock_fetch(rsps: responses.RequestsMock) -> None:
    """Ticket 4711 with two pages of conversations and its company."""
    rsps.get(
        f"{API}/tickets/4711",
        json=load("ticket_view.json"),
        match=[matchers.query_param_matcher({"include": "requester,company,stats"})],
    )
    conversations = f"{API}/tickets/4711/conversations"
    rsps.get(
        conversations,
        json=load("conversations.json"),
        headers=page_link(f"{conversations}?per_page=100&page=2"),
        match=[matchers.query_param_matcher({"per_page": "100", "page": "1"})],
    )
    rsps.get(
        conversations,
        json=load("conversations_page2.json"),
        match=[matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )
    rsps.get(f"{API}/companies/501", json=load("company.json"))


@pytest.fixture
def rsps() -> Iterator[responses.RequestsMock]:
    """A transport that refuses any request the test did not register."""
    with responses.RequestsMock() as mock:
        yield mock


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything waits out a rate limit."""
    kit.refuse_sleep(monkeypatch)


# --- normalize ---------------------------------------------------------------------------


def test_to_ticket_maps_the_api_fixtures() -> None:
    ticket = normalize(bundle())

    assert ticket.key == "acme:freshdesk:4711"
    assert ticket.subject == "Charged twice for the November invoice"
    assert (ticket.status, ticket.priority, ticket.channel) == (
        Status.OPEN,
        Priority.HIGH,
        Channel.EMAIL,
    )
    assert ticket.created_at == datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
    assert ticket.updated_at == datetime(2026, 11, 3, 10, 1, tzinfo=UTC)
    assert ticket.requester.to_dict() == {
        "id": "1001",
        "email": "dana@bigco.example",
        "name": "Dana Ops",
    }
    assert ticket.account is not None
    assert ticket.account.to_dict() == {
        "id": "501",
        "name": "BigCo",
        "domain": "bigco.example",
        "plan": "enterprise",
        "arr": 180000.0,
        "health": 0.35,
        "owner": "am@acme.example",
    }
    assert ticket.tags == ("billing", "vip")
    assert (ticket.assignee, ticket.group) == ("2001", "support")
    assert ticket.page_url == "https://app.example.com/settings/billing"
    assert ticket.custom["tier"] == 2
    assert ticket.custom["freshdesk_type"] == "Billing"
    assert ticket.custom["stats"]["first_responded_at"] == "2026-11-02T11:00:00Z"
    assert [(m.id, m.author, m.public) for m in ticket.messages] == [
        ("4711-description", Author.CUSTOMER, True),
        ("8101", Author.AGENT, True),
        ("8102", Author.CUSTOMER, True),  # a CC'd colleague writes in: incoming
        ("8103", Author.BOT, False),  # our private note, told by its marker
        ("8104", Author.CUSTOMER, True),
    ]
    assert ticket.messages[0].body == "Hi, we were charged twice for invoice INV-1001."


def test_normalized_ticket_survives_the_wire_format() -> None:
    ticket = normalize(bundle())
    assert Ticket.from_dict(ticket.to_dict()) == ticket


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        (2, Status.OPEN),
        (3, Status.PENDING),
        (4, Status.SOLVED),
        (5, Status.CLOSED),
        (6, Status.PENDING),
        (7, Status.ON_HOLD),
        (8, Status.OPEN),
    ],
)
def test_statuses_including_custom_categories(code: int, expected: Status) -> None:
    data = bundle()
    data["ticket"]["status"] = code
    categories = {6: Status.PENDING, 7: Status.ON_HOLD}
    assert normalize(data, status_categories=categories).status is expected


@pytest.mark.parametrize(
    ("code", "expected"),
    [(1, Priority.LOW), (2, Priority.NORMAL), (3, Priority.HIGH), (4, Priority.URGENT)],
)
def test_priorities(code: int, expected: Priority) -> None:
    data = bundle()
    data["ticket"]["priority"] = code
    assert normalize(data).priority is expected


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (1, Channel.EMAIL),
        (2, Channel.WEB),
        (3, Channel.PHONE),
        (7, Channel.CHAT),
        (9, Channel.WEB),
        (10, Channel.EMAIL),
        (5, Channel.SOCIAL),
        (99, Channel.OTHER),
    ],
)
def test_channels(source: int, expected: Channel) -> None:
    data = bundle()
    data["ticket"]["source"] = source
    assert normalize(data).channel is expected


def test_outbound_email_description_is_the_agents() -> None:
    data = bundle()
    data["ticket"]["source"] = 10
    assert normalize(data).messages[0].author is Author.AGENT


def test_bot_recognised_by_user_without_marker() -> None:
    data = bundle()
    data["conversations"][2] = {
        **data["conversations"][2],
        "body_text": "Escalated.",
        "user_id": BOT,
    }
    assert normalize(data, bot_user_id=BOT).messages[3].author is Author.BOT
    assert normalize(data).messages[3].author is Author.AGENT


def test_description_read_from_html_when_no_text() -> None:
    data = bundle()
    data["ticket"].pop("description_text")
    data["ticket"]["description"] = "<p>Refund &amp; cancel</p><p>now</p>"
    assert normalize(data).messages[0].body == "Refund & cancel\nnow"


def test_company_fallbacks_and_absence() -> None:
    data = bundle()
    assert normalize({**data, "company": None}).account is None
    company = copy.deepcopy(data["company"])
    company["custom_fields"] = {"health": None, "arr": "250,000"}
    account = normalize({**data, "company": company}).account
    assert account is not None
    # the built-in "Health score" dropdown and "Account tier" stand in
    assert (account.health, account.arr, account.plan) == (0.2, 250000.0, "premium")
    company["custom_fields"] = {"health": 35}
    rated = normalize({**data, "company": company}).account
    assert rated is not None and rated.health == 0.35


def test_unknown_group_kept_as_id_and_no_tier_without_field() -> None:
    ticket = normalize(bundle(), group_names={}, tier_field=None, page_url_field=None)
    assert ticket.group == "3001"
    assert "tier" not in ticket.custom
    assert ticket.page_url is None


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["ticket"].pop("created_at"), "ticket.created_at"),
        (lambda d: d["ticket"].update(requester_id=None), "ticket.requester_id"),
        (lambda d: d["ticket"].update(status="open"), "ticket.status"),
        (lambda d: d["ticket"].update(priority=5), "ticket.priority"),
        (lambda d: d["ticket"].update(group_id="support"), "ticket.group_id"),
        (
            lambda d: d["conversations"][1].update(created_at="yesterday"),
            "conversations[1].created_at",
        ),
        (lambda d: d["conversations"][0].update(private="no"), "conversations[0].private"),
        (lambda d: d.update(conversations={"id": 1}), "conversations"),
        (
            lambda d: d["company"].update(custom_fields={"health": 250}),
            "company.custom_fields.health",
        ),
    ],
)
def test_bad_payloads_name_the_field(mutate: Any, field: str) -> None:
    data = copy.deepcopy(bundle())
    mutate(data)
    with pytest.raises(ValidationError) as info:
        normalize(data)
    assert info.value.field == field


# --- request bodies ----------------------------------------------------------------------

ESCALATE = (
    act(ActionKind.ADD_TAGS, tags=["escalade_tier_3", "VIP", "churn risk"]),
    act(ActionKind.REMOVE_TAGS, tags=["billing"]),
    act(ActionKind.SET_PRIORITY, priority="urgent"),
    act(ActionKind.ASSIGN, group="escalations", assignee="2002"),
    act(ActionKind.SET_FIELD, field="tier", value=3),
    act(ActionKind.INTERNAL_NOTE, body="Tier 3: refund demand <at-risk account>."),
    act(ActionKind.ALERT, target="slack", channel="#escalations"),
)


def test_update_combines_the_field_actions() -> None:
    body = to_freshdesk_update(
        ESCALATE, tier_field=TIER_FIELD, group_ids=GROUPS, current_tags=["billing", "vip"]
    )
    assert body == {
        "tags": ["vip", "escalade_tier_3", "churn risk"],  # "VIP" already there, any case
        "priority": 4,
        "group_id": 3002,
        "responder_id": 2002,
        "custom_fields": {TIER_FIELD: 3},
    }
    jsonschema.validate(body, freshdesk_schemas.UPDATE_TICKET_REQUEST)


def test_update_without_tier_field_leaves_the_tier_to_tags() -> None:
    body = to_freshdesk_update(ESCALATE, tier_field=None, group_ids=GROUPS, current_tags=[])
    assert "custom_fields" not in body
    assert ActionKind.SET_FIELD not in written_kinds(ESCALATE, tier_target=None, only=UPDATE_KINDS)
    in_update = written_kinds(ESCALATE, tier_target=TIER_FIELD, only=UPDATE_KINDS)
    assert ActionKind.INTERNAL_NOTE not in in_update


def test_status_and_custom_field_writes() -> None:
    actions = [
        act(ActionKind.SET_FIELD, field="status", value="solved"),
        act(ActionKind.SET_FIELD, field="cf_root_cause", value="billing"),
    ]
    body = to_freshdesk_update(actions, tier_field=None, group_ids={}, current_tags=[])
    assert body == {"status": 4, "custom_fields": {"cf_root_cause": "billing"}}
    hold = [act(ActionKind.SET_FIELD, field="status", value="on_hold")]
    assert to_freshdesk_update(
        hold, tier_field=None, group_ids={}, current_tags=[], status_codes={Status.ON_HOLD: 7}
    ) == {"status": 7}
    with pytest.raises(ValidationError):
        to_freshdesk_update(hold, tier_field=None, group_ids={}, current_tags=[])


@pytest.mark.parametrize(
    ("action", "error", "field"),
    [
        (act(ActionKind.ASSIGN, group="billing"), ConfigurationError, None),
        (act(ActionKind.ADD_TAGS, tags=["a,b"]), ValidationError, "add_tags.tags"),
        (act(ActionKind.SET_PRIORITY, priority="p1"), ValidationError, "set_priority.priority"),
        (act(ActionKind.SET_FIELD, field="Tier", value=3), ValidationError, "set_field.field"),
        (act(ActionKind.ASSIGN, assignee="sam"), ValidationError, "assign.assignee"),
    ],
)
def test_bad_actions_are_refused(action: Action, error: type[Exception], field: str | None) -> None:
    with pytest.raises(error) as info:
        to_freshdesk_update([action], tier_field=None, group_ids=GROUPS, current_tags=[])
    if field is not None:
        assert getattr(info.value, "field", None) == field


def test_note_and_reply_bodies_are_escaped_html_with_the_marker() -> None:
    actions = [
        *ESCALATE,
        act(ActionKind.INTERNAL_NOTE, body="Second line\nof the note"),
        act(ActionKind.PUBLIC_REPLY, body="Hi Dana, a specialist replies by 10:00."),
    ]
    note = to_freshdesk_note(actions)
    assert note == {
        "body": "<p>Tier 3: refund demand &lt;at-risk account&gt;.</p>"
        "<p>Second line<br>of the note</p>"
        f"<p>{BOT_MARKER}</p>",
        "private": True,
    }
    reply = to_freshdesk_reply(actions, from_email="support@acme.example")
    assert reply == {
        "body": f"<p>Hi Dana, a specialist replies by 10:00.</p><p>{BOT_MARKER}</p>",
        "from_email": "support@acme.example",
    }
    jsonschema.validate(note, freshdesk_schemas.CREATE_NOTE_REQUEST)
    jsonschema.validate(reply, freshdesk_schemas.REPLY_REQUEST)
    assert to_freshdesk_reply(ESCALATE) is None
    with pytest.raises(ValidationError):
        to_freshdesk_note([act(ActionKind.INTERNAL_NOTE, body="  ")])


# --- webhooks ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "headers",
    [{"X-Escalade-Secret": SECRET}, {"x-escalade-secret": SECRET}, basic("escalade", SECRET)],
)
def test_good_credentials_verify(headers: dict[str, str]) -> None:
    adapter().verify_webhook(headers=headers, body=raw("rule_note_added.json"), now=NOW)


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Content-Type": "application/json"},
        {"X-Escalade-Secret": SECRET[:-1]},
        basic("escalade", "wrong-password-of-some-length"),
        basic("someone", SECRET),
        {"Authorization": "Basic not-base64!"},
        {"Authorization": f"Bearer {SECRET}"},
        {"X-Escalade-Secret": SECRET, **basic("escalade", "wrong-password-here")},
    ],
)
def test_bad_or_missing_credentials_are_rejected(headers: dict[str, str]) -> None:
    with pytest.raises(WebhookVerificationError):
        adapter().verify_webhook(headers=headers, body=raw("rule_note_added.json"), now=NOW)


def test_custom_webhook_username_and_short_secret() -> None:
    custom = adapter(webhook_username="fd-rules")
    custom.verify_webhook(headers=basic("fd-rules", SECRET), body=b"{}", now=NOW)
    weak = FreshdeskAdapter(
        config=HelpdeskConfig(
            tenant="acme",
            helpdesk="freshdesk",
            base_url=BASE,
            credentials={"api_key": API_KEY},
            webhook_secret="short",
        )
    )
    with pytest.raises(ConfigurationError):
        weak.verify_webhook(headers={"X-Escalade-Secret": "short"}, body=b"{}", now=NOW)


@pytest.mark.parametrize(
    ("fixture", "event_type", "occurred_at"),
    [
        ("rule_ticket_created.json", "ticket.created", datetime(2026, 11, 2, 9, 14, tzinfo=UTC)),
        ("rule_note_added.json", "ticket.note_added", datetime(2026, 11, 3, 10, 1, tzinfo=UTC)),
        (
            "rule_status_changed.json",
            "ticket.status_changed",
            datetime(2026, 11, 3, 10, 1, tzinfo=UTC),
        ),
        ("fdk_ticket_created.json", "ticket.created", datetime(2026, 11, 2, 9, 14, tzinfo=UTC)),
        ("fdk_ticket_updated.json", "ticket.updated", datetime(2026, 11, 3, 10, 1, tzinfo=UTC)),
        (
            "fdk_conversation_created.json",
            "ticket.conversation_added",
            datetime(2026, 11, 3, 10, 0, tzinfo=UTC),
        ),
    ],
)
def test_supported_events_parse(fixture: str, event_type: str, occurred_at: datetime) -> None:
    event = parse_webhook_body(raw(fixture))
    assert (event.event_type, event.ticket_id, event.occurred_at) == (
        event_type,
        "4711",
        occurred_at,
    )
    # a redelivery (re-serialized, same content) keeps its id
    assert parse_webhook_body(json.dumps(load(fixture)).encode()).delivery_id == event.delivery_id


def test_delivery_ids_differ_per_change() -> None:
    first = load("rule_note_added.json")
    later = copy.deepcopy(first)
    later["freshdesk_webhook"]["ticket_updated_at"] = "2026-11-03 10:07:00 UTC"
    ids = {parse_webhook_body(json.dumps(b).encode()).delivery_id for b in (first, later)}
    status = parse_webhook_body(raw("rule_status_changed.json")).delivery_id
    assert len(ids | {status}) == 3


def test_unrendered_time_falls_back_to_a_body_digest() -> None:
    body = {
        "freshdesk_webhook": {
            **AUTOMATION_BODY["freshdesk_webhook"],
            "ticket_id": "4711",
            "triggered_event": "{note_type:private}",
        }
    }
    event = parse_webhook_body(json.dumps(body).encode())
    assert event.delivery_id.startswith("rule:4711:sha256:")
    assert event.occurred_at is None
    assert parse_webhook_body(json.dumps(body).encode() + b"\n").delivery_id == event.delivery_id


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("{ticket_action:created}", "ticket.created"),
        ("{ticket_action:update}", "ticket.updated"),
        ("{note_type:private}", "ticket.note_added"),
        ("{priority:{from:1,to:4}}", "ticket.priority_changed"),
        ("{responder_id:{from:150006383528,to:150014937111}}", "ticket.assignee_changed"),
        ("{cf_escalade_tier:{from:2,to:3}}", "ticket.custom_field_changed"),
        ("", "ticket.updated"),
    ],
)
def test_triggered_events(value: str, expected: str) -> None:
    assert parse_triggered_event(value) == expected


@pytest.mark.parametrize(
    "body",
    ["rule_time_entry_added.json", "fdk_ticket_deleted.json"],
)
def test_unknown_events_are_unsupported(body: str) -> None:
    with pytest.raises(UnsupportedEvent):
        parse_webhook_body(raw(body))
    with pytest.raises(UnsupportedEvent):
        parse_triggered_event("{ticket_action:deleted}")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", "body"),
        (b"[1, 2]", "body"),
        (b'{"hello": 1}', "freshdesk_webhook"),
        (b'{"freshdesk_webhook": {"ticket_id": "{{ticket.id}}"}}', "freshdesk_webhook.ticket_id"),
        (
            b'{"freshdesk_webhook": {"ticket_id": "1", "triggered_event": "created"}}',
            "triggered_event",
        ),
        (b'{"event": "onTicketUpdate", "data": {"ticket": {"updated_at": "x"}}}', "data.ticket.id"),
        (
            b'{"event": "onTicketUpdate", "data": {"ticket": {"id": 4711}}}',
            "data.ticket.updated_at",
        ),
        (b'{"event": "onConversationCreate", "data": {}}', "data.conversation"),
    ],
)
def test_malformed_bodies_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_webhook_body(body)
    assert info.value.field == field


# --- HTTP: fetch -------------------------------------------------------------------------


def test_fetch_ticket_reads_every_page_with_auth_and_timeouts(
    rsps: responses.RequestsMock,
) -> None:
    mock_fetch(rsps)
    fd = adapter()
    ticket = fd.fetch_ticket("4711")
    assert ticket == normalize(bundle())
    assert len(rsps.calls) == 4
    expected_auth = "Basic " + base64.b64encode(f"{API_KEY}:X".encode()).decode()
    for call in rsps.calls:
        assert call.request.headers["Authorization"] == expected_auth
        assert recorded.extras(call.request).req_kwargs["timeout"] == 3.0
        freshdesk_schemas.validate_call(call)


def test_conversation_pages_follow_the_link_on_our_host(rsps: responses.RequestsMock) -> None:
    proxy = "http://127.0.0.1:8089/freshdesk"
    rsps.get(f"{proxy}/api/v2/tickets/4711", json={**load("ticket_view.json"), "company_id": None})
    rsps.get(
        f"{proxy}/api/v2/tickets/4711/conversations",
        json=load("conversations.json"),
        headers=page_link(f"{API}/tickets/4711/conversations?per_page=100&page=2"),
        match=[matchers.query_param_matcher({"per_page": "100", "page": "1"})],
    )
    rsps.get(
        f"{proxy}/api/v2/tickets/4711/conversations",
        json=[],
        match=[matchers.query_param_matcher({"per_page": "100", "page": "2"})],
    )
    ticket = adapter(base_url=proxy).fetch_ticket("4711")
    assert ticket.account is None
    assert [m.id for m in ticket.messages][-1] == "8102"


# --- HTTP: apply -------------------------------------------------------------------------


def mock_apply(rsps: responses.RequestsMock) -> None:
    """The tag read, the update, the note and the reply."""
    rsps.get(
        f"{API}/tickets/4711",
        json=load("ticket_view.json"),
        headers={"X-RateLimit-Total": "700", "X-RateLimit-Remaining": "699"},
    )
    rsps.put(f"{API}/tickets/4711", json=load("ticket_updated.json"))
    rsps.post(f"{API}/tickets/4711/notes", json=load("note_created.json"), status=201)
    rsps.post(
        f"{API}/tickets/4711/reply",
        json=load("reply_created.json"),
        status=201,
        headers={"X-RateLimit-Total": "700", "X-RateLimit-Remaining": "696"},
    )


REPLY = act(ActionKind.PUBLIC_REPLY, body="Hi Dana, a specialist replies by 10:00 UTC.")


def test_apply_writes_update_note_and_reply(rsps: responses.RequestsMock, no_sleep: None) -> None:
    mock_apply(rsps)
    fd = adapter(reply_from_email="support@acme.example")
    result = fd.apply("4711", [*ESCALATE, REPLY])
    methods = [(c.request.method, recorded.url(c.request).removeprefix(API)) for c in rsps.calls]
    assert methods == [
        ("GET", "/tickets/4711"),
        ("PUT", "/tickets/4711"),
        ("POST", "/tickets/4711/notes"),
        ("POST", "/tickets/4711/reply"),
    ]
    put = recorded.sent_json(rsps.calls[1].request)
    assert put["tags"] == ["vip", "escalade_tier_3", "churn risk"]
    assert put["priority"] == 4 and put["group_id"] == 3002
    assert recorded.sent_json(rsps.calls[2].request)["private"] is True
    assert recorded.sent_json(rsps.calls[3].request)["from_email"] == "support@acme.example"
    assert result.applied == (
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.ASSIGN,
        ActionKind.SET_FIELD,
        ActionKind.INTERNAL_NOTE,
        ActionKind.PUBLIC_REPLY,
    )
    assert result.external_ref == "8106"
    assert result.detail == {}
    assert (fd.rate_limit_total, fd.rate_limit_remaining) == (700, 696)
    kit.validate_calls("freshdesk", rsps.calls)


def test_apply_without_tag_actions_reads_nothing(rsps: responses.RequestsMock) -> None:
    rsps.put(
        f"{API}/tickets/4711",
        json=load("ticket_updated.json"),
        match=[matchers.json_params_matcher({"priority": 3})],
    )
    result = adapter().apply("4711", [act(ActionKind.SET_PRIORITY, priority="high")])
    assert result.applied == (ActionKind.SET_PRIORITY,)


def test_alerts_and_other_targets_are_ignored(rsps: responses.RequestsMock) -> None:
    result = adapter().apply(
        "4711",
        [
            act(ActionKind.ALERT, target="slack"),
            act(ActionKind.INTERNAL_NOTE, target="hubspot", body="x"),
        ],
    )
    assert result.applied == ()
    assert len(rsps.calls) == 0


@pytest.mark.parametrize(
    ("status", "headers", "error", "retry_after"),
    [
        (429, {"Retry-After": "42"}, RetriableError, 42.0),
        (429, {}, RetriableError, None),
        (503, {}, RetriableError, None),
        (500, {}, RetriableError, None),
        (404, {}, FatalError, None),
    ],
)
def test_status_codes_map_without_sleeping(
    rsps: responses.RequestsMock,
    no_sleep: None,
    status: int,
    headers: dict[str, str],
    error: type[Exception],
    retry_after: float | None,
) -> None:
    rsps.put(
        f"{API}/tickets/4711",
        status=status,
        json=load("error_rate_limited.json"),
        headers={**headers, "X-RateLimit-Remaining": "0", "X-RateLimit-Total": "700"},
    )
    fd = adapter()
    with pytest.raises(error) as info:
        fd.apply("4711", [act(ActionKind.SET_PRIORITY, priority="urgent")])
    if isinstance(info.value, RetriableError):
        assert info.value.retry_after == retry_after
    assert fd.rate_limit_remaining == 0


def test_validation_errors_carry_freshdesks_message(rsps: responses.RequestsMock) -> None:
    rsps.put(f"{API}/tickets/4711", status=400, json=load("error_validation.json"))
    with pytest.raises(FatalError) as info:
        adapter().apply("4711", [act(ActionKind.ASSIGN, group="escalations")])
    assert "Validation failed" in str(info.value)
    assert "group_id: There is no group matching the given group_id (invalid_value)" in str(
        info.value
    )
    freshdesk_schemas.validate_call(rsps.calls[0])


@pytest.mark.parametrize(
    "failure", [requests.ConnectTimeout("slow"), requests.ConnectionError("reset")]
)
def test_transport_failures_are_retriable(rsps: responses.RequestsMock, failure: Exception) -> None:
    rsps.put(f"{API}/tickets/4711", body=failure)
    with pytest.raises(RetriableError) as info:
        adapter().apply("4711", [act(ActionKind.SET_PRIORITY, priority="urgent")])
    assert info.value.__cause__ is failure


def test_rate_limit_after_the_update_reports_the_rest(
    rsps: responses.RequestsMock,
    no_sleep: None,
) -> None:
    rsps.put(f"{API}/tickets/4711", json=load("ticket_updated.json"))
    rsps.post(
        f"{API}/tickets/4711/notes",
        status=429,
        headers={"Retry-After": "30"},
        json=load("error_rate_limited.json"),
    )
    actions = [act(ActionKind.SET_PRIORITY, priority="urgent"), ESCALATE[5], REPLY]
    result = adapter().apply("4711", actions)
    assert result.applied == (ActionKind.SET_PRIORITY,)
    assert result.external_ref == "4711"
    failed = result.detail["failed"]
    assert [(f["kind"], f["retriable"], f["retry_after"]) for f in failed] == [
        ("internal_note", True, 30.0),
        ("public_reply", True, 30.0),
    ]
    assert "429" in failed[0]["error"] and "not attempted" in failed[1]["error"]
    assert len(rsps.calls) == 2  # the reply was not tried into the rate limit


def test_a_refused_note_does_not_block_the_reply(rsps: responses.RequestsMock) -> None:
    rsps.put(f"{API}/tickets/4711", json=load("ticket_updated.json"))
    rsps.post(f"{API}/tickets/4711/notes", status=400, json=load("error_validation.json"))
    rsps.post(f"{API}/tickets/4711/reply", status=201, json=load("reply_created.json"))
    result = adapter().apply(
        "4711", [act(ActionKind.SET_PRIORITY, priority="urgent"), ESCALATE[5], REPLY]
    )
    assert result.applied == (ActionKind.SET_PRIORITY, ActionKind.PUBLIC_REPLY)
    assert [(f["kind"], f["retriable"]) for f in result.detail["failed"]] == [
        ("internal_note", False)
    ]


def test_first_write_failing_raises_so_everything_is_retried(
    rsps: responses.RequestsMock,
) -> None:
    rsps.post(f"{API}/tickets/4711/notes", status=502, body="bad gateway")
    with pytest.raises(RetriableError, match="502"):
        adapter().apply("4711", [ESCALATE[5], REPLY])


# --- HTTP: backfill ----------------------------------------------------------------------

SINCE = datetime(2026, 10, 1, tzinfo=UTC)


def listed(ticket_id: int, updated_at: str) -> dict[str, Any]:
    """A ticket as the list endpoint returns it with include=requester,description."""
    row = {k: v for k, v in load("ticket_view.json").items() if k not in ("company", "stats")}
    return {
        **row,
        "id": ticket_id,
        "company_id": 501 if ticket_id % 2 else None,
        "updated_at": updated_at,
    }


def mock_listing(
    rsps: responses.RequestsMock, since: str, page: int, rows: list[dict[str, Any]], more: bool
) -> None:
    """One page of ``GET /tickets`` for a window, with a next link when ``more``."""
    params = {
        "updated_since": since,
        "order_by": "updated_at",
        "order_type": "asc",
        "per_page": "100",
        "page": str(page),
        "include": "requester,description",
    }
    headers = page_link(f"{API}/tickets?page={page + 1}") if more else {}
    rsps.get(
        f"{API}/tickets", json=rows, headers=headers, match=[matchers.query_param_matcher(params)]
    )
    for row in rows:
        rsps.get(f"{API}/tickets/{row['id']}/conversations", json=load("conversations.json"))


def test_backfill_streams_pages_and_hands_over_at_the_page_cap(
    rsps: responses.RequestsMock,
) -> None:
    rsps.get(f"{API}/companies/501", json=load("company.json"))
    mock_listing(
        rsps,
        "2026-10-01T00:00:00Z",
        1,
        [listed(1, "2026-10-02T00:00:00Z"), listed(2, "2026-10-03T00:00:00Z")],
        True,
    )
    mock_listing(rsps, "2026-10-01T00:00:00Z", 2, [listed(3, "2026-10-04T05:06:07Z")], True)
    mock_listing(rsps, "2026-10-04T05:06:07Z", 1, [listed(5, "2026-10-05T00:00:00Z")], False)
    fd = adapter()
    fd.max_list_page = 2  # Freshdesk's 300, made small
    pages = fd.backfill(since=SINCE)
    first = next(pages)
    assert [t.id for t in first.tickets] == ["1", "2"]
    assert first.cursor == "2026-10-01T00:00:00Z|2" and not first.done
    assert len(rsps.calls) == 1 + 1 + 2  # listing, company once, two conversation calls
    second = next(pages)
    assert [t.id for t in second.tickets] == ["3"]
    # past the cap the window restarts at the last updated_at seen
    assert second.cursor == "2026-10-04T05:06:07Z|1"
    last = next(pages)
    assert ([t.id for t in last.tickets], last.cursor, last.done) == (["5"], None, True)
    assert next(pages, None) is None
    assert sum("/companies/" in recorded.url(c.request) for c in rsps.calls) == 1
    assert all(len(t.messages) == 3 for t in (*first.tickets, *second.tickets, *last.tickets))
    kit.validate_calls("freshdesk", rsps.calls)


def test_backfill_resumes_from_a_cursor(rsps: responses.RequestsMock) -> None:
    mock_listing(rsps, "2026-10-04T05:06:07Z", 7, [listed(8, "2026-10-06T00:00:00Z")], False)
    pages = list(adapter().backfill(since=SINCE, cursor="2026-10-04T05:06:07Z|7"))
    assert [[t.id for t in p.tickets] for p in pages] == [["8"]]
    assert pages[0].done
    with pytest.raises(ConfigurationError):
        next(adapter().backfill(since=SINCE, cursor="page 7"))


def test_backfill_rate_limit_is_raised_for_the_caller(
    rsps: responses.RequestsMock,
    no_sleep: None,
) -> None:
    rsps.get(f"{API}/tickets", status=429, headers={"Retry-After": "60"}, json={})
    with pytest.raises(RetriableError) as info:
        next(
            adapter().backfill(
                since=SINCE, cursor=BackfillCursor(updated_since=SINCE, page=3).encode()
            )
        )
    assert info.value.retry_after == 60.0


# --- own writes and configuration --------------------------------------------------------


def _with_last(author: Author, at: datetime, updated_at: datetime) -> Ticket:
    ticket = normalize(bundle())
    message = Message(id="9", author=author, body="x", created_at=at)
    return Ticket.from_dict(
        {
            **ticket.to_dict(),
            "updated_at": updated_at.isoformat(),
            "messages": [*(m.to_dict() for m in ticket.messages), message.to_dict()],
        }
    )


def test_is_own_write() -> None:
    fd = adapter()
    at = datetime(2026, 11, 3, 10, 5, 2, tzinfo=UTC)
    assert fd.is_own_write(_with_last(Author.BOT, at, at + timedelta(seconds=1)))
    assert not fd.is_own_write(_with_last(Author.BOT, at, at + timedelta(minutes=5)))
    assert not fd.is_own_write(_with_last(Author.CUSTOMER, at, at))
    assert not fd.is_own_write(normalize(bundle()))


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"base_url": None}, "base_url"),
        ({"base_url": "acme.freshdesk.com"}, "not a URL"),
        ({"credentials": {}}, "api_key"),
        ({"options": {"tier_field": "Tier"}}, "cf_"),
        ({"options": {"group_ids": {"escalations": "esc"}}}, "numeric"),
        ({"options": {"statuses": {"3": "pending"}}}, "custom code"),
        ({"options": {"statuses": {"6": "waiting"}}}, "unknown status"),
    ],
)
def test_configuration_errors(change: dict[str, Any], message: str) -> None:
    base = config()
    fields = {
        "tenant": base.tenant,
        "helpdesk": base.helpdesk,
        "base_url": base.base_url,
        "credentials": base.credentials,
        "webhook_secret": base.webhook_secret,
        "options": base.options,
        **change,
    }
    with pytest.raises(ConfigurationError, match=message):
        FreshdeskAdapter(config=HelpdeskConfig(**fields))
