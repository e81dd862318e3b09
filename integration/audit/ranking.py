"""Ranked triggers: categories and the topics inside them by business impact, not by count.

The formula, stated in the report::

    impact = w_t * tickets share + w_a * ARR-at-risk share + w_c * CSAT-loss share
             + w_h * hours share

Each share is the entry's part of the total over every entry of its kind (categories with
categories, topics with topics). ARR at risk is the ARR of the distinct accounts with an
escalated or badly rated ticket in the entry; CSAT loss the sum of (1 - satisfaction) over
rated tickets; hours the time tracked, else the time to resolve. The weights are normalized
to sum to 1 (``ImpactWeights``).

The top ``suggestions`` entries each suggest a matrix rule (tier 3 when at least
``tier3_rate`` of their tickets were escalated; tier 2 when a third of that, or a tenth of the
ARR at risk or of the CSAT loss; none otherwise, nor when the audited matrix already puts
80% of them at that tier) as a YAML snippet;
``check_snippet`` merges it into a matrix file's text and loads the result, so a suggestion
that would not load is never shown as valid.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import yaml

from integration.audit.aggregate import GroupStats
from integration.audit.settings import AuditSettings, ImpactWeights
from integration.audit.topics import TopicInfo
from integration.matrix import MatrixError, load_matrix_text

__all__ = ["IMPACT_FORMULA", "Ranked", "check_snippet", "check_snippets", "rank"]

IMPACT_FORMULA = (
    "impact = {tickets:.2f} x share of tickets + {arr:.2f} x share of ARR at risk + "
    "{csat:.2f} x share of CSAT loss + {hours:.2f} x share of hours spent"
)
# A rule is suggested only where the matrix catches less than this share at the tier; an
# entry with this share of the ARR at risk or of the CSAT loss deserves tier 2.
_ALREADY_CAUGHT = 0.8
_COSTLY_SHARE = 0.1
_ID_WORD = re.compile(r"[^a-z0-9]+")


@dataclass(kw_only=True, slots=True)
class Ranked:
    """A category or topic with its numbers, impact and (for the top ones) a rule."""

    kind: str
    key: str
    name: str
    category: str
    stats: GroupStats
    impact: float = 0.0
    shares: Mapping[str, float] | None = None
    suggestion: str | None = None
    suggestion_loads: bool | None = None
    suggested_tier: int | None = None
    # Share of the entry's tickets the audited matrix already puts at the suggested tier.
    already_caught: float | None = None
    words: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        s = self.stats
        out: dict[str, Any] = {
            self.kind: self.key,
            "name": self.name, "category": self.category, "tickets": s.tickets,
            "escalations": s.escalations,
            "escalation_rate": round(s.escalations / s.tickets, 4) if s.tickets else 0.0,
            "impact": round(self.impact, 4),
            "shares": {k: round(v, 4) for k, v in (self.shares or {}).items()},
            "arr_at_risk": round(s.arr_at_risk, 2), "accounts_at_risk": len(s.at_risk),
            "csat": round(s.csat, 3) if s.csat is not None else None,
            "csat_loss": round(s.csat_loss, 2), "hours": round(s.hours, 1),
            "median_resolution_minutes": s.resolution.median(),
            "sla_breaches": s.sla_breaches,
            "escalade_tiers": {str(t): s.tiers.get(t, 0) for t in (1, 2, 3)},
            "rules": dict(s.rules.most_common(5)),
            "agent_labels": dict(s.labels.most_common(5)),
            "examples": [{"id": e.id, "subject": e.subject} for e in s.examples],
        }
        if self.suggested_tier is not None:
            out["suggested_tier"] = self.suggested_tier
            out["already_caught"] = round(self.already_caught or 0.0, 4)
        if self.suggestion is not None:
            out["suggested_rule"] = self.suggestion
            out["suggested_rule_loads"] = self.suggestion_loads
        return out


def formula(weights: ImpactWeights) -> str:
    """The impact formula with these weights."""
    w = _normalized(weights)
    return IMPACT_FORMULA.format(**w)


def rank(
    groups: Mapping[str, GroupStats],
    settings: AuditSettings,
    *,
    kind: str = "category",
    topics: Mapping[str, TopicInfo] | None = None,
    matrix_text: str | None = None,
) -> list[Ranked]:
    """Entries by impact, highest first; the top ``settings.suggestions`` suggest a rule."""
    weights = _normalized(settings.weights)
    totals = {
        "tickets": float(sum(g.tickets for g in groups.values())),
        "arr": sum(g.arr_at_risk for g in groups.values()),
        "csat": sum(g.csat_loss for g in groups.values()),
        "hours": sum(g.hours for g in groups.values()),
    }
    out = []
    for key, stats in groups.items():
        info = topics.get(key) if topics is not None else None
        values = {"tickets": float(stats.tickets), "arr": stats.arr_at_risk,
                  "csat": stats.csat_loss, "hours": stats.hours}
        shares = {k: (values[k] / totals[k] if totals[k] else 0.0) for k in values}
        out.append(Ranked(
            kind=kind, key=key, name=info.name if info else key,
            category=info.category if info else key, stats=stats,
            impact=sum(weights[k] * shares[k] for k in shares), shares=shares,
            words=info.words if info else (),
        ))
    out.sort(key=lambda r: (-r.impact, -r.stats.tickets, r.key))
    suggestable = [r for r in out if r.kind == "category" or r.words]
    for entry in suggestable[: settings.suggestions]:
        tier = suggested_tier(entry, settings)
        if tier is None:
            continue
        stats = entry.stats
        caught = sum(n for t, n in stats.tiers.items() if t >= tier)
        entry.suggested_tier = tier
        entry.already_caught = caught / stats.tickets if stats.tickets else 0.0
        if entry.already_caught < _ALREADY_CAUGHT:
            entry.suggestion = suggest_rule(entry, settings)
    suggested = [e for e in out if e.suggestion is not None]
    verdicts = check_snippets([e.suggestion or "" for e in suggested], matrix_text)
    for entry, loads in zip(suggested, verdicts, strict=True):
        entry.suggestion_loads = loads
    return out


def suggested_tier(entry: Ranked, settings: AuditSettings) -> int | None:
    """Tier 3 when escalated often, tier 2 when it costs accounts or ratings, else none."""
    stats = entry.stats
    rate = stats.escalations / stats.tickets if stats.tickets else 0.0
    if rate >= settings.tier3_rate:
        return 3
    shares = entry.shares or {}
    if rate >= settings.tier3_rate / 3 or shares.get("arr", 0.0) >= _COSTLY_SHARE \
            or shares.get("csat", 0.0) >= _COSTLY_SHARE:
        return 2
    return None


def suggest_rule(entry: Ranked, settings: AuditSettings) -> str:
    """A YAML snippet (``triggers``/``tiers``) with the rule that would catch ``entry``."""
    stats = entry.stats
    rate = stats.escalations / stats.tickets if stats.tickets else 0.0
    tier = entry.suggested_tier or suggested_tier(entry, settings) or 2
    rule_id = _identifier(f"audit_{entry.category}" if entry.kind == "category"
                          else f"audit_{entry.category}_{'_'.join(entry.words[:2])}")
    description = (f"From the history audit: {entry.name} ({stats.tickets} tickets, "
                   f"{rate:.0%} escalated, impact {entry.impact:.2f})")
    when: dict[str, Any] = {"category": [entry.category]}
    doc: dict[str, Any] = {}
    if entry.kind != "category":
        doc["triggers"] = {rule_id: {"lemmas": list(entry.words[:3])}}
        when = {"all": [{"category": [entry.category]}, {"trigger": [rule_id]}]}
    doc["tiers"] = {tier: {"rules": [{"id": rule_id, "description": description,
                                      "when": when}]}}
    return str(yaml.safe_dump(doc, sort_keys=False, default_flow_style=None, width=100))


def check_snippet(snippet: str, matrix_text: str | None = None) -> bool:
    """True when ``snippet`` merged into ``matrix_text`` (default: the packaged one) loads."""
    return check_snippets([snippet], matrix_text)[0]


def check_snippets(snippets: list[str], matrix_text: str | None = None) -> list[bool]:
    """Whether each snippet loads in the matrix; all are tried together first (one load)."""
    if not snippets:
        return []
    base = _base(matrix_text)
    extras = [_parsed(s) for s in snippets]
    if base is None:
        return [False] * len(snippets)
    if all(e is not None for e in extras) and len(snippets) > 1:
        merged = base
        for extra in extras:
            merged = _merge(merged, extra or {})
        if _loads(merged):
            return [True] * len(snippets)
    return [extra is not None and _loads(_merge(base, extra)) for extra in extras]


def _base(matrix_text: str | None) -> dict[str, Any] | None:
    from integration.matrix.loader import DEFAULT_PATH

    text = matrix_text if matrix_text is not None else DEFAULT_PATH.read_text("utf-8")
    return _parsed(text)


def _parsed(text: str) -> dict[str, Any] | None:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError:
        return None
    return data if isinstance(data, dict) else None


def _loads(document: dict[str, Any]) -> bool:
    try:
        load_matrix_text(yaml.safe_dump(document, sort_keys=False), source="suggestion.yaml")
    except MatrixError:
        return False
    return True


def _merge(base: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    # Triggers are added; a suggested rule goes first in its tier (checked before the rest).
    out = dict(base)
    out["triggers"] = {**(base.get("triggers") or {}), **(extra.get("triggers") or {})}
    tiers = {k: dict(v) for k, v in (base.get("tiers") or {}).items()}
    for tier, spec in (extra.get("tiers") or {}).items():
        target = tiers.setdefault(tier, {})
        target["rules"] = [*spec.get("rules", []), *target.get("rules", [])]
    out["tiers"] = tiers
    return out


def _identifier(text: str) -> str:
    cleaned = _ID_WORD.sub("_", text.lower()).strip("_")
    if not cleaned or not cleaned[0].isalpha():
        cleaned = f"audit_{cleaned}"
    return cleaned[:64].rstrip("_")


def _normalized(weights: ImpactWeights) -> dict[str, float]:
    raw = {"tickets": weights.tickets, "arr": weights.arr, "csat": weights.csat,
           "hours": weights.hours}
    total = sum(max(0.0, v) for v in raw.values())
    if total <= 0:
        return {k: 0.25 for k in raw}
    return {k: max(0.0, v) / total for k, v in raw.items()}
