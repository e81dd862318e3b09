"""Slack: alert messages against a local fake Web API, and signed button clicks through Bolt."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.models.blocks import Block
from sqlalchemy import select

from adapters.connectors.base import ConnectorConfig
from adapters.connectors.slack import SlackConnector
from adapters.connectors.slack_app import (
    SlackAction,
    build_bolt_app,
    slack_blueprint,
    update_payload,
)
from adapters.connectors.slack_blocks import (
    ACTION_IDS,
    AlertEvent,
    alert_blocks,
    apply_event,
    event_note,
    status_lines,
)
from integration.errors import ConfigurationError, FatalError, RetriableError
from integration.models import Action, ActionKind
from integration.store import Base, session_scope
from integration.store.alerts import AlertMessageRow
from tests.connectors.slack_server import (
    BOT_USER,
    TEAM_ID,
    TOKEN,
    FakeSlack,
    running_slack_api,
    sign,
)
from tests.store.helpers import Store, new_tenant, open_store, sqlite_url

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TICKET = "acme:zendesk:4711"
ESCALATION = f"{TICKET}:tier_3"
SIGNING_SECRET = "test-signing-secret"


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A migrated SQLite database with the tenant ``acme``."""
    opened = open_store(sqlite_url(tmp_path))
    new_tenant(opened)
    yield opened
    opened.engine.dispose()


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    """The fake Slack Web API on 127.0.0.1."""
    with running_slack_api() as fake:
        yield fake


@pytest.fixture
def clock() -> Clock:
    """Frozen at T0 until the test moves it."""
    return Clock()


def make_connector(
    store: Store, slack_api: FakeSlack, clock: Clock, **settings: Any
) -> SlackConnector:
    config = ConnectorConfig(
        tenant="acme", connector="slack", credentials={"bot_token": TOKEN},
        settings={"channel": "C0ALERTS", "users": {"U0DANA": "42"}, **settings},
        base_url=slack_api.url,
    )
    return SlackConnector(config=config, sessions=store.factory, clock=clock)


@pytest.fixture
def slack(store: Store, slack_api: FakeSlack, clock: Clock) -> SlackConnector:
    """The tenant's connector, pointed at the fake."""
    return make_connector(store, slack_api, clock)


def alert(dedupe_key: str = ESCALATION, ticket: str = TICKET, **extra: Any) -> Action:
    """A tier 3 alert shaped like ``integration.matrix.evaluate._alert_payload``."""
    payload = {
        "dedupe_key": dedupe_key, "ticket_key": ticket, "ticket_id": ticket.rsplit(":", 1)[1],
        "tenant": "acme", "helpdesk": "zendesk", "subject": "Charged twice <again>",
        "requester": {"id": "u1", "email": "ops@bigco.com", "name": "Dana"},
        "account": {"id": "c9", "name": "BigCo", "domain": "bigco.com", "plan": "enterprise",
                    "arr": 180000, "health": 0.35, "owner": "am@ourco.com"},
        "tier": 3, "previous_tier": 2, "priority": "urgent", "category": "billing",
        "sentiment": -0.62, "rules": ["tier3.at_risk"],
        "reasons": ["Enterprise account at risk: health 0.35 < 0.4", "refund demanded"],
        "group": "escalations", "sla_due_at": "2026-11-02T10:00:00Z",
        "matrix_version": "sha256:abc", "summary": "Customer was charged twice in November.",
        "ticket_url": "https://acme.zendesk.com/agent/tickets/4711",
        **extra,
    }
    return Action(kind=ActionKind.ALERT, target="slack", payload=payload)


def sla_alert(kind: str, due: str = "2026-11-02T10:00:00Z") -> Action:
    """An SLA warning or breach about TICKET (its own dedupe key, as breach.py builds it)."""
    payload: dict[str, Any] = {
        "kind": kind, "dedupe_key": f"{TICKET}:{kind}:first_response:1793613600",
        "ticket_key": TICKET, "ticket_id": "4711", "tier": 3, "metric": "first_response",
        "due_at": due,
    }
    if kind == "sla_breach":
        payload["reasons"] = ["SLA breach: first response was due Monday 10:00 UTC"]
    return Action(kind=ActionKind.ALERT, target="slack", payload=payload)


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Slack's own models accept every block, and parse them back to what we sent."""
    parsed = Block.parse_all(blocks)
    assert len(parsed) == len(blocks)
    for block, raw in zip(parsed, blocks, strict=True):
        block.validate_json()
        assert block.to_dict() == raw


def buttons(blocks: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    actions = [b for b in blocks if b["type"] == "actions"]
    assert len(actions) == 1
    return {e["action_id"]: e for e in actions[0]["elements"]}


def rows(store: Store) -> list[AlertMessageRow]:
    with session_scope(store.factory) as s:
        return list(s.scalars(select(AlertMessageRow).order_by(AlertMessageRow.id)))


# --- posting, threading, rate limit ---------------------------------------------------


def test_first_alert_posts_one_message_with_four_buttons_and_stores_ts(
    slack: SlackConnector, slack_api: FakeSlack, store: Store
) -> None:
    result = slack.deliver(TICKET, [alert()])

    [call] = slack_api.calls_to("chat.postMessage")
    assert call.token == TOKEN
    assert call.args["channel"] == "C0ALERTS" and "thread_ts" not in call.args
    assert call.args["text"] == "Tier 3 escalation · BigCo: Charged twice <again>"
    blocks = call.args["blocks"]
    assert_valid_blocks(blocks)
    found = buttons(blocks)
    assert set(found) == set(ACTION_IDS.values())
    assert found["escalade_open_ticket"]["url"] == "https://acme.zendesk.com/agent/tickets/4711"
    assert json.loads(found["escalade_snooze"]["value"]) == {
        "dedupe_key": ESCALATION, "ticket_key": TICKET}
    text = json.dumps(blocks)
    for fact in ("BigCo", "$180,000", "35/100", "Tier 3 (was 2)", "refund demanded",
                 "charged twice in November", "Charged twice &lt;again&gt;", "<!date^"):
        assert fact in text

    [posted] = slack_api.top_level()
    [row] = rows(store)
    assert (row.channel, row.ts, row.dedupe_key) == ("C0ALERTS", posted["ts"], ESCALATION)
    assert result.applied == (ActionKind.ALERT,)
    assert result.external_ref == f"C0ALERTS:{posted['ts']}"


def test_second_alert_for_the_escalation_threads_and_updates_the_parent(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    slack.deliver(TICKET, [alert()])
    clock.now += timedelta(minutes=20)
    slack.deliver(TICKET, [sla_alert("sla_warning")])
    slack.deliver(TICKET, [alert(reasons=["customer wrote again: cancelling"])])

    [parent] = slack_api.top_level()
    replies = slack_api.replies(parent["ts"])
    assert [r["text"].split(":", 2)[1] for r in replies] == ["hourglass_flowing_sand", "repeat"]
    assert replies[0]["text"].startswith(":hourglass_flowing_sand: SLA warning: first response")
    assert replies[1]["text"] == ":repeat: Still tier 3.\n• customer wrote again: cancelling"
    posts = slack_api.calls_to("chat.postMessage")
    assert [c.args.get("thread_ts") for c in posts] == [None, parent["ts"], parent["ts"]]
    updates = slack_api.calls_to("chat.update")
    assert [(u.args["channel"], u.args["ts"]) for u in updates] == [
        ("C0ALERTS", parent["ts"])] * 2
    for call in posts + updates:
        assert_valid_blocks(call.args["blocks"])
    # The parent shows the SLA event and the newest reasons.
    assert "SLA warning: first response" in json.dumps(parent["blocks"])
    assert "cancelling" in json.dumps(parent["blocks"])


def test_a_redelivered_alert_changes_nothing(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack.deliver(TICKET, [alert()])
    slack.deliver(TICKET, [sla_alert("sla_breach")])
    slack.deliver(TICKET, [alert()])
    slack.deliver(TICKET, [sla_alert("sla_breach")])

    assert len(slack_api.calls_to("chat.postMessage")) == 2
    assert len(slack_api.calls_to("chat.update")) == 1


def test_a_different_escalation_posts_a_new_message(
    slack: SlackConnector, slack_api: FakeSlack, store: Store
) -> None:
    slack.deliver(TICKET, [alert()])
    slack.deliver("acme:zendesk:4712", [alert("acme:zendesk:4712:tier_3", "acme:zendesk:4712")])

    assert len(slack_api.top_level()) == 2
    assert slack_api.calls_to("chat.update") == []
    assert [r.dedupe_key for r in rows(store)] == [ESCALATION, "acme:zendesk:4712:tier_3"]


def test_over_the_rate_limit_nothing_is_posted_and_the_outbox_retries_when_it_frees(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    slack = make_connector(store, slack_api, clock, rate_limit=2, rate_window_seconds=600)
    slack.deliver("t1", [alert("acme:zendesk:1:tier_3", "acme:zendesk:1")])
    clock.now += timedelta(minutes=4)
    slack.deliver("t2", [alert("acme:zendesk:2:tier_3", "acme:zendesk:2")])
    clock.now += timedelta(minutes=1)

    with pytest.raises(RetriableError) as caught:
        slack.deliver("t3", [alert("acme:zendesk:3:tier_3", "acme:zendesk:3")])
    # The first alert leaves the 10-minute window 5 minutes from now.
    assert caught.value.retry_after == pytest.approx(300)
    assert len(slack_api.calls_to("chat.postMessage")) == 2
    # Follow-ups in threads are not alert noise and are not limited.
    slack.deliver("t1", [alert("acme:zendesk:1:tier_3", "acme:zendesk:1", reasons=["more"])])

    clock.now += timedelta(seconds=caught.value.retry_after or 0)
    slack.deliver("t3", [alert("acme:zendesk:3:tier_3", "acme:zendesk:3")])
    assert len(slack_api.top_level()) == 3


def test_a_snoozed_escalation_only_replies_quietly_in_its_thread(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    slack.deliver(TICKET, [alert()])
    owned = {"kind": "slack_update", "dedupe_key": ESCALATION, "event": "owned",
             "user_id": "U0DANA", "agent_id": "42"}
    snoozed = {**owned, "event": "snoozed", "user_id": "U0SAM"}
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=owned),
                           Action(kind=ActionKind.ALERT, target="slack", payload=snoozed)])
    clock.now += timedelta(minutes=30)
    slack.deliver(TICKET, [sla_alert("sla_breach")])

    [parent] = slack_api.top_level()
    breach = slack_api.replies(parent["ts"])[-1]
    assert breach["text"].startswith(":red_circle: SLA breach")
    assert "<@" not in breach["text"]  # nobody is pinged while snoozed

    clock.now += timedelta(hours=1)  # the snooze is over: follow-ups ping the owner again
    slack.deliver(TICKET, [sla_alert("sla_warning", due="2026-11-02T12:00:00Z")])
    assert slack_api.replies(parent["ts"])[-1]["text"].endswith("cc <@U0DANA>")
    assert len(slack_api.top_level()) == 1


def test_an_sla_alert_without_an_earlier_message_posts_its_own(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack.deliver(TICKET, [sla_alert("sla_warning")])

    [message] = slack_api.top_level()
    assert message["text"].startswith("SLA warning")
    assert_valid_blocks(message["blocks"])


def test_manager_alerts_go_to_the_managers_channel(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    slack = make_connector(store, slack_api, clock, managers_channel="C0MANAGERS")
    manager = Action(kind=ActionKind.ALERT, target="manager", payload=alert().payload)
    slack.deliver(TICKET, [manager])

    assert slack_api.calls_to("chat.postMessage")[0].args["channel"] == "C0MANAGERS"


# --- Slack's errors -------------------------------------------------------------------


def test_slack_ratelimited_is_retriable_with_its_retry_after_and_loses_nothing(
    slack: SlackConnector, slack_api: FakeSlack, store: Store
) -> None:
    slack_api.fail_next("chat.postMessage", error="ratelimited", status=429,
                        headers={"Retry-After": "42"})
    with pytest.raises(RetriableError, match="ratelimited") as caught:
        slack.deliver(TICKET, [alert()])
    assert caught.value.retry_after == 42
    assert rows(store) == []  # the claim was released

    slack.deliver(TICKET, [alert()])
    assert len(slack_api.top_level()) == 1


def test_slack_server_errors_and_connection_errors_are_retriable(
    slack: SlackConnector, slack_api: FakeSlack, store: Store, clock: Clock
) -> None:
    slack_api.fail_next("chat.postMessage", error="internal_error", status=503)
    with pytest.raises(RetriableError, match="internal_error"):
        slack.deliver(TICKET, [alert()])
    assert len(slack_api.calls_to("chat.postMessage")) == 1  # the client did not retry

    closed = ConnectorConfig(tenant="acme", connector="slack", credentials={"bot_token": TOKEN},
                             settings={"channel": "C0ALERTS"}, base_url="http://127.0.0.1:9/")
    offline = SlackConnector(config=closed, sessions=store.factory, clock=clock)
    assert offline.client.retry_handlers == []
    with pytest.raises(RetriableError):
        offline.deliver(TICKET, [alert()])


@pytest.mark.parametrize("error", ["channel_not_found", "not_in_channel", "invalid_auth"])
def test_slack_refusals_are_fatal_and_name_the_error(
    slack: SlackConnector, slack_api: FakeSlack, error: str
) -> None:
    slack_api.fail_next("chat.postMessage", error=error)
    with pytest.raises(FatalError, match=error):
        slack.deliver(TICKET, [alert()])


def test_an_unknown_channel_is_fatal(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    slack = make_connector(store, slack_api, clock, channel="C0GONE")
    with pytest.raises(FatalError, match="channel_not_found"):
        slack.deliver(TICKET, [alert()])


def test_settings_are_checked(store: Store, slack_api: FakeSlack, clock: Clock) -> None:
    with pytest.raises(ConfigurationError, match="channel id"):
        make_connector(store, slack_api, clock, channel="#alerts")
    with pytest.raises(ConfigurationError, match="rate_limit"):
        make_connector(store, slack_api, clock, rate_limit=0)


def test_test_connection_calls_auth_test(slack: SlackConnector, slack_api: FakeSlack) -> None:
    assert slack.test_connection() == f"Slack workspace Escalade Test ({TEAM_ID}) as escalade"
    assert [c.method for c in slack_api.calls] == ["auth.test"]


# --- who did what ---------------------------------------------------------------------


def test_clicks_update_the_message_to_show_who_did_what(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    slack.deliver(TICKET, [alert()])
    click = SlackAction(action="acknowledge", team_id=TEAM_ID, user_id="U0SAM", user_name="sam",
                        channel_id="C0ALERTS", message_ts="1.0", dedupe_key=ESCALATION,
                        ticket_key=TICKET, action_ts="1764000100.000100")
    ack = update_payload(click, now=clock.now)
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=ack)])
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=ack)])

    [parent] = slack_api.top_level()
    assert "acknowledged by <@U0SAM> at 09:00 UTC" in json.dumps(parent["blocks"])
    assert "escalade_acknowledge" not in json.dumps(parent["blocks"])
    assert [r["text"] for r in slack_api.replies(parent["ts"])] == [
        ":white_check_mark: <@U0SAM> acknowledged this escalation."]  # once, not twice

    take = replace(click, action="take_ownership", user_id="U0DANA", action_ts="2")
    own = update_payload(take, now=clock.now, agent_id=slack.agent_for("U0DANA"))
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=own)])
    assert ("owned by <@U0DANA> (assigned to agent 42 in the helpdesk)"
            in json.dumps(parent["blocks"]))
    for call in slack_api.calls_to("chat.update"):
        assert call.args["channel"] == "C0ALERTS" and call.args["ts"] == parent["ts"]
        assert_valid_blocks(call.args["blocks"])


def test_an_interrupted_update_is_finished_on_retry_without_a_second_note(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    slack.deliver(TICKET, [alert()])
    click = SlackAction(action="snooze", team_id=TEAM_ID, user_id="U0SAM", user_name="sam",
                        channel_id="C0ALERTS", message_ts="1.0", dedupe_key=ESCALATION,
                        ticket_key=TICKET, action_ts="1764000100.000300")
    snooze = Action(kind=ActionKind.ALERT, target="slack",
                    payload=update_payload(click, now=clock.now + timedelta(minutes=5)))
    slack_api.fail_next("chat.update", error="service_unavailable", status=503)
    with pytest.raises(RetriableError):
        slack.deliver(TICKET, [snooze])
    slack.deliver(TICKET, [snooze])

    [parent] = slack_api.top_level()
    assert len(slack_api.replies(parent["ts"])) == 1
    assert "snoozed until 10:05 UTC by <@U0SAM>" in json.dumps(parent["blocks"])


def test_ephemeral_notes_and_user_lookups(slack: SlackConnector, slack_api: FakeSlack) -> None:
    slack_api.users["U0DANA"] = {"id": "U0DANA", "name": "dana",
                                 "profile": {"email": "dana@ourco.com"}}
    assert slack.user_email("U0DANA") == "dana@ourco.com"
    slack.notify_user(channel="C0ALERTS", user_id="U0DANA", text="You are not mapped")
    [call] = slack_api.calls_to("chat.postEphemeral")
    assert (call.args["channel"], call.args["user"]) == ("C0ALERTS", "U0DANA")
    assert slack.agent_for("U0DANA") == "42" and slack.agent_for("U0NOBODY") is None


def test_update_of_an_unknown_escalation_is_fatal(slack: SlackConnector) -> None:
    payload = {"kind": "slack_update", "dedupe_key": "acme:zendesk:1:tier_3",
               "event": "acknowledged", "user_id": "U1"}
    with pytest.raises(FatalError, match="no alert message"):
        slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=payload)])


def test_status_lines_name_the_user() -> None:
    snooze = AlertEvent(kind="snoozed", user_id="U123", at=T0 + timedelta(minutes=5),
                        until=T0 + timedelta(hours=1, minutes=5))
    owned = AlertEvent(kind="owned", user_id="U456", at=T0, agent_id="42")
    state = apply_event(apply_event({}, owned), snooze)

    assert status_lines(state, now=T0 + timedelta(minutes=6)) == [
        ":bust_in_silhouette: owned by <@U456> (assigned to agent 42 in the helpdesk)",
        ":zzz: snoozed until 10:05 UTC by <@U123>",
    ]
    assert len(status_lines(state, now=T0 + timedelta(hours=2))) == 1  # the snooze ran out
    failed = AlertEvent(kind="owned", user_id="U9", at=T0, error="agent 7 is away")
    assert apply_event(state, failed) == state
    assert event_note(failed) == ":warning: <@U9> could not take ownership: agent 7 is away"


def test_a_minimal_payload_renders_valid_blocks() -> None:
    blocks = alert_blocks({"dedupe_key": "x:1:tier_3"}, now=T0)
    assert_valid_blocks(blocks)
    assert set(buttons(blocks)) == set(ACTION_IDS.values())
    assert "url" not in buttons(blocks)["escalade_open_ticket"]


def test_long_texts_are_clipped_to_slack_limits() -> None:
    payload = alert(subject="x" * 5000, reasons=["y" * 4000] * 3, summary="z" * 9000).payload
    assert_valid_blocks(alert_blocks(payload, now=T0))


# --- interactivity (Bolt in Flask) ----------------------------------------------------


@pytest.fixture
def clicks() -> list[SlackAction]:
    """What on_action received."""
    return []


@pytest.fixture
def web(clicks: list[SlackAction]) -> Any:
    """A Flask test client with the Slack blueprint."""
    def authorize(team_id: str | None, user_id: str | None) -> AuthorizeResult | None:
        if team_id != TEAM_ID:
            return None
        return AuthorizeResult(enterprise_id=None, team_id=team_id, user_id=user_id,
                               bot_token="xoxb-from-install", bot_user_id=BOT_USER,
                               bot_id="B0BOT")

    bolt = build_bolt_app(signing_secret=SIGNING_SECRET, authorize=authorize,
                          on_action=clicks.append)
    app = Flask(__name__)
    app.register_blueprint(slack_blueprint(bolt))
    return app.test_client()


def block_actions(action_id: str = "escalade_take_ownership") -> bytes:
    payload = {
        "type": "block_actions",
        "team": {"id": TEAM_ID, "domain": "escalade-test"},
        "user": {"id": "U0DANA", "username": "dana", "name": "dana", "team_id": TEAM_ID},
        "api_app_id": "A0APP", "token": "legacy-verification-token",
        "container": {"type": "message", "message_ts": "1764000001.000001",
                      "channel_id": "C0ALERTS", "is_ephemeral": False},
        "trigger_id": "123.456.abc",
        "channel": {"id": "C0ALERTS", "name": "escalations"},
        "message": {"type": "message", "ts": "1764000001.000001", "text": "Tier 3"},
        "response_url": "https://hooks.slack.com/actions/T0/1/x",
        "actions": [{"action_id": action_id, "block_id": "escalade_alert_actions",
                     "type": "button", "action_ts": "1764000100.000200",
                     "text": {"type": "plain_text", "text": "Take ownership"},
                     "value": json.dumps({"dedupe_key": ESCALATION, "ticket_key": TICKET})}],
    }
    return urlencode({"payload": json.dumps(payload)}).encode()


def post(web: Any, body: bytes, *, timestamp: int | None = None,
         secret: str = SIGNING_SECRET, content_type: str = "application/x-www-form-urlencoded"
         ) -> Any:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    return web.post("/slack/events", data=body, content_type=content_type, headers={
        "X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(secret, ts, body)})


def test_the_signing_helper_matches_slacks_documented_example() -> None:
    path = SHARED / "specs" / "signing" / "test_vectors.json"
    if not path.is_file():
        pytest.skip("../shared/specs is not next to the repository")
    vector = json.loads(path.read_text())["slack_v0"]
    assert sign(vector["signing_secret"], vector["x_slack_request_timestamp"],
                vector["raw_body"].encode()) == vector["x_slack_signature"]


def test_a_signed_click_is_acked_and_handed_over(web: Any, clicks: list[SlackAction]) -> None:
    response = post(web, block_actions())

    assert response.status_code == 200
    assert clicks == [SlackAction(
        action="take_ownership", team_id=TEAM_ID, user_id="U0DANA", user_name="dana",
        channel_id="C0ALERTS", message_ts="1764000001.000001", dedupe_key=ESCALATION,
        ticket_key=TICKET, action_ts="1764000100.000200",
        response_url="https://hooks.slack.com/actions/T0/1/x")]


@pytest.mark.parametrize("action_id", sorted(ACTION_IDS.values()))
def test_every_button_is_handled(web: Any, clicks: list[SlackAction], action_id: str) -> None:
    assert post(web, block_actions(action_id)).status_code == 200
    assert [ACTION_IDS[c.action] for c in clicks] == [action_id]


def test_a_bad_signature_is_refused(web: Any, clicks: list[SlackAction]) -> None:
    assert post(web, block_actions(), secret="not-the-secret").status_code == 401
    assert clicks == []


def test_a_stale_timestamp_is_refused(web: Any, clicks: list[SlackAction]) -> None:
    assert post(web, block_actions(), timestamp=int(time.time()) - 301).status_code == 401
    assert clicks == []


def test_a_click_from_an_unknown_workspace_is_not_acted_on(
    web: Any, clicks: list[SlackAction]
) -> None:
    body = block_actions().replace(TEAM_ID.encode(), b"T0STRANGER")
    assert post(web, body).status_code == 200  # Slack would show the error; nothing is done
    assert clicks == []


def test_url_verification_answers_the_challenge(web: Any) -> None:
    body = json.dumps({"type": "url_verification", "token": "t", "challenge": "ch4ll"}).encode()
    response = post(web, body, content_type="application/json")
    assert response.status_code == 200
    assert response.get_json() == {"challenge": "ch4ll"} or response.data == b"ch4ll"


# --- the table ------------------------------------------------------------------------


def test_the_migration_builds_the_alerts_table_the_model_describes(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        diffs = compare_metadata(context, Base.metadata)
    assert [d for d in diffs if "alert_messages" in repr(d)] == []
    with session_scope(store.factory) as s:
        assert s.scalars(select(AlertMessageRow)).all() == []
