"""The history audit: one pass over past tickets, then the report as JSON (and HTML).

``run_audit(tickets, matrix=..., settings=...)`` reads each ticket once (detection, the
matrix's decision, its topic), counts it into fixed-size sums (``Accumulator``), and at the
end tests labels against outcomes, ranks categories and topics by impact and finds spikes.
``audit_json(result)`` is the report's data; ``integration.audit.html.render_html`` draws it.

Stored tickets get their outcomes from their raw parts (``with_outcomes``); tickets read
from a CSV export already carry them.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any

from integration.audit.aggregate import WEEKDAYS, Accumulator, Rate
from integration.audit.classify import classify
from integration.audit.exports import ImportLog
from integration.audit.labels import LabelCheck, label_checks
from integration.audit.outcomes import with_outcomes
from integration.audit.progress import ProgressCallback, Reporter
from integration.audit.ranking import Ranked, formula, rank
from integration.audit.settings import AuditSettings
from integration.audit.spikes import Spike, describe_test, find_spikes
from integration.audit.topics import TopicInfo, TopicModel
from integration.matrix import Matrix
from integration.models import Ticket

__all__ = ["AuditResult", "audit_json", "run_audit"]

_TOPICS_LISTED = 50
_SEGMENTS = ("plan", "arr_band", "channel", "group")


@dataclass(kw_only=True, slots=True)
class AuditResult:
    """Everything the audit found; ``audit_json`` turns it into the report's data."""

    settings: AuditSettings
    matrix_version: str
    zone: tzinfo
    counts: Accumulator
    topics: Mapping[str, TopicInfo] = field(default_factory=dict)
    categories_ranked: list[Ranked] = field(default_factory=list)
    topics_ranked: list[Ranked] = field(default_factory=list)
    label_checks: list[LabelCheck] = field(default_factory=list)
    spikes: list[Spike] = field(default_factory=list)
    source: ImportLog | None = None
    # Where organizations (plan, ARR) came from: set by the caller that filled them in.
    organizations: dict[str, Any] | None = None


def run_audit(
    tickets: Iterable[Ticket],
    *,
    matrix: Matrix,
    settings: AuditSettings | None = None,
    topics: bool = True,
    workers: int = 0,
    matrix_text: str | None = None,
    source: ImportLog | None = None,
    on_progress: ProgressCallback | None = None,
) -> AuditResult:
    """Audit ``tickets`` read with ``matrix``; ``source`` is the CSV import's log, if any."""
    settings = settings or AuditSettings()
    zone = settings.zone or matrix.display_zone
    reporter = Reporter(on_progress)
    counts = Accumulator(settings, zone)
    model = TopicModel(settings) if topics else None
    reporter.stage("reading", f"with matrix {matrix.version}")
    stream = _with_outcomes(tickets, settings)
    for item in classify(stream, [matrix], topics=topics, workers=workers):
        reporter.tick()
        topic = None
        if model is not None and item.topic is not None:
            topic = model.assign(item.readings[0].category, item.topic)
        counts.add(item, topic)
    reporter.stage("analysing", "labels, rankings and spikes")
    infos = model.topics() if model is not None else {}
    result = AuditResult(settings=settings, matrix_version=matrix.version, zone=zone,
                         counts=counts, topics=infos, source=source)
    result.label_checks = label_checks(counts.cells, settings, infos)
    result.categories_ranked = rank(counts.categories, settings, matrix_text=matrix_text)
    big_topics = {k: v for k, v in counts.topics.items()
                  if v.tickets >= settings.min_topic_size and not k.endswith("/misc")}
    result.topics_ranked = rank(big_topics, settings, kind="topic", topics=infos,
                                matrix_text=matrix_text)
    result.spikes = _spikes(counts, settings, big_topics.keys())
    reporter.stage("done")
    return result


def _with_outcomes(tickets: Iterable[Ticket], settings: AuditSettings) -> Iterator[Ticket]:
    for ticket in tickets:
        yield with_outcomes(ticket, settings)


def _spikes(counts: Accumulator, settings: AuditSettings, topics: Iterable[str]) -> list[Spike]:
    if not counts.daily:
        return []
    first, last = min(counts.daily), max(counts.daily)
    wanted = set(topics)
    by_topic = {k: n for k, n in counts.day_topic.items() if k[0] in wanted}
    found = find_spikes(counts.day_category, settings, first=first, last=last)
    found += find_spikes(by_topic, settings, kind="topic", first=first, last=last)
    found += find_spikes(counts.hour_category, settings, hourly=True)
    return sorted(found, key=lambda s: (s.day.isoformat(), -s.tickets, s.series))


# --- the JSON -----------------------------------------------------------------------------


def audit_json(result: AuditResult) -> dict[str, Any]:
    """The report's data: the documented keys first, then the details the page shows."""
    c, settings = result.counts, result.settings
    return {
        "tickets": c.tickets,
        "categories": [r.to_dict() for r in result.categories_ranked],
        "topics": [r.to_dict() for r in result.topics_ranked[:_TOPICS_LISTED]],
        "escalations": _escalations(c),
        "label_checks": [check.to_dict() for check in result.label_checks],
        "sla": _sla(c),
        "spikes": [s.to_dict() for s in result.spikes],
        "period": {
            "first": c.first_at.isoformat() if c.first_at else None,
            "last": c.last_at.isoformat() if c.last_at else None,
            "zone": str(result.zone),
        },
        "matrix_version": result.matrix_version,
        "method": {
            "impact_formula": formula(settings.weights),
            "spike_test": describe_test(settings),
            "label_source": settings.label.describe(),
            "escalation_evidence": settings.escalation.describe(),
            "label_test": (
                f"at least {settings.min_group} tickets each side; resolution "
                f"{settings.min_ratio:g}x the norm's median and Cliff's delta "
                f"{settings.min_delta:g}, or a rate {settings.min_rate_gap:.0%} higher; "
                f"Mann-Whitney U or two-proportion z-test, Benjamini-Hochberg at "
                f"{settings.fdr:g} across every test"),
            "text": _text_basis(result),
        },
        "escalade_tiers": {str(t): c.tiers.get(t, 0) for t in (1, 2, 3)},
        "agent_labels": dict(c.labels.most_common()),
        "trend": _trend(c),
        "heatmap": _heatmap(c),
        "source": result.source.to_dict() if result.source is not None else None,
        "organizations": result.organizations,
    }


def _escalations(c: Accumulator) -> dict[str, Any]:
    seg = c.segments
    out: dict[str, Any] = {
        "total": c.escalations,
        "rate": _ratio(c.escalations, c.tickets),
        "reasons": dict(c.reasons.most_common()),
        "by_weekday": {d: _hits(seg["weekday"], d) for d in WEEKDAYS},
        "by_hour": {str(h): _hits(seg["hour"], str(h)) for h in range(24)},
        "by_weekday_utc": {d: _hits(seg["weekday_utc"], d) for d in WEEKDAYS},
        "by_hour_utc": {str(h): _hits(seg["hour_utc"], str(h)) for h in range(24)},
        "rate_by_weekday": {d: _rate_dict(seg["weekday"].get(d)) for d in WEEKDAYS},
        "rate_by_hour": {str(h): _rate_dict(seg["hour"].get(str(h))) for h in range(24)},
    }
    for name in _SEGMENTS:
        table = seg[name]
        out[f"by_{name}"] = {k: _rate_dict(table[k]) for k in
                             sorted(table, key=lambda k: (-table[k].tickets, k))}
    return out


def _sla(c: Accumulator) -> dict[str, Any]:
    sla = c.sla
    return {
        "breaches": c.sla_total.hits,
        "measured": c.sla_total.tickets,
        "rate": _ratio(c.sla_total.hits, c.sla_total.tickets),
        "source": dict(c.sla_sources),
        "by_weekday": {d: _hits(sla["weekday"], d) for d in WEEKDAYS},
        "by_hour": {str(h): _hits(sla["hour"], str(h)) for h in range(24)},
        "by_group": {k: _rate_dict(sla["group"][k], hits="breaches") for k in
                     sorted(sla["group"], key=lambda k: (-sla["group"][k].hits, k))},
    }


def _trend(c: Accumulator) -> list[dict[str, Any]]:
    if not c.daily:
        return []
    first, last = min(c.daily), max(c.daily)
    out = []
    for n in range((last - first).days + 1):
        day = date.fromordinal(first.toordinal() + n)
        tickets, escalations, breaches, tier3 = c.daily.get(day, [0, 0, 0, 0])
        out.append({"date": day.isoformat(), "tickets": tickets, "escalations": escalations,
                    "sla_breaches": breaches, "tier3": tier3})
    return out


def _heatmap(c: Accumulator) -> dict[str, dict[str, dict[str, Any]]]:
    return {
        day: {str(h): _rate_dict(c.heatmap.get((d, h))) for h in range(24)}
        for d, day in enumerate(WEEKDAYS)
    }


def _text_basis(result: AuditResult) -> str:
    if result.source is not None and result.source.text_basis:
        return result.source.text_basis
    c = result.counts
    return f"subject and messages ({c.text_tickets} of {c.tickets} tickets have message text)"


def _hits(table: Mapping[str, Rate], key: str) -> int:
    found = table.get(key)
    return found.hits if found is not None else 0


def _rate_dict(rate: Rate | None, *, hits: str = "escalations") -> dict[str, Any]:
    if rate is None:
        return {"tickets": 0, hits: 0, "rate": 0.0}
    return {"tickets": rate.tickets, hits: rate.hits, "rate": round(rate.rate, 4)}


def _ratio(hits: int, total: int) -> float:
    return round(hits / total, 4) if total else 0.0
