"""Slack: alert messages against a local fake Web API, and signed button clicks through Bolt."""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask import Flask
from slack_bolt.authorization import AuthorizeResult
from slack_sdk.models.blocks import Block
from sqlalchemy import event, select

from adapters.connectors.base import ConnectorConfig
from adapters.connectors.slack import SlackConnector
from adapters.connectors.slack.app import (
    SlackAction,
    build_bolt_app,
    slack_blueprint,
    update_payload,
)
from adapters.connectors.slack.blocks import (
    ACTION_IDS,
    AlertEvent,
    alert_blocks,
    apply_event,
    event_note,
    status_lines,
)
from integration.alert_ledger import StoreAlertLedger, ticket_facts
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
from tests.store.helpers import (
    BACKENDS,
    Store,
    backend_store,
    make_decision,
    make_ticket,
    new_tenant,
)

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
T0 = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
TICKET = "acme:zendesk:4711"
ESCALATION = f"{TICKET}:tier_3"
SIGNING_SECRET = "test-signing-secret"
TICKET_BUTTONS = {ACTION_IDS[n] for n in ("acknowledge", "take_ownership", "snooze",
                                          "open_ticket")}


@dataclass
class Clock:
    """A clock the test moves by hand."""

    now: datetime = T0

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(params=BACKENDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated database (SQLite; PostgreSQL too when configured) with the tenant ``acme``."""
    with backend_store(request.param, tmp_path) as opened:
        new_tenant(opened)
        yield opened


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    """The fake Slack Web API on 127.0.0.1, its message times starting at T0."""
    with running_slack_api() as fake:
        fake.epoch = int(T0.timestamp())
        yield fake


@pytest.fixture
def clock() -> Clock:
    """Frozen at T0 until the test moves it."""
    return Clock()


def from_the_store(store: Store) -> dict[str, Any]:
    """What the runtime gives the connector: the store-backed ledger and ticket facts."""
    return {"ledger": StoreAlertLedger(sessions=store.factory, tenant="acme"),
            "ticket_facts": partial(ticket_facts, store.factory, "acme")}


def make_connector(
    store: Store, slack_api: FakeSlack, clock: Clock, **settings: Any
) -> SlackConnector:
    config = ConnectorConfig(
        tenant="acme", connector="slack", credentials={"bot_token": TOKEN},
        settings={"channel": "C0ALERTS", "users": {"U0DANA": "42"}, **settings},
        base_url=slack_api.url,
    )
    return SlackConnector(config=config, clock=clock, **from_the_store(store))


@pytest.fixture
def slack(store: Store, slack_api: FakeSlack, clock: Clock) -> SlackConnector:
    """The tenant's connector, pointed at the fake."""
    return make_connector(store, slack_api, clock)


def alert(dedupe_key: str = ESCALATION, ticket: str = TICKET, **extra: Any) -> Action:
    """A tier 3 alert shaped like ``integration.matrix.actions._alert_payload``."""
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
    assert set(found) == TICKET_BUTTONS
    assert found["escalade_open_ticket"]["url"] == "https://acme.zendesk.com/agent/tickets/4711"
    assert json.loads(found["escalade_snooze"]["value"]) == {
        "dedupe_key": ESCALATION, "ticket_key": TICKET}
    text = json.dumps(blocks)
    for fact in ("BigCo", "$180,000", "35/100", "Tier 3 (was 2)", "refund demanded",
                 "charged twice in November", "Charged twice &lt;again&gt;",
                 "*SLA due*\\nMon 2 Nov 10:00 UTC"):
        assert fact in text
    # Its key travels in Slack's message metadata: a retry can find what landed.
    assert call.args["metadata"] == {"event_type": "escalade_alert",
                                     "event_payload": {"key": ESCALATION}}

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


def test_over_the_rate_limit_alerts_are_held_in_one_summary_not_sent_later_in_a_burst(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    slack = make_connector(store, slack_api, clock, rate_limit=2, rate_window_seconds=600)
    slack.deliver("t1", [alert("acme:zendesk:1:tier_3", "acme:zendesk:1")])
    clock.now += timedelta(minutes=4)
    slack.deliver("t2", [alert("acme:zendesk:2:tier_3", "acme:zendesk:2")])
    clock.now += timedelta(minutes=1)

    # Past the limit nothing waits: one summary says what was held, with links.
    for n in (3, 4):
        slack.deliver(f"t{n}", [alert(f"acme:zendesk:{n}:tier_3", f"acme:zendesk:{n}",
                                      ticket_url=f"https://acme.zendesk.com/agent/tickets/{n}")])
    top = slack_api.top_level()
    assert len(top) == 3
    summary = top[2]
    assert summary["text"].startswith("2 more escalations held by the rate limit:")
    listing = json.dumps(summary["blocks"])
    assert "2 more escalations held by the rate limit" in listing
    assert "2 new alerts per 10 min in this channel" in listing
    for n in (3, 4):
        assert f"<https://acme.zendesk.com/agent/tickets/{n}|#{n} Charged twice" in listing
    # The first slot frees 5 minutes from now (the first alert leaves the 10-minute window).
    assert "on their own again from Mon 2 Nov 09:10 UTC" in listing
    for call in slack_api.calls_to("chat.postMessage") + slack_api.calls_to("chat.update"):
        assert_valid_blocks(call.args["blocks"])
    # Each held escalation is in the summary's thread, in full, with its buttons.
    held = slack_api.replies(summary["ts"])
    assert [m["text"] for m in held] == ["Tier 3 escalation · BigCo: Charged twice <again>"] * 2
    assert all(set(buttons(m["blocks"])) == TICKET_BUTTONS for m in held)
    # Follow-ups of a held escalation go to that thread; no new top-level message.
    slack.deliver("t3", [alert("acme:zendesk:3:tier_3", "acme:zendesk:3", reasons=["more"])])
    assert len(slack_api.replies(summary["ts"])) == 3

    # Later, with the window free again, nothing held bursts out; new alerts post as usual.
    clock.now += timedelta(minutes=11)
    slack.deliver("t5", [alert("acme:zendesk:5:tier_3", "acme:zendesk:5")])
    assert len(slack_api.top_level()) == 4


def test_the_rate_limit_is_counted_atomically_by_concurrent_workers(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    # Nine alerts are out; two workers post the tenth and the eleventh at the same moment.
    workers = [make_connector(store, slack_api, clock) for _ in range(2)]
    for n in range(9):
        workers[0].deliver(f"t{n}", [alert(f"acme:zendesk:{n}:tier_3", f"acme:zendesk:{n}")])
    together = threading.Barrier(2, timeout=5)
    waiting = threading.local()

    def both_count_before_either_posts(conn: Any, cursor: Any, statement: str, *args: Any
                                       ) -> None:
        # Each worker stops right after its first look at the channel's recent posts until
        # the other one looked too: the check-then-insert race, made to happen every time.
        counting = "alert_rate_slots" in statement or "alert_messages.posted_at >" in statement
        if counting and statement.lstrip().upper().startswith("SELECT") and not getattr(
                waiting, "done", False):
            waiting.done = True
            with contextlib.suppress(threading.BrokenBarrierError):
                together.wait()

    event.listen(store.engine, "after_cursor_execute", both_count_before_either_posts)
    try:
        errors: list[BaseException] = []

        def post(worker: SlackConnector, n: int) -> None:
            try:
                worker.deliver(f"t{n}", [alert(f"acme:zendesk:{n}:tier_3",
                                               f"acme:zendesk:{n}")])
            except BaseException as err:  # noqa: BLE001 - reported below
                errors.append(err)

        threads = [threading.Thread(target=post, args=(w, 9 + i)) for i, w in enumerate(workers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        event.remove(store.engine, "after_cursor_execute", both_count_before_either_posts)
    assert errors == []

    alerts_posted = [m for m in slack_api.top_level() if m["text"].startswith("Tier 3")]
    assert len(alerts_posted) == 10  # the limit, not 11
    [summary] = [m for m in slack_api.top_level() if "held by the rate limit" in m["text"]]
    assert len(slack_api.replies(summary["ts"])) == 1


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


# --- what an account manager needs in the alert ---------------------------------------


def test_the_alert_says_what_an_account_manager_needs_in_plain_words(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    slack_api.users["U0ANA"] = {"id": "U0ANA", "name": "ana",
                                "profile": {"email": "am@ourco.com"}}
    slack = make_connector(store, slack_api, clock)
    account = {**alert().payload["account"], "renewal_date": "2026-12-01"}
    slack.deliver(TICKET, [alert(
        account=account, display_zone="Europe/Berlin", sla_metric="first_response",
        threat='threatens to cancel before the renewal on 2026-12-01: "We will cancel."',
        why=["Refund demand", "Enterprise account at risk"],
        evidence=["trigger 'refund' matched \"refund\"", "health 0.35 < 0.4",
                  "sentiment -0.62"])])

    [message] = slack_api.top_level()
    assert_valid_blocks(message["blocks"])
    text = json.dumps(message["blocks"])
    # The owner as a Slack mention (Slack's users.lookupByEmail found the CRM's owner).
    assert "*Account owner*\\n<@U0ANA>" in text
    assert slack_api.calls_to("users.lookupByEmail")[0].args["email"] == "am@ourco.com"
    assert "*Renewal*\\nTue 1 Dec 2026 (in 29 days)" in text
    # Which SLA is due and when, in the workspace's zone.
    assert "*First response due*\\nMon 2 Nov 11:00 CET" in text
    assert "Dana threatens to cancel before the renewal on 2026-12-01" in text
    assert "Dana threatens to cancel" in message["text"]
    why = next(b for b in message["blocks"] if "*Why*" in json.dumps(b))
    assert why["text"]["text"] == "*Why*\n• Refund demand\n• Enterprise account at risk"
    # Model figures are evidence, not the headline.
    headline = message["blocks"][1]["text"]["text"]
    assert "-0.62" not in headline and "sentiment" not in headline
    context = [b for b in message["blocks"] if b["type"] == "context"]
    assert "Evidence: trigger &#x27;refund&#x27;" not in text
    assert context[0]["elements"][0]["text"].startswith("Evidence: trigger 'refund'")
    assert "sentiment -0.62" in context[0]["elements"][0]["text"]


def test_the_owner_mention_can_come_from_the_users_setting(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    slack = make_connector(store, slack_api, clock, users={
        "U0DANA": "42", "U0AM": {"agent": "77", "email": "AM@ourco.com"}})
    slack.deliver(TICKET, [alert()])

    assert "*Account owner*\\n<@U0AM>" in json.dumps(slack_api.top_level()[0]["blocks"])
    assert slack_api.calls_to("users.lookupByEmail") == []
    assert slack.agent_for("U0AM") == "77" and slack.agent_for("U0DANA") == "42"


def test_an_unknown_owner_is_shown_by_e_mail_and_looked_up_once_an_hour(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    slack.deliver(TICKET, [alert()])
    slack.deliver("acme:zendesk:4712", [alert("acme:zendesk:4712:tier_3", "acme:zendesk:4712")])

    for message in slack_api.top_level():
        assert "*Account owner*\\nam@ourco.com" in json.dumps(message["blocks"])
    assert len(slack_api.calls_to("users.lookupByEmail")) == 1


def test_a_promotion_alert_gets_the_link_summary_and_bug_from_the_store(
    store: Store, slack_api: FakeSlack, clock: Clock
) -> None:
    from integration import store as repo
    from integration.models import Handoff
    from integration.store.bugs import BugGroupRow, link_ticket

    with session_scope(store.factory) as s:
        ticket = make_ticket("4711")
        row = repo.upsert_ticket(s, tenant_id=1, ticket=ticket, tier=2, priority="high",
                                 category="billing", sla_due_at=None, input_fingerprint="x")
        repo.add_decision(s, tenant_id=1, ticket_id=row.id, decision=make_decision(),
                          decided_at=T0, handoff=Handoff(
                              summary="Charged twice in November.",
                              ticket_url="https://acme.zendesk.com/agent/tickets/4711"))
        link_ticket(s, tenant_id=1, tenant_slug="acme", group_key="g1", ticket_id=row.id,
                    title="Charged twice", matched_on="error", now=T0)
        group = s.scalars(select(BugGroupRow)).one()
        group.tracker_key, group.tracker_url = "PAY-12", "https://acme.atlassian.net/browse/PAY-12"
    slack = make_connector(store, slack_api, clock)
    promoted = alert(kind="sla_breach", ticket_url=None, summary=None)
    slack.deliver(TICKET, [promoted])

    [message] = slack_api.top_level()
    text = json.dumps(message["blocks"])
    assert buttons(message["blocks"])["escalade_open_ticket"]["url"] == (
        "https://acme.zendesk.com/agent/tickets/4711")
    assert "Charged twice in November." in text
    assert "*Bug*\\n<https://acme.atlassian.net/browse/PAY-12|PAY-12>" in text


def test_a_customers_new_message_is_posted_in_the_alerts_thread(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    reply = Action(kind=ActionKind.ALERT, target="slack", payload={
        "kind": "customer_reply", "dedupe_key": ESCALATION, "ticket_key": TICKET,
        "message_id": "m2", "author": "Dana", "body": "Still charged twice. We cancel Friday.",
        "at": "2026-11-02T09:30:00Z"})
    assert slack.deliver(TICKET, [reply]).detail == {"messages": ["no alert to thread under"]}
    slack.deliver(TICKET, [alert()])
    owned = {"kind": "slack_update", "dedupe_key": ESCALATION, "event": "owned",
             "user_id": "U0DANA", "agent_id": "42"}
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=owned)])
    slack.deliver(TICKET, [reply])
    slack.deliver(TICKET, [reply])  # a redelivery

    [parent] = slack_api.top_level()
    last = slack_api.replies(parent["ts"])[-1]
    assert last["text"] == (":speech_balloon: *Dana wrote again:*\n"
                            ">Still charged twice. We cancel Friday. cc <@U0DANA>")
    assert len(slack_api.replies(parent["ts"])) == 2  # the ownership note and the message
    assert "Charged twice &lt;again&gt;" in json.dumps(parent["blocks"])  # parent unchanged


def test_an_emerging_incident_has_its_own_layout_and_buttons(
    slack: SlackConnector, slack_api: FakeSlack, clock: Clock
) -> None:
    incident: dict[str, Any] = {
        "kind": "emerging_incident", "dedupe_key": "acme:bug:esc-1:incident",
        "ticket_key": TICKET, "ticket_id": "4711", "tenant": "acme",
        "title": "Checkout fails with HTTP 500 'payment provider timeout'",
        "error": "Checkout fails with error 500: payment provider timeout (#4711)",
        "reason": "14 tickets this hour against 1.2 in the same hour of past weeks",
        "count": 14, "baseline": 1.2, "tickets_total": 17,
        "accounts": [{"name": "BigCo", "arr": 180000}, {"name": "Initech", "arr": 30000}],
        "arr_affected": 210000.0, "first_seen": "2026-11-02T08:05:00Z",
        "last_seen": "2026-11-02T08:58:00Z", "display_zone": "Europe/Berlin",
        "tracker_issue": {"key": "PAY-12", "url": "https://acme.atlassian.net/browse/PAY-12"},
        "tickets": [{"id": "4711", "url": "https://acme.zendesk.com/agent/tickets/4711",
                     "account": "BigCo"}],
    }
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=incident)])

    [message] = slack_api.top_level()
    blocks = message["blocks"]
    assert_valid_blocks(blocks)
    text = json.dumps(blocks)
    assert blocks[0]["text"]["text"] == (
        ":rotating_light: Emerging incident: Checkout fails with HTTP 500 "
        "'payment provider timeout'")
    for fact in ("*Accounts hit*\\n2: BigCo, Initech", "*ARR affected*\\n$210,000",
                 "*This hour*\\n14 tickets (usually 1.2)", "*Tickets so far*\\n17",
                 "*First seen*\\nMon 2 Nov 09:05 CET", "*Last seen*\\nMon 2 Nov 09:58 CET",
                 "*Bug*\\n<https://acme.atlassian.net/browse/PAY-12|PAY-12>",
                 "payment provider timeout (#4711)"):
        assert fact in text
    found = buttons(blocks)
    # An incident has no one ticket to own: acknowledge it, open the bug, mute it.
    assert set(found) == {"escalade_acknowledge", "escalade_open_issue", "escalade_snooze"}
    assert found["escalade_open_issue"]["url"] == "https://acme.atlassian.net/browse/PAY-12"
    assert "Tier 3" not in text

    clock.now += timedelta(hours=1)  # the next hour's spike threads under it
    later = {**incident, "count": 20, "accounts": [*incident["accounts"], {"name": "Hooli"}]}
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=later)])
    assert len(slack_api.top_level()) == 1
    assert slack_api.replies(message["ts"])[-1]["text"] == (
        ":rotating_light: Still rising: 20 tickets this hour, 3 accounts hit so far.")

    # A large group's alert lists a sample of its accounts and counts them all.
    clock.now += timedelta(hours=1)
    sampled = {**later, "count": 40, "accounts_total": 212}
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=sampled)])
    assert slack_api.replies(message["ts"])[-1]["text"] == (
        ":rotating_light: Still rising: 40 tickets this hour, 212 accounts hit so far.")
    slack.deliver(TICKET.replace("4711", "4712"), [Action(
        kind=ActionKind.ALERT, target="slack",
        payload={**sampled, "dedupe_key": "acme:bug:esc-2:incident"})])
    assert "*Accounts hit*\\n212: BigCo, Initech, Hooli and 209 more" in json.dumps(
        slack_api.top_level()[-1]["blocks"])


def test_a_filed_bug_is_noted_in_the_thread_and_shown_on_the_alert(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack.deliver(TICKET, [alert()])
    linked = Action(kind=ActionKind.ALERT, target="slack", payload={
        "kind": "bug_linked", "dedupe_key": ESCALATION, "ticket_key": TICKET,
        "tracker_issue": {"key": "PAY-12", "url": "https://acme.atlassian.net/browse/PAY-12"}})
    slack.deliver(TICKET, [linked])

    [parent] = slack_api.top_level()
    assert slack_api.replies(parent["ts"])[-1]["text"] == (
        ":beetle: Filed as <https://acme.atlassian.net/browse/PAY-12|PAY-12>; "
        "the fix is tracked there.")
    assert "*Bug*\\n<https://acme.atlassian.net/browse/PAY-12|PAY-12>" in json.dumps(
        parent["blocks"])
    assert "Charged twice &lt;again&gt;" in json.dumps(parent["blocks"])


# --- effectively once -------------------------------------------------------------------


def test_a_post_whose_answer_was_lost_is_found_not_posted_again(
    slack: SlackConnector, slack_api: FakeSlack, store: Store
) -> None:
    slack_api.drop_next("chat.postMessage")  # Slack posts it, the answer never arrives
    with pytest.raises(RetriableError):
        slack.deliver(TICKET, [alert()])
    assert len(slack_api.top_level()) == 1

    result = slack.deliver(TICKET, [alert()], uncertain=True)

    [posted] = slack_api.top_level()
    assert result.external_ref == f"C0ALERTS:{posted['ts']}"
    assert len(slack_api.calls_to("chat.postMessage")) == 1
    [history] = slack_api.calls_to("conversations.history")
    assert history.args["channel"] == "C0ALERTS"
    [row] = rows(store)
    assert row.ts == posted["ts"]
    # Later follow-ups thread under the message that landed.
    slack.deliver(TICKET, [sla_alert("sla_warning")])
    assert len(slack_api.replies(posted["ts"])) == 1


def test_a_timed_out_post_is_looked_up_even_when_the_retry_does_not_say_so(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack_api.drop_next("chat.postMessage")
    with pytest.raises(RetriableError):
        slack.deliver(TICKET, [alert()])
    slack.deliver(TICKET, [alert()])  # the claim remembers its outcome is unknown

    assert len(slack_api.top_level()) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_a_worker_killed_between_the_post_and_the_commit_posts_nothing_twice(
    slack: SlackConnector, slack_api: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration.store import alerts as alert_rows

    def killed(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(alert_rows, "mark_posted", killed)
    with pytest.raises(KeyboardInterrupt):
        slack.deliver(TICKET, [alert()])
    monkeypatch.undo()
    # The outbox's lease runs out; the next worker redelivers with uncertain=True.
    slack.deliver(TICKET, [alert()], uncertain=True)

    assert len(slack_api.top_level()) == 1
    assert len(slack_api.calls_to("chat.postMessage")) == 1


def test_a_lost_answer_to_a_thread_reply_is_found_too(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack.deliver(TICKET, [alert()])
    slack_api.drop_next("chat.postMessage")
    with pytest.raises(RetriableError):
        slack.deliver(TICKET, [sla_alert("sla_warning")])
    slack.deliver(TICKET, [sla_alert("sla_warning")], uncertain=True)

    [parent] = slack_api.top_level()
    assert len(slack_api.replies(parent["ts"])) == 1
    assert slack_api.calls_to("conversations.replies")[0].args["ts"] == parent["ts"]

    # The connector remembers a lost answer even when the outbox does not say so.
    slack_api.drop_next("chat.postMessage")
    with pytest.raises(RetriableError):
        slack.deliver(TICKET, [sla_alert("sla_breach")])
    slack.deliver(TICKET, [sla_alert("sla_breach")])
    assert len(slack_api.replies(parent["ts"])) == 2


def test_the_history_is_searched_page_by_page(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack_api.page_size = 2
    for n in range(5):
        slack.deliver(f"t{n}", [alert(f"acme:zendesk:{n}:tier_3", f"acme:zendesk:{n}")])
    slack_api.drop_next("chat.postMessage")
    with pytest.raises(RetriableError):
        slack.deliver(TICKET, [alert()])
    for n in range(3):  # newer messages bury it under two pages
        slack.deliver(f"u{n}", [alert(f"acme:zendesk:9{n}:tier_3", f"acme:zendesk:9{n}")])
    slack.deliver(TICKET, [alert()], uncertain=True)

    assert len(slack_api.top_level()) == 9
    assert len(slack_api.calls_to("conversations.history")) == 2


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
    offline = SlackConnector(config=closed, clock=clock, **from_the_store(store))
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
    found = slack.test_connection()
    assert found.message == f"Slack workspace Escalade Test ({TEAM_ID}) as escalade"
    assert [c.method for c in slack_api.calls] == ["auth.test"]


def test_without_a_ledger_it_tests_its_connection_but_delivers_nothing(
    slack_api: FakeSlack, clock: Clock
) -> None:
    config = ConnectorConfig(tenant="acme", connector="slack", credentials={"bot_token": TOKEN},
                             settings={"channel": "C0ALERTS"}, base_url=slack_api.url)
    bare = SlackConnector(config=config, clock=clock)
    assert bare.test_connection().message.startswith("Slack workspace")
    with pytest.raises(FatalError, match="without an alert ledger"):
        bare.deliver(TICKET, [alert()])
    assert slack_api.calls_to("chat.postMessage") == []


def test_an_alert_for_a_removed_tenant_is_fatal_and_posts_nothing(
    slack: SlackConnector, slack_api: FakeSlack, store: Store
) -> None:
    from integration.store import remove_tenant

    with session_scope(store.factory) as s:
        remove_tenant(s, "acme")
    with pytest.raises(FatalError, match="tenant 'acme' was removed"):
        slack.deliver(TICKET, [alert()])
    assert slack_api.calls_to("chat.postMessage") == []


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
    assert "acknowledged by <@U0SAM> at Mon 2 Nov 09:00 UTC" in json.dumps(parent["blocks"])
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


def queue_assignment(store: Store, key: str, *, status: str, error: str | None = None) -> None:
    """The helpdesk assignment a "Take ownership" click queued, in the state given."""
    from integration import outbox
    from integration.store import OutboxRow

    with session_scope(store.factory) as s:
        outbox.enqueue(s, tenant_id=1, target="helpdesk", ticket_external_id="4711",
                       actions=[Action(kind=ActionKind.ASSIGN, target="helpdesk",
                                       payload={"assignee": "42"})],
                       idempotency_key=key, now=T0)
        row = s.scalars(select(OutboxRow).where(OutboxRow.idempotency_key == key)).one()
        row.status, row.last_error = status, error


def own(event_id: str, *, user: str = "U0DANA", agent: str | None = "42",
        awaits: str | None = None) -> Action:
    payload: dict[str, Any] = {"kind": "slack_update", "dedupe_key": ESCALATION,
                               "event": "owned", "user_id": user, "event_id": event_id}
    if agent:
        payload["agent_id"] = agent
    if awaits:
        payload["awaits"] = awaits
    return Action(kind=ActionKind.ALERT, target="slack", payload=payload)


def test_ownership_is_confirmed_only_once_the_helpdesk_accepted_the_assignment(
    slack: SlackConnector, slack_api: FakeSlack, store: Store
) -> None:
    slack.deliver(TICKET, [alert()])
    [parent] = slack_api.top_level()

    queue_assignment(store, "own-0", status="pending")
    with pytest.raises(RetriableError, match="waiting for the helpdesk"):
        slack.deliver(TICKET, [own("e1", awaits="own-0")])
    assert slack_api.replies(parent["ts"]) == []  # nothing claimed while it is not done

    queue_assignment(store, "own-1", status="failed",
                     error="zendesk: HTTP 422: Assignee is not a member of the group")
    slack.deliver(TICKET, [own("e2", awaits="own-1")])
    [note] = slack_api.replies(parent["ts"])
    assert note["text"] == (":warning: <@U0DANA> could not take ownership: the helpdesk "
                            "refused the assignment: zendesk: HTTP 422: Assignee is not a "
                            "member of the group")
    shown = json.dumps(parent["blocks"])
    assert "owned by" not in shown and "took ownership" not in shown
    assert "could not take ownership: the helpdesk refused" in shown
    assert "escalade_take_ownership" in shown  # someone can try again
    [row] = rows(store)
    assert row.state["ownership_attempts"] == 1  # the next click gets a fresh assignment

    queue_assignment(store, "own-2", status="delivered")
    slack.deliver(TICKET, [own("e3", awaits="own-2")])
    assert slack_api.replies(parent["ts"])[-1]["text"] == (
        ":bust_in_silhouette: <@U0DANA> took ownership; the ticket is assigned to agent 42 "
        "in the helpdesk.")
    shown = json.dumps(parent["blocks"])
    assert "owned by <@U0DANA> (assigned to agent 42 in the helpdesk)" in shown
    assert "could not take ownership" not in shown


def test_a_repeated_click_changes_nothing_and_says_who_already_owns_it(
    slack: SlackConnector, slack_api: FakeSlack
) -> None:
    slack_api.users.update({"U0SAM": {"id": "U0SAM"}, "U0DANA": {"id": "U0DANA"}})
    slack.deliver(TICKET, [alert()])
    slack.deliver(TICKET, [own("e1")])
    [parent] = slack_api.top_level()
    updates = len(slack_api.calls_to("chat.update"))

    slack.deliver(TICKET, [own("e2", user="U0SAM", agent="77")])  # later, someone else
    slack.deliver(TICKET, [own("e3")])  # later, the owner again
    ack = {"kind": "slack_update", "dedupe_key": ESCALATION, "event": "acknowledged",
           "user_id": "U0DANA", "event_id": "e4"}
    slack.deliver(TICKET, [Action(kind=ActionKind.ALERT, target="slack", payload=ack)])

    assert len(slack_api.replies(parent["ts"])) == 1  # one "took ownership" note
    assert len(slack_api.calls_to("chat.update")) == updates  # the message is unchanged
    told = [(c.args["user"], c.args["text"]) for c in slack_api.calls_to("chat.postEphemeral")]
    assert told == [
        ("U0SAM", "<@U0DANA> already owns this escalation; the ticket is assigned to agent 42."),
        ("U0DANA", "You already own this escalation."),
        ("U0DANA", "You already acknowledged this."),
    ]
    # A redelivery of a repeated click tells nobody twice.
    slack.deliver(TICKET, [own("e2", user="U0SAM", agent="77")])
    assert len(slack_api.calls_to("chat.postEphemeral")) == 3


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
    assert "snoozed until Mon 2 Nov 10:05 UTC by <@U0SAM>" in json.dumps(parent["blocks"])


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
        ":zzz: snoozed until Mon 2 Nov 10:05 UTC by <@U123>",
    ]
    assert len(status_lines(state, now=T0 + timedelta(hours=2))) == 1  # the snooze ran out
    failed = AlertEvent(kind="owned", user_id="U9", at=T0, error="agent 7 is away")
    after = apply_event(state, failed)
    assert {k: after[k] for k in state} == state  # a failed ownership changes no owner
    assert after["failed"]["error"] == "agent 7 is away" and after["ownership_attempts"] == 1
    assert event_note(failed) == ":warning: <@U9> could not take ownership: agent 7 is away"


def test_a_minimal_payload_renders_valid_blocks() -> None:
    blocks = alert_blocks({"dedupe_key": "x:1:tier_3"}, now=T0)
    assert_valid_blocks(blocks)
    assert set(buttons(blocks)) == TICKET_BUTTONS
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
