"""``escalade review --month``: the same review in the terminal, bad input in one line."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.config import load_config
from integration.demo.seed import seed_demo
from integration.runtime import Runtime


@pytest.fixture
def cli_env(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The CLI on a throwaway database with the demo workspace seeded."""
    store.upgrade(app_config["DATABASE_URL"])
    monkeypatch.setenv("ESCALADE_DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("ESCALADE_VAR_DIR", str(app_config["VAR_DIR"]))
    monkeypatch.setenv("ESCALADE_SECRET_KEY", app_config["SECRET_KEY"])
    runtime = Runtime(config=load_config())
    try:
        seed_demo(runtime, corrections=True)
        app_config["month"] = runtime.now().astimezone(
            runtime.matrix.display_zone).strftime("%Y-%m")
    finally:
        runtime.engine.dispose()
    return app_config


def test_review_prints_the_month_and_writes_the_json(cli_env: dict[str, Any],
                                                     tmp_path: Path) -> None:
    out = tmp_path / "review.json"
    result = CliRunner().invoke(main, ["review", "--month", cli_env["month"], "--tenant",
                                       "demo", "--json", str(out)])

    assert result.exit_code == 0, result.output
    assert f"Monthly review of demo, {cli_env['month']}" in result.stdout
    assert "big_and_frustrated: fired" in result.stdout
    assert "triggers in the tickets agents lowered: " in result.stdout
    assert "relationship 1 of" in result.stdout  # 1012, read as a relationship at stake
    assert "1048 What's in Enterprise?: raised by an agent" in result.stdout
    assert "Billing corrects a VAT ID the same day" in result.stdout
    assert "tickets change tier" in result.stdout
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data["month"] == cli_env["month"] and data["suggestions"]
    assert data["labels"]["by_source"]["lowered by an agent"]["examples"] == 3
    assert all("replay" in s for s in data["suggestions"])
    # Each reason names the rules of the decision the agent corrected.
    reasons = {r["ticket"]: r for r in data["findings"]["reasons"]}
    assert "big_and_frustrated" in reasons["1004"]["rules"]
    assert reasons["1048"]["direction"] == "up"


@pytest.mark.parametrize(("args", "expected"), [
    (["--month", "2026-13"], "Error: --month: '2026-13' is not a month: use YYYY-MM"),
    (["--month", "December"], "is not a month: use YYYY-MM"),
    (["--month", "2026-12", "--tenant", "nope"], "--tenant: no tenant 'nope'"),
    (["--month", "2026-12", "--rollback-calibration"],
     "calibration: no calibration is in force for this workspace"),
])
def test_bad_input_is_one_clear_line(cli_env: dict[str, Any], args: list[str],
                                     expected: str, tmp_path: Path) -> None:
    out = tmp_path / "review.json"
    result = CliRunner().invoke(main, ["review", *args, "--json", str(out)])

    assert result.exit_code != 0
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


def test_a_json_file_that_cannot_be_written_is_one_plain_line(cli_env: dict[str, Any],
                                                               tmp_path: Path) -> None:
    # It showed Python's "[Errno 20] ... is not a folder: '...'".
    (tmp_path / "plain").write_text("a file, not a folder", encoding="utf-8")
    out = tmp_path / "plain" / "review.json"
    result = CliRunner().invoke(main, ["review", "--month", cli_env["month"], "--tenant", "demo",
                                       "--json", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip() == (f"Error: {out}: cannot write: {tmp_path / 'plain'} "
                                     "is not a folder")
