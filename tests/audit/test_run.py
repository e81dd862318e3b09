"""Files in, report files out: what the audit and replay commands will call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from integration.audit.exports import ExportError, ImportProblem
from integration.audit.run import audit_csv, replay_csv, write_report
from integration.audit.settings import AuditSettings, parse_escalation
from integration.matrix import default_matrix
from tests.audit.helpers import FIXTURES, matrix_with_rule

SETTINGS = AuditSettings(escalation=parse_escalation(field_name="Escalation reason"))


def test_audit_of_a_csv_writes_json_and_html(tmp_path: Path) -> None:
    problems: list[ImportProblem] = []
    result = audit_csv(FIXTURES / "zendesk_export.csv", matrix=default_matrix(),
                       settings=SETTINGS, organizations=FIXTURES / "organizations.csv",
                       on_problem=problems.append)
    assert [str(p) for p in problems] == [
        "zendesk_export.csv:8: Created at: not a date and time: 'yesterday'"]
    written = write_report(json_path=tmp_path / "audit.json", html_path=tmp_path / "audit.html",
                           audit=result)
    assert json.loads((tmp_path / "audit.json").read_text(encoding="utf-8")) == written
    assert written["tickets"] == 48
    assert (tmp_path / "audit.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["audit.html", "audit.json"]


def test_replay_of_a_csv_writes_its_page(tmp_path: Path) -> None:
    new = matrix_with_rule("      - id: billing_is_urgent\n        description: Billing\n"
                           "        when: {category: [billing]}\n")
    result = replay_csv(FIXTURES / "zendesk_export.csv", new=new, current=default_matrix(),
                        settings=SETTINGS, max_changes=2)
    written = write_report(json_path=tmp_path / "r.json", html_path=tmp_path / "r.html",
                           replayed=result, title="Replay")
    assert written["changes_listed"] == 2 and written["changed"] > 2
    assert "Replay of the rule change" in (tmp_path / "r.html").read_text(encoding="utf-8")


def test_a_file_that_is_not_an_export_leaves_nothing_written(tmp_path: Path) -> None:
    wrong = tmp_path / "orgs.csv"
    wrong.write_text("Name,Plan\nAcme,pro\n", encoding="utf-8")
    with pytest.raises(ExportError) as err:
        audit_csv(wrong, matrix=default_matrix())
    assert str(err.value).startswith("orgs.csv:1: header:")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["orgs.csv"]
