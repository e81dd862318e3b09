"""``escalade audit`` and ``escalade replay`` as an admin runs them: files, history, bad input."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.cli.root import main
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Ticket
from integration.runtime import Runtime
from integration.store.backfill import import_ticket
from tests.conftest import make_ticket
from tests.test_cli import cli_env  # noqa: F401  (fixture)

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "audit"
ZENDESK_CSV = FIXTURES / "zendesk_export.csv"


def _new_matrix(tmp_path: Path) -> Path:
    """The default matrix, plus a tier-3 rule for every how-to question."""
    text = DEFAULT_PATH.read_text(encoding="utf-8").replace("\nversion: 1\n", "\nversion: 2\n")
    text = text.replace("tiers:\n  3:\n    rules:\n", "tiers:\n  3:\n    rules:\n"
                        "      - id: every_how_to\n        description: Every how-to question\n"
                        "        when: {category: [how_to]}\n", 1)
    path = tmp_path / "new.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def _tickets(n: int, *, start: datetime) -> list[dict[str, Any]]:
    bodies = ("How do I export a report to CSV?", "We were charged twice, please refund us now.",
              "How can I add a teammate to our workspace?", "Our whole team cannot log in, "
              "production is down for everyone.")
    out = []
    for i in range(n):
        t = make_ticket(id=f"h{i}", subject=bodies[i % 4][:30], body=bodies[i % 4])
        created = (start + timedelta(hours=5 * i)).isoformat()
        t["created_at"] = t["updated_at"] = created
        t["messages"][0]["created_at"] = created
        t["tags"] = ["escalated"] if i % 4 == 3 else []
        out.append(t)
    return out


def test_audit_of_a_csv_export_writes_the_report_data(tmp_path: Path) -> None:
    out = tmp_path / "audit.json"
    result = CliRunner().invoke(main, ["audit", "--csv", str(ZENDESK_CSV), "--organizations",
                                       str(FIXTURES / "organizations.csv"), "--json", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    rows = len(ZENDESK_CSV.read_text(encoding="utf-8").splitlines()) - 1
    assert 0 < report["tickets"] <= rows
    assert {"categories", "escalations", "label_checks", "sla", "spikes"} <= set(report)
    assert set(report["escalations"]["by_weekday"]) >= {"Monday", "Sunday"}
    assert f"audited {report['tickets']:,} tickets" in result.stdout
    assert "audit.json" in result.stdout


def test_audit_without_files_prints_the_data_and_the_summary_apart(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["audit", "--csv", str(ZENDESK_CSV), "--no-topics"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["tickets"] > 0
    assert "audited" in result.stderr and "reading" in result.stderr


@pytest.mark.parametrize(("args", "expected"), [
    ([], "--tenant: give --tenant T (stored history) or --csv FILE"),
    (["--tenant", "acme", "--csv", "/nonexistent/e.csv"], "--csv: /nonexistent/e.csv: cannot"),
    (["--csv", "/nonexistent/export.csv"], "--csv: /nonexistent/export.csv: cannot read"),
    (["--csv", str(ZENDESK_CSV), "--label", "colour"], "--label: 'colour': use type"),
    (["--csv", str(ZENDESK_CSV), "--zone", "Mars/Base"], "--zone: unknown time zone"),
    (["--tenant", "acme", "--organizations", "o.csv"], "--organizations: o.csv: cannot read"),
    (["--csv", str(ZENDESK_CSV), "--organizations-from", "salesforce"],
     "--organizations-from: 'salesforce': use crm, csv, tickets or none"),
    (["--csv", str(ZENDESK_CSV), "--organizations-from", "crm"],
     "--organizations-from: crm needs --tenant T"),
    (["--csv", str(ZENDESK_CSV), "--organizations-from", "csv"],
     "--organizations-from: csv needs --organizations FILE"),
    (["--csv", str(ZENDESK_CSV), "--organizations", str(ZENDESK_CSV), "--organizations-from",
      "tickets"], "--organizations-from: tickets does not go with --organizations FILE"),
    (["--csv", str(ZENDESK_CSV), "--crm-lookups", "-1"], "--crm-lookups"),
])
def test_audit_bad_input_is_one_line_naming_the_option(args: list[str], expected: str,
                                                       tmp_path: Path) -> None:
    out = tmp_path / "never.json"
    result = CliRunner().invoke(main, ["audit", *args, "--json", str(out)])
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert not out.exists()


@pytest.mark.parametrize(("export", "organizations", "expected"), [
    ("foo,bar\n1,2\n", None, "export.csv:1: header: not a Zendesk or Freshdesk ticket export"),
    ("", None, "export.csv:1: header: the file is empty"),
    (None, "foo,bar\n1,2\n",
     "orgs.csv:1: name: an organizations file needs a name or domain column"),
])
def test_a_file_that_cannot_be_read_at_all_is_named_with_its_line_and_column(
        tmp_path: Path, export: str | None, organizations: str | None, expected: str) -> None:
    # These printed "header: line 1: ..." without saying which file.
    csv_path = tmp_path / "export.csv"
    csv_path.write_text(ZENDESK_CSV.read_text(encoding="utf-8") if export is None else export,
                        encoding="utf-8")
    args = ["audit", "--csv", str(csv_path), "--no-topics", "--json", str(tmp_path / "a.json")]
    if organizations is not None:
        (tmp_path / "orgs.csv").write_text(organizations, encoding="utf-8")
        args += ["--organizations", str(tmp_path / "orgs.csv")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.stderr.strip().splitlines()[-1].startswith(f"Error: {expected}")
    assert not (tmp_path / "a.json").exists()


def test_replay_of_a_history_file_lists_what_changes_and_skips_bad_lines(tmp_path: Path) -> None:
    start = datetime(2026, 10, 5, 9, tzinfo=UTC)
    history = tmp_path / "history.jsonl"
    lines = [json.dumps(t) for t in _tickets(12, start=start)]
    lines.insert(3, "{not json")
    history.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "replay.json"

    result = CliRunner().invoke(main, ["replay", "--matrix", str(_new_matrix(tmp_path)),
                                       "--history", str(history), "--json", str(out)])

    assert result.exit_code == 0, result.output
    data = json.loads(out.read_text())
    assert data["tickets"] == 12 and data["escalations"] == 3
    assert data["new"]["version"].startswith("v2-")
    assert data["current"]["version"].startswith("v1-")
    raised = [c for c in data["changes"] if c["new_tier"] == 3]
    assert raised and all("every_how_to" in c["responsible"] for c in raised)
    assert data["raised"] == data["changed"] == len(data["changes"])
    assert f"{history}:4: line: not valid JSON" in result.stderr
    assert f"{data['changed']} ticket(s) change tier: {data['raised']} up, 0 down" in result.stdout
    assert "every_how_to" in result.stdout


def test_replay_of_a_workspace_reads_its_stored_history(cli_env: dict[str, Any],  # noqa: F811
                                                        tmp_path: Path) -> None:
    runtime = Runtime(config={**cli_env})
    try:
        with store.session_scope(runtime.sessions) as s:
            row = store.add_tenant(s, slug="acme", name="Acme", helpdesk="sandbox",
                                   base_url=None, secrets={"webhook_secret": "w" * 32},
                                   settings={}, cipher=runtime.cipher)
            start = datetime.now(UTC) - timedelta(days=20)
            for t in _tickets(8, start=start):
                import_ticket(s, tenant_id=row.id, ticket=Ticket.from_dict(t))
    finally:
        runtime.engine.dispose()
    new = str(_new_matrix(tmp_path))

    result = CliRunner().invoke(main, ["replay", "--matrix", new, "--tenant", "acme",
                                       "--days", "30"])
    empty = CliRunner().invoke(main, ["audit", "--tenant", "acme", "--days", "1"])

    assert result.exit_code == 0, result.output
    assert "replayed 8 tickets" in result.stdout
    assert "tier-3 precision" in result.stdout  # two of the eight were escalated
    assert "reading 8 stored tickets of acme (last 30 days)" in result.stderr
    assert empty.exit_code == 1
    assert "escalade backfill --tenant acme --days 1" in empty.stderr


def test_a_report_that_cannot_be_written_is_one_line_naming_the_file(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("x")
    out = blocker / "audit.json"
    result = CliRunner().invoke(main, ["audit", "--csv", str(ZENDESK_CSV), "--no-topics",
                                       "--json", str(out)])
    assert result.exit_code == 1
    assert result.stderr.strip().splitlines()[-1] == (
        f"Error: {out}: cannot write: {blocker} is not a folder")


def test_replay_says_agreement_cannot_be_measured_without_escalations(tmp_path: Path) -> None:
    tickets = _tickets(4, start=datetime(2026, 10, 5, 9, tzinfo=UTC))
    for t in tickets:
        t["tags"] = []
    history = tmp_path / "quiet.jsonl"
    history.write_text("".join(json.dumps(t) + "\n" for t in tickets), encoding="utf-8")
    result = CliRunner().invoke(main, ["replay", "--matrix", str(_new_matrix(tmp_path)),
                                       "--history", str(history)])
    assert result.exit_code == 0, result.output
    assert "records no escalation" in result.stdout and "precision" not in result.stdout


@pytest.mark.parametrize(("cores", "args", "expected"), [
    (2, [], 2), (1, [], 0), (2, ["--workers", "0"], 0), (1, ["--workers", "3"], 3)])
def test_audit_reads_on_every_core_unless_told(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cores: int, args: list[str], expected: int,
) -> None:
    from integration import triage_pool
    from integration.audit.classify import classify as real

    monkeypatch.setattr(triage_pool, "default_workers", lambda: cores)
    asked: list[int] = []

    def recording(*a: Any, workers: int = 0, **k: Any) -> Any:
        asked.append(workers)
        return real(*a, workers=0, **k)

    monkeypatch.setattr("integration.audit.report.classify", recording)
    result = CliRunner().invoke(main, ["audit", "--csv", str(ZENDESK_CSV), *args,
                                       "--json", str(tmp_path / "a.json")])
    assert result.exit_code == 0, result.output
    assert asked == [expected]
