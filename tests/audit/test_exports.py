"""Helpdesk CSV exports: streamed, organizations joined, bad rows reported with file and line."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import pytest

from integration.audit.exports import (
    ExportError,
    ImportLog,
    read_export,
    read_organizations,
)
from integration.audit.settings import AuditSettings, parse_label
from integration.errors import ValidationError
from tests.audit.helpers import FIXTURES

HEADER = ("Id,Requester,Requester email,Organization,Subject,Status,Priority,Via,Tags,"
          "Created at,Solved at,Satisfaction Score,Group,Group stations,Assignee stations,"
          "Reopens,Replies,First reply time in minutes,Full resolution time in minutes,"
          "Category [list]\n")


def row(n: int, *, created: str = "2026-10-05 09:00:00", via: str = "Mail") -> str:
    return (f"{n},Ann,ann@acme.com,,Subject {n},Solved,Normal,{via},vip escalated_churn,"
            f"{created},2026-10-05 10:00:00,Good,Support,2,3,1,2,12,60,How-to\n")


class Lines:
    """An export as an iterator of lines that counts how far it has been read."""

    def __init__(self, lines: list[str]) -> None:
        self.lines = lines
        self.read = 0

    def __iter__(self) -> Iterator[str]:
        for line in self.lines:
            self.read += 1
            yield line


def read(text: Any, settings: AuditSettings | None = None) -> tuple[list[Any], ImportLog]:
    log = ImportLog()
    stream = io.StringIO(text) if isinstance(text, str) else text
    tickets = list(read_export(stream, name="export.csv", tenant="acme",
                               settings=settings or AuditSettings(), log=log))
    return tickets, log


def test_a_zendesk_row_with_its_outcomes() -> None:
    settings = AuditSettings(label=parse_label("field:Category"))
    (ticket,), log = read(HEADER + row(7), settings)
    assert ticket.id == "7" and ticket.csat == 1.0 and ticket.tags == ("vip", "escalated_churn")
    custom = ticket.custom
    assert custom["escalated"] is True and custom["escalation_reason"] == "churn"
    assert custom["reassignments"] == 3  # 2 group stations, 3 assignee stations: 1 + 2 moves
    assert (custom["first_reply_minutes"], custom["resolution_minutes"]) == (12, 60)
    assert custom["reopens"] == 1 and custom["agent_category"] == "how-to"
    assert log.text_basis == "subject only (the export has no Description column)"


def test_the_export_is_streamed() -> None:
    lines = Lines([HEADER] + [row(n) for n in range(1, 1001)])
    # read_export only iterates its stream; Lines counts how far it got instead of a real file.
    tickets = read_export(lines, name="export.csv", tenant="acme",  # type: ignore[arg-type]
                          settings=AuditSettings(), log=ImportLog())
    first = next(tickets)
    assert first.id == "1"
    assert lines.read < 10


def test_bad_rows_are_reported_with_file_line_and_column_and_skipped() -> None:
    text = (HEADER + row(1) + row(2, created="05/10/2026 9am") + "3,too,few\n"
            + row(4, via="Pigeon"))
    tickets, log = read(text)
    assert [t.id for t in tickets] == ["1", "4"]
    assert [str(p) for p in log.problems] == [
        "export.csv:3: Created at: not a date and time: '05/10/2026 9am'",
        "export.csv:4: row: has 3 fields, the header has 20",
    ]
    assert log.notes == {"Via: 'Pigeon' read as other": [1, "export.csv:5"]}


def test_a_quoted_multiline_cell_keeps_line_numbers() -> None:
    header = "Id,Subject,Description,Created at\n"
    text = header + '1,A,"line one\nline two",2026-10-05 09:00\n2,B,x,never\n'
    tickets, log = read(text)
    assert [t.id for t in tickets] == ["1"]
    assert log.problems[0].line == 4


def test_not_an_export_names_the_file() -> None:
    with pytest.raises(ExportError) as err:
        read("Name,Plan\nAcme,pro\n")
    assert str(err.value).startswith("export.csv:1: header: not a Zendesk or Freshdesk")
    with pytest.raises(ExportError, match="the file is empty"):
        read("")


def test_organizations_join_by_name_then_domain() -> None:
    log = ImportLog()
    with (FIXTURES / "organizations.csv").open(encoding="utf-8") as f:
        orgs = read_organizations(f, name="organizations.csv", log=log)
    acme = orgs.find("ACME ", None)
    assert acme is not None and acme.plan == "enterprise" and acme.arr == 120_000
    beta = orgs.find(None, "someone@beta.io")
    assert beta is not None and beta.health == 0.8
    assert orgs.find("Nobody", "x@nowhere.org") is None


def test_organizations_bad_values_are_reported() -> None:
    log = ImportLog()
    text = "Name,Plan,ARR,Health\nAcme,pro,lots,0.5\nBeta,pro,100,150%\nGamma,pro,5,0.2\n"
    orgs = read_organizations(io.StringIO(text), name="orgs.csv", log=log)
    assert len(orgs) == 1
    assert [(p.line, p.column) for p in log.problems] == [(2, "arr"), (3, "health")]


def test_freshdesk_durations_and_sla_statuses() -> None:
    tickets, log = read((FIXTURES / "freshdesk_export.csv").read_text(encoding="utf-8"))
    first = tickets[0]
    assert first.custom["hours_spent"] == 1.5
    assert first.custom["first_reply_minutes"] == 20
    assert first.custom["sla_breached"] is False
    assert tickets[2].custom["sla_breached"] is True
    assert log.skipped == 1


def test_label_option_errors_name_the_option() -> None:
    with pytest.raises(ValidationError) as err:
        parse_label("colour:red")
    assert err.value.field == "--label"
    with pytest.raises(ValidationError):
        parse_label("field:")
