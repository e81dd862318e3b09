"""At-risk accounts end to end: tickets through the pipeline, the scoring job, ONE Slack alert
to the account's owner through the outbox (the local fake Slack), not again until the account
fell below its threshold and crossed it again."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from integration import store
from integration.account_risk import RiskPolicy
from integration.account_watch import watch_accounts, workspace_scores
from integration.models import Ticket
from integration.store.accounts import cross_threshold, risk_states
from integration.store.backfill import import_ticket
from integration.store.outbox import list_outbox
from integration.web import create_app
from scheduler import RISK_JOB
from tests.conftest import SANDBOX_SECRET, make_ticket, post_sandbox, sandbox_body
from tests.connectors.slack_server import TEAM_ID, FakeSlack, running_slack_api
from tests.connectors.slack_server import TOKEN as SLACK_TOKEN
from tests.work import drain, run_job

OWNER = "am@ourco.example"
ACCOUNT = {"id": "c9", "name": "BigCo", "domain": "bigco.example", "plan": "enterprise",
           "arr": 200000, "health": 0.4, "owner": OWNER}
ANGRY = ("This is the third time the export fails and nobody answers. We are evaluating other "
         "vendors and will cancel our contract if this is not fixed this week. Terrible.")


@pytest.fixture
def slack_api() -> Iterator[FakeSlack]:
    with running_slack_api() as fake:
        fake.users["U0OWNER"] = {"id": "U0OWNER", "name": "am",
                                 "profile": {"email": OWNER, "real_name": "Alex Morgan"}}
        yield fake


def _app(app_config: dict[str, Any], settings: dict[str, Any]) -> Any:
    store.upgrade(app_config["DATABASE_URL"])
    app = create_app({**app_config, "PUBLIC_URL": "https://escalade.example"})
    runtime = app.extensions["escalade"]
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="demo", name="Demo", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": SANDBOX_SECRET,
                                  "slack.bot_token": SLACK_TOKEN},
                         settings=settings, cipher=runtime.cipher)
    return app


@pytest.fixture
def wired(app_config: dict[str, Any], slack_api: FakeSlack) -> Iterator[Any]:
    app = _app(app_config, {
        "connectors": ["slack"],
        "slack": {"channel": "C0ALERTS", "team_id": TEAM_ID, "base_url": slack_api.url}})
    yield app
    app.extensions["escalade"].engine.dispose()


def _iso(at: datetime) -> str:
    return at.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _history(runtime: Any, now: datetime) -> None:
    """Three solved tickets of BigCo 50 to 100 days ago, as a history import stores them."""
    with store.session_scope(runtime.sessions) as s:
        for n, days in enumerate((50, 75, 100)):
            at = _iso(now - timedelta(days=days))
            ticket = make_ticket(id=f"h{n}", status="solved", created_at=at, updated_at=at,
                                 account=ACCOUNT,
                                 messages=[{"id": "m1", "author": "customer", "public": True,
                                            "body": "How do I export?", "created_at": at}])
            import_ticket(s, tenant_id=1, ticket=Ticket.from_dict(ticket))


def _live(app: Any, now: datetime, renewal: date) -> None:
    """Four angry tickets of the last days through the pipeline: Tier 3, open."""
    client = app.test_client()
    for n in range(4):
        at = _iso(now - timedelta(days=n + 1))
        ticket = make_ticket(id=f"90{n}", subject=f"Export broken again ({n})", created_at=at,
                             updated_at=at,
                             account={**ACCOUNT, "renewal_date": renewal.isoformat()},
                             messages=[{"id": "m1", "author": "customer", "public": True,
                                        "body": ANGRY, "created_at": at}])
        body = sandbox_body(ticket, delivery_id=f"risk-{n}")
        assert post_sandbox(client, body).status_code == 202
    drain(app.extensions["escalade"])


def _risk_alerts(slack_api: FakeSlack) -> list[dict[str, Any]]:
    return [m for m in slack_api.top_level() if "Account at risk" in json.dumps(m["blocks"])]


def _set_threshold(runtime: Any, value: float) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        tenant.settings = {**tenant.settings, "account_risk": {"threshold": value}}


@pytest.mark.scaleout
def test_the_owner_gets_one_alert_with_reasons_and_evidence_links(
    wired: Any, slack_api: FakeSlack
) -> None:
    runtime = wired.extensions["escalade"]
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(wired, now, renewal=now.date() + timedelta(days=20))
    slack_api.calls.clear()

    report = run_job(runtime, RISK_JOB, now)
    assert report.accounts == 1 and report.above == 1 and report.alerted == 1
    drain(runtime)
    (alert,) = _risk_alerts(slack_api)
    text = json.dumps(alert["blocks"], ensure_ascii=False)
    assert "Account at risk · BigCo" in text
    # The owner the CRM names, mentioned as their Slack user.
    assert "<@U0OWNER>" in text
    assert "Tier 3 tickets open" in text and "Renews in 20 days" in text
    assert "4 tickets in the last 30 days" in text
    page = "https://escalade.example/admin/accounts/demo/c9"
    for factor in ("tier3", "renewal", "contacts", "sentiment"):
        assert f"<{page}#evidence-{factor}|evidence>" in text
    # What could not be known is said.
    assert "No product activity data" in text

    # Scoring again, still above: nothing new.
    again = run_job(runtime, RISK_JOB, datetime.now(UTC))
    drain(runtime)
    assert again.above == 1 and again.alerted == 0
    assert len(_risk_alerts(slack_api)) == 1

    # It falls below (the workspace raised its threshold), then crosses again: one more.
    _set_threshold(runtime, 0.99)
    assert run_job(runtime, RISK_JOB, datetime.now(UTC)).above == 0
    drain(runtime)
    assert len(_risk_alerts(slack_api)) == 1
    _set_threshold(runtime, 0.3)
    assert run_job(runtime, RISK_JOB, datetime.now(UTC)).alerted == 1
    drain(runtime)
    assert len(_risk_alerts(slack_api)) == 2
    with store.session_scope(runtime.sessions) as s:
        (state,) = risk_states(s, tenant_id=1).values()
        assert state.crossings == 2 and state.above


@pytest.mark.scaleout
def test_a_failed_post_is_retried_until_it_lands_once(wired: Any, slack_api: FakeSlack) -> None:
    runtime = wired.extensions["escalade"]
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(wired, now, renewal=now.date() + timedelta(days=20))
    slack_api.fail_next("chat.postMessage", error="ratelimited", status=429)
    assert run_job(runtime, RISK_JOB, now).alerted == 1
    drain(runtime)
    with store.session_scope(runtime.sessions) as s:
        rows = [r for r in list_outbox(s, tenant_id=1)
                if r.target == "slack" and r.actions[0]["payload"].get("kind")
                == "account_at_risk"]
        (row,) = rows
        assert row.status == "pending" and row.attempts == 1 and row.last_error
        retry_at, row_id = row.next_attempt_at + timedelta(seconds=1), row.id
    assert _risk_alerts(slack_api) == []
    drain(runtime, now=retry_at)
    assert len(_risk_alerts(slack_api)) == 1
    with store.session_scope(runtime.sessions) as s:
        (row,) = [r for r in list_outbox(s, tenant_id=1) if r.id == row_id]
        assert row.status == "delivered" and row.attempts == 2


def test_two_schedulers_scoring_at_once_queue_one_alert(wired: Any) -> None:
    runtime = wired.extensions["escalade"]
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(wired, now, renewal=now.date() + timedelta(days=20))
    with store.session_scope(runtime.sessions) as s:
        (result,) = workspace_scores(s, tenant_id=1, now=now, policy=RiskPolicy())
    # Both read "never scored"; the second insert finds the first one's row.
    with store.session_scope(runtime.sessions) as s:
        first = cross_threshold(s, tenant_id=1, account_key="account:c9", score=result.score,
                                above=True, alert=True, known=None, now=now)
    with store.session_scope(runtime.sessions) as s:
        second = cross_threshold(s, tenant_id=1, account_key="account:c9", score=result.score,
                                 above=True, alert=True, known=None, now=now)
    assert (first, second) == (1, None)
    with store.session_scope(runtime.sessions) as s:
        stale = risk_states(s, tenant_id=1)["account:c9"]
        s.expunge(stale)
    with store.session_scope(runtime.sessions) as s:
        assert cross_threshold(s, tenant_id=1, account_key="account:c9", score=0.1, above=False,
                               alert=False, known=stale, now=now) is None
    with store.session_scope(runtime.sessions) as s:
        # The other scheduler read the same (now stale) state: its crossing is refused.
        assert cross_threshold(s, tenant_id=1, account_key="account:c9", score=0.9, above=True,
                               alert=True, known=stale, now=now) is None


@pytest.mark.scaleout
def test_without_slack_the_crossing_is_recorded_and_nothing_queued(
    app_config: dict[str, Any]
) -> None:
    app = _app(app_config, {})
    runtime = app.extensions["escalade"]
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(app, now, renewal=now.date() + timedelta(days=20))
    report = run_job(runtime, RISK_JOB, now)
    assert report.above == 1 and report.alerted == 0
    with store.session_scope(runtime.sessions) as s:
        assert risk_states(s, tenant_id=1)["account:c9"].crossings == 1
        assert [r for r in list_outbox(s, tenant_id=1) if r.target == "slack"] == []
    runtime.engine.dispose()


def test_a_bad_threshold_is_reported_naming_the_field(app_config: dict[str, Any]) -> None:
    app = _app(app_config, {"account_risk": {"threshold": "high"}})
    runtime = app.extensions["escalade"]
    report = watch_accounts(runtime, datetime.now(UTC))
    assert report.accounts == 0
    (error,) = report.errors
    assert error.startswith("demo: ") and "account_risk.threshold" in error
    runtime.engine.dispose()


def test_the_demo_has_accounts_at_risk_with_their_reasons(runtime: Any) -> None:
    from integration.demo.seed import seed_demo

    seed_demo(runtime)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        scores = workspace_scores(s, tenant_id=tenant.id, now=runtime.now(), policy=RiskPolicy())
    at_risk = [r for r in scores if r.above]
    assert at_risk[0].account.name == "Halcyon Health Systems"
    assert {r.account.name for r in at_risk} >= {"Halcyon Health Systems", "Kestrel Robotics"}
    factors = {r.factor.value for r in at_risk[0].reasons}
    assert factors == {"contacts", "tier3", "sentiment", "renewal"}
    # The demo has no product-activity source: said, not guessed.
    assert any("No product activity data" in m for m in at_risk[0].missing)
    report = watch_accounts(runtime, runtime.now())
    # No Slack in the demo: the crossings are recorded, nothing is queued.
    assert report.above == len(at_risk) and report.alerted == 0


def test_the_scheduler_scores_accounts_on_its_own_clock(wired: Any, slack_api: FakeSlack) -> None:
    from scheduler import RISK_JOB, build_scheduler

    runtime = wired.extensions["escalade"]
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(wired, now, renewal=now.date() + timedelta(days=20))
    scheduler = build_scheduler(runtime, sweep_seconds=5, app=wired, clock=lambda: now)
    job = scheduler.get_job(RISK_JOB)
    assert job is not None and job.trigger.interval == timedelta(minutes=10)
    report = job.func()
    assert report.alerted == 1 and job.func().alerted == 0
    drain(runtime)
    assert len(_risk_alerts(slack_api)) == 1


@pytest.mark.scaleout
def test_an_account_gone_quiet_is_below_and_alerts_again_when_it_returns(wired: Any) -> None:
    runtime = wired.extensions["escalade"]
    then = datetime.now(UTC) - timedelta(days=200)
    with store.session_scope(runtime.sessions) as s:
        # At risk half a year ago, alerted then; no ticket since.
        cross_threshold(s, tenant_id=1, account_key="account:c9", score=0.8, above=True,
                        alert=True, known=None, now=then)
    assert run_job(runtime, RISK_JOB, datetime.now(UTC)).accounts == 0
    with store.session_scope(runtime.sessions) as s:
        state = risk_states(s, tenant_id=1)["account:c9"]
        assert not state.above and state.score == 0.0 and state.crossings == 1
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(wired, now, renewal=now.date() + timedelta(days=20))
    assert run_job(runtime, RISK_JOB, datetime.now(UTC)).alerted == 1
