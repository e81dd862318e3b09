"""Setting a workspace up from the command line: tests that record, groups, URLs, port."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import responses
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.config import load_config
from integration.runtime import Runtime
from integration.store.checks import connection_checks
from tests.test_cli import cli_env  # noqa: F401  (fixture)

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
ZENDESK = "https://acme.zendesk.com"
ADD_ZENDESK = ["tenant", "add", "acme", "--helpdesk", "zendesk", "--base-url", ZENDESK,
               "--email", "bot@acme.example", "--api-token", "zd-token-1"]


@pytest.fixture
def runner(cli_env: dict[str, Any], tmp_path: Path,  # noqa: F811
           monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("ESCALADE_PUBLIC_URL", raising=False)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    return runner


@pytest.fixture
def runtime(runner: CliRunner) -> Iterator[Runtime]:
    found = Runtime(config=load_config())
    yield found
    found.engine.dispose()


def _tenant(runtime: Runtime, slug: str = "acme") -> Any:
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, slug)
        if row is not None:
            s.expunge(row)
        return row


def _checks(runtime: Runtime, slug: str = "acme") -> dict[str, Any]:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        assert tenant is not None
        return {k: (r.ok, r.message) for k, r in connection_checks(s, tenant.id).items()}


def _fake_zendesk(*, me_status: int = 200) -> None:
    page1 = json.loads((FIXTURES / "zendesk/groups_page1.json").read_text())
    page2 = json.loads((FIXTURES / "zendesk/groups_page2.json").read_text())
    if me_status == 200:
        responses.get(f"{ZENDESK}/api/v2/users/me.json",
                      json={"user": {"id": 9, "name": "Escalade Bot", "role": "admin"}})
    else:
        responses.get(f"{ZENDESK}/api/v2/users/me.json", status=me_status,
                      json={"error": "Couldn't authenticate you"})
    responses.get(f"{ZENDESK}/api/v2/groups.json", json=page1,
                  match=[responses.matchers.query_param_matcher(
                      {"page[size]": "100", "exclude_deleted": "true"})])
    responses.get(f"{ZENDESK}/api/v2/groups.json", json=page2)


@responses.activate
def test_tenant_add_tests_lists_groups_and_says_which_are_unmapped(
        runner: CliRunner, runtime: Runtime) -> None:
    _fake_zendesk()
    added = runner.invoke(main, [*ADD_ZENDESK, "--option", 'group_ids={"escalations": 360003}'])
    assert added.exit_code == 0, added.output
    out = added.stdout
    assert "connection test passed: Zendesk: signed in as Escalade Bot (admin)" in out
    assert ("groups in the helpdesk: Support (360001), Support Tier 2 (360002), "
            "Escalations (360003)") in out
    assert "without a group id (their write-backs skip the assignment): support_tier_2, support" \
        in out
    # The command to finish, with the ids whose names match already filled in.
    assert ("escalade tenant configure acme --option 'group_ids={\"escalations\": 360003, "
            "\"support_tier_2\": 360002, \"support\": 360001}'") in out
    assert "Admin Center → Apps and integrations → Actions and webhooks → Webhooks" in out
    assert _checks(runtime) == {"helpdesk": (True, "Zendesk: signed in as Escalade Bot (admin)")}


@responses.activate
def test_tenant_add_stores_nothing_when_the_helpdesk_refuses(runner: CliRunner,
                                                             runtime: Runtime) -> None:
    _fake_zendesk(me_status=401)
    refused = runner.invoke(main, ADD_ZENDESK)
    assert refused.exit_code == 1
    assert "Zendesk answered 401: Couldn't authenticate you" in refused.stderr
    assert "nothing was added" in refused.stderr
    assert _tenant(runtime) is None


@responses.activate
def test_tenant_check_records_each_result_and_configure_fixes_the_mapping(
        runner: CliRunner, runtime: Runtime) -> None:
    assert runner.invoke(main, [*ADD_ZENDESK, "--no-check"]).exit_code == 0
    assert _checks(runtime) == {}
    _fake_zendesk()
    checked = runner.invoke(main, ["tenant", "check", "acme"])
    assert checked.exit_code == 0, checked.output
    assert "helpdesk: works: Zendesk: signed in as Escalade Bot" in checked.stdout
    assert "escalations, support_tier_2, support" in checked.stdout
    assert _checks(runtime)["helpdesk"][0] is True
    configured = runner.invoke(main, [
        "tenant", "configure", "acme", "--option",
        'group_ids={"escalations": 360003, "support_tier_2": 360002, "support": 999}'])
    assert configured.exit_code == 0, configured.output
    # Checked against the groups the last test listed: 999 is not one of them.
    assert "group_ids.support = 999: the helpdesk has no such group" in configured.stdout
    assert _tenant(runtime).settings["group_ids"]["support_tier_2"] == 360002
    responses.replace("GET", f"{ZENDESK}/api/v2/users/me.json", status=401,
                      json={"error": "Couldn't authenticate you"})
    failed = runner.invoke(main, ["tenant", "check", "acme", "helpdesk"])
    assert failed.exit_code == 1
    assert "helpdesk: FAILED: Zendesk answered 401: Couldn't authenticate you" in failed.stdout
    assert _checks(runtime)["helpdesk"] == (False, "Zendesk answered 401: Couldn't "
                                                   "authenticate you")


@responses.activate
def test_connect_check_records_the_result_and_a_failed_check_saves_nothing(
        runner: CliRunner, runtime: Runtime) -> None:
    assert runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "sandbox"]).exit_code == 0
    url = "https://acme.atlassian.net/rest/api/3/myself"
    responses.get(url, status=401, json={"errorMessages": ["Client must be authenticated"]})
    args = ["tenant", "connect", "acme", "jira", "--token", "jira-token", "--email",
            "bot@acme.example", "--option", "base_url=https://acme.atlassian.net",
            "--option", "project=PAY", "--check"]
    refused = runner.invoke(main, args)
    assert refused.exit_code == 1 and "nothing was saved" in refused.stderr
    assert "jira" not in (_tenant(runtime).settings or {})
    responses.replace("GET", url, json={"accountId": "5b10", "displayName": "Bot"})
    connected = runner.invoke(main, args)
    assert connected.exit_code == 0, connected.output
    assert "connection test passed: Jira https://acme.atlassian.net: connected as Bot" \
        in connected.stdout
    assert _checks(runtime)["jira"] == (True, "Jira https://acme.atlassian.net: connected as Bot")


def test_currency_option_is_validated_and_stored(runner: CliRunner, runtime: Runtime) -> None:
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "sandbox",
                                 "--option", "currency=eur"])
    assert added.exit_code == 0, added.output
    assert _tenant(runtime).settings["currency"] == "EUR"
    bad = runner.invoke(main, ["tenant", "configure", "acme", "--option", "currency=euros"])
    assert bad.exit_code == 2
    assert bad.stderr.strip() == ("Error: --option currency: 'euros' is not an ISO 4217 "
                                  "currency code (e.g. USD, EUR, GBP)")


def test_printed_webhook_urls_use_the_served_address(runner: CliRunner, runtime: Runtime,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.cli.server import _served_url, _start_lines

    assert runner.invoke(main, ["tenant", "add", "demo2", "--helpdesk", "sandbox"]).exit_code == 0
    lines = _start_lines(runtime, _served_url("127.0.0.1", 8101))
    assert lines[0].startswith("Escalade on http://127.0.0.1:8101/")
    assert "webhook URL for demo2: http://127.0.0.1:8101/webhooks/sandbox/demo2" in lines
    assert any("ESCALADE_PUBLIC_URL" in line for line in lines)
    # Other commands print the address `serve` listens on...
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "freshdesk",
                                 "--base-url", "https://acme.freshdesk.com", "--api-key", "k",
                                 "--no-check"])
    assert "webhook URL: http://127.0.0.1:8101/webhooks/freshdesk/acme" in added.stdout
    # ...unless the public address is configured.
    monkeypatch.setenv("ESCALADE_PUBLIC_URL", "https://escalade.acme.example")
    again = runner.invoke(main, ["tenant", "add", "acme3", "--helpdesk", "sandbox"])
    assert "webhook URL: https://escalade.acme.example/webhooks/sandbox/acme3" in again.stdout
    public = Runtime(config=load_config())
    try:
        assert "webhook URL for acme: https://escalade.acme.example/webhooks/freshdesk/acme" \
            in _start_lines(public, _served_url("0.0.0.0", 8101))
    finally:
        public.engine.dispose()


@pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")
def test_make_run_takes_the_port() -> None:
    done = subprocess.run(["make", "-n", "run", "PORT=8101"], cwd=ROOT, capture_output=True,
                          text=True, check=True, timeout=60)
    assert re.search(r"escalade serve --host \S+ --port 8101\b", done.stdout), done.stdout
    default = subprocess.run(["make", "-n", "run"], cwd=ROOT, capture_output=True, text=True,
                             check=True, timeout=60)
    assert "--port 8000" in default.stdout
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "make run PORT=8101" in readme
