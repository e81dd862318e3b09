"""The audit (and replay) as one self-contained HTML page: inline SVG charts, no scripts.

Every chart is a ``<figure>`` holding the SVG and, below it, the table of the same numbers, so
the page reads without colour, without a browser that draws SVG, and in a screen reader.
Nothing is fetched: no CDN, no font, no image, no script. Text from the history (subjects,
labels, group names) is escaped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC
from html import escape
from typing import Any
from zoneinfo import ZoneInfo

from integration.calendars import format_local
from integration.models import parse_time

__all__ = ["organizations_line", "render_html", "render_replay_html", "replay_section"]

_WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_BAR_ROWS = 15
_LISTED = 50
_STYLE = """
body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:72rem;color:#111;
padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2.2rem;border-bottom:1px solid #999}
table{border-collapse:collapse;margin:.6rem 0 1rem;font-size:13px}
th,td{border:1px solid #bbb;padding:.2rem .45rem;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}
svg{max-width:100%;height:auto}svg text{font:11px system-ui,sans-serif;fill:#111}
.flag{font-weight:700}pre{background:#f3f3f3;padding:.5rem;overflow:auto}
.note{color:#444}
"""


def render_html(
    report: Mapping[str, Any], *, title: str = "Escalation history audit",
    replay: Mapping[str, Any] | None = None,
) -> str:
    """The page for ``audit_json``'s dict (and, if given, ``replay_json``'s)."""
    parts = [_summary(report), _heatmap(report), _ranked(report), _trend(report),
             _segments(report), _sla(report), _labels(report), _topics(report),
             _spikes(report), _method(report), _organizations(report), _source(report)]
    if replay is not None:
        parts.append(replay_section(replay))
    return _document(title, "\n".join(p for p in parts if p))


def render_replay_html(replay: Mapping[str, Any], *, title: str = "Rule change replay") -> str:
    """A page with the replay alone (``replay_json``'s dict)."""
    return _document(title, replay_section(replay))


def _document(title: str, body: str) -> str:
    return (
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>"
        f"<h1>{escape(title)}</h1>\n{body}\n</body></html>\n"
    )


# --- building blocks ----------------------------------------------------------------------


def _table(headers: Sequence[str], rows: Sequence[Sequence[Any]], *, caption: str = "") -> str:
    head = "".join(f"<th{_num_class(i, rows)}>{escape(h)}</th>" for i, h in enumerate(headers))
    body = "".join(
        "<tr>" + "".join(f"<td{_cell_class(v)}>{_cell(v)}</td>" for v in row) + "</tr>"
        for row in rows
    )
    cap = f"<caption>{escape(caption)}</caption>" if caption else ""
    thead = f"<thead><tr>{head}</tr></thead>" if any(headers) else ""
    return f"<table>{cap}{thead}<tbody>{body}</tbody></table>"


def _num_class(index: int, rows: Sequence[Sequence[Any]]) -> str:
    numeric = rows and all(isinstance(r[index], int | float) for r in rows if len(r) > index)
    return ' class="n"' if numeric else ""


def _cell_class(value: Any) -> str:
    return ' class="n"' if isinstance(value, int | float) and not isinstance(value, bool) else ""


def _cell(value: Any) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    if isinstance(value, int):
        return f"{value:,}"
    return escape(str(value))


def _figure(anchor: str, caption: str, svg: str, table: str) -> str:
    return (f'<figure id="{escape(anchor)}"><figcaption>{escape(caption)}</figcaption>'
            f"{svg}{table}</figure>")


def _bars(items: Sequence[tuple[str, float]], *, unit: str = "", width: int = 640) -> str:
    """Horizontal bars, value written at the end of each (black on grey: no colour needed)."""
    label_w, row_h = 220, 20
    top = max((v for _, v in items), default=0.0) or 1.0
    height = row_h * len(items) + 10
    rows = []
    for i, (label, value) in enumerate(items):
        y = 5 + i * row_h
        w = (width - label_w - 90) * value / top
        rows.append(
            f'<text x="{label_w - 6}" y="{y + 14}" text-anchor="end">{escape(label[:34])}</text>'
            f'<rect x="{label_w}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="#777" stroke="#111" stroke-width="0.5"/>'
            f'<text x="{label_w + w + 4:.1f}" y="{y + 14}">{_short(value)}{escape(unit)}</text>'
        )
    return (f'<svg role="img" viewBox="0 0 {width} '
            f'{height}" width="{width}" height="{height}">{"".join(rows)}</svg>')


def _short(value: float) -> str:
    if value >= 1000:
        return f"{value:,.0f}"
    return f"{value:.2f}".rstrip("0").rstrip(".") if value % 1 else f"{value:.0f}"


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value:.0%}"


# --- sections -----------------------------------------------------------------------------


def _summary(report: Mapping[str, Any]) -> str:
    esc, sla, period = report["escalations"], report["sla"], report.get("period") or {}
    contradicted = sum(1 for c in report.get("label_checks", []) if c.get("contradicted"))
    rows = [
        ("Tickets", report["tickets"]),
        ("From", _when(period.get("first"), period.get("zone"))),
        ("To", _when(period.get("last"), period.get("zone"))),
        ("Time zone", period.get("zone") or "–"),
        ("Escalated", f"{esc['total']:,} ({_pct(esc.get('rate'))})"),
        ("SLA breaches", f"{sla['breaches']:,} of {sla.get('measured', 0):,} measured"),
        ("Labels that contradict their outcomes", contradicted),
        ("Spikes", len(report.get("spikes", []))),
        ("Matrix", report.get("matrix_version") or "–"),
    ]
    notice = "" if esc["total"] else (
        '<p class="note" id="no-escalations">This history records no escalation, so the '
        "charts of escalations are empty. Say where your team records them: escalation tags, "
        "a custom field holding the reason, or the groups escalated tickets move into.</p>")
    return "<h2>Summary</h2>" + notice + _table(["", ""], [list(r) for r in rows])


def _when(value: Any, zone: Any) -> str:
    """An ISO time from the report, as people read it in the report's zone."""
    if not isinstance(value, str) or not value:
        return "–"
    try:
        return format_local(parse_time(value, "period"), ZoneInfo(str(zone)) if zone else UTC,
                            long=True)
    except (ValueError, KeyError):
        return value


def _heatmap(report: Mapping[str, Any]) -> str:
    grid = report.get("heatmap") or {}
    if not grid:
        return ""
    cell_w, cell_h, left, top = 26, 20, 80, 18
    top_n = max((c["escalations"] for d in grid.values() for c in d.values()), default=0) or 1
    shapes = [f'<text x="{left + h * cell_w + 13}" y="12" text-anchor="middle">{h}</text>'
              for h in range(24)]
    for row, day in enumerate(_WEEKDAYS):
        y = top + row * cell_h
        shapes.append(f'<text x="{left - 6}" y="{y + 14}" text-anchor="end">{day}</text>')
        for h in range(24):
            n = grid.get(day, {}).get(str(h), {}).get("escalations", 0)
            shade = 255 - int(200 * n / top_n)
            ink = "#fff" if shade < 120 else "#111"
            x = left + h * cell_w
            shapes.append(
                f'<rect x="{x}" y="{y}" width="{cell_w}" height="{cell_h}" '
                f'fill="rgb({shade},{shade},{shade})" stroke="#999" stroke-width="0.5"/>'
                + (f'<text x="{x + 13}" y="{y + 14}" text-anchor="middle" '
                   f'style="fill:{ink}">{n}</text>' if n else ""))
    width, height = left + 24 * cell_w + 4, top + 7 * cell_h + 4
    svg = (f'<svg role="img" viewBox="0 0 {width} {height}" width="{width}" '
           f'height="{height}">{"".join(shapes)}</svg>')
    rows = [[day, *[grid.get(day, {}).get(str(h), {}).get("escalations", 0)
                    for h in range(24)]] for day in _WEEKDAYS]
    table = _table(["Escalations", *[str(h) for h in range(24)]], rows)
    return ("<h2>When escalations happen</h2>"
            + _figure("heatmap", "Escalations by weekday and hour (darker: more; "
                      f"{report.get('period', {}).get('zone', '')} time)", svg, table))


def _ranked(report: Mapping[str, Any]) -> str:
    cats = report.get("categories") or []
    if not cats:
        return ""
    top = cats[:_BAR_ROWS]
    svg = _bars([(c["category"], c["impact"]) for c in top])
    table = _table(
        ["Category", "Impact", "Tickets", "Escalations", "ARR at risk", "CSAT", "Hours",
         "Escalade tier 3"],
        [[c["category"], c["impact"], c["tickets"], c["escalations"], c["arr_at_risk"],
          c["csat"], c["hours"], c["escalade_tiers"]["3"]] for c in top])
    rules = "".join(
        f"<h3>{escape(c['category'])}: suggested rule"
        f"{'' if c.get('suggested_rule_loads') else ' (does not load: check it)'}</h3>"
        f"<pre>{escape(c['suggested_rule'])}</pre>"
        for c in cats if c.get("suggested_rule"))
    rules += "".join(
        f"<p>{escape(c['category'])}: the matrix already puts "
        f"{_pct(c.get('already_caught'))} of these tickets at tier {c['suggested_tier']} "
        "or above; no new rule needed.</p>"
        for c in cats if c.get("suggested_tier") and not c.get("suggested_rule"))
    formula = (report.get("method") or {}).get("impact_formula", "")
    return ("<h2>What to escalate: categories by business impact</h2>"
            f'<p class="note">{escape(formula)}.</p>'
            + _figure("ranked", "Categories ranked by impact", svg, table) + rules)


def _trend(report: Mapping[str, Any]) -> str:
    trend = report.get("trend") or []
    if len(trend) < 2:
        return ""
    width, height, left, bottom = 680, 200, 40, 30
    top_n = max(d["tickets"] for d in trend) or 1
    step = (width - left - 10) / (len(trend) - 1)

    def line(key: str, dash: str) -> str:
        points = " ".join(
            f"{left + i * step:.1f},{height - bottom - (height - bottom - 10) * d[key] / top_n:.1f}"
            for i, d in enumerate(trend))
        return (f'<polyline points="{points}" fill="none" stroke="#111" stroke-width="1.5" '
                f'stroke-dasharray="{dash}"/>')

    axis = (f'<line x1="{left}" y1="{height - bottom}" x2="{width - 10}" '
            f'y2="{height - bottom}" stroke="#111"/>'
            f'<text x="{left}" y="{height - 8}">{escape(trend[0]["date"])}</text>'
            f'<text x="{width - 10}" y="{height - 8}" text-anchor="end">'
            f'{escape(trend[-1]["date"])}</text>'
            f'<text x="4" y="16">{top_n}</text>'
            f'<text x="{width - 10}" y="16" text-anchor="end">solid: tickets, dashed: '
            f"escalations</text>")
    svg = (f'<svg role="img" viewBox="0 0 {width} {height}" width="{width}" height="{height}">'
           f'{axis}{line("tickets", "none")}{line("escalations", "5 3")}</svg>')
    table = _table(["Date", "Tickets", "Escalations", "SLA breaches", "Escalade tier 3"],
                   [[d["date"], d["tickets"], d["escalations"], d["sla_breaches"], d["tier3"]]
                    for d in trend])
    return "<h2>Trend</h2>" + _figure("trend", "Tickets and escalations per day", svg, table)


def _segments(report: Mapping[str, Any]) -> str:
    esc = report["escalations"]
    out = ["<h2>Escalation rate by segment</h2>"]
    for key, name in (("by_plan", "plan"), ("by_arr_band", "ARR band"),
                      ("by_channel", "channel"), ("by_group", "group")):
        table = esc.get(key) or {}
        if not table:
            continue
        items = list(table.items())[:_BAR_ROWS]
        svg = _bars([(k, v["rate"] * 100) for k, v in items], unit="%")
        rows = [[k, v["tickets"], v["escalations"], _pct(v["rate"])] for k, v in items]
        out.append(_figure(f"segment-{key}", f"Escalation rate by {name}", svg,
                           _table([name.capitalize(), "Tickets", "Escalations", "Rate"], rows)))
    weekday = esc.get("rate_by_weekday") or {}
    if weekday:
        svg = _bars([(d, v["rate"] * 100) for d, v in weekday.items()], unit="%")
        rows = [[d, v["tickets"], v["escalations"], _pct(v["rate"])] for d, v in weekday.items()]
        out.append(_figure("segment-weekday", "Escalation rate by weekday", svg,
                           _table(["Weekday", "Tickets", "Escalations", "Rate"], rows)))
    return "".join(out)


def _sla(report: Mapping[str, Any]) -> str:
    sla = report["sla"]
    groups = list((sla.get("by_group") or {}).items())[:_BAR_ROWS]
    source = ", ".join(f"{k}: {v:,}" for k, v in (sla.get("source") or {}).items())
    head = (f"<h2>SLA breaches</h2><p>{sla['breaches']:,} breaches of "
            f"{sla.get('measured', 0):,} tickets measured ({escape(source) or 'none'}; "
            "“helpdesk” is the helpdesk's own SLA record, “computed” is against the "
            "matrix's targets).</p>")
    if not groups:
        return head
    svg = _bars([(k, float(v["breaches"])) for k, v in groups])
    rows = [[k, v["tickets"], v["breaches"], _pct(v["rate"])] for k, v in groups]
    day_svg = _bars([(d, float(n)) for d, n in sla["by_weekday"].items()])
    day_rows = [[d, n] for d, n in sla["by_weekday"].items()]
    return (head
            + _figure("sla-group", "SLA breaches by group", svg,
                      _table(["Group", "Tickets", "Breaches", "Rate"], rows))
            + _figure("sla-weekday", "SLA breaches by weekday", day_svg,
                      _table(["Weekday", "Breaches"], day_rows)))


def _labels(report: Mapping[str, Any]) -> str:
    checks = report.get("label_checks") or []
    if not checks:
        return ""
    rows = []
    for c in checks[:_LISTED]:
        examples = ", ".join(f"#{e['id']} {e['subject']}" for e in c.get("examples", [])[:3])
        rows.append([c["label"], c.get("topic_name") or c.get("topic") or "(whole label)",
                     c["tickets"], "CONTRADICTED" if c["contradicted"] else "consistent",
                     c["evidence"], examples])
    flagged = sum(1 for c in checks if c["contradicted"])
    test = (report.get("method") or {}).get("label_test", "")
    return (f"<h2>Agent labels against outcomes</h2><p>{flagged} of {len(checks)} labels and "
            f"topics behave unlike their label.</p><p class=\"note\">{escape(test)}.</p>"
            + _table(["Label", "Topic", "Tickets", "Verdict", "Evidence", "Examples"], rows))


def _topics(report: Mapping[str, Any]) -> str:
    topics = report.get("topics") or []
    if not topics:
        return ""
    top = topics[:_BAR_ROWS]
    svg = _bars([(t["name"], t["impact"]) for t in top])
    table = _table(["Topic", "Category", "Impact", "Tickets", "Escalations", "ARR at risk",
                    "Hours"],
                   [[t["name"], t["category"], t["impact"], t["tickets"], t["escalations"],
                     t["arr_at_risk"], t["hours"]] for t in top])
    rules = "".join(f"<h3>{escape(t['name'])}: suggested rule</h3>"
                    f"<pre>{escape(t['suggested_rule'])}</pre>"
                    for t in topics if t.get("suggested_rule"))
    return ("<h2>Topics inside the categories, by impact</h2>"
            + _figure("topics", "Topics ranked by impact", svg, table) + rules)


def _spikes(report: Mapping[str, Any]) -> str:
    spikes = report.get("spikes") or []
    test = (report.get("method") or {}).get("spike_test", "")
    head = f"<h2>Spikes</h2><p class=\"note\">Test: {escape(test)}.</p>"
    if not spikes:
        return head + "<p>No spikes.</p>"
    rows = [[s["date"], s.get("granularity", "day"), s.get("category") or s.get("topic"),
             s["kind"], s["tickets"], s["baseline"], f"{s['p_value']:.1e}"]
            for s in spikes[:_LISTED]]
    return head + _table(["When", "Per", "Series", "Kind", "Tickets", "Baseline", "p-value"],
                         rows)


def _method(report: Mapping[str, Any]) -> str:
    method = report.get("method") or {}
    rows = [["Agent label read from", method.get("label_source", "–")],
            ["Escalated when", method.get("escalation_evidence", "–")],
            ["Text read", method.get("text", "–")],
            ["Impact", method.get("impact_formula", "–")],
            ["Spikes", method.get("spike_test", "–")],
            ["Label checks", method.get("label_test", "–")]]
    return "<h2>How this was measured</h2>" + _table(["", ""], rows)


def organizations_line(data: Mapping[str, Any] | None) -> str:
    """Where the report's organizations (plan, ARR) came from, in one sentence."""
    data = data or {}
    source = data.get("source")
    if source == "csv":
        return (f"Organizations from {data.get('file') or 'the organizations file'}: "
                f"{data.get('organizations', 0):,} organizations.")
    if source == "none":
        return "Organizations not used: every ticket's plan and ARR band are unknown."
    if source != "crm":
        note = f" ({data['note']})" if data.get("note") else ""
        return f"Organizations as the tickets carry them{note}."
    failures = data.get("failures") or {}
    why = (f": {next(iter(failures))}" if len(failures) == 1 else
           ": " + ", ".join(f"{n:,} {reason}" for reason, n in failures.items())
           if failures else "")
    text = (f"CRM lookups: {data.get('found', 0):,} found, {data.get('not_found', 0):,} not "
            f"found, {data.get('failed', 0):,} failed{why}")
    skipped = data.get("not_looked_up", 0)
    if skipped:
        more = " or more" if data.get("not_looked_up_at_least") else ""
        text += (f"; {skipped:,}{more} organizations not looked up (at most "
                 f"{data.get('limit', 0):,} lookups per audit)")
    if data.get("stopped"):
        text += f"; {data['stopped']}"
    return (f"{text}. {data.get('tickets_from_crm', 0):,} tickets took their organization "
            "from the CRM; the others kept what they carried.")


def _organizations(report: Mapping[str, Any]) -> str:
    data = report.get("organizations")
    if not data:
        return ""
    return f'<h2>Organizations</h2><p id="organizations">{escape(organizations_line(data))}</p>'


def _source(report: Mapping[str, Any]) -> str:
    source = report.get("source")
    if not source:
        return ""
    text = (f"<h2>Files read</h2><p>{escape(source['format'])}: {source['rows']:,} rows, "
            f"{source['tickets']:,} tickets, {source['skipped']:,} rows skipped.</p>")
    problems = [[p["file"], p["line"], p["column"], p["message"]]
                for p in source.get("problems", [])[:_LISTED]]
    if problems:
        text += _table(["File", "Line", "Column", "Why it was skipped"], problems)
    notes = [[n["what"], n["count"], n["first"]] for n in source.get("notes", [])]
    if notes:
        text += _table(["Value read as unknown", "Rows", "First seen"], notes)
    return text


def replay_section(replay: Mapping[str, Any]) -> str:
    """The replay: tiers per day under both matrices, agreement, and the changed tickets."""
    new, current = replay["new"], replay["current"]
    rows = []
    for side, name in ((current, "current"), (new, "new")):
        a = side["agreement"]
        rows.append([f"{name} ({side['version']})", side["tiers"]["1"], side["tiers"]["2"],
                     side["tiers"]["3"], side["tier3_alerts"], _pct(a["precision"]),
                     _pct(a["recall"])])
    agreement = _table(["Matrix", "Tier 1", "Tier 2", "Tier 3", "Tier-3 alerts",
                        "Tier 3 precision", "Tier 3 recall"], rows)
    days = replay.get("days") or []
    svg = _bars([(d, float(new["tier3_alerts_by_day"][d])) for d in days[-_LISTED:]])
    day_rows = [[d, current["tier3_alerts_by_day"][d], new["tier3_alerts_by_day"][d],
                 *[new["by_day"][d][t] for t in ("1", "2", "3")]] for d in days]
    per_day = _figure("replay-alerts", "Tier-3 alerts per day under the new matrix", svg,
                      _table(["Date", "Alerts (current)", "Alerts (new)", "Tier 1 (new)",
                              "Tier 2 (new)", "Tier 3 (new)"], day_rows))
    changes = _table(
        ["Ticket", "Subject", "Date", "Tier now", "Tier with the change", "Rules responsible",
         "Was escalated"],
        [[c["ticket"], c["subject"], c["date"], c["current_tier"], c["new_tier"],
          ", ".join(c["responsible"]), c["escalated"]] for c in replay["changes"][:_LISTED]])
    return (f"<h2>Replay of the rule change</h2><p>{replay['tickets']:,} tickets; "
            f"{replay['changed']:,} change tier ({replay['raised']:,} up, "
            f"{replay['lowered']:,} down).</p>" + agreement + per_day + changes)
