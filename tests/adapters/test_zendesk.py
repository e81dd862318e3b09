"""Zendesk adapter: fixtures in / model out, update bodies, webhooks, HTTP faked by responses."""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests
import responses
from responses import matchers

import adapters.helpdesk.zendesk as zendesk
from adapters.helpdesk.base import HelpdeskConfig
from adapters.helpdesk.common import BOT_MARKER, written_kinds
from adapters.helpdesk.zendesk import (
    ZendeskAdapter,
    parse_webhook_body,
    to_ticket,
    to_zendesk_followup,
    to_zendesk_update,
    verify_signature,
)
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
    Person,
    Priority,
    Status,
    Ticket,
)
from tests import recorded
from tests.adapters import kit
from tests.adapters.kit import act

FIXTURES = kit.Fixtures("zendesk")
BASE = "https://acme.zendesk.com"
API = f"{BASE}/api/v2"
SPEC = "zendesk/zendesk-support-oas.yaml"
SECRET = "dGVzdC1zaWduaW5nLXNlY3JldA=="  # made up for these tests
BOT = 9001
GROUPS = {"support": 3001, "escalations": 3002}
TIER_FIELD = 360001
PAGE_FIELD = 360002


load = FIXTURES.load
raw = FIXTURES.raw
INSTALL = kit.Install(
    helpdesk="zendesk", base_url=BASE, webhook_secret=SECRET,
    credentials={"email": "bot@acme.example", "api_token": "t0ken"},
    options={"tier_field_id": TIER_FIELD, "bot_user_id": BOT, "group_ids": GROUPS},
)
adapter = INSTALL.adapter


def bundle() -> dict[str, Any]:
    """The bundle ``fetch_ticket`` gathers for ticket 4711, built from the API fixtures."""
    show, page1, page2 = (
        load("ticket_show.json"),
        load("ticket_comments.json"),
        load("ticket_comments_page2.json"),
    )
    return {
        "ticket": show["ticket"],
        "comments": page1["comments"] + page2["comments"],
        "users": show["users"] + page1["users"] + page2["users"],
        "organization": show["organizations"][0],
    }


def normalize(data: dict[str, Any], **kwargs: Any) -> Ticket:
    """``to_ticket`` with this suite's tenant and options."""
    options: dict[str, Any] = {
        "tenant": "acme",
        "bot_user_id": BOT,
        "group_names": {v: k for k, v in GROUPS.items()},
        "tier_field_id": TIER_FIELD,
        "page_url_field_id": PAGE_FIELD,
    }
    options.update(kwargs)
    return to_ticket(data, **options)


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> dict[str, str]:
    """Headers as Zendesk sends them: base64 HMAC-SHA256 over timestamp + body."""
    digest = hmac.new(secret.encode(), timestamp.encode() + body, hashlib.sha256).digest()
    return {
        "X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
        "X-Zendesk-Webhook-Signature-Timestamp": timestamp,
    }


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if zenpy tries to wait out a rate limit."""
    kit.refuse_sleep(monkeypatch, "zenpy.lib.api.sleep")


# --- normalize ---------------------------------------------------------------------------


def test_to_ticket_maps_the_api_fixtures() -> None:
    ticket = normalize(bundle())

    assert ticket.key == "acme:zendesk:4711"
    assert ticket.subject == "Charged twice for the November invoice"
    assert ticket.status is Status.OPEN
    assert ticket.priority is Priority.HIGH
    assert ticket.channel is Channel.EMAIL
    assert ticket.created_at == datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
    assert ticket.updated_at == datetime(2026, 11, 3, 10, 1, tzinfo=UTC)
    assert ticket.requester == Person(id="1001", email="dana@bigco.example", name="Dana Ops")
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
    assert ticket.assignee == "2001"
    assert ticket.group == "support"
    assert ticket.page_url == "https://app.example.com/settings/billing"
    assert ticket.csat is None  # "offered" is not a rating
    assert ticket.custom["tier"] == 2
    assert [(m.id, m.author, m.public) for m in ticket.messages] == [
        ("9101", Author.CUSTOMER, True),
        ("9102", Author.AGENT, True),
        ("9103", Author.CUSTOMER, True),  # CC'd end-user of the same company
        ("9104", Author.BOT, False),
        ("9105", Author.CUSTOMER, True),
    ]
    assert ticket.messages[0].body == "Hi, we were charged twice for invoice INV-1001."


def test_normalized_ticket_survives_the_wire_format() -> None:
    ticket = normalize(bundle())
    assert Ticket.from_dict(ticket.to_dict()) == ticket


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("new", Status.NEW),
        ("open", Status.OPEN),
        ("pending", Status.PENDING),
        ("hold", Status.ON_HOLD),
        ("solved", Status.SOLVED),
        ("closed", Status.CLOSED),
    ],
)
def test_statuses(raw: str, expected: Status) -> None:
    data = bundle()
    data["ticket"] = {**data["ticket"], "status": raw}
    assert normalize(data).status is expected


def test_unknown_status_names_the_field() -> None:
    data = bundle()
    data["ticket"] = {**data["ticket"], "status": "archived"}
    with pytest.raises(ValidationError) as info:
        normalize(data)
    assert info.value.field == "ticket.status"


@pytest.mark.parametrize(
    ("via", "expected"),
    [
        ("email", Channel.EMAIL),
        ("web", Channel.WEB),
        ("mobile_sdk", Channel.WEB),
        ("chat", Channel.CHAT),
        ("native_messaging", Channel.CHAT),
        ("api", Channel.API),
        ("voice", Channel.PHONE),
        ("twitter", Channel.SOCIAL),
        ("facebook", Channel.SOCIAL),
        (4, Channel.EMAIL),
        ("rule", Channel.OTHER),
    ],
)
def test_channels(via: str | int, expected: Channel) -> None:
    data = bundle()
    data["ticket"] = {**data["ticket"], "via": {"channel": via}}
    assert normalize(data).channel is expected


@pytest.mark.parametrize(("score", "csat"), [("good", 1.0), ("bad", 0.0), ("unoffered", None)])
def test_csat(score: str, csat: float | None) -> None:
    data = bundle()
    data["ticket"] = {**data["ticket"], "satisfaction_rating": {"score": score}}
    assert normalize(data).csat == csat


def test_null_priority_is_normal() -> None:
    data = bundle()
    data["ticket"] = {**data["ticket"], "priority": None}
    assert normalize(data).priority is Priority.NORMAL


@pytest.mark.parametrize("priority", ["low", "normal", "high", "urgent"])
def test_priorities(priority: str) -> None:
    data = bundle()
    data["ticket"] = {**data["ticket"], "priority": priority}
    assert normalize(data).priority is Priority(priority)


def test_bot_recognised_by_marker_without_a_bot_user() -> None:
    ticket = normalize(bundle(), bot_user_id=None)
    assert ticket.messages[3].author is Author.BOT


def test_bot_recognised_by_user_without_marker() -> None:
    data = bundle()
    data["comments"][3] = {**data["comments"][3], "body": "Escalated."}
    assert normalize(data).messages[3].author is Author.BOT
    assert normalize(data, bot_user_id=None).messages[3].author is Author.AGENT


def test_trigger_comments_are_system_messages() -> None:
    data = bundle()
    data["comments"][1] = {**data["comments"][1], "via": {"channel": "rule", "source": {}}}
    assert normalize(data).messages[1].author is Author.SYSTEM


def test_page_url_falls_back_to_the_widget_source() -> None:
    data = bundle()
    data["ticket"] = {
        **data["ticket"],
        "via": {
            "channel": "web",
            "source": {"from": {"address": "https://app.example.com/reports/42"}, "rel": None},
        },
    }
    assert normalize(data, page_url_field_id=None).page_url == "https://app.example.com/reports/42"


def test_no_page_url_when_the_source_is_an_email_address() -> None:
    assert normalize(bundle(), page_url_field_id=None).page_url is None


def test_account_absent_and_percent_health() -> None:
    data = bundle()
    assert normalize({**data, "organization": None}).account is None
    org = copy.deepcopy(data["organization"])
    org["organization_fields"].update(health=35, arr="250,000")
    account = normalize({**data, "organization": org}).account
    assert account is not None
    assert (account.health, account.arr) == (0.35, 250000.0)


def test_unknown_group_id_kept_as_id_and_no_tier_without_field() -> None:
    ticket = normalize(bundle(), group_names={}, tier_field_id=None)
    assert ticket.group == "3001"
    assert "tier" not in ticket.custom


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["ticket"].pop("created_at"), "ticket.created_at"),
        (lambda d: d["ticket"].update(requester_id=None), "ticket.requester_id"),
        (lambda d: d["comments"][2].update(created_at="yesterday"), "comments[2].created_at"),
        (lambda d: d["comments"][0].update(public="yes"), "comments[0].public"),
        (lambda d: d.update(comments={"id": 1}), "comments"),
        (lambda d: d["ticket"].update(status=["open"]), "ticket.status"),
        (lambda d: d["ticket"].update(group_id="support"), "ticket.group_id"),
    ],
)
def test_bad_payloads_name_the_field(mutate: Any, field: str) -> None:
    data = copy.deepcopy(bundle())
    mutate(data)
    with pytest.raises(ValidationError) as info:
        normalize(data)
    assert info.value.field == field


# --- update bodies -----------------------------------------------------------------------

ESCALATE = (
    act(ActionKind.ADD_TAGS, tags=["escalade_tier_3", "Churn Risk", "vip"]),
    act(ActionKind.REMOVE_TAGS, tags=["escalade_tier_2"]),
    act(ActionKind.SET_PRIORITY, priority="urgent"),
    act(ActionKind.ASSIGN, group="escalations", assignee=None),
    act(ActionKind.SET_FIELD, field="tier", value=3),
    act(ActionKind.INTERNAL_NOTE, body="Tier 3: refund demand at an at-risk enterprise account."),
    act(ActionKind.ALERT, target="slack", channel="#escalations"),
)


def test_update_combines_every_helpdesk_action() -> None:
    body = to_zendesk_update(
        ESCALATE,
        tier_field_id=TIER_FIELD,
        group_ids=GROUPS,
        current_tags=["billing", "escalade_tier_2", "vip"],
        updated_stamp="2026-11-03T10:01:00Z",
    )
    assert body == {
        "ticket": {
            "tags": ["billing", "vip", "escalade_tier_3", "churn_risk"],
            "priority": "urgent",
            "group_id": 3002,
            "custom_fields": [{"id": TIER_FIELD, "value": 3}],
            "comment": {
                "body": "Tier 3: refund demand at an at-risk enterprise account.\n\n" + BOT_MARKER,
                "public": False,
            },
            "safe_update": True,
            "updated_stamp": "2026-11-03T10:01:00Z",
        }
    }
    assert to_zendesk_followup(ESCALATE) is None


def test_update_body_matches_the_vendor_request_schema() -> None:
    api = kit.openapi(SPEC)
    body = to_zendesk_update(
        [*ESCALATE, act(ActionKind.ASSIGN, assignee="2001")],
        tier_field_id=TIER_FIELD,
        group_ids=GROUPS,
        current_tags=["billing"],
        updated_stamp="2026-11-03T10:01:00Z",
    )
    request = requests.Request(
        "PUT", f"{API}/tickets/4711", json=body, auth=("bot@acme.example/token", "t0ken")
    ).prepare()
    kit.validate_request(api, request)


def test_note_and_reply_go_in_two_updates() -> None:
    actions = [
        act(ActionKind.PUBLIC_REPLY, body="We're on it; a specialist will reply within 1 hour."),
        act(ActionKind.INTERNAL_NOTE, body="Handoff: see summary."),
    ]
    main = to_zendesk_update(actions, tier_field_id=None, group_ids={}, current_tags=[])
    follow = to_zendesk_followup(actions)
    assert main == {
        "ticket": {"comment": {"body": f"Handoff: see summary.\n\n{BOT_MARKER}", "public": False}}
    }
    assert follow == {
        "ticket": {
            "comment": {
                "body": f"We're on it; a specialist will reply within 1 hour.\n\n{BOT_MARKER}",
                "public": True,
            }
        }
    }


def test_reply_alone_is_public_and_tags_untouched() -> None:
    body = to_zendesk_update(
        [act(ActionKind.PUBLIC_REPLY, body="Thanks, we're looking into it.")],
        tier_field_id=None,
        group_ids={},
        current_tags=["vip"],
        updated_stamp="2026-11-03T10:01:00Z",
    )
    assert "tags" not in body["ticket"]
    assert body["ticket"]["comment"]["public"] is True


def test_tier_field_skipped_when_not_configured() -> None:
    actions = [act(ActionKind.SET_FIELD, field="tier", value=3)]
    assert to_zendesk_update(actions, tier_field_id=None, group_ids={}, current_tags=[]) == {
        "ticket": {}
    }
    assert written_kinds(actions, tier_target=None) == ()
    assert written_kinds(actions, tier_target=TIER_FIELD) == (ActionKind.SET_FIELD,)


def test_marker_not_doubled() -> None:
    body = to_zendesk_update(
        [act(ActionKind.INTERNAL_NOTE, body=f"Note\n\n{BOT_MARKER}\n")],
        tier_field_id=None,
        group_ids={},
        current_tags=[],
    )
    assert body["ticket"]["comment"]["body"].count(BOT_MARKER) == 1


def test_unknown_group_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="legal"):
        to_zendesk_update(
            [act(ActionKind.ASSIGN, group="legal")],
            tier_field_id=None,
            group_ids=GROUPS,
            current_tags=[],
        )


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (act(ActionKind.SET_PRIORITY, priority="critical"), "set_priority.priority"),
        (act(ActionKind.ADD_TAGS, tags="escalade"), "add_tags.tags"),
        (act(ActionKind.INTERNAL_NOTE, body="  "), "internal_note.body"),
        (act(ActionKind.ASSIGN, assignee="alex@acme.example"), "assign.assignee"),
        (act(ActionKind.SET_FIELD, field="severity", value="high"), "set_field.field"),
    ],
)
def test_bad_actions_name_the_field(action: Action, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        to_zendesk_update([action], tier_field_id=None, group_ids=GROUPS, current_tags=[])
    assert info.value.field == field


# --- webhooks ----------------------------------------------------------------------------

NOW = datetime(2026, 11, 3, 10, 1, 30, tzinfo=UTC)
STAMP = "2026-11-03T10:01:00Z"


def test_signature_good() -> None:
    body = raw("ticket_comment_added.json")
    verify_signature(secret=SECRET, headers=sign(body, STAMP), body=body, now=NOW)
    adapter().verify_webhook(headers=sign(body, STAMP), body=body, now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({**h, "X-Zendesk-Webhook-Signature": "bm90IGl0"}, b),
        lambda h, b: ({**h, "X-Zendesk-Webhook-Signature": "%%%"}, b),
        lambda h, b: ({k: v for k, v in h.items() if "Timestamp" not in k}, b),
        lambda h, b: ({k: v for k, v in h.items() if not k.endswith("Signature")}, b),
        lambda h, b: ({**h, "X-Zendesk-Webhook-Signature-Timestamp": "2026-11-03T10:01:01Z"}, b),
        lambda h, b: ({**h, "X-Zendesk-Webhook-Signature-Timestamp": "soon"}, b),
    ],
)
def test_signature_bad(tamper: Any) -> None:
    body = raw("ticket_comment_added.json")
    headers, body = tamper(sign(body, STAMP), body)
    with pytest.raises(WebhookVerificationError):
        verify_signature(secret=SECRET, headers=headers, body=body, now=NOW)


def test_signature_wrong_secret() -> None:
    body = b'{"ticket_id": "1"}'
    with pytest.raises(WebhookVerificationError):
        verify_signature(secret="other", headers=sign(body, STAMP), body=body, now=NOW)


@pytest.mark.parametrize("skew", [timedelta(minutes=6), -timedelta(minutes=6)])
def test_signature_stale(skew: timedelta) -> None:
    body = b'{"ticket_id": "1"}'
    with pytest.raises(WebhookVerificationError, match="stale"):
        verify_signature(secret=SECRET, headers=sign(body, STAMP), body=body, now=NOW + skew)


def test_signature_headers_are_case_insensitive() -> None:
    body = b'{"ticket_id": "1"}'
    headers = {k.lower(): v for k, v in sign(body, STAMP).items()}
    verify_signature(secret=SECRET, headers=headers, body=body, now=NOW)


def test_shared_vector_pins_timestamp_then_body() -> None:
    path = kit.SPECS / "signing" / "test_vectors.json"
    if not path.is_file():
        pytest.skip(f"signing vectors not found under {kit.SPECS}")
    vector = json.loads(path.read_text())["zendesk_webhook_OLD_DOC_REVISION"]
    body, stamp = vector["raw_body"].encode(), vector["x_zendesk_webhook_signature_timestamp"]
    now = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    good = {
        "X-Zendesk-Webhook-Signature": vector["same_inputs_timestamp_plus_body"],
        "X-Zendesk-Webhook-Signature-Timestamp": stamp,
    }
    verify_signature(secret=vector["signing_secret"], headers=good, body=body, now=now)
    old = {**good, "X-Zendesk-Webhook-Signature": vector["x_zendesk_webhook_signature"]}
    with pytest.raises(WebhookVerificationError):  # body + timestamp is the old, wrong order
        verify_signature(secret=vector["signing_secret"], headers=old, body=body, now=now)


def test_webhook_without_configured_secret() -> None:
    config = HelpdeskConfig(
        tenant="acme", helpdesk="zendesk", base_url=BASE, credentials={"oauth_token": "x"}
    )
    with pytest.raises(ConfigurationError):
        ZendeskAdapter(config=config).verify_webhook(headers={}, body=b"{}", now=NOW)


def test_event_ticket_created() -> None:
    event = parse_webhook_body({}, raw("ticket_created.json"))
    assert (event.delivery_id, event.event_type, event.ticket_id) == (
        "5f0e2b9c-8a0d-4e1b-9c55-2a7f3e9d1a01",
        "ticket.created",
        "4711",
    )
    assert event.occurred_at == datetime(2026, 11, 2, 9, 14, 0, 123456, tzinfo=UTC)


def test_event_comment_added_prefers_the_invocation_id() -> None:
    headers = {"X-Zendesk-Webhook-Invocation-Id": "inv-77"}
    event = adapter().parse_webhook(
        headers=headers, body=raw("ticket_comment_added.json")
    )
    assert (event.delivery_id, event.event_type, event.ticket_id) == (
        "inv-77",
        "ticket.comment_added",
        "4711",
    )


def test_trigger_body() -> None:
    body = raw("trigger_ticket_updated.json")
    with_header = parse_webhook_body({"x-zendesk-webhook-invocation-id": "inv-9"}, body)
    without = parse_webhook_body({}, body)
    assert (with_header.delivery_id, with_header.event_type, with_header.ticket_id) == (
        "inv-9",
        "ticket.updated",
        "4711",
    )
    assert without.delivery_id == "trigger:4711:2026-11-03T10:01:00Z"
    assert without.occurred_at == datetime(2026, 11, 3, 10, 1, tzinfo=UTC)


def test_trigger_body_template_is_what_we_parse() -> None:
    rendered = {
        k: v.replace("{{ticket.id}}", "12")
        .replace("{{ticket.updated_at_with_timestamp}}", STAMP)
        .replace("{{current_user.id}}", "3")
        for k, v in zendesk.TRIGGER_BODY.items()
    }
    event = parse_webhook_body({}, json.dumps(rendered).encode())
    assert (event.ticket_id, event.event_type) == ("12", "ticket.updated")


@pytest.mark.parametrize(
    ("body", "event_type"),
    [
        (
            raw("user_active_changed.json"),
            "zen:event-type:user.active_changed",
        ),
        (
            b'{"type": "zen:event-type:ticket.marked_as_spam", "detail": {"id": "1"}}',
            "zen:event-type:ticket.marked_as_spam",
        ),
        (b'{"event": "ticket.deleted", "ticket_id": "1"}', "ticket.deleted"),
    ],
)
def test_unknown_events_are_unsupported(body: bytes, event_type: str) -> None:
    with pytest.raises(UnsupportedEvent) as info:
        parse_webhook_body({}, body)
    assert info.value.event_type == event_type


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"\xff\xfe", "body"),
        (b"[1, 2]", "body"),
        (b'{"hello": "world"}', "ticket_id"),
        (b'{"type": "zen:event-type:ticket.created", "id": "e1", "detail": {}}', "detail.id"),
        (b'{"type": "zen:event-type:ticket.created", "detail": {"id": "1"}}', "id"),
        (b'{"ticket_id": "{{ticket.id}}", "updated_at": "x"}', "ticket_id"),
        (b'{"ticket_id": "12"}', "X-Zendesk-Webhook-Invocation-Id"),
    ],
)
def test_malformed_webhooks_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_webhook_body({}, body)
    assert info.value.field == field


# --- the adapter over HTTP ---------------------------------------------------------------


def mock_fetch(rsps: responses.RequestsMock, api: str = API) -> None:
    """Register the show + two comment pages of ticket 4711."""
    rsps.get(
        f"{api}/tickets/4711.json",
        json=load("ticket_show.json"),
        match=[matchers.query_param_matcher({"include": "users,organizations"})],
    )
    # page 1's next link names acme.zendesk.com even when we go through a proxy
    rsps.get(
        f"{api}/tickets/4711/comments.json",
        json=load("ticket_comments.json"),
        match=[matchers.query_param_matcher({"page[size]": "100", "include": "users"})],
    )
    rsps.get(
        f"{api}/tickets/4711/comments.json",
        json=load("ticket_comments_page2.json"),
        match=[matchers.query_param_matcher({"page[after]": "xyz1", "page[size]": "100"})],
    )


@responses.activate
def test_fetch_ticket_follows_comment_pages_and_matches_the_spec() -> None:
    mock_fetch(responses.mock)
    ticket = adapter(page_url_field_id=PAGE_FIELD).fetch_ticket("4711")

    assert ticket == normalize(bundle())
    assert len(responses.calls) == 3
    assert recorded.header(responses.calls[0].request, "Authorization").startswith("Basic ")
    kit.validate_calls("zendesk", responses.calls)


@responses.activate
def test_apply_sends_one_combined_update(no_sleep: None) -> None:
    responses.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
    put = responses.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))

    result = adapter().apply("4711", ESCALATE)

    assert put.call_count == 1
    sent = recorded.sent_json(responses.calls[-1].request)
    assert sent == to_zendesk_update(
        ESCALATE,
        tier_field_id=TIER_FIELD,
        group_ids=GROUPS,
        current_tags=["billing", "vip"],
        updated_stamp="2026-11-03T10:01:00Z",
    )
    assert sent["ticket"]["tags"] == ["billing", "vip", "escalade_tier_3", "churn_risk"]
    assert result.applied == (
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.ASSIGN,
        ActionKind.SET_FIELD,
        ActionKind.INTERNAL_NOTE,
    )
    assert result.external_ref == "7701"
    kit.validate_calls("zendesk", responses.calls)


@responses.activate
def test_apply_without_tags_skips_the_read_and_sends_the_reply_second() -> None:
    put = responses.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))
    actions = [
        act(ActionKind.SET_PRIORITY, priority="high"),
        act(ActionKind.INTERNAL_NOTE, body="Handoff."),
        act(ActionKind.PUBLIC_REPLY, body="We're on it."),
    ]

    result = adapter().apply("4711", actions)

    bodies = [recorded.sent_json(c.request) for c in responses.calls]
    assert put.call_count == 2
    assert bodies[0]["ticket"]["comment"]["public"] is False
    assert bodies[0]["ticket"]["priority"] == "high"
    assert bodies[1] == {
        "ticket": {"comment": {"body": f"We're on it.\n\n{BOT_MARKER}", "public": True}}
    }
    assert ActionKind.PUBLIC_REPLY in result.applied
    kit.validate_calls("zendesk", responses.calls)


@responses.activate
def test_apply_reports_a_failed_reply_without_losing_the_update() -> None:
    responses.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))
    responses.put(
        f"{API}/tickets/4711.json",
        status=503,
        headers={"Retry-After": "30"},
        body="<html>maintenance</html>",
    )
    actions = [
        act(ActionKind.INTERNAL_NOTE, body="Handoff."),
        act(ActionKind.PUBLIC_REPLY, body="We're on it."),
    ]

    result = adapter().apply("4711", actions)

    assert result.applied == (ActionKind.INTERNAL_NOTE,)
    assert result.external_ref == "7701"
    [failed] = result.detail["failed"]
    assert (failed["kind"], failed["retriable"], failed["retry_after"]) == (
        "public_reply",
        True,
        30.0,
    )


@responses.activate
def test_apply_ignores_alerts_and_other_targets() -> None:
    result = adapter().apply(
        "4711",
        [
            act(ActionKind.ALERT, target="slack"),
            act(ActionKind.INTERNAL_NOTE, target="hubspot", body="x"),
        ],
    )
    assert result.applied == ()
    assert len(responses.calls) == 0


@pytest.mark.parametrize("on_read", [True, False], ids=["zenpy-read", "session-put"])
@responses.activate
def test_rate_limit_raises_with_retry_after_and_never_sleeps(no_sleep: None, on_read: bool) -> None:
    limited = {
        "status": 429,
        "headers": {"Retry-After": "17"},
        "json": {"error": "TooManyRequests", "description": "Rate limit exceeded"},
    }
    if on_read:
        responses.get(f"{API}/tickets/4711.json", **limited)
    else:
        responses.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
        responses.put(f"{API}/tickets/4711.json", **limited)

    with pytest.raises(RetriableError) as info:
        adapter().apply("4711", ESCALATE)
    assert info.value.retry_after == 17.0
    assert len(responses.calls) == (1 if on_read else 2)  # no retry inside the request


@pytest.mark.parametrize(
    "response",
    [
        {"status": 500, "json": {"error": "InternalError"}},
        {"status": 502, "body": "<html>bad gateway</html>"},
        {"status": 409, "json": {"error": "UpdateConflict", "description": "Safe update"}},
        {"body": requests.Timeout("read timed out")},
        {"body": requests.ConnectionError("connection refused")},
    ],
    ids=["500", "502-html", "409-safe-update", "timeout", "connection"],
)
@pytest.mark.parametrize("on_read", [True, False], ids=["zenpy-read", "session-put"])
@responses.activate
def test_transient_failures_are_retriable(response: dict[str, Any], on_read: bool) -> None:
    if on_read:
        responses.get(f"{API}/tickets/4711.json", **response)
    else:
        responses.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
        responses.put(f"{API}/tickets/4711.json", **response)
    with pytest.raises(RetriableError):
        adapter().apply("4711", ESCALATE)


@pytest.mark.parametrize("on_read", [True, False], ids=["zenpy-read", "session-put"])
@responses.activate
def test_422_is_fatal_with_the_vendor_message(on_read: bool) -> None:
    if on_read:
        responses.get(
            f"{API}/tickets/4711.json", status=422, json=load("error_record_invalid.json")
        )
    else:
        responses.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
        responses.put(
            f"{API}/tickets/4711.json", status=422, json=load("error_record_invalid.json")
        )
    with pytest.raises(FatalError) as info:
        adapter().apply("4711", ESCALATE)
    assert "RecordInvalid" in str(info.value)
    assert "Status: closed prevents ticket update" in str(info.value)


@responses.activate
def test_404_on_fetch_is_fatal() -> None:
    responses.get(
        f"{API}/tickets/4711.json",
        status=404,
        json={"error": "RecordNotFound", "description": "Not found"},
    )
    with pytest.raises(FatalError, match="RecordNotFound"):
        adapter().fetch_ticket("4711")


@responses.activate
def test_any_base_url_works_for_zenpy_and_the_session() -> None:
    proxy = "http://localhost:8080/zendesk"
    responses.get(f"{proxy}/api/v2/tickets/4711.json", json=load("ticket_show.json"))
    responses.put(f"{proxy}/api/v2/tickets/4711.json", json=load("ticket_update.json"))
    mock_fetch(responses.mock, api=f"{proxy}/api/v2")

    result = adapter(base_url=proxy + "/").apply("4711", ESCALATE)
    ticket = adapter(base_url=proxy).fetch_ticket("4711")

    assert result.external_ref == "7701"
    assert ticket.id == "4711"
    assert all(recorded.url(c.request).startswith(proxy + "/api/v2/") for c in responses.calls)


@responses.activate
def test_oauth_token_is_sent_as_bearer() -> None:
    responses.get(f"{API}/tickets/4711.json", json=load("ticket_show.json"))
    responses.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))
    adapter(credentials={"oauth_token": "oa-123"}).apply("4711", ESCALATE)
    assert {c.request.headers["Authorization"] for c in responses.calls} == {"Bearer oa-123"}


@pytest.mark.parametrize(
    ("base_url", "credentials", "options"),
    [
        (None, {"oauth_token": "x"}, {}),
        ("acme.zendesk.com", {"oauth_token": "x"}, {}),
        (BASE, {"email": "bot@acme.example"}, {}),
        (BASE, {"oauth_token": "x"}, {"bot_user_id": "the bot"}),
        (BASE, {"oauth_token": "x"}, {"group_ids": ["escalations"]}),
        (BASE, {"oauth_token": "x"}, {"group_ids": {"escalations": None}}),
        (BASE, {"oauth_token": "x"}, {"group_ids": {"escalations": "esc"}}),
    ],
)
def test_bad_configuration(
    base_url: str | None, credentials: dict[str, str], options: dict[str, Any]
) -> None:
    config = HelpdeskConfig(
        tenant="acme",
        helpdesk="zendesk",
        base_url=base_url,
        credentials=credentials,
        options=options,
    )
    with pytest.raises(ConfigurationError):
        ZendeskAdapter(config=config)


# --- loop guard --------------------------------------------------------------------------


def message(author: Author, at: datetime, body: str = "text") -> Message:
    """A message at a given time."""
    return Message(id=str(at.timestamp()), author=author, body=body, created_at=at)


@pytest.mark.parametrize(
    ("authors", "updated_after", "own"),
    [
        ((Author.CUSTOMER, Author.BOT), timedelta(0), True),
        ((Author.CUSTOMER, Author.BOT), timedelta(seconds=2), True),
        ((Author.BOT, Author.CUSTOMER), timedelta(0), False),
        ((Author.CUSTOMER, Author.BOT), timedelta(minutes=10), False),  # someone changed it since
        ((Author.BOT, Author.AGENT), timedelta(0), False),
        ((), timedelta(0), False),
    ],
)
def test_is_own_write(authors: tuple[Author, ...], updated_after: timedelta, own: bool) -> None:
    start = datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    messages = tuple(message(a, start + timedelta(minutes=i)) for i, a in enumerate(authors))
    last = messages[-1].created_at if messages else start
    ticket = Ticket(
        tenant="acme",
        helpdesk="zendesk",
        id="4711",
        subject="s",
        status=Status.OPEN,
        priority=Priority.NORMAL,
        channel=Channel.EMAIL,
        created_at=start,
        updated_at=last + updated_after,
        requester=Person(id="1001"),
        messages=messages,
    )
    assert adapter().is_own_write(ticket) is own


def test_own_write_recognised_on_a_fetched_ticket() -> None:
    data = bundle()
    data["comments"] = data["comments"][:4]  # our note is the latest comment
    data["ticket"] = {**data["ticket"], "updated_at": "2026-11-03T08:00:00Z"}
    assert adapter().is_own_write(normalize(data)) is True
    assert adapter().is_own_write(normalize(bundle())) is False


def test_exported_members_exist() -> None:
    for name in zendesk.__all__:
        assert hasattr(zendesk, name), name
    assert ZendeskAdapter.identifier == "zendesk"


MACRO_REPLY = act(ActionKind.PUBLIC_REPLY, body="Hi {{name}}, our own rendering.",
                  macro="macro-360005374974", answer_doc="macro-360005374974")


@responses.activate
def test_a_macro_reply_is_the_comment_zendesk_renders_for_the_ticket() -> None:
    applied = responses.get(f"{API}/tickets/4711/macros/360005374974/apply.json",
                            json=load("macro_apply.json"))
    responses.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))

    result = adapter().apply("4711", [MACRO_REPLY])

    assert applied.call_count == 1
    sent = recorded.sent_json(responses.calls[-1].request)
    assert sent["ticket"]["comment"] == {
        "body": f"Hi Dana,\n\nTo export a report, open it and choose Export > CSV.\n\n{BOT_MARKER}",
        "public": True,
    }
    assert ActionKind.PUBLIC_REPLY in result.applied
    kit.validate_calls("zendesk", responses.calls)


@responses.activate
def test_a_macro_that_is_gone_leaves_our_own_rendering() -> None:
    responses.get(f"{API}/tickets/4711/macros/360005374974/apply.json", status=404,
                  json={"error": "RecordNotFound", "description": "Not found"})
    responses.put(f"{API}/tickets/4711.json", json=load("ticket_update.json"))

    adapter().apply("4711", [MACRO_REPLY])

    sent = recorded.sent_json(responses.calls[-1].request)
    assert sent["ticket"]["comment"]["body"].startswith("Hi {{name}}, our own rendering.")


@pytest.mark.parametrize(("ref", "expected"), [
    ("360005374974", "360005374974"), ("macro-25", "25"), ("zendesk:macro:25", "25"),
    ("art-25", None), (25, None),
])
def test_a_document_id_names_its_macro(ref: object, expected: str | None) -> None:
    from adapters.helpdesk.zendesk.common import macro_id

    assert macro_id(ref) == expected
