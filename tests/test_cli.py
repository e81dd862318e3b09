"""The escalade command: triage, matrix check, tenants."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from tests.conftest import make_ticket

DEMO = Path(__file__).resolve().parents[1] / "integration" / "demo" / "tickets.jsonl"


@pytest.fixture
def cli_env(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Point the CLI at a throwaway database."""
    monkeypatch.setenv("ESCALADE_DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("ESCALADE_VAR_DIR", str(app_config["VAR_DIR"]))
    monkeypatch.setenv("ESCALADE_SECRET_KEY", app_config["SECRET_KEY"])
    return app_config


def _decisions(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.strip()]


def test_triage_on_the_demo_tickets_writes_one_decision_per_line() -> None:
    from integration.demo import demo_expected

    result = CliRunner().invoke(main, ["triage", str(DEMO)])
    assert result.exit_code == 0, result.output
    decisions = _decisions(result.stdout)
    lines = [line for line in DEMO.read_text().splitlines() if line.strip()]
    assert [d["id"] for d in decisions] == [json.loads(line)["id"] for line in lines]
    for d in decisions:
        assert set(d) >= {"id", "tier", "priority", "category", "sentiment", "triggers",
                          "reasons", "sla_due_at", "sla_state", "route", "matrix_version"}
        assert d["reasons"], f"ticket {d['id']} has no reasons"
        # The SLA clock runs from the ticket's own times: open tickets have a due time.
        assert d["sla_state"] in {"ok", "warning", "breached", "paused", "done"}
        assert (d["sla_due_at"] is None) == (d["sla_state"] in {"paused", "done"})
    expected = demo_expected()
    hits = sum(d["tier"] == expected[d["id"]]["tier"] for d in decisions)
    assert hits / len(decisions) >= 0.95, f"tier accuracy {hits}/{len(decisions)}"
    t3 = [d for d in decisions if expected[d["id"]]["tier"] == 3]
    missed = [d["id"] for d in t3 if d["tier"] != 3]
    assert not missed, f"Tier 3 missed: {missed}"


def test_triage_reads_stdin() -> None:
    line = json.dumps(make_ticket()) + "\n"
    result = CliRunner().invoke(main, ["triage"], input=line)
    assert result.exit_code == 0, result.output
    (decision,) = _decisions(result.stdout)
    assert decision["id"] == "1" and decision["tier"] == 1


def test_triage_bad_line_names_file_line_and_field_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "tickets.jsonl"
    bad = make_ticket(id="2", created_at="yesterday")
    path.write_text(json.dumps(make_ticket()) + "\n" + json.dumps(bad) + "\n{oops\n")
    result = CliRunner().invoke(main, ["triage", str(path)])
    assert result.exit_code == 2  # bad input, like a wrong option
    assert f"{path}:2: created_at:" in result.stderr
    assert f"{path}:3: line: not valid JSON" in result.stderr
    assert result.stdout == ""


def test_matrix_check_accepts_the_default_and_reports_line_of_an_error(tmp_path: Path) -> None:
    default = Path(__file__).resolve().parents[1] / "integration" / "matrix" / "default.yaml"
    ok = CliRunner().invoke(main, ["matrix", "check", str(default)])
    assert ok.exit_code == 0, ok.output
    assert "valid" in ok.stdout
    text = default.read_text()
    broken = tmp_path / "broken.yaml"
    broken.write_text(text.replace("version:", "versoin:", 1))
    bad = CliRunner().invoke(main, ["matrix", "check", str(broken)])
    assert bad.exit_code != 0
    assert f"{broken}:" in bad.stderr


def test_tenant_add_list_remove(cli_env: dict[str, Any]) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "zendesk",
                                 "--base-url", "https://acme.zendesk.com",
                                 "--email", "agent@acme.example", "--api-token", "tok-123456",
                                 "--option", "tier_field_id=360001", "--no-check"])
    assert added.exit_code == 0, added.output
    assert "/webhooks/zendesk/acme" in added.stdout
    # Zendesk creates the signing secret itself: nothing is made up and printed for it.
    assert "shown once" not in added.stdout and "Reveal secret" in added.stdout
    listed = runner.invoke(main, ["tenant", "list"])
    assert "acme\tzendesk\thttps://acme.zendesk.com" in listed.stdout
    assert "tok-123456" not in listed.stdout
    again = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "sandbox"])
    assert again.exit_code != 0 and "already exists" in again.output
    removed = runner.invoke(main, ["tenant", "remove", "acme", "--yes"])
    assert removed.exit_code == 0
    assert "no tenants" in runner.invoke(main, ["tenant", "list"]).stdout


def test_tenant_add_rejects_missing_credentials(cli_env: dict[str, Any]) -> None:
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    result = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "zendesk",
                                  "--base-url", "https://acme.zendesk.com"])
    assert result.exit_code != 0
    assert "email" in result.output


def test_tenant_calendar_must_be_one_of_the_matrix(cli_env: dict[str, Any]) -> None:
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    base = ["tenant", "add", "acme", "--helpdesk", "sandbox", "--webhook-secret", "s" * 16]
    bad = runner.invoke(main, [*base, "--option", "calendar=mars"])
    assert bad.exit_code != 0
    assert "--option calendar" in bad.output and "business_us" in bad.output
    good = runner.invoke(main, [*base, "--option", "calendar=business_us"])
    assert good.exit_code == 0, good.output


def test_secrets_are_encrypted_at_rest(cli_env: dict[str, Any]) -> None:
    import sqlite3

    if not cli_env["DATABASE_URL"].startswith("sqlite"):
        pytest.skip("reads the raw SQLite file; tests/store covers PostgreSQL")

    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "zendesk", "--base-url",
                                 "https://acme.zendesk.com", "--email", "a@acme.example",
                                 "--api-token", "very-secret-token-42", "--no-check"])
    assert added.exit_code == 0, added.output
    path = cli_env["DATABASE_URL"].removeprefix("sqlite:///")
    raw = Path(path).read_bytes()
    assert b"very-secret-token-42" not in raw
    with sqlite3.connect(path) as conn:
        dump = "\n".join(conn.iterdump())
    assert "very-secret-token-42" not in dump


def test_demo_seeds_and_is_idempotent(cli_env: dict[str, Any]) -> None:
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    first = runner.invoke(main, ["demo"])
    assert first.exit_code == 0, first.output
    assert "decided" in first.stdout
    second = runner.invoke(main, ["demo"])
    assert second.exit_code == 0
    assert " 0 new, 0 decided" in second.stdout


def test_demo_says_one_line_and_shows_its_helpdesk_connected(
    cli_env: dict[str, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from integration.runtime import Runtime
    from integration.workspaces.connection_tests import connection_statuses

    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    with caplog.at_level(logging.INFO):
        seeded = runner.invoke(main, ["demo"])
    assert seeded.exit_code == 0, seeded.output
    # 58 samples decided and delivered, but a new user reads one summary, not a line each.
    assert [r.getMessage() for r in caplog.records if r.levelno < logging.WARNING] == []
    assert seeded.stdout.count("\n") == 1
    runtime = Runtime(config=cli_env)
    try:
        with store.session_scope(runtime.sessions) as s:
            tenant = store.get_tenant(s, "demo")
            assert tenant is not None
            s.expunge(tenant)
        assert connection_statuses(runtime, tenant)["helpdesk"].state == "ok"
    finally:
        runtime.engine.dispose()


def test_demo_on_a_workspace_seeded_yesterday_seeds_it_afresh_and_says_so(
    cli_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    from integration.runtime import Runtime

    now = [datetime(2026, 12, 7, 8, 0, tzinfo=UTC)]
    monkeypatch.setattr(Runtime, "now", lambda self: now[0])
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    assert runner.invoke(main, ["demo"]).exit_code == 0
    now[0] += timedelta(hours=26)

    again = runner.invoke(main, ["demo"])

    assert again.exit_code == 0, again.output
    first_line, summary = again.stdout.splitlines()
    assert first_line == ("demo workspace: seeded 26 hours ago, so its SLA clocks had run out; "
                          "seeded it afresh with today's dates (settings kept)")
    assert " 58 new, 58 decided" in summary
    assert runner.invoke(main, ["demo"]).stdout.count("\n") == 1  # fresh: one line, no re-seed


@pytest.mark.parametrize(
    ("args", "stored", "generated"),
    [
        (["--helpdesk", "freshdesk", "--base-url", "https://acme.freshdesk.com",
          "--api-key", "fd-key-123"], {"api_key": "fd-key-123"}, True),
        (["--helpdesk", "intercom", "--access-token", "ic-tok-123", "--option", "region=eu"],
         {"access_token": "ic-tok-123"}, False),
    ],
)
def test_tenant_add_for_freshdesk_and_intercom(cli_env: dict[str, Any], args: list[str],
                                               stored: dict[str, str], generated: bool) -> None:
    from integration import store
    from integration.config import load_config
    from integration.runtime import Runtime

    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    result = runner.invoke(main, ["tenant", "add", "acme", *args, "--no-check"])
    assert result.exit_code == 0, result.output
    runtime = Runtime(config=load_config())
    try:
        with store.session_scope(runtime.sessions) as s:
            row = store.get_tenant(s, "acme")
            assert row is not None
            secrets = store.tenant_secrets(row, runtime.cipher)
        assert {k: secrets[k] for k in stored} == stored
        # Escalade makes Freshdesk's secret; Intercom's is the app's client secret.
        assert bool(secrets.get("webhook_secret")) is generated
        assert ("webhook secret (shown once): " in result.stdout) is generated
    finally:
        runtime.engine.dispose()


def test_tenant_add_names_the_missing_credential(cli_env: dict[str, Any]) -> None:
    runner = CliRunner()
    runner.invoke(main, ["db", "upgrade"])
    result = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "freshdesk",
                                  "--base-url", "https://acme.freshdesk.com"])
    assert result.exit_code != 0
    assert "--api-key" in result.output


def test_demo_in_a_real_process_prints_one_line_and_logs_nothing(tmp_path: Path) -> None:
    # The app configures logging when it is built; only a real process shows what a new user
    # sees in the terminal (the test runner's own log handlers hide it).
    import os
    import subprocess
    import sys

    env = {**os.environ, "ESCALADE_DATABASE_URL": f"sqlite:///{tmp_path}/demo.db",
           "ESCALADE_VAR_DIR": str(tmp_path / "var")}
    env.pop("ESCALADE_LOG_LEVEL", None)
    run = [sys.executable, "-m", "integration.cli"]
    subprocess.run([*run, "db", "upgrade"], env=env, capture_output=True, check=True)
    seeded = subprocess.run([*run, "demo"], env=env, capture_output=True, text=True,
                            timeout=300)
    assert seeded.returncode == 0, seeded.stderr
    assert seeded.stderr == ""
    (line,) = seeded.stdout.splitlines()
    assert line.startswith("demo workspace: 58 tickets sent")
    assert line.endswith("320 past tickets stored for the audit, 320 of them decided for the "
                         "dashboard")


def test_every_listed_command_resolves_under_its_own_name() -> None:
    import click

    from integration.cli.root import COMMANDS

    ctx = click.Context(main)
    for name in COMMANDS:
        command = main.get_command(ctx, name)
        assert command is not None and command.name == name, name
    assert main.get_command(ctx, "nosuch") is None


def test_triage_does_not_import_the_other_commands(tmp_path: Path) -> None:
    import subprocess
    import sys

    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(make_ticket()) + "\n")
    probe = (
        "import sys; from integration.cli.root import main\n"
        f"main(['triage', {str(path)!r}], standalone_mode=False)\n"
        "loaded = [m for m in ('integration.cli.server', 'integration.cli.tenant',"
        " 'integration.cli.audit', 'adapters.helpdesk.base') if m in sys.modules]\n"
        "print('LOADED', loaded, file=sys.stderr)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          cwd=Path(__file__).resolve().parents[1], check=True)
    assert "LOADED []" in done.stderr, done.stderr
    assert json.loads(done.stdout)["id"] == "1"


def test_triage_turns_the_collector_back_on_even_after_bad_input(tmp_path: Path) -> None:
    import gc

    good = tmp_path / "good.jsonl"
    good.write_text(json.dumps(make_ticket()) + "\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    assert CliRunner().invoke(main, ["triage", str(good)]).exit_code == 0
    assert gc.isenabled()
    assert CliRunner().invoke(main, ["triage", str(bad)]).exit_code != 0
    assert gc.isenabled()
    gc.unfreeze()  # the command froze what this test process had; let it be collected again
