"""The weekly Slack digest: its content on a known store, sent once per week per workspace
through the outbox (to the local fake Slack), skipped without a channel or tickets, and the
``escalade digest`` command."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from integration import store
from integration.analytics.digest import (
    DigestPolicy,
    due_week,
    new_triggers,
    parse_week,
    policy_from_settings,
    week_label,
)
from integration.analytics.facts import Fact, deltas
from integration.digest import read_digest, send_digests
from integration.errors import ValidationError
from integration.models import Ticket
from integration.store.backfill import import_ticket
from integration.store.bugs import link_ticket
from integration.store.dashboard import write_rollups
from integration.store.digests import WeeklyDigestRow
from integration.store.outbox import list_outbox
from integration.web import create_app
from scheduler import DIGEST_JOB
from tests.conftest import SANDBOX_SECRET, make_ticket
from tests.connectors.slack_server import TEAM_ID, FakeSlack, running_slack_api
from tests.connectors.slack_server import TOKEN as SLACK_TOKEN
from tests.connectors.test_slack import assert_valid_blocks
from tests.work import drain, run_job

BERLIN = ZoneInfo("Europe/Berlin")
W49 = date(2026, 11, 30)  # Monday of 2026-W49
# Monday 7 December, 09:30 in Berlin: the digest of W49 is due from 09:00.
NOW = datetime(2026, 12, 7, 8, 30, tzinfo=UTC)
BASE = "https://escalade.example"


# --- pure parts -------------------------------------------------------------------------------


def test_the_policy_names_each_bad_field() -> None:
    assert policy_from_settings({}) is None
    assert policy_from_settings({"digest": {"channel": "C0DIGEST"}}) == DigestPolicy(
        channel="C0DIGEST", weekday=0, hour=9)
    assert policy_from_settings({"digest": {"channel": "C0D", "day": "Friday", "hour": 16}}
                                ) == DigestPolicy(channel="C0D", weekday=4, hour=16)
    for value, field in (({"channel": "#support"}, "digest.channel"),
                         ({"channel": "C0D", "day": "someday"}, "digest.day"),
                         ({"channel": "C0D", "hour": 24}, "digest.hour"),
                         ({"channel": "C0D", "when": 1}, "digest.when"),
                         ("C0D", "digest")):
        with pytest.raises(ValidationError) as err:
            policy_from_settings({"digest": value})
        assert err.value.field == field


def test_the_week_due_is_the_last_one_from_its_day_and_hour_in_local_time() -> None:
    policy = DigestPolicy(channel="C0D", weekday=0, hour=9)
    assert due_week(datetime(2026, 12, 7, 8, 59, tzinfo=BERLIN), policy) is None
    assert due_week(datetime(2026, 12, 7, 9, 0, tzinfo=BERLIN), policy) == W49
    assert due_week(datetime(2026, 12, 13, 23, 59, tzinfo=BERLIN), policy) == W49
    friday = DigestPolicy(channel="C0D", weekday=4, hour=16)
    assert due_week(datetime(2026, 12, 10, 18, tzinfo=BERLIN), friday) is None
    assert due_week(datetime(2026, 12, 11, 16, tzinfo=BERLIN), friday) == W49
    assert week_label(W49) == "2026-W49" and parse_week("2026-W49") == W49
    assert week_label(date(2026, 12, 28)) == "2026-W53"
    for bad in ("2026-49", "2026-W54", "W49"):
        with pytest.raises(ValidationError, match="expected an ISO week"):
            parse_week(bad)


def test_new_triggers_are_those_above_their_usual_week() -> None:
    found = new_triggers({"refund": 3, "legal": 2, "outage": 1, "churn": 2, "blocker": 9,
                          "bug": 12, "gdpr": 1},
                         {"refund": 4, "outage": 8, "churn": 8, "blocker": 31, "bug": 32})
    # bug rose by half (12 where 8 is usual); blocker only wobbled (9 where 7.75 is usual);
    # one ticket (gdpr) is not news.
    assert [(t.name, t.tickets, t.usual) for t in found] == [
        ("bug", 12, 8.0), ("refund", 3, 1.0), ("legal", 2, 0.0)]


# --- a known store ----------------------------------------------------------------------------


def _fact(n: int, day: date, *, tier: int = 1, triggers: tuple[str, ...] = (),
          sla: str = "") -> Fact:
    return Fact(ticket_id=n, tenant_id=1, day=day, hour=10, tier=tier, helpdesk="sandbox",
                plan="", arr_band="", channel="email", category="billing", group="", area="",
                age="", triggers=triggers, escalated_s=None, first_s=None, resolved_s=None,
                sla=sla, csat=None)


def _known_facts() -> list[Fact]:
    """W49: 10 tickets (5/3/2 per tier; 6 met, 2 breached; refund ×3, legal ×2, outage ×1).
    W48: 8 Tier 1 tickets (4 met; refund ×1, outage ×2). W45–W47: refund ×1, outage ×2 each."""
    facts: list[Fact] = []
    for i in range(10):
        triggers = ("refund",) if i < 3 else ("legal",) if i < 5 else ("outage",) if i == 5 else ()
        facts.append(_fact(len(facts) + 1, W49 + timedelta(days=i % 7),
                           tier=1 if i < 5 else 2 if i < 8 else 3, triggers=triggers,
                           sla="met" if i < 6 else "breached" if i < 8 else ""))
    w48 = W49 - timedelta(weeks=1)
    for i in range(8):
        triggers = ("refund",) if i == 0 else ("outage",) if i in (1, 2) else ()
        facts.append(_fact(len(facts) + 1, w48 + timedelta(days=i % 7), triggers=triggers,
                           sla="met" if i < 4 else ""))
    for weeks in (2, 3, 4):
        monday = W49 - timedelta(weeks=weeks)
        for triggers in (("refund",), ("outage",), ("outage",)):
            facts.append(_fact(len(facts) + 1, monday + timedelta(days=2), triggers=triggers))
    return facts


def _seed(runtime: Any, facts: list[Fact]) -> None:
    change: dict[Any, list[float]] = {}
    for fact in facts:
        for key, values in deltas(None, fact).items():
            row = change.setdefault(key, [0.0] * len(values))
            for i, value in enumerate(values):
                row[i] += value
    with store.session_scope(runtime.sessions) as s:
        write_rollups(s, {k: tuple(v) for k, v in change.items()})


def _ticket(s: Any, external_id: str, at: datetime) -> int:
    iso = at.isoformat().replace("+00:00", "Z")
    import_ticket(s, tenant_id=1, ticket=Ticket.from_dict(make_ticket(
        id=external_id, created_at=iso, updated_at=iso,
        messages=[{"id": "m1", "author": "customer", "public": True, "body": "Export fails",
                   "created_at": iso}])))
    row = store.get_ticket(s, 1, "sandbox", external_id)
    assert row is not None
    return row.id


def _incidents(runtime: Any) -> None:
    """An open group with 3 tickets in W49 (spiking), a resolved one, and an old one."""
    in_week = datetime(2026, 12, 2, 10, tzinfo=UTC)
    with store.session_scope(runtime.sessions) as s:
        for n, (key, title, at) in enumerate([
            ("export", "Export fails with 500", in_week), ("export", "", in_week),
            ("export", "", in_week), ("login", "Login loop", in_week),
            ("old", "Old thing", in_week - timedelta(weeks=3)),
        ]):
            group = link_ticket(s, tenant_id=1, tenant_slug="demo", group_key=key,
                                ticket_id=_ticket(s, f"b{n}", at), title=title or "x",
                                matched_on="export", now=at)
            if key == "export":
                group.tracker_key, group.tracker_url = "PAY-7", (
                    "https://acme.atlassian.net/browse/PAY-7")
                group.spike_hour = in_week
            elif key == "login":
                group.status = "resolved"


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with running_slack_api() as fake:
        fake.channels.add("C0DIGEST")
        fake.epoch = int(NOW.timestamp())
        yield fake


def _app(app_config: dict[str, Any], settings: dict[str, Any], *, slug: str = "demo") -> Any:
    store.upgrade(app_config["DATABASE_URL"])
    app = create_app({**app_config, "PUBLIC_URL": BASE})
    runtime = app.extensions["escalade"]
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=slug, name=slug.title(), helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": SANDBOX_SECRET,
                                  "slack.bot_token": SLACK_TOKEN},
                         settings=settings, cipher=runtime.cipher)
    return app


def _slack(fake: FakeSlack) -> dict[str, Any]:
    return {"channel": "C0ALERTS", "team_id": TEAM_ID, "base_url": fake.url}


@pytest.fixture
def wired(app_config: dict[str, Any], slack_api: FakeSlack) -> Iterator[Any]:
    app = _app(app_config, {"connectors": ["slack"], "slack": _slack(slack_api),
                            "digest": {"channel": "C0DIGEST"}})
    yield app
    app.extensions["escalade"].engine.dispose()


def _digests(fake: FakeSlack) -> list[dict[str, Any]]:
    return [m for (channel, _), m in fake.messages.items() if channel == "C0DIGEST"]


def test_the_digest_tells_the_week_with_links_behind_each_figure(wired: Any) -> None:
    runtime = wired.extensions["escalade"]
    _seed(runtime, _known_facts())
    _incidents(runtime)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        digest = read_digest(runtime, s, tenant, W49, now=NOW)
    assert (digest.label, digest.tickets, digest.previous.total.tickets) == ("2026-W49", 10, 8)
    assert {t: digest.week.tiers[t].tickets for t in (1, 2, 3)} == {1: 5, 2: 3, 3: 2}
    assert digest.week.total.attainment == 0.75 and digest.previous.total.attainment == 1.0
    assert [(t.name, t.tickets, t.usual) for t in digest.triggers] == [
        ("refund", 3, 1.0), ("legal", 2, 0.0)]
    assert [(i.title, i.tickets, i.spiked, i.tracker_key) for i in digest.incidents] == [
        ("Export fails with 500", 3, True, "PAY-7")]
    assert digest.accounts == []

    from adapters.connectors.slack.blocks import alert_blocks, alert_text
    from integration.analytics.digest import digest_payload

    payload = digest_payload(digest, channel="C0DIGEST")
    blocks = alert_blocks(payload, now=NOW)
    assert_valid_blocks(blocks)
    text = json.dumps(blocks, ensure_ascii=False)
    span = "workspace=demo&from=2026-11-30&to=2026-12-06"
    assert "Weekly digest · demo · 2026-W49" in text
    assert f"<{BASE}/?{span}|10>" in text and "+25% on the week before (8)" in text
    assert f"<{BASE}/?{span}&tier=3|Tier 3> 20% (2)" in text
    assert "75%: 6 met" in text and f"<{BASE}/?{span}&sla=breached|2 breached>" in text
    assert "the week before 100%" in text
    assert f"<{BASE}/?{span}&trigger=refund|refund>: 3 tickets (usually 1.0 a week)" in text
    assert "outage" not in text
    assert ("<https://acme.atlassian.net/browse/PAY-7|Export fails with 500 (PAY-7)>: "
            "3 tickets, spiking") in text
    assert "Login loop" not in text and "Old thing" not in text
    assert "No account is at risk." in text
    (button,) = blocks[-1]["elements"]
    assert button["url"] == f"{BASE}/admin/dashboard?{span}&period=custom"
    assert alert_text(payload) == "Weekly digest · demo · 2026-W49: 10 tickets"


def test_accounts_at_risk_are_listed_by_arr_at_risk(wired: Any) -> None:
    from tests.test_account_watch import _history, _live

    runtime = wired.extensions["escalade"]
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(wired, now, renewal=now.date() + timedelta(days=20))
    monday = now.date() - timedelta(days=now.weekday())
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        digest = read_digest(runtime, s, tenant, monday, now=now)
    (account,) = digest.accounts
    assert account.name == "BigCo" and account.arr_at_risk > 0
    assert account.url == f"{BASE}/admin/accounts/demo/c9"


# --- the job ----------------------------------------------------------------------------------


@pytest.mark.scaleout
def test_the_job_posts_the_digest_once_through_the_outbox_to_its_channel(
        wired: Any, slack_api: FakeSlack) -> None:
    runtime = wired.extensions["escalade"]
    _seed(runtime, _known_facts())
    assert run_job(runtime, DIGEST_JOB, NOW - timedelta(minutes=31)).queued == []  # 08:59 in Berlin
    run = run_job(runtime, DIGEST_JOB, NOW)
    assert run.queued == ["demo:2026-W49"] and run.errors == []
    drain(runtime, now=NOW)
    (message,) = _digests(slack_api)
    assert_valid_blocks(message["blocks"])
    assert "Weekly digest · demo · 2026-W49" in json.dumps(message["blocks"], ensure_ascii=False)
    assert message["metadata"]["event_type"] == "escalade_alert"
    # Later in the week, and again: nothing more.
    assert run_job(runtime, DIGEST_JOB, NOW + timedelta(days=3)).queued == []
    drain(runtime, now=NOW + timedelta(days=3))
    assert len(_digests(slack_api)) == 1
    assert [m for (channel, _), m in slack_api.messages.items() if channel == "C0ALERTS"] == []


def test_two_schedulers_on_one_database_send_it_once(
        wired: Any, slack_api: FakeSlack, monkeypatch: pytest.MonkeyPatch) -> None:
    runtime = wired.extensions["escalade"]
    _seed(runtime, _known_facts())
    # Both read "not sent yet" before either wrote: the conditional insert decides.
    monkeypatch.setattr("integration.digest.week_recorded", lambda *a, **k: None)
    first, second = send_digests(runtime, NOW), send_digests(runtime, NOW)
    assert (first.queued, second.queued) == (["demo:2026-W49"], [])
    drain(runtime, now=NOW)
    assert len(_digests(slack_api)) == 1
    with store.session_scope(runtime.sessions) as s:
        rows = s.scalars(select(WeeklyDigestRow)).all()
        assert [(r.week, r.status, r.tickets) for r in rows] == [("2026-W49", "queued", 10)]


@pytest.mark.scaleout
def test_a_failed_post_is_retried_until_it_lands_once(wired: Any, slack_api: FakeSlack) -> None:
    runtime = wired.extensions["escalade"]
    _seed(runtime, _known_facts())
    slack_api.fail_next("chat.postMessage", error="ratelimited", status=429,
                        headers={"Retry-After": "30"})
    assert run_job(runtime, DIGEST_JOB, NOW).queued == ["demo:2026-W49"]
    drain(runtime, now=NOW)
    assert _digests(slack_api) == []
    with store.session_scope(runtime.sessions) as s:
        (row,) = list_outbox(s, tenant_id=1)
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        retry_at, row_id = row.next_attempt_at + timedelta(seconds=1), row.id
    drain(runtime, now=retry_at)
    assert len(_digests(slack_api)) == 1
    with store.session_scope(runtime.sessions) as s:
        (row,) = [r for r in list_outbox(s, tenant_id=1) if r.id == row_id]
        assert row.status == "delivered" and row.attempts == 2


@pytest.mark.scaleout
def test_a_week_without_tickets_is_not_sent_and_the_log_says_so(
        wired: Any, slack_api: FakeSlack, caplog: pytest.LogCaptureFixture) -> None:
    runtime = wired.extensions["escalade"]
    _seed(runtime, [_fact(1, W49 - timedelta(weeks=1))])  # the week before only
    with caplog.at_level(logging.INFO, logger="integration.digest"):
        run = run_job(runtime, DIGEST_JOB, NOW)
    assert run.queued == [] and run.empty == ["demo:2026-W49"]
    assert "weekly digest of demo for 2026-W49 not sent: no tickets that week" in caplog.text
    assert run_job(runtime, DIGEST_JOB, NOW + timedelta(hours=1)).empty == []  # said once
    drain(runtime, now=NOW)
    assert _digests(slack_api) == []
    with store.session_scope(runtime.sessions) as s:
        assert list_outbox(s, tenant_id=1) == []


@pytest.mark.scaleout
def test_no_digest_without_a_channel_or_without_slack(
        app_config: dict[str, Any], slack_api: FakeSlack) -> None:
    app = _app(app_config, {"connectors": ["slack"], "slack": _slack(slack_api)})
    runtime = app.extensions["escalade"]
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="noslack", name="No Slack", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": SANDBOX_SECRET},
                         settings={"digest": {"channel": "C0DIGEST"}}, cipher=runtime.cipher)
        store.add_tenant(s, slug="broken", name="Broken", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": SANDBOX_SECRET},
                         settings={"connectors": ["slack"], "slack": _slack(slack_api),
                                   "digest": {"channel": "general"}}, cipher=runtime.cipher)
    _seed(runtime, _known_facts())
    run = run_job(runtime, DIGEST_JOB, NOW)
    assert run.queued == [] and run.errors == [
        "broken: digest.channel: a Slack channel id such as C0123ABCD, got 'general'"]
    drain(runtime, now=NOW)
    assert slack_api.messages == {}
    with store.session_scope(runtime.sessions) as s:
        assert s.scalars(select(WeeklyDigestRow)).all() == []
    app.extensions["escalade"].engine.dispose()


def test_the_scheduler_runs_the_digest_job(wired: Any) -> None:
    from scheduler import DIGEST_JOB, build_scheduler

    runtime = wired.extensions["escalade"]
    _seed(runtime, _known_facts())
    scheduler = build_scheduler(runtime, sweep_seconds=60, clock=lambda: NOW)
    run = scheduler.get_job(DIGEST_JOB).func()
    assert run.queued == ["demo:2026-W49"]


# --- escalade digest and the option -------------------------------------------------------------


def test_the_command_previews_then_sends_once(wired: Any, slack_api: FakeSlack,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.cli.root import main

    runtime = wired.extensions["escalade"]
    _seed(runtime, _known_facts())
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    preview = CliRunner().invoke(main, ["digest", "--tenant", "demo", "--dry-run"], obj=runtime)
    assert preview.exit_code == 0, preview.output
    lines = preview.output.splitlines()
    assert lines[0] == ("Weekly digest · demo · 2026-W49 (2026-11-30 to 2026-12-06, "
                        "Europe/Berlin)")
    assert "Tickets: 10 (+25% on the week before (8))" in lines
    assert "Escalation rate: Tier 1 50% (5), Tier 2 30% (3), Tier 3 20% (2)" in lines
    assert "New triggers: refund 3 (usually 1.0), legal 2 (usually 0.0)" in lines
    assert lines[-1] == "(dry run: nothing sent; it would go to <#C0DIGEST>)"
    with store.session_scope(runtime.sessions) as s:
        assert list_outbox(s, tenant_id=1) == []

    sent = CliRunner().invoke(main, ["digest", "--tenant", "demo", "--week", "2026-W49"],
                              obj=runtime)
    assert sent.exit_code == 0, sent.output
    assert "digest of 2026-W49 queued for <#C0DIGEST>" in sent.output
    drain(runtime, now=NOW)
    assert len(_digests(slack_api)) == 1
    again = CliRunner().invoke(main, ["digest", "--tenant", "demo", "--week", "2026-W49"],
                               obj=runtime)
    assert again.exit_code == 1 and "was sent to demo already" in again.output
    assert send_digests(runtime, NOW).queued == []  # the job knows it was sent

    empty = CliRunner().invoke(main, ["digest", "--tenant", "demo", "--week", "2026-W30"],
                               obj=runtime)
    assert empty.exit_code == 1 and "no tickets in 2026-W30: nothing sent" in empty.output


@pytest.mark.parametrize(("args", "line"), [
    (["--week", "2026-49"], "--week: expected an ISO week such as 2026-W49, got '2026-49'"),
    (["--week", "2026-W60"], "--week: expected an ISO week"),
    (["--tenant", "ghost"], "--tenant: no workspace named 'ghost'"),
])
def test_the_command_names_a_bad_option(wired: Any, args: list[str], line: str) -> None:
    from integration.cli.root import main

    runtime = wired.extensions["escalade"]
    full = ["digest", "--tenant", "demo", *args] if "--tenant" not in args else ["digest", *args]
    result = CliRunner().invoke(main, full, obj=runtime)
    assert result.exit_code == 2 and line in result.output


def test_the_option_is_checked_when_configured(wired: Any) -> None:
    from integration.cli.root import main

    runtime = wired.extensions["escalade"]
    bad = CliRunner().invoke(main, ["tenant", "configure", "demo", "--option",
                                    'digest={"channel": "C0D", "hour": 25}'], obj=runtime)
    assert bad.exit_code == 2 and "--option digest.hour: a whole hour from 0 to 23" in bad.output
    good = CliRunner().invoke(main, ["tenant", "configure", "demo", "--option",
                                     'digest={"channel": "C0DIGEST", "day": "fri", "hour": 16}'],
                              obj=runtime)
    assert good.exit_code == 0, good.output
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        assert tenant.settings["digest"] == {"channel": "C0DIGEST", "day": "fri", "hour": 16}
