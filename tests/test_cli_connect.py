"""``escalade tenant connect`` / ``configure``: validated before anything is stored."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.config import load_config
from integration.runtime import Runtime
from tests.connectors.slack_server import TOKEN, running_slack_api
from tests.test_cli import cli_env  # noqa: F401  (fixture)


@pytest.fixture
def runner(cli_env: dict[str, Any]) -> CliRunner:  # noqa: F811
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "sandbox",
                                 "--webhook-secret", "s" * 16])
    assert added.exit_code == 0, added.output
    return runner


def _settings() -> dict[str, Any]:
    runtime = Runtime(config=load_config())
    try:
        with store.session_scope(runtime.sessions) as s:
            row = store.get_tenant(s, "acme")
            assert row is not None
            return {"settings": dict(row.settings or {}),
                    "secrets": store.tenant_secrets(row, runtime.cipher)}
    finally:
        runtime.engine.dispose()


def test_connect_slack_checks_the_token_and_stores_it_encrypted(runner: CliRunner) -> None:
    with running_slack_api() as slack:
        result = runner.invoke(main, [
            "tenant", "connect", "acme", "slack", "--token", TOKEN, "--check",
            "--option", "channel=C0ALERTS", "--option", "team_id=T0ESCALADE",
            "--option", f"base_url={slack.url}", "--option", 'users={"U0DANA": "42"}'])
        assert result.exit_code == 0, result.output
        assert "slack connected for 'acme'" in result.output
        assert slack.calls_to("auth.test")
    stored = _settings()
    assert stored["settings"]["connectors"] == ["slack"]
    assert stored["settings"]["slack"]["users"] == {"U0DANA": "42"}
    assert stored["secrets"]["slack.bot_token"] == TOKEN


def test_a_bad_connector_setting_stores_nothing(runner: CliRunner) -> None:
    result = runner.invoke(main, ["tenant", "connect", "acme", "slack", "--token", TOKEN,
                                  "--option", "channel=#escalations"])
    assert result.exit_code != 0
    assert "channel" in result.output
    assert "connectors" not in _settings()["settings"]


def test_configure_validates_routing_and_activity(runner: CliRunner, tmp_path: Path) -> None:
    bad: dict[str, Any] = {"groups": [{"id": "escalations", "skills": ["billing"]}],
           "agents": [{"id": "a1", "groups": ["escalations"], "max_open": 0}]}
    result = runner.invoke(main, ["tenant", "configure", "acme",
                                  "--option", f"routing={json.dumps(bad)}"])
    assert result.exit_code != 0 and "agents[0].max_open" in result.output
    usage = tmp_path / "usage.csv"
    usage.write_text("account_id,domain,logins_30d,logins_prev_30d,mrr\n"
                     "c1,acme.example,3,20,abc\n", encoding="utf-8")
    result = runner.invoke(main, ["tenant", "configure", "acme", "--option",
                                  f'activity={{"kind": "csv", "path": "{usage}"}}'])
    assert result.exit_code != 0 and "usage.csv:2: mrr" in result.output
    usage.write_text("account_id,domain,logins_30d,logins_prev_30d,mrr\n"
                     "c1,acme.example,3,20,1200\n", encoding="utf-8")
    routing = tmp_path / "routing.json"
    routing.write_text(json.dumps({**bad, "agents": [{**bad["agents"][0], "max_open": 5}]}))
    result = runner.invoke(main, [
        "tenant", "configure", "acme", "--option", f"routing=@{routing}",
        "--option", f'activity={{"kind": "csv", "path": "{usage}"}}',
        "--option", "calendar=business_us"])
    assert result.exit_code == 0, result.output
    settings = _settings()["settings"]
    assert settings["routing"]["agents"][0]["max_open"] == 5
    assert settings["calendar"] == "business_us"


def test_connect_jira_stores_email_token_and_webhook_secret(runner: CliRunner) -> None:
    result = runner.invoke(main, [
        "tenant", "connect", "acme", "jira", "--token", "tok-123", "--email", "bot@acme.example",
        "--webhook-secret", "whsec-0123456789abcdef", "--option", "project=PAY",
        "--option", "base_url=https://acme.atlassian.net"])
    assert result.exit_code == 0, result.output
    stored = _settings()
    assert stored["settings"]["jira"] == {"project": "PAY",
                                          "base_url": "https://acme.atlassian.net"}
    assert stored["secrets"]["jira.email"] == "bot@acme.example"
    assert stored["secrets"]["jira.webhook_secret"] == "whsec-0123456789abcdef"
    missing = runner.invoke(main, ["tenant", "connect", "acme", "linear", "--token", "lin_x"])
    assert missing.exit_code != 0 and "team_id" in missing.output
