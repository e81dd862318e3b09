"""Intercom adapter: fixtures in / model out, the write plan, webhooks, HTTP faked by responses."""

from __future__ import annotations

import copy
import hashlib
import hmac
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import responses
from responses import matchers

import adapters.helpdesk.intercom as intercom
from adapters.helpdesk.base import HelpdeskConfig
from adapters.helpdesk.common import BOT_MARKER, written_kinds
from adapters.helpdesk.intercom import (
    IntercomAdapter,
    error_for_response,
    parse_webhook_body,
    plain_text,
    to_intercom_calls,
    to_ticket,
    verify_signature,
)
from adapters.helpdesk.intercom.calls import tag_changes
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
    Person,
    Priority,
    Status,
    Ticket,
)
from tests import recorded
from tests.adapters import kit
from tests.adapters.kit import act, sent

FIXTURES = kit.Fixtures("intercom")
API = "https://api.intercom.io"
SPEC = "intercom/openapi/2.14/api.intercom.io.yaml"
SECRET = "test-client-secret"  # made up for these tests
CONV = "215470900158741"
CONTACT = "6762f0d01bb69f9f2193bb7d"
COMPANY = "6762f07f1bb69f9f2193baf5"
ADMIN = "991267001"
TEAMS = {"support": "5017691", "escalations": "5017692"}
TIER_ATTRIBUTE = "Escalade tier"
WEBHOOKS = (
    "conversation_user_created.json",
    "conversation_user_replied.json",
    "conversation_admin_replied.json",
    "conversation_admin_assigned.json",
    "conversation_admin_closed.json",
)


load = FIXTURES.load
raw = FIXTURES.raw
INSTALL = kit.Install(
    helpdesk="intercom", base_url=None, credentials={"access_token": "dG9rOmFjbWU="},
    webhook_secret=SECRET,
    options={"admin_id": ADMIN, "team_ids": TEAMS, "tier_attribute": TIER_ATTRIBUTE},
)
adapter = INSTALL.adapter


def bundle() -> dict[str, Any]:
    """What ``fetch_bundle`` gathers for the fixture conversation."""
    return {
        "conversation": load("conversation.json"),
        "contact": load("contact.json"),
        "company": load("company.json"),
    }


def normalize(data: dict[str, Any], **kwargs: Any) -> Ticket:
    """``to_ticket`` with this suite's tenant and options."""
    options: dict[str, Any] = {
        "tenant": "acme",
        "admin_id": ADMIN,
        "team_names": {v: k for k, v in TEAMS.items()},
        "tier_attribute": TIER_ATTRIBUTE,
    }
    options.update(kwargs)
    return to_ticket(data, **options)


def sign(body: bytes, secret: str = SECRET) -> dict[str, str]:
    """Headers as Intercom sends them: sha1=<hex HMAC-SHA1 of the raw body>."""
    digest = hmac.new(secret.encode(), body, hashlib.sha1).hexdigest()
    return {"X-Hub-Signature": f"sha1={digest}", "Content-Type": "application/json"}


def validate(calls: Sequence[responses.Call]) -> None:
    """Every request sent and every faked response matches Intercom's 2.14 description."""
    kit.validate_calls("intercom", calls)


@pytest.fixture
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    """Fail the test if anything waits out a rate limit."""
    kit.refuse_sleep(monkeypatch)


# --- normalize ---------------------------------------------------------------------------


def test_to_ticket_maps_the_api_fixtures() -> None:
    ticket = normalize(bundle())

    assert ticket.key == f"acme:intercom:{CONV}"
    assert ticket.subject == "Hi, we were charged twice for invoice INV-1001."
    assert ticket.status is Status.OPEN
    assert ticket.priority is Priority.HIGH
    assert ticket.channel is Channel.CHAT
    assert ticket.created_at == datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
    assert ticket.updated_at == datetime(2026, 11, 3, 10, 1, tzinfo=UTC)
    assert ticket.requester == Person(id=CONTACT, email="dana@bigco.example", name="Dana Ops")
    assert ticket.account is not None
    assert ticket.account.to_dict() == {
        "id": COMPANY,
        "name": "BigCo",
        "domain": "bigco.example",
        "plan": "enterprise",
        "arr": 180000.0,
        "health": 0.35,
        "owner": "am@acme.example",
    }
    assert ticket.tags == ("billing", "escalade_tier_1")
    assert ticket.assignee == "991267645"
    assert ticket.group == "support"
    assert ticket.page_url == "https://app.example.com/settings/billing"
    assert ticket.csat is None
    assert ticket.custom["tier"] == 2
    assert ticket.custom["last_part"]["ours"] is False
    assert [(m.id, m.author, m.public) for m in ticket.messages] == [
        ("403918301", Author.CUSTOMER, True),
        ("9101", Author.BOT, True),  # Fin
        ("9102", Author.AGENT, True),
        # 9103 is an assignment with no body: no message
        ("9104", Author.CUSTOMER, True),
        ("9105", Author.BOT, False),  # our note
        ("9106", Author.CUSTOMER, True),
    ]
    assert ticket.messages[0].body == (
        "Hi, we were charged twice for invoice INV-1001.\n\nCan you refund one of them?"
    )
    assert ticket.messages[3].body == "It has been a day. Still charged twice & nobody replied!"


def test_normalized_ticket_survives_the_wire_format() -> None:
    ticket = normalize(bundle())
    assert Ticket.from_dict(ticket.to_dict()) == ticket


@pytest.mark.parametrize(
    ("state", "expected"),
    [("open", Status.OPEN), ("snoozed", Status.PENDING), ("closed", Status.CLOSED)],
)
def test_states(state: str, expected: Status) -> None:
    data = bundle()
    data["conversation"]["state"] = state
    assert normalize(data).status is expected


@pytest.mark.parametrize(
    ("native", "tags", "expected"),
    [
        ("not_priority", [], Priority.NORMAL),
        ("priority", [], Priority.HIGH),
        (None, [], Priority.NORMAL),
        ("not_priority", ["escalade_priority_urgent"], Priority.URGENT),
        ("priority", ["escalade_priority_low"], Priority.HIGH),  # the agent's star wins
        ("not_priority", ["escalade_priority_bogus"], Priority.NORMAL),
    ],
)
def test_priority_from_flag_and_our_tag(
    native: str | None, tags: list[str], expected: Priority
) -> None:
    data = bundle()
    data["conversation"]["priority"] = native
    data["conversation"]["tags"]["tags"] = [{"type": "tag", "id": "9", "name": t} for t in tags]
    assert normalize(data).priority is expected


@pytest.mark.parametrize(
    ("source_type", "expected"),
    [
        ("conversation", Channel.CHAT),
        ("email", Channel.EMAIL),
        ("push", Channel.WEB),
        ("whatsapp", Channel.SOCIAL),
        ("phone_call", Channel.PHONE),
        ("carrier_pigeon", Channel.OTHER),
    ],
)
def test_channels(source_type: str, expected: Channel) -> None:
    data = bundle()
    data["conversation"]["source"]["type"] = source_type
    assert normalize(data).channel is expected


@pytest.mark.parametrize(("rating", "csat"), [(5, 1.0), (1, 0.0), (3, 0.5)])
def test_csat_from_star_rating(rating: int, csat: float) -> None:
    data = bundle()
    data["conversation"]["conversation_rating"] = {"rating": rating, "remark": ""}
    assert normalize(data).csat == csat


def test_our_admin_is_the_bot_even_without_the_marker() -> None:
    data = bundle()
    parts = data["conversation"]["conversation_parts"]["conversation_parts"]
    parts[4]["body"] = "<p>Escalated.</p>"
    assert normalize(data).messages[4].author is Author.BOT
    assert normalize(data, admin_id=None).messages[4].author is Author.AGENT


def test_title_wins_and_email_subject_next() -> None:
    data = bundle()
    data["conversation"]["source"]["subject"] = "<p>Invoice INV-1001</p>"
    assert normalize(data).subject == "Invoice INV-1001"
    data["conversation"]["title"] = "Double charge"
    assert normalize(data).subject == "Double charge"


def test_account_falls_back_to_monthly_spend_and_percent_health() -> None:
    data = bundle()
    data["company"]["custom_attributes"] = {"health": "35"}
    account = normalize(data).account
    assert account is not None
    assert (account.arr, account.health, account.owner) == (144000.0, 0.35, None)
    data["company"]["monthly_spend"] = 0  # Intercom's "never set"
    unset = normalize(data).account
    assert unset is not None and unset.arr is None


def test_without_contact_or_company_the_conversation_still_reads() -> None:
    data = bundle()
    ticket = normalize({**data, "contact": None, "company": None})
    assert ticket.requester == Person(id=CONTACT)
    assert ticket.account is None


def test_plain_text_keeps_paragraphs_and_entities() -> None:
    assert plain_text("<p>One &amp; two</p><p>Three<br>four</p>") == "One & two\n\nThree\nfour"
    assert plain_text("  already plain  ") == "already plain"


@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda d: d["conversation"].pop("created_at"), "conversation.created_at"),
        (lambda d: d["conversation"].update(state="archived"), "conversation.state"),
        (lambda d: d["conversation"].update(priority="urgent"), "conversation.priority"),
        (lambda d: d["conversation"].update(id="abc"), "conversation.id"),
        (
            lambda d: d["conversation"]["conversation_parts"]["conversation_parts"][2].update(
                created_at="yesterday"
            ),
            "conversation.conversation_parts.conversation_parts[2].created_at",
        ),
        (lambda d: d["conversation"]["contacts"].update(contacts=[]), "conversation.contacts"),
        (lambda d: d["company"]["custom_attributes"].update(health="7000"),
         "company.custom_attributes.health"),
        (lambda d: d.update(conversation=[]), "conversation"),
    ],
)
def test_bad_payloads_name_the_field(mutate: Any, field: str) -> None:
    data = copy.deepcopy(bundle())
    if field == "conversation.contacts":
        data["contact"] = None
    mutate(data)
    with pytest.raises(ValidationError) as info:
        normalize(data)
    assert info.value.field == field


# --- the write plan ----------------------------------------------------------------------

ESCALATE = (
    act(ActionKind.ADD_TAGS, tags=["escalade_tier_3", "escalade_refund", "billing"]),
    act(ActionKind.REMOVE_TAGS, tags=["escalade_tier_1"]),
    act(ActionKind.SET_PRIORITY, priority="urgent"),
    act(ActionKind.ASSIGN, group="escalations", assignee=None),
    act(ActionKind.SET_FIELD, field="tier", value=3),
    act(ActionKind.INTERNAL_NOTE, body="Tier 3: refund demand at an at-risk enterprise account."),
    act(ActionKind.PUBLIC_REPLY, body="Hi Dana, a specialist has your request."),
    act(ActionKind.ALERT, target="slack", channel="#escalations"),
)
CURRENT = {"billing": "201", "escalade_tier_1": "202"}
IDS = {"escalade_tier_3": "203", "escalade_refund": "204", "escalade_priority_urgent": "205"}


def plan(actions: Sequence[Action], **kwargs: Any) -> list[tuple[str, str, Any, str]]:
    """``to_intercom_calls`` as (method, path, body, kind) with this suite's options."""
    options: dict[str, Any] = {
        "conversation_id": CONV, "admin_id": ADMIN, "team_ids": TEAMS,
        "tier_attribute": TIER_ATTRIBUTE, "current_tags": CURRENT, "tag_ids": IDS,
    }
    options.update(kwargs)
    calls = to_intercom_calls(actions, **options)
    return [(c.method, c.path, c.body, c.kind.value) for c in calls]


def test_calls_in_order_for_every_helpdesk_action() -> None:
    base = f"/conversations/{CONV}"
    note = f"<p>Tier 3: refund demand at an at-risk enterprise account.</p><p>{BOT_MARKER}</p>"
    assert plan(ESCALATE) == [
        ("PUT", base, {"custom_attributes": {TIER_ATTRIBUTE: 3}}, "set_field"),
        ("POST", f"{base}/tags", {"id": "203", "admin_id": ADMIN}, "add_tags"),
        ("POST", f"{base}/tags", {"id": "204", "admin_id": ADMIN}, "add_tags"),
        ("POST", f"{base}/tags", {"id": "205", "admin_id": ADMIN}, "set_priority"),
        ("DELETE", f"{base}/tags/202", {"admin_id": ADMIN}, "remove_tags"),
        ("POST", f"{base}/reply",
         {"message_type": "note", "type": "admin", "admin_id": ADMIN, "body": note},
         "internal_note"),
        ("POST", f"{base}/parts",
         {"message_type": "assignment", "type": "team", "admin_id": ADMIN,
          "assignee_id": "5017692"}, "assign"),
        ("POST", f"{base}/reply",
         {"message_type": "comment", "type": "admin", "admin_id": ADMIN,
          "body": f"<p>Hi Dana, a specialist has your request.</p><p>{BOT_MARKER}</p>"},
         "public_reply"),
    ]


def test_plan_bodies_match_the_vendor_request_schemas() -> None:
    api = kit.openapi(SPEC)
    for method, path, body, _ in plan([*ESCALATE, act(ActionKind.ASSIGN, assignee="991267645")]):
        request = requests.Request(
            method, f"{API}{path}", json=body,
            headers={"Authorization": "Bearer t", "Intercom-Version": "2.14"},
        ).prepare()
        kit.validate_request(api, request)


def test_priority_replaces_our_other_level_and_tags_compare_case_insensitively() -> None:
    adds, removes = tag_changes(
        [act(ActionKind.SET_PRIORITY, priority="high"), act(ActionKind.ADD_TAGS, tags=["VIP"])],
        ["escalade_priority_urgent", "vip"],
    )
    assert adds == [(ActionKind.SET_PRIORITY, "escalade_priority_high")]
    assert removes == [(ActionKind.SET_PRIORITY, "escalade_priority_urgent")]


def test_removing_an_absent_tag_sends_nothing() -> None:
    assert plan([act(ActionKind.REMOVE_TAGS, tags=["never_there"])]) == []


def test_tier_attribute_skipped_when_not_configured() -> None:
    actions = [act(ActionKind.SET_FIELD, field="tier", value=3)]
    assert plan(actions, tier_attribute=None) == []
    assert written_kinds(actions, tier_target=None) == ()
    assert written_kinds(actions, tier_target=TIER_ATTRIBUTE) == (ActionKind.SET_FIELD,)


def test_admin_assignment_and_marker_not_doubled() -> None:
    calls = plan([
        act(ActionKind.ASSIGN, assignee="991267645"),
        act(ActionKind.INTERNAL_NOTE, body=f"Note\n\n{BOT_MARKER}\n"),
    ])
    assert calls[0][2]["body"].count(BOT_MARKER) == 1
    assert calls[1][2] == {"message_type": "assignment", "type": "admin", "admin_id": ADMIN,
                           "assignee_id": "991267645"}


def test_unknown_group_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="legal"):
        plan([act(ActionKind.ASSIGN, group="legal")])


@pytest.mark.parametrize(
    ("action", "field"),
    [
        (act(ActionKind.SET_PRIORITY, priority="critical"), "set_priority.priority"),
        (act(ActionKind.ADD_TAGS, tags="escalade"), "add_tags.tags"),
        (act(ActionKind.INTERNAL_NOTE, body="  "), "internal_note.body"),
        (act(ActionKind.ASSIGN, assignee="alex@acme.example"), "assign.assignee"),
        (act(ActionKind.SET_FIELD, field=7, value="x"), "set_field.field"),
        (act(ActionKind.SET_FIELD, field="tier", value=[3]), "set_field.value"),
    ],
)
def test_bad_actions_name_the_field(action: Action, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        plan([action])
    assert info.value.field == field


# --- webhooks ----------------------------------------------------------------------------

NOW = datetime(2026, 11, 3, 10, 1, 30, tzinfo=UTC)


def test_signature_good_and_case_insensitive_headers() -> None:
    body = raw("conversation_user_replied.json")
    verify_signature(secret=SECRET, headers=sign(body), body=body)
    lowered = {k.lower(): v.upper().replace("SHA1=", "sha1=") for k, v in sign(body).items()}
    verify_signature(secret=SECRET, headers=lowered, body=body)
    adapter().verify_webhook(headers=sign(body), body=body, now=NOW)


@pytest.mark.parametrize(
    "tamper",
    [
        lambda h, b: (h, b + b" "),
        lambda h, b: ({"Content-Type": "application/json"}, b),
        lambda h, b: ({"X-Hub-Signature": h["X-Hub-Signature"].removeprefix("sha1=")}, b),
        lambda h, b: ({"X-Hub-Signature": "sha256=" + "0" * 64}, b),
        lambda h, b: ({"X-Hub-Signature": "sha1=" + "0" * 40}, b),
        lambda h, b: ({"X-Hub-Signature": ""}, b),
        lambda h, b: (sign(b, secret="another-app"), b),
    ],
    ids=["body", "missing", "no-prefix", "sha256", "zeros", "empty", "other-secret"],
)
def test_signature_bad(tamper: Any) -> None:
    body = raw("conversation_user_replied.json")
    headers, body = tamper(sign(body), body)
    with pytest.raises(WebhookVerificationError):
        verify_signature(secret=SECRET, headers=headers, body=body)


def test_webhook_without_configured_secret() -> None:
    config = HelpdeskConfig(tenant="acme", helpdesk="intercom",
                            credentials={"access_token": "x"})
    with pytest.raises(ConfigurationError):
        IntercomAdapter(config=config).verify_webhook(headers={}, body=b"{}", now=NOW)


@pytest.mark.parametrize(
    ("name", "event_type", "delivery"),
    [
        ("conversation_user_created.json", "ticket.created",
         "notif_3ac27816-d27c-45fd-a65a-bbaf021cf780"),
        ("conversation_user_replied.json", "ticket.comment_added",
         "notif_9b1e2c44-5d6f-4a7b-8c9d-0e1f2a3b4c5d"),
        ("conversation_admin_replied.json", "ticket.comment_added",
         "notif_1f0e9d8c-7b6a-4594-8372-615049382716"),
        ("conversation_admin_assigned.json", "ticket.agent_assignment_changed",
         "notif_a1b2c3d4-e5f6-4789-8abc-def012345678"),
        ("conversation_admin_closed.json", "ticket.status_changed",
         "notif_0a9b8c7d-6e5f-4a3b-9c1d-2e3f4a5b6c7d"),
    ],
)
def test_topics(name: str, event_type: str, delivery: str) -> None:
    event = adapter().parse_webhook(headers=sign(raw(name)), body=raw(name))
    assert (event.delivery_id, event.event_type, event.ticket_id) == (delivery, event_type, CONV)
    assert event.occurred_at is not None and event.occurred_at.tzinfo is not None


def test_every_listed_topic_is_dispatched() -> None:
    item = {"type": "conversation", "id": CONV}
    for topic, event_type in intercom.TOPICS.items():
        body = {"type": "notification_event", "topic": topic, "id": "notif_1",
                "created_at": 1793700060, "data": {"item": item}}
        assert parse_webhook_body(json.dumps(body).encode()).event_type == event_type


@pytest.mark.parametrize(
    ("name", "topic"),
    [("ping.json", "ping"), ("contact_created.json", "contact.created")],
)
def test_unknown_topics_are_unsupported(name: str, topic: str) -> None:
    with pytest.raises(UnsupportedEvent) as info:
        parse_webhook_body(raw(name))
    assert info.value.event_type == topic


def _envelope(**changes: Any) -> bytes:
    body: dict[str, Any] = {
        "type": "notification_event", "topic": "conversation.user.replied", "id": "notif_1",
        "created_at": 1793700060, "data": {"item": {"type": "conversation", "id": CONV}},
    }
    body.update(changes)
    return json.dumps(body).encode()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"{not json", "body"),
        (b"\xff\xfe", "body"),
        (b"[1, 2]", "body"),
        (_envelope(type="event"), "type"),
        (_envelope(topic=None), "topic"),
        (_envelope(id=None), "id"),
        (_envelope(data=None), "data"),
        (_envelope(data={"item": None}), "data.item"),
        (_envelope(data={"item": {"type": "contact", "id": "1"}}), "data.item.type"),
        (_envelope(data={"item": {"type": "conversation"}}), "data.item.id"),
        (_envelope(data={"item": {"id": "../admins"}}), "data.item.id"),
        (_envelope(created_at="yesterday"), "created_at"),
    ],
)
def test_malformed_webhooks_name_the_field(body: bytes, field: str) -> None:
    with pytest.raises(ValidationError) as info:
        parse_webhook_body(body)
    assert info.value.field == field


# --- the adapter over HTTP ---------------------------------------------------------------


def mock_fetch(rsps: responses.RequestsMock, api: str = API) -> None:
    """The conversation (plain text), its contact and the contact's company."""
    rsps.get(
        f"{api}/conversations/{CONV}",
        json=load("conversation.json"),
        match=[matchers.query_param_matcher({"display_as": "plaintext"}),
               matchers.header_matcher({"Intercom-Version": "2.14"})],
    )
    rsps.get(f"{api}/contacts/{CONTACT}", json=load("contact.json"))
    rsps.get(f"{api}/companies/{COMPANY}", json=load("company.json"))


def _created_tag(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
    name = json.loads(recorded.body(request) or b"{}")["name"]
    ids = {"escalade_refund": "204", "escalade_priority_urgent": "205"}
    # Any other new tag gets a made-up id, as Intercom would create it.
    tag_id = ids.get(name) or str(300 + sum(map(ord, name)) % 600)
    return 200, {}, json.dumps({"type": "tag", "id": tag_id, "name": name})


def mock_apply(rsps: responses.RequestsMock, api: str = API) -> None:
    """Every endpoint ``apply`` uses for the standard actions."""
    base = f"{api}/conversations/{CONV}"
    rsps.get(base, json=load("conversation.json"))
    rsps.get(f"{api}/tags", json=load("tags.json"))
    rsps.add_callback(responses.POST, f"{api}/tags", callback=_created_tag,
                      content_type="application/json")
    rsps.put(base, json=load("conversation.json"))
    rsps.post(f"{base}/tags", json=load("tag_attached.json"))
    rsps.delete(f"{base}/tags/202", json=load("tag_detached.json"))
    rsps.post(f"{base}/reply", json=load("conversation_replied.json"))
    rsps.post(f"{base}/parts", json=load("conversation.json"))


@responses.activate
def test_fetch_ticket_reads_conversation_contact_and_company_and_matches_the_spec() -> None:
    mock_fetch(responses.mock)
    ticket = adapter().fetch_ticket(CONV)

    assert ticket == normalize(bundle())
    assert len(responses.calls) == 3
    assert responses.calls[0].request.headers["Authorization"] == "Bearer dG9rOmFjbWU="
    validate(responses.calls)


@responses.activate
def test_archived_contact_still_reads() -> None:
    responses.get(f"{API}/conversations/{CONV}", json=load("conversation.json"))
    responses.get(f"{API}/contacts/{CONTACT}", status=404, json=load("error_not_found.json"))
    ticket = adapter().fetch_ticket(CONV)
    assert ticket.requester == Person(id=CONTACT)
    assert ticket.account is None


@responses.activate
def test_apply_writes_every_action_and_creates_missing_tags(no_sleep: None) -> None:
    mock_apply(responses.mock)

    result = adapter().apply(CONV, ESCALATE)

    requests_sent = sent(responses.calls)
    assert [(m, p) for m, p, _ in requests_sent[:5]] == [
        ("GET", f"/conversations/{CONV}"),
        ("GET", "/tags"),
        ("POST", "/tags"),
        ("POST", "/tags"),
        ("PUT", f"/conversations/{CONV}"),
    ]
    created = [b["name"] for m, p, b in requests_sent if (m, p) == ("POST", "/tags")]
    assert created == ["escalade_refund", "escalade_priority_urgent"]
    writes = [(m, p, b) for m, p, b in requests_sent[4:]]
    assert [(m, p, b) for m, p, b in writes] == [
        (m, p, b) for m, p, b, _ in plan(ESCALATE)
    ]
    assert result.applied == (
        ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS, ActionKind.SET_PRIORITY, ActionKind.ASSIGN,
        ActionKind.SET_FIELD, ActionKind.INTERNAL_NOTE, ActionKind.PUBLIC_REPLY,
    )
    assert result.external_ref == "9107"
    assert result.detail == {}
    validate(responses.calls)


@responses.activate
def test_tag_ids_are_cached_between_applies() -> None:
    mock_apply(responses.mock)
    escalator = adapter()
    escalator.apply(CONV, [act(ActionKind.ADD_TAGS, tags=["escalade_refund"])])
    escalator.apply(CONV, [act(ActionKind.ADD_TAGS, tags=["escalade_refund"])])
    paths = [(m, p) for m, p, _ in sent(responses.calls)]
    assert paths.count(("GET", "/tags")) == 1
    assert paths.count(("POST", "/tags")) == 1
    assert paths.count(("POST", f"/conversations/{CONV}/tags")) == 2


@responses.activate
def test_admin_id_is_looked_up_once_when_not_configured() -> None:
    responses.get(f"{API}/me", json=load("me.json"))
    reply = responses.post(f"{API}/conversations/{CONV}/reply",
                           json=load("conversation_replied.json"))
    escalator = adapter(admin_id=None)
    for _ in range(2):
        escalator.apply(CONV, [act(ActionKind.INTERNAL_NOTE, body="Handoff.")])
    assert reply.call_count == 2
    assert [c.request.path_url for c in responses.calls].count("/me") == 1
    assert recorded.sent_json(responses.calls[-1].request)["admin_id"] == ADMIN
    validate(responses.calls)


@responses.activate
def test_apply_reports_what_did_not_land_after_a_rate_limit(no_sleep: None) -> None:
    base = f"{API}/conversations/{CONV}"
    responses.post(f"{base}/reply", json=load("conversation_replied.json"))
    responses.post(f"{base}/parts", status=429, json=load("error_rate_limited.json"),
                   headers={"X-RateLimit-Reset": "1793700120"})
    actions = [act(ActionKind.INTERNAL_NOTE, body="Handoff."),
               act(ActionKind.ASSIGN, group="escalations"),
               act(ActionKind.PUBLIC_REPLY, body="We're on it.")]

    result = adapter().apply(CONV, actions)

    assert result.applied == (ActionKind.INTERNAL_NOTE,)
    assert result.external_ref == "9107"
    failed = {f["kind"]: f for f in result.detail["failed"]}
    assert set(failed) == {"assign", "public_reply"}
    assert all(f["retriable"] for f in failed.values())
    assert "rate_limit_exceeded" in failed["assign"]["error"]
    assert len(responses.calls) == 2  # the reply was not attempted into the rate limit


@responses.activate
def test_a_refused_call_does_not_stop_the_others() -> None:
    base = f"{API}/conversations/{CONV}"
    responses.post(f"{base}/parts", status=400, json=load("error_parameter_invalid.json"))
    responses.post(f"{base}/reply", json=load("conversation_replied.json"))
    actions = [act(ActionKind.ASSIGN, assignee="991260000"),
               act(ActionKind.PUBLIC_REPLY, body="We're on it.")]

    result = adapter().apply(CONV, actions)

    assert result.applied == (ActionKind.PUBLIC_REPLY,)
    [failed] = result.detail["failed"]
    assert (failed["kind"], failed["retriable"]) == ("assign", False)
    assert "parameter_invalid: Assignee not found" in failed["error"]


@responses.activate
def test_apply_ignores_alerts_and_other_targets() -> None:
    result = adapter().apply(CONV, [act(ActionKind.ALERT, target="slack"),
                                    act(ActionKind.INTERNAL_NOTE, target="hubspot", body="x")])
    assert result.applied == ()
    assert len(responses.calls) == 0


@pytest.mark.parametrize(
    ("headers", "retry_after"),
    [({"Retry-After": "17"}, 17.0), ({"X-RateLimit-Reset": "1793700090"}, 30.0), ({}, None)],
)
@responses.activate
def test_rate_limit_raises_with_retry_after_and_never_sleeps(
    no_sleep: None, headers: dict[str, str], retry_after: float | None
) -> None:
    responses.get(f"{API}/conversations/{CONV}", status=429, headers=headers,
                  json=load("error_rate_limited.json"))
    with pytest.raises(RetriableError) as info:
        adapter().fetch_ticket(CONV)
    assert len(responses.calls) == 1  # no retry inside the request
    computed = error_for_response(recorded.answer(responses.calls[0]), now=1793700060.0)
    assert isinstance(computed, RetriableError)
    assert computed.retry_after == retry_after
    if "Retry-After" in headers:
        assert info.value.retry_after == retry_after


@pytest.mark.parametrize(
    "response",
    [
        {"status": 500, "json": {"type": "error.list", "errors": [{"code": "server_error"}]}},
        {"status": 502, "body": "<html>bad gateway</html>"},
        {"status": 503, "body": ""},
        {"body": requests.Timeout("read timed out")},
        {"body": requests.ConnectionError("connection refused")},
    ],
    ids=["500", "502-html", "503", "timeout", "connection"],
)
@responses.activate
def test_transient_failures_are_retriable(response: dict[str, Any]) -> None:
    responses.post(f"{API}/conversations/{CONV}/reply", **response)
    with pytest.raises(RetriableError):
        adapter().apply(CONV, [act(ActionKind.INTERNAL_NOTE, body="Handoff.")])


@responses.activate
def test_4xx_is_fatal_with_intercoms_message() -> None:
    responses.get(f"{API}/conversations/{CONV}", status=404, json=load("error_not_found.json"))
    with pytest.raises(FatalError) as info:
        adapter().fetch_ticket(CONV)
    assert "not_found: Resource Not Found" in str(info.value)
    assert "8c288c4f-b699-4209-9de4-064398f02785" in str(info.value)
    validate(responses.calls)


@responses.activate
def test_backfill_streams_pages_and_resumes_from_the_cursor() -> None:
    since = datetime(2026, 10, 1, tzinfo=UTC)
    cursor = load("search_page1.json")["pages"]["next"]["starting_after"]
    query = {"field": "updated_at", "operator": ">", "value": int(since.timestamp())}
    responses.post(
        f"{API}/conversations/search", json=load("search_page1.json"),
        match=[matchers.json_params_matcher(
            {"query": query, "pagination": {"per_page": 150}})],
    )
    responses.post(
        f"{API}/conversations/search", json=load("search_page2.json"),
        match=[matchers.json_params_matcher(
            {"query": query, "pagination": {"per_page": 150, "starting_after": cursor}})],
    )
    mock_fetch(responses.mock)
    responses.get(f"{API}/conversations/215470900158799", status=404,
                  json=load("error_not_found.json"))  # deleted meanwhile: skipped

    pages = adapter().backfill(since=since)
    first = next(pages)
    assert [t.id for t in first.tickets] == [CONV]
    assert (first.cursor, first.done) == (cursor, False)
    urls = [recorded.url(c.request) for c in responses.calls]
    assert not any("215470900158799" in url for url in urls)  # streamed
    second = next(pages)
    assert (second.tickets, second.done) == ((), True)
    with pytest.raises(StopIteration):
        next(pages)
    validate(responses.calls)

    resumed = list(adapter().backfill(since=since, cursor=cursor))
    assert [(p.tickets, p.done) for p in resumed] == [((), True)]


@pytest.mark.parametrize(
    ("region", "base_url", "root"),
    [
        (None, None, "https://api.intercom.io"),
        ("eu", None, "https://api.eu.intercom.io"),
        ("AU", None, "https://api.au.intercom.io"),
        ("eu", "http://localhost:8080/intercom/", "http://localhost:8080/intercom"),
    ],
)
@responses.activate
def test_regions_and_base_url_override(
    region: str | None, base_url: str | None, root: str
) -> None:
    mock_fetch(responses.mock, api=root)
    adapter(region=region, base_url=base_url).fetch_ticket(CONV)
    assert all(recorded.url(c.request).startswith(root + "/") for c in responses.calls)


@pytest.mark.parametrize(
    ("base_url", "credentials", "options"),
    [
        (None, {}, {}),
        ("api.intercom.io", {"access_token": "x"}, {}),
        (None, {"access_token": "x"}, {"region": "mars"}),
        (None, {"access_token": "x"}, {"admin_id": "the bot"}),
        (None, {"access_token": "x"}, {"team_ids": ["escalations"]}),
        (None, {"access_token": "x"}, {"team_ids": {"escalations": None}}),
        (None, {"access_token": "x"}, {"tier_attribute": ""}),
    ],
)
def test_bad_configuration(
    base_url: str | None, credentials: dict[str, str], options: dict[str, Any]
) -> None:
    config = HelpdeskConfig(tenant="acme", helpdesk="intercom", base_url=base_url,
                            credentials=credentials, options=options)
    with pytest.raises(ConfigurationError):
        IntercomAdapter(config=config)


# --- loop guard --------------------------------------------------------------------------


def test_own_write_when_our_admin_wrote_the_latest_part() -> None:
    replied = {**bundle(), "conversation": load("conversation_replied.json")}
    assert adapter().is_own_write(normalize(replied)) is True
    assert adapter().is_own_write(normalize(bundle())) is False  # the customer wrote last


def test_own_write_for_our_bodiless_assignment_but_not_an_agents_close() -> None:
    data = bundle()
    parts = data["conversation"]["conversation_parts"]["conversation_parts"]
    ours = copy.deepcopy(parts[2])
    ours.update(id="9120", created_at=1793700100,
                author={"type": "admin", "id": ADMIN, "email": "escalade-bot@acme.example"})
    parts.append(ours)
    assert adapter().is_own_write(normalize(data)) is True
    closing = copy.deepcopy(parts[2])
    closing.update(id="9121", part_type="close", created_at=1793700200)
    parts.append(closing)
    assert adapter().is_own_write(normalize(data)) is False


def test_exported_members_exist() -> None:
    for name in intercom.__all__:
        assert hasattr(intercom, name), name
    assert IntercomAdapter.identifier == "intercom"
