"""Reports for any days: the dashboard's chosen period, its CSV and HTML exports, and
``escalade report`` — figures equal to the daily rollups' sums, filters honoured, bad ranges
named."""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select

from integration import store
from integration.analytics.facts import Fact, deltas
from integration.analytics.report import buckets_of, custom_grain, range_problem
from integration.period_report import period_report
from integration.store.dashboard import DashboardFilter, DashboardRollupRow, write_rollups
from tests.admin.test_admin import admin, signed_in  # noqa: F401  (fixtures)

FIRST, LAST = date(2026, 10, 29), date(2026, 12, 2)  # a Thursday to a Wednesday
RANGE = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"


def _facts(tenant_id: int) -> list[Fact]:
    """Sixty tickets, one a day from 20 October, on known tiers, plans, triggers and SLAs."""
    out = []
    for n in range(60):
        day = date(2026, 10, 20) + timedelta(days=n)
        out.append(Fact(
            ticket_id=n + 1, tenant_id=tenant_id, day=day, hour=n % 24, tier=1 + n % 3,
            helpdesk="sandbox", plan=("enterprise", "starter")[n % 2], arr_band="",
            channel="email", category="billing", group="support", area="billing", age="",
            triggers=("refund",) if n % 4 == 0 else ("outage",) if n % 5 == 0 else (),
            escalated_s=60.0 * n if n % 3 else None, first_s=120.0, resolved_s=None,
            sla="breached" if n % 7 == 0 else "met" if n % 2 else "", csat=None))
    return out


@pytest.fixture
def seeded(runtime: Any, sandbox_tenant: str) -> Iterator[list[Fact]]:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, sandbox_tenant)
        assert tenant is not None
        facts = _facts(tenant.id)
        change: dict[Any, list[float]] = {}
        for fact in facts:
            for key, values in deltas(None, fact).items():
                row = change.setdefault(key, [0.0] * len(values))
                for i, value in enumerate(values):
                    row[i] += value
        write_rollups(s, {k: tuple(v) for k, v in change.items()})
    yield facts


def _in(facts: list[Fact], first: date, last: date, **where: Any) -> list[Fact]:
    return [f for f in facts if first <= f.day <= last
            and all(getattr(f, k) == v for k, v in where.items())]


def _daily_sums(runtime: Any, first: date, last: date) -> dict[int, tuple[int, int, int]]:
    """Per tier: tickets, SLA met and breached, summed straight from the daily rollup rows."""
    R = DashboardRollupRow
    with store.session_scope(runtime.sessions) as s:
        rows = s.execute(
            select(R.tier, func.sum(R.tickets), func.sum(R.sla_met), func.sum(R.sla_breached))
            .where(R.grain == "d", R.kind == "", R.day >= first, R.day <= last)
            .group_by(R.tier))
        return {int(t): (int(a), int(b), int(c)) for t, a, b, c in rows}


def _report(runtime: Any, first: date, last: date, **narrow: Any) -> Any:
    with store.session_scope(runtime.sessions) as s:
        return period_report(
            s, DashboardFilter(first=first, last=last, **narrow), grain=custom_grain(first, last),
            aligned=False, workspace="demo", zone=runtime.matrix.display_zone, filters=[],
            now=datetime(2026, 12, 6, 12, tzinfo=UTC))


@pytest.mark.parametrize(("first", "last"), [
    (FIRST, LAST), (date(2026, 11, 3), date(2026, 11, 3)), (date(2026, 10, 1), date(2027, 1, 9)),
    (date(2026, 11, 1), date(2026, 11, 30)), (date(2026, 11, 4), date(2026, 12, 16)),
])
def test_a_range_reports_the_sums_of_its_daily_rollups(
        runtime: Any, seeded: list[Fact], first: date, last: date) -> None:
    report = _report(runtime, first, last)
    daily = _daily_sums(runtime, first, last)
    board = report.board
    for tier in (1, 2, 3):
        known = _in(seeded, first, last, tier=tier)
        assert board.tiers[tier].tickets == len(known) == daily.get(tier, (0, 0, 0))[0]
        assert (int(board.tiers[tier]["sla_met"]), int(board.tiers[tier]["sla_breached"])) == (
            daily.get(tier, (0, 0, 0))[1:] or (0, 0))
    # The chart's buckets (days, or weeks and months a chosen period cuts) add up to the same.
    assert sum(b.tickets for b in report.buckets) == board.total.tickets
    assert [b.key for b in report.buckets] == [
        d.isoformat() for d in buckets_of(first, last, custom_grain(first, last))]
    # Breakdowns read from whole months, weeks and days count each of the period's days once.
    triggers = {b.key: b.tickets for b in report.parts.get("trigger", [])}
    for name in ("refund", "outage"):
        assert triggers.get(name, 0) == sum(name in f.triggers for f in _in(seeded, first, last))
    assert sum(b.tickets for b in report.parts.get("hour", [])) == board.total.tickets


def test_a_long_range_is_charted_by_week_and_its_partial_weeks_keep_only_its_days(
        runtime: Any, seeded: list[Fact]) -> None:
    first, last = date(2026, 10, 22), date(2027, 1, 5)  # a Thursday; 76 days
    report = _report(runtime, first, last)
    assert report.grain == "w"
    assert report.buckets[0].key == "2026-10-19"  # the Monday of the first, partial week
    assert report.buckets[0].tickets == len(_in(seeded, first, date(2026, 10, 25)))


def test_bad_ranges() -> None:
    assert range_problem(date(2026, 1, 2), date(2026, 1, 1)) == (
        "2026-01-01 is before the first day 2026-01-02")
    assert "at most 1098 days" in str(range_problem(date(2020, 1, 1), date(2026, 1, 1)))
    assert range_problem(date(2026, 1, 1), date(2026, 1, 1)) is None


# --- the page and its downloads ----------------------------------------------------------------


def test_the_page_shows_a_chosen_period_and_links_its_downloads(
        signed_in: Any, runtime: Any, seeded: list[Fact]) -> None:  # noqa: F811
    page = signed_in.get(f"/admin/dashboard?workspace=demo&period=custom&{RANGE}")
    assert page.status_code == 200, page.text
    assert f"Chosen days: {FIRST.isoformat()} to {LAST.isoformat()}" in page.text
    tickets = len(_in(seeded, FIRST, LAST))
    assert re.search(rf'id="tile-tickets"><a href="[^"]+">{tickets}</a>', page.text)
    for link in ("download-csv", "download-html"):
        found = re.search(rf'href="([^"]+)" id="{link}"', page.text)
        assert found is not None
        assert "period=custom" in found.group(1) and RANGE.replace("&", "&amp;") in found.group(1)
    # Days given without a period are a chosen period too.
    assert signed_in.get(f"/admin/dashboard?workspace=demo&{RANGE}").status_code == 200
    # The form shows the preset's days; typing other days chooses them, whatever the select.
    form = signed_in.get("/admin/dashboard?workspace=demo&period=30d")
    shown = dict(re.findall(r'name="(shown_from|shown_to)" value="([^"]+)"', form.text))
    assert set(shown) == {"shown_from", "shown_to"}
    typed = signed_in.get(f"/admin/dashboard?workspace=demo&period=30d&{RANGE}&shown_from="
                          f"{shown['shown_from']}&shown_to={shown['shown_to']}")
    assert f"Chosen days: {FIRST.isoformat()} to {LAST.isoformat()}" in typed.text
    untouched = signed_in.get(
        f"/admin/dashboard?workspace=demo&period=30d&from={shown['shown_from']}"
        f"&to={shown['shown_to']}&shown_from={shown['shown_from']}&shown_to={shown['shown_to']}")
    assert "Last 30 days:" in untouched.text


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def _figure(rows: list[dict[str, str]], section: str, measure: str, *, tier: str = "",
            dimension: str = "", value: str = "") -> str:
    (row,) = [r for r in rows if (r["section"], r["measure"], r["tier"], r["dimension"],
                                  r["dimension_value"]) == (section, measure, tier, dimension,
                                                            value)]
    return row["value"]


def test_the_csv_is_one_tidy_table_of_the_pages_figures_with_its_filters(
        signed_in: Any, runtime: Any, seeded: list[Fact]) -> None:  # noqa: F811
    response = signed_in.get(f"/admin/dashboard/export.csv?workspace=demo&period=custom&{RANGE}")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/csv")
    assert ('filename="escalade-report-demo-2026-10-29-to-2026-12-02.csv"'
            in response.headers["Content-Disposition"])
    rows = _csv(response.text)
    assert list(rows[0]) == ["workspace", "from", "to", "section", "measure", "dimension",
                             "dimension_value", "tier", "value"]
    assert {(r["workspace"], r["from"], r["to"]) for r in rows} == {
        ("demo", "2026-10-29", "2026-12-02")}
    known = _in(seeded, FIRST, LAST)
    assert _figure(rows, "totals", "tickets") == str(len(known))
    assert _figure(rows, "per_tier", "tickets", tier="3") == str(
        len([f for f in known if f.tier == 3]))
    assert _figure(rows, "breakdown", "tickets", tier="1", dimension="trigger",
                   value="refund") == str(len([f for f in known if f.tier == 1
                                               and "refund" in f.triggers]))
    assert _figure(rows, "per_tier", "first_response_minutes", tier="2") == "2"

    plan = _csv(signed_in.get(
        f"/admin/dashboard/export.csv?workspace=demo&period=custom&{RANGE}&plan=enterprise"
        "&tier=2").text)
    assert _figure(plan, "totals", "tickets") == str(
        len([f for f in known if f.plan == "enterprise" and f.tier == 2]))
    preset = signed_in.get("/admin/dashboard/export.csv?workspace=demo&period=7d")
    assert preset.status_code == 200 and _csv(preset.text)


def test_the_html_report_is_one_printable_file_that_asks_nothing_from_anywhere(
        signed_in: Any, runtime: Any, seeded: list[Fact]) -> None:  # noqa: F811
    response = signed_in.get(
        f"/admin/dashboard/export.html?workspace=demo&period=custom&{RANGE}&plan=starter")
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    html = response.text
    assert "2026-10-29 to 2026-12-02 (both included)" in html
    assert "<dt>Plan</dt><dd>starter</dd>" in html and "<dt>Workspace</dt><dd>demo</dd>" in html
    assert re.search(r'id="report-generated">Made \w+ \d+ \w+ 20\d\d, \d\d:\d\d', html)
    assert html.count("<svg") >= 3 and "<table" in html
    assert "<h3>By ARR band</h3>" in html and "arr band" not in html
    tickets = len(_in(seeded, FIRST, LAST, plan="starter"))
    assert f'id="tile-tickets">{tickets}<' in html
    # Nothing fetched: no link, script, image, import or URL but the SVG namespace.
    assert not re.search(r"<(link|script|img|iframe)\b|@import|url\(\s*['\"]?http|src=", html)
    assert set(re.findall(r"https?://[^\s\"'<>)]+", html)) == {"http://www.w3.org/2000/svg"}


@pytest.mark.parametrize(("query", "field", "words"), [
    ("period=custom&from=2026-13-01&to=2026-12-01", "from", "expected a day as YYYY-MM-DD"),
    ("period=custom&from=2026-12-05&to=2026-12-01", "to", "is before the first day"),
    ("from=2020-01-01&to=2026-12-01", "to", "a period is at most"),
    ("period=custom&from=2026-12-01", "to", "needs its first and last day"),
])
def test_a_bad_range_is_named_and_nothing_is_read(
        signed_in: Any, runtime: Any, seeded: list[Fact], query: str, field: str,  # noqa: F811
        words: str) -> None:
    page = signed_in.get(f"/admin/dashboard?workspace=demo&{query}")
    assert page.status_code == 400
    assert f"<code>{field}</code>" in page.text and words in page.text
    assert 'id="tile-tickets"' not in page.text
    for fmt in ("csv", "html"):
        export = signed_in.get(f"/admin/dashboard/export.{fmt}?workspace=demo&{query}")
        assert export.status_code == 400
        assert f"\n{field}: " in export.text and words in export.text
    assert signed_in.get("/admin/dashboard/export.pdf?period=7d").status_code == 404


# --- escalade report ----------------------------------------------------------------------------


def test_the_report_command_writes_the_same_figures(
        signed_in: Any, runtime: Any, seeded: list[Fact], tmp_path: Path) -> None:  # noqa: F811
    from integration.cli.root import main

    out = tmp_path / "nov.csv"
    result = CliRunner().invoke(main, ["report", "--tenant", "demo", "--from", "2026-10-29",
                                       "--to", "2026-12-02", "--out", str(out)], obj=runtime)
    assert result.exit_code == 0, result.output
    page = signed_in.get(f"/admin/dashboard/export.csv?workspace=demo&period=custom&{RANGE}")
    assert out.read_bytes().decode("utf-8") == page.text
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o666 & ~umask  # not left private like a temp file
    html = CliRunner().invoke(main, ["report", "--tenant", "demo", "--from", "2026-11-01",
                                     "--to", "2026-11-30"], obj=runtime)
    assert html.exit_code == 0 and html.output.startswith("<!doctype html>")
    assert "2026-11-01 to 2026-11-30" in html.output


@pytest.mark.parametrize(("args", "line"), [
    (["--from", "2026-02-30", "--to", "2026-03-01"], "--from: expected a day as YYYY-MM-DD"),
    (["--from", "2026-03-01", "--to", "March"], "--to: expected a day as YYYY-MM-DD"),
    (["--from", "2026-03-02", "--to", "2026-03-01"], "--to: 2026-03-01 is before the first"),
    (["--from", "2016-03-02", "--to", "2026-03-01"], "--to: a period is at most"),
])
def test_the_report_command_names_a_bad_day_and_writes_nothing(
        runtime: Any, sandbox_tenant: str, tmp_path: Path, args: list[str], line: str) -> None:
    from integration.cli.root import main

    folder = tmp_path / "out"
    folder.mkdir()
    out = folder / "r.html"
    result = CliRunner().invoke(main, ["report", "--tenant", "demo", *args, "--out", str(out)],
                                obj=runtime)
    assert result.exit_code == 2 and line in result.output
    assert list(folder.iterdir()) == []
    ghost = CliRunner().invoke(main, ["report", "--tenant", "ghost", "--from", "2026-01-01",
                                      "--to", "2026-01-02"], obj=runtime)
    assert ghost.exit_code == 2 and "--tenant: no workspace named 'ghost'" in ghost.output
