"""Every ``escalade`` command given bad input: one line naming what is wrong, no traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import click
import pytest
from click.testing import CliRunner

from integration.cli.root import main
from tests.test_cli import cli_env  # noqa: F401  (fixture)

SECRET = "s" * 24
# (command path, arguments, extra environment, what the one error line must say)
CASES: list[tuple[str, list[str], dict[str, str], str]] = [
    ("db upgrade", [], {"ESCALADE_DATABASE_URL": "nope://x"}, "ESCALADE_DATABASE_URL"),
    ("serve", ["--port", "99999"], {}, "'--port'"),
    ("serve", ["--host", "not a host!", "--port", "8101"], {}, "--host not a host!"),
    ("work", [], {"ESCALADE_POLL_SECONDS": "often"}, "ESCALADE_POLL_SECONDS"),
    ("demo", [], {"ESCALADE_WORKERS": "many"}, "ESCALADE_WORKERS"),
    ("backfill", ["--tenant", "acme", "--days", "-3"], {}, "'--days'"),
    ("backfill", ["--tenant", "nobody"], {}, "nobody"),
    ("triage", ["missing.jsonl"], {}, "missing.jsonl"),
    ("eval", ["missing.jsonl"], {}, "'FILE'"),
    ("answer", ["--kb", "missing-kb.jsonl"], {}, "'--kb'"),
    ("matrix check", ["missing.yaml"], {}, "missing.yaml"),
    ("tenant add", ["acme2", "--helpdesk", "zendesk"], {}, "--base-url"),
    ("tenant add", ["acme2", "--helpdesk", "zendesk", "--base-url", "acme.zendesk.com"], {},
     "--base-url"),
    ("tenant add", ["acme2", "--helpdesk", "zendesk", "--base-url", "https://a.zendesk.com",
                    "--email", "bot", "--api-token", "t"], {}, "--email"),
    ("tenant add", ["acme2", "--helpdesk", "freshdesk", "--base-url", "https://a.freshdesk.com",
                    "--api-key", "k", "--option", "currency=dollars"], {}, "--option currency"),
    ("tenant add", ["acme2", "--helpdesk", "sandbox", "--option", "routing={oops"], {},
     "--option routing"),
    ("tenant add", ["acme2", "--helpdesk", "sandbox", "--option", "calender=business_us"], {},
     "--option calender"),
    ("tenant add", ["acme2", "--helpdesk", "sandbox", "--webhook-secret", "short"], {},
     "--webhook-secret"),
    ("tenant add", ["Bad Slug", "--helpdesk", "sandbox"], {}, "SLUG"),
    ("tenant add", ["acme2", "--helpdesk", "helpscout"], {}, "'--helpdesk'"),
    ("tenant list", [], {"ESCALADE_DATABASE_URL": "sqlite:///{tmp}/empty.db"},
     "escalade db upgrade"),
    ("tenant remove", ["nobody", "--yes"], {}, "nobody"),
    ("tenant connect", ["acme", "slack", "--token", "xoxb-1", "--option", "channel=#alerts"], {},
     "--option channel"),
    ("tenant connect", ["acme", "jira", "--token", "t", "--email", "bot@acme.example",
                        "--option", "project=PAY"], {}, "--option base_url"),
    ("tenant connect", ["acme", "jira", "--token", "t", "--email", "bot",
                        "--option", "project=PAY", "--option", "base_url=https://a.atlassian.net"],
     {}, "--email"),
    ("tenant connect", ["acme", "linear", "--token", "lin_api_x"], {}, "--option team_id"),
    ("tenant connect", ["nobody", "crm", "--token", "pat-1"], {}, "nobody"),
    ("tenant configure", ["acme", "--option",
                          'activity={"kind": "csv", "path": "missing-usage.csv"}'], {},
     "--option activity"),
    ("tenant configure", ["acme", "--option", "calendar=mars"], {}, "--option calendar"),
    ("tenant configure", ["acme", "--option", "currency=EURO"], {}, "--option currency"),
    ("tenant configure", ["acme", "--option", "group_ids=3"], {}, "--option group_ids"),
    ("tenant configure", ["acme"], {}, "--option"),
    ("tenant check", ["nobody"], {}, "nobody"),
    ("tenant check", ["acme", "jira"], {}, "jira is not connected"),
    ("tenant secret", ["acme", "webhook_secret", "--value-stdin"], {}, "--value-stdin"),
    ("tenant secret", ["acme", "api_token", "--generate"], {}, "NAME"),
    ("tenant secret", ["nobody"], {}, "nobody"),
    ("admin set-password", ["--email", "not-an-address"],
     {"ESCALADE_ADMIN_PASSWORD": "long enough password"}, "email"),
    ("admin sign-out", ["--email", "who@example.com"], {}, "--email"),
    ("bugs eval", ["missing.jsonl", "missing.csv"], {}, "'REPORTS'"),
    ("dashboard rebuild", ["--tenant", "nobody"], {}, "--tenant: no workspace named 'nobody'"),
    ("report", ["--tenant", "acme", "--from", "2026-12-05", "--to", "2026-12-01"], {},
     "--to: 2026-12-01 is before the first day 2026-12-05"),
    ("digest", ["--tenant", "acme", "--week", "49"], {},
     "--week: expected an ISO week such as 2026-W49, got '49'"),
    ("audit", ["--csv", "missing-export.csv"], {}, "--csv"),
    ("audit", ["--tenant", "nobody"], {}, "nobody"),
    ("audit", ["--tenant", "acme", "--days", "0"], {}, "'--days'"),
    ("replay", ["--matrix", "missing.yaml", "--tenant", "acme"], {}, "missing.yaml"),
    ("replay", ["--matrix", "missing.yaml"], {}, "--tenant"),
    ("review", ["--month", "2026-13", "--tenant", "acme"], {}, "--month"),
    ("review", ["--month", "2026-11", "--tenant", "nobody"], {}, "nobody"),
    ("kb sync", ["--tenant", "nobody"], {}, "--tenant: no tenant 'nobody'"),
    ("kb import", ["missing.jsonl", "--tenant", "acme"], {}, "missing.jsonl"),
    ("kb list", ["--tenant", "nobody"], {}, "--tenant: no tenant 'nobody'"),
    ("keys new", ["extra"], {}, "unexpected extra argument (extra)"),
    ("keys rotate", [], {"ESCALADE_SECRET_KEY": "not-a-key"}, "ESCALADE_SECRET_KEY"),
    ("worker", [], {}, "set ESCALADE_MODE=scaleout"),
    ("worker", ["--concurrency", "0"], {}, "'--concurrency'"),
    ("beat", [], {"ESCALADE_MODE": "scaleout", "ESCALADE_BROKER_URL": "redis://127.0.0.1:1/0",
                  "ESCALADE_DATABASE_URL": "sqlite:///{tmp}/beat.db"},
     "ESCALADE_MODE=scaleout needs PostgreSQL"),
]


def _leaf_commands(group: click.Group, prefix: str = "") -> set[str]:
    found: set[str] = set()
    ctx = click.Context(group)
    for name in group.list_commands(ctx):
        command = group.get_command(ctx, name)
        assert command is not None, name
        path = f"{prefix}{name}"
        if isinstance(command, click.Group):
            found |= _leaf_commands(command, f"{path} ")
        else:
            found.add(path)
    return found


def test_every_command_is_tried_with_bad_input() -> None:
    assert _leaf_commands(main) == {path for path, *_ in CASES}


@pytest.fixture
def workspace(cli_env: dict[str, Any], tmp_path: Path,  # noqa: F811
              monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    assert runner.invoke(main, ["db", "upgrade"]).exit_code == 0
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "sandbox",
                                 "--webhook-secret", SECRET])
    assert added.exit_code == 0, added.output
    return runner


@pytest.mark.parametrize(("command", "args", "env", "expected"), CASES,
                         ids=[f"{c[0]}:{i}" for i, c in enumerate(CASES)])
def test_bad_input_is_one_line_naming_the_option(
        workspace: CliRunner, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, command: str,
        args: list[str], env: dict[str, str], expected: str) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value.replace("{tmp}", str(tmp_path)))
    result = workspace.invoke(main, [*command.split(), *args])
    assert result.exit_code != 0, result.output
    assert result.exception is None or isinstance(result.exception, SystemExit), (
        f"{command} raised {result.exception!r}")
    assert "Traceback" not in result.output
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert lines and lines[-1].startswith("Error: "), result.stderr
    if command != "matrix check":  # it lists each problem of the file, then says how many
        assert len(lines) == 1, result.stderr
    assert expected in lines[-1]


@pytest.mark.parametrize("args", [
    ["triage", "missing.jsonl"],
    ["answer", "--kb", "kb.jsonl", "missing.jsonl"],
    ["kb", "import", "missing.jsonl", "--tenant", "acme"],
])
def test_a_file_that_is_not_there_is_bad_input_said_plainly(
        workspace: CliRunner, tmp_path: Path, args: list[str]) -> None:
    # It was exit code 1 and Python's "[Errno 2] No such file or directory: 'missing.jsonl'".
    (tmp_path / "kb.jsonl").write_text('{"id": "kb-1", "kind": "article", "title": "Reset", '
                                       '"body": "Click Forgot password."}\n', encoding="utf-8")
    result = workspace.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == ("Error: missing.jsonl: cannot read: "
                                     "No such file or directory")


def test_bugs_eval_names_a_bad_line_as_bad_input(
        workspace: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "reports.jsonl").write_text("{oops\n", encoding="utf-8")
    (tmp_path / "pairs.csv").write_text("id_a,id_b\n", encoding="utf-8")
    result = workspace.invoke(main, ["bugs", "eval", "reports.jsonl", "pairs.csv"])
    assert result.exit_code == 2, result.output
    assert result.stderr.splitlines()[0].startswith("reports.jsonl:1: line: not valid JSON")
    assert result.stderr.splitlines()[-1] == "Error: 1 bad line(s) in reports.jsonl"


@pytest.mark.parametrize(("args", "option"), [
    (["triage", "tickets.jsonl", "--matrix", "bad.yaml"], "--matrix"),
    (["eval", "tickets.jsonl", "--matrix", "bad.yaml"], "--matrix"),
    (["replay", "--matrix", "bad.yaml", "--history", "tickets.jsonl"], "--matrix"),
    (["replay", "--matrix", "good.yaml", "--against", "bad.yaml", "--history", "tickets.jsonl"],
     "--against"),
])
def test_a_matrix_option_that_cannot_be_used_is_bad_input_naming_it(
        workspace: CliRunner, tmp_path: Path, args: list[str], option: str) -> None:
    # These exited 1 with the file's problems and no option named.
    from integration.matrix.loader import DEFAULT_PATH

    good = DEFAULT_PATH.read_text(encoding="utf-8")
    (tmp_path / "good.yaml").write_text(good, encoding="utf-8")
    bad = good.replace("arr_above: 100000", "arr_above: lots", 1)
    (tmp_path / "bad.yaml").write_text(bad.replace("sentiment_below: -0.5", "sentiment_below: x",
                                                   1), encoding="utf-8")
    (tmp_path / "tickets.jsonl").write_text("", encoding="utf-8")
    result = workspace.invoke(main, args)
    assert result.exit_code == 2, result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"Error: {option}: bad.yaml:"), line
    assert line.endswith("(and 1 more: escalade matrix check bad.yaml)"), line


def test_a_file_that_is_not_text_is_named_in_one_line(
        workspace: CliRunner, tmp_path: Path) -> None:
    (tmp_path / "tickets.jsonl").write_bytes(b"\xff\xfe{}\n")
    result = workspace.invoke(main, ["triage", "tickets.jsonl"])
    assert result.exit_code == 2, result.output
    assert result.stderr.strip() == ("Error: tickets.jsonl: cannot read: not UTF-8 text "
                                     "(invalid start byte at byte 0)")


def test_the_installed_command_says_the_reported_csv_problem_in_one_line(
        workspace: CliRunner, tmp_path: Path) -> None:
    """The bug report's case, through the real entry point: no FileNotFoundError traceback."""
    env = {**os.environ}
    done = subprocess.run(
        [sys.executable, "-m", "integration.cli", "tenant", "configure", "acme", "--option",
         'activity={"kind": "csv", "path": "/nowhere/usage.csv"}'],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120, check=False)
    assert done.returncode == 2
    assert done.stderr.strip() == ("Error: --option activity: cannot read '/nowhere/usage.csv': "
                                   "No such file or directory")


@pytest.mark.parametrize("args", [
    ["tenant", "remove", "nobody", "--yes"],
    ["tenant", "configure", "nobody", "--option", "currency=EUR"],
    ["tenant", "check", "nobody"],
    ["tenant", "secret", "nobody", "api_token", "--generate"],
    ["backfill", "--tenant", "nobody"],
])
def test_a_workspace_that_is_not_there_is_bad_input(
        workspace: CliRunner, args: list[str]) -> None:
    # It was exit code 1, and "no tenant" here, "no workspace" there.
    result = workspace.invoke(main, args)
    assert result.exit_code == 2, result.output
    assert "no workspace 'nobody' (see `escalade tenant list`)" in result.stderr
