"""A period's report as files: one tidy CSV table, and one self-contained printable HTML page.

The HTML page carries everything inline (styles, SVG charts, tables) and asks for nothing
from anywhere, so it can be mailed, archived, or printed to PDF from the browser. The same
renderer serves the dashboard's download and ``escalade report`` (no request needed).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from functools import cache
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup

from integration.analytics import charts
from integration.analytics.board import TIERS, Bucket
from integration.analytics.facts import AGE_BANDS, ARR_BANDS
from integration.analytics.report import Report, csv_rows

__all__ = ["duration", "label", "pct", "report_csv", "report_filename", "report_html"]

_ARR = {k: label for k, label, *_ in ARR_BANDS}
_AGE = {k: label for k, label, *_ in AGE_BANDS}
_DIMENSIONS = {"helpdesk": "Helpdesk", "plan": "Plan", "arr_band": "ARR band",
               "channel": "Channel", "category": "Category"}
# The same inside a sentence ("Tickets per tier by ARR band"): an acronym keeps its capitals.
_DIMENSION_WORDS = {k: v if v.split()[0].isupper() else v.lower() for k, v in _DIMENSIONS.items()}
_UNITS = {"d": "Day", "w": "Week (from Monday)", "m": "Month"}


def report_csv(report: Report) -> str:
    """The report's figures as CSV text (a header row, then one figure per row)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerows(csv_rows(report))
    return out.getvalue()


def report_filename(report: Report, extension: str) -> str:
    """``escalade-report-<workspace>-<from>-to-<to>.<extension>``."""
    who = "".join(c if c.isalnum() or c in "-_" else "-" for c in report.workspace or "all")
    return (f"escalade-report-{who}-{report.first.isoformat()}-to-"
            f"{report.last.isoformat()}.{extension}")


@cache
def _environment() -> Environment:
    return Environment(loader=PackageLoader("sidebar_ui", "templates"),
                       autoescape=select_autoescape(["html"]))


def report_html(report: Report) -> str:
    """The report as one HTML page with its styles and charts inline."""
    template = _environment().get_template("report.html")
    return template.render(r=report, board=report.board, tiers=TIERS, label=label,
                           pct=pct, fmt=duration, unit=_UNITS[report.grain],
                           dimension_names=_DIMENSIONS, dimension_words=_DIMENSION_WORDS,
                           charts=_charts(report))


def label(kind: str, value: str) -> str:
    """A dimension or breakdown value as people read it."""
    if value == "":
        return {"age": "no account", "area": "unknown", "group": "no group",
                "plan": "no plan", "arr_band": "unknown"}.get(kind, "unknown")
    if kind == "arr_band":
        return _ARR.get(value, value)
    if kind == "age":
        return _AGE.get(value, value)
    if kind == "area" and not value.startswith("/"):
        return f"{value.replace('_', ' ')} (category)"
    if kind == "hour":
        return f"{value}:00"
    return value.replace("_", " ")


def pct(value: float | None) -> str:
    """A share as a whole percentage, or a dash."""
    return "–" if value is None else f"{value * 100:.0f}%"


def duration(seconds: float | None) -> str:
    """A duration as people read it: 45 min, 3.5 h, 2.1 days."""
    if seconds is None:
        return "–"
    if seconds < 3600:
        return f"{seconds / 60:.0f} min"
    if seconds < 86400 * 2:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def _charts(report: Report) -> dict[str, Any]:
    parts: Mapping[str, list[Bucket]] = report.parts
    mix = report.board.mix
    return {
        "legend": Markup(charts.legend()),
        "series": Markup(charts.tier_columns(
            [(b.key, b.tiers) for b in report.buckets],
            label="Share of tickets per tier over the period; the table has the numbers")),
        "triggers": Markup(charts.bars(
            [(b.key, float(b.tickets)) for b in parts.get("trigger", [])[:10]],
            label="Top triggers by tickets; the table has the numbers")),
        "mix": {name: Markup(charts.tier_bars(
            [(label(name, v), c) for v, c in sorted(values.items(),
                                                      key=lambda i: -sum(i[1].values()))[:8]],
            label=f"Tier mix by {_DIMENSION_WORDS[name]}; the table has the numbers"))
            for name, values in mix.items()},
    }
