"""From a helpdesk's CSV export to the report's JSON and its self-contained HTML page."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from integration.audit.exports import ImportLog, read_export, read_organizations
from integration.audit.page import render_html
from integration.audit.progress import Progress
from integration.audit.replay import replay, replay_json
from integration.audit.report import audit_json, run_audit
from integration.audit.settings import AuditSettings, parse_escalation
from integration.matrix import default_matrix
from tests.audit.helpers import FIXTURES, matrix_with_rule

SETTINGS = AuditSettings(escalation=parse_escalation(field_name="Escalation reason"),
                         min_topic_size=3)


def audit(csv_name: str, progress: list[Progress] | None = None) -> dict[str, Any]:
    log = ImportLog()
    with (FIXTURES / "organizations.csv").open(encoding="utf-8") as f:
        orgs = read_organizations(f, name="organizations.csv", log=log)
    with (FIXTURES / csv_name).open(encoding="utf-8", newline="") as f:
        tickets = read_export(f, name=csv_name, tenant="acme", settings=SETTINGS, log=log,
                              organizations=orgs)
        result = run_audit(tickets, matrix=default_matrix(), settings=SETTINGS, source=log,
                           on_progress=progress.append if progress is not None else None)
    return audit_json(result)


@pytest.fixture(scope="module")
def zendesk() -> dict[str, Any]:
    return audit("zendesk_export.csv")


class _Page(HTMLParser):
    """Figures with what they hold, every tag, and every URL-bearing attribute."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.figures: list[set[str]] = []
        self.tags: set[str] = set()
        self.urls: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        if tag == "figure":
            self.figures.append(set())
        elif "figure" in self.stack:
            self.figures[-1].add(tag)
        self.urls += [v or "" for k, v in attrs if k in ("src", "href", "xlink:href", "action")]
        self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        while self.stack and self.stack.pop() != tag:
            pass


def test_zendesk_export_to_json(zendesk: dict[str, Any]) -> None:
    source = zendesk["source"]
    assert source["format"] == "zendesk csv"
    assert source["text"] == "subject and description"
    assert source["rows"] == 49 and source["tickets"] == 48 and source["skipped"] == 1
    (problem,) = source["problems"]
    assert (problem["file"], problem["line"], problem["column"]) == (
        "zendesk_export.csv", 8, "Created at")
    assert source["notes"][0]["what"] == "Via: 'Carrier pigeon' read as other"
    assert zendesk["tickets"] == 48
    assert sum(c["tickets"] for c in zendesk["categories"]) == 48
    impacts = [c["impact"] for c in zendesk["categories"]]
    assert impacts == sorted(impacts, reverse=True)
    assert zendesk["escalations"]["reasons"]["outage"] == 8
    assert zendesk["escalations"]["by_plan"]["enterprise"]["tickets"] > 0
    assert zendesk["sla"]["measured"] == 48
    json.dumps(zendesk)  # every value is JSON


def test_the_outage_day_is_a_spike(zendesk: dict[str, Any]) -> None:
    spikes = [(s["date"], s["category"], s["granularity"], s["tickets"])
              for s in zendesk["spikes"] if s["kind"] == "category"]
    # Eight outage tickets between 12:00 and 13:00 Berlin time on one day.
    assert spikes == [("2026-09-19", "outage", "day", 8),
                      ("2026-09-19T12:00:00+02:00", "outage", "hour", 8)]


def test_topics_are_named_and_deterministic(zendesk: dict[str, Any]) -> None:
    assert zendesk["topics"], "the export has repeated subjects: topics form"
    again = audit("zendesk_export.csv")
    assert [t["name"] for t in again["topics"]] == [t["name"] for t in zendesk["topics"]]
    assert again["categories"] == zendesk["categories"]


def test_html_is_self_contained_and_every_chart_has_its_table(zendesk: dict[str, Any]) -> None:
    page = render_html(zendesk)
    parser = _Page()
    parser.feed(page)
    assert parser.figures, "the page has charts"
    for figure in parser.figures:
        assert {"svg", "table"} <= figure
    assert "svg" not in parser.tags - {t for f in parser.figures for t in f}
    assert not {"script", "link", "img", "iframe", "object"} & parser.tags
    assert [u for u in parser.urls if not u.startswith("#")] == []
    assert not re.search(r"https?://|url\((?!#)", page)
    assert "Escalations by weekday and hour" in page


def test_freshdesk_export_to_json_and_html() -> None:
    report = audit("freshdesk_export.csv")
    assert report["source"]["format"] == "freshdesk csv"
    assert report["tickets"] == 4
    assert report["source"]["problems"][0]["line"] == 6
    assert report["escalations"]["total"] == 1
    assert report["escalations"]["reasons"] == {"refund": 1}
    # Freshdesk's own SLA statuses where present, the matrix's targets otherwise.
    assert report["sla"]["source"]["helpdesk"] == 3
    assert report["sla"]["breaches"] >= 1
    assert "<svg" in render_html(report)


def test_progress_reaches_the_callback() -> None:
    seen: list[Progress] = []
    audit("freshdesk_export.csv", seen)
    assert [p.stage for p in seen] == ["reading", "analysing", "done"]
    assert seen[-1].tickets == 4 and str(seen[-1]).startswith("done: 4 tickets")


def test_replay_of_the_export_renders(tmp_path: Path) -> None:
    log = ImportLog()
    with (FIXTURES / "zendesk_export.csv").open(encoding="utf-8", newline="") as f:
        tickets = list(read_export(f, name="z.csv", tenant="acme", settings=SETTINGS, log=log))
    new = matrix_with_rule("      - id: billing_is_urgent\n        description: Billing\n"
                           "        when: {category: [billing]}\n")
    result = replay_json(replay(tickets, new=new, current=default_matrix(), settings=SETTINGS))
    assert result["tickets"] == 48
    assert result["changed"] == result["raised"] > 0
    assert all(c["new_rules"] == ["billing_is_urgent"] for c in result["changes"])
    page = render_html(audit("freshdesk_export.csv"), replay=result)
    assert "Replay of the rule change" in page


def test_the_summary_reads_its_dates_in_the_report_zone_and_says_when_nothing_escalated(
        zendesk: dict[str, Any]) -> None:
    page = render_html(zendesk)
    first = zendesk["period"]["first"]
    assert first not in page  # not the raw timestamp
    assert re.search(r"<td>\w+day \d{1,2} \w+ 20\d\d, \d\d:\d\d [A-Z+\d]+</td>", page)
    assert 'id="no-escalations"' not in page
    quiet = {**zendesk, "escalations": {**zendesk["escalations"], "total": 0, "rate": 0.0}}
    assert 'id="no-escalations"' in render_html(quiet)
