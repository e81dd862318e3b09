"""Suggested matrix changes, from the month's counts alone.

For a rule agents lowered at least ``min_count`` times and on at least ``min_share`` of the
tickets it fired on:

- a trigger word of the rule found in most of the lowered tickets is dropped from its trigger
  (the word that brought the noise), unless it is the trigger's only word;
- a numeric threshold of the rule (``sentiment_below``, ``health_below``, ...) is tightened a
  step;
- the rule moves to the tier agents lowered its tickets to most often.

For escalations the matrix missed (raised by agents, escalated by hand) that share a category,
at least ``min_count`` of them, a rule puts that category (and plan, when they share one) at
the tier agents wanted. Each suggestion carries its edit (``analytics.review.edits``); the
review replays every one before it is shown. Pure.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from integration.analytics.review.findings import Findings, RuleCount

__all__ = ["Suggestion", "suggest"]

MIN_COUNT = 2
MIN_SHARE = 0.2
LIMIT = 10
# How far one suggestion moves a threshold, and the furthest it goes.
_STEPS: dict[str, tuple[float, float]] = {
    "sentiment_below": (-0.1, -0.95),
    "health_below": (-0.1, 0.05),
    "confidence_at_least": (0.1, 0.95),
    "repeat_contacts_at_least": (1, 20),
    "customer_messages_at_least": (1, 20),
}
_ID = re.compile(r"[^a-z0-9]+")


@dataclass(frozen=True, kw_only=True, slots=True)
class Suggestion:
    """A matrix change, why it is suggested, and the edit that makes it."""

    id: str
    title: str
    why: str
    edit: dict[str, Any]

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        return {"id": self.id, "title": self.title, "why": self.why, "edit": self.edit}


def suggest(found: Findings, document: Mapping[str, Any], texts: Mapping[str, str], *,
            min_count: int = MIN_COUNT, min_share: float = MIN_SHARE,
            limit: int = LIMIT) -> list[Suggestion]:
    """Suggestions for ``found`` against the parsed matrix ``document``; ``texts`` are the
    lowered tickets' words (``findings.ticket_text``) by ticket id."""
    out: list[Suggestion] = []
    for count in found.noisy():
        if count.lowered < min_count or count.lowered_share < min_share:
            continue
        when = _rule_when(document, count.rule)
        if when is None:
            continue
        why = (f"fired on {count.fired} ticket(s) this month; agents lowered "
               f"{count.lowered} ({count.lowered_share:.0%})")
        out += _word_suggestions(count, when, document, texts, why, min_count)
        out += _threshold_suggestions(count, when, why)
        out += _move_suggestions(count, why)
    out += _missed_suggestions(found, document, min_count)
    unique = {s.id: s for s in out}
    return list(unique.values())[:limit]


def _rule_when(document: Mapping[str, Any], rule_id: str) -> Any:
    for spec in (document.get("tiers") or {}).values():
        for rule in (spec or {}).get("rules") or []:
            if isinstance(rule, dict) and rule.get("id") == rule_id:
                return rule.get("when")
    for bump in document.get("bumps") or []:
        if isinstance(bump, dict) and bump.get("id") == rule_id:
            return bump.get("when")
    return None


def _leaves(node: Any, kind: str) -> list[Any]:
    """Values of ``kind`` conditions that make the rule hold (not those under a ``not``)."""
    if isinstance(node, dict):
        found = []
        for key, inner in node.items():
            if key == kind:
                found.append(inner)
            elif key != "not":
                found += _leaves(inner, kind)
        return found
    if isinstance(node, list):
        return [value for item in node for value in _leaves(item, kind)]
    return []


def _word_suggestions(count: RuleCount, when: Any, document: Mapping[str, Any],
                      texts: Mapping[str, str], why: str, min_count: int) -> list[Suggestion]:
    triggers = document.get("triggers") or {}
    lowered = [texts[t] for t in count.lowered_tickets if t in texts]
    out = []
    for names in _leaves(when, "trigger"):
        for name in names if isinstance(names, list) else [names]:
            spec = triggers.get(name) or {}
            words = [str(w) for w in [*(spec.get("lemmas") or []), *(spec.get("phrases") or [])]]
            if len(words) < 2:
                continue
            hits = Counter(w for w in words for text in lowered if _has_word(text, w))
            if not hits:
                continue
            word, seen = hits.most_common(1)[0]
            if seen < min_count or seen * 2 < len(lowered):
                continue
            out.append(Suggestion(
                id=f"drop_word:{name}:{word}",
                title=f"Stop reading “{word}” as the trigger {name}",
                why=f"Rule {count.rule} {why}; “{word}” is in {seen} of the lowered tickets.",
                edit={"kind": "drop_word", "trigger": name, "word": word}))
    return out


def _has_word(text: str, word: str) -> bool:
    # A lemma matches its inflections ("cancel" in "cancelled"); a phrase matches as written.
    pattern = rf"\b{re.escape(word.lower())}" + (r"\w*\b" if " " not in word else r"\b")
    return re.search(pattern, text) is not None


# ARR thresholds are tightened by half again per step, to a round thousand.
_ARR = ("arr_at_least", "arr_above")


def _threshold_suggestions(count: RuleCount, when: Any, why: str) -> list[Suggestion]:
    # Two steps each: the review keeps the smaller one that changes a stored ticket.
    out = []
    for kind in (*_STEPS, *_ARR):
        values = [v for v in _leaves(when, kind) if isinstance(v, int | float)]
        if len(values) != 1:
            continue
        old = float(values[0])
        for steps in (1, 2):
            value = _stepped(kind, old, steps)
            if value == old:
                continue
            out.append(Suggestion(
                id=f"set_threshold:{count.rule}:{kind}:{value:g}",
                title=f"Tighten {count.rule}: {kind} {old:g} → {value:g}",
                why=f"Rule {count.rule} {why}.",
                edit={"kind": "set_threshold", "rule": count.rule, "condition": kind,
                      "value": value}))
    return out


def _stepped(kind: str, old: float, steps: int) -> float:
    if kind in _ARR:
        return float(round(old * (1 + 0.5 * steps), -3))
    step, limit = _STEPS[kind]
    new = round(max(old + step * steps, limit) if step < 0 else min(old + step * steps, limit), 2)
    return int(new) if kind.endswith("_at_least") and step >= 1 else new


def _move_suggestions(count: RuleCount, why: str) -> list[Suggestion]:
    if count.tier is None or not count.lowered_to:
        return []
    target, agents = count.lowered_to.most_common(1)[0]
    if target >= count.tier:
        return []
    return [Suggestion(
        id=f"move_rule:{count.rule}:{target}",
        title=f"Move rule {count.rule} from Tier {count.tier} to Tier {target}",
        why=f"Rule {count.rule} {why}; {agents} of them to Tier {target}.",
        edit={"kind": "move_rule", "rule": count.rule, "to": target})]


def _missed_suggestions(found: Findings, document: Mapping[str, Any],
                        min_count: int) -> list[Suggestion]:
    missed = [m for m in found.missed if not m["caught_now"] and m["category"] != "other"]
    by_category: dict[str, list[dict[str, Any]]] = {}
    for item in missed:
        by_category.setdefault(str(item["category"]), []).append(item)
    out = []
    scattered = []
    for category, items in sorted(by_category.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        if len(items) < min_count:
            scattered += items
            continue
        tier = Counter(int(i["label_tier"]) for i in items).most_common(1)[0][0]
        plans = Counter(i["plan"] for i in items if i["plan"])
        plan, with_plan = plans.most_common(1)[0] if plans else (None, 0)
        when: dict[str, Any] = {"category": [category]}
        rule_id = _identifier(f"review_{category}")
        if plan and with_plan == len(items):
            when = {"all": [{"category": [category]}, {"plan": [str(plan).lower()]}]}
            rule_id = _identifier(f"review_{category}_{plan}")
        if _rule_when(document, rule_id) is not None:
            continue
        sources = Counter(str(i["source"]) for i in items)
        said = ", ".join(f"{n} {source}" for source, n in sources.most_common())
        out.append(Suggestion(
            id=f"add_rule:{rule_id}:{tier}",
            title=f"Add a Tier {tier} rule for {category.replace('_', ' ')}"
                  + (f" at {plan} accounts" if "all" in when else ""),
            why=f"{len(items)} {category.replace('_', ' ')} ticket(s) this month needed "
                f"Tier {tier} but the matrix puts them lower ({said}).",
            edit={"kind": "add_rule", "tier": tier, "rule": {
                "id": rule_id,
                "description": f"From the monthly review: {category.replace('_', ' ')} tickets "
                               "agents escalated",
                "when": when}}))
    return out + _plan_suggestions(scattered, document, min_count)


def _plan_suggestions(items: list[dict[str, Any]], document: Mapping[str, Any],
                      min_count: int) -> list[Suggestion]:
    """Missed tickets of a few categories each that share a plan and the tier agents wanted."""
    groups: dict[tuple[str, int], list[dict[str, Any]]] = {}
    for item in items:
        if item["plan"]:
            groups.setdefault((str(item["plan"]).lower(), int(item["label_tier"])), []).append(item)
    out = []
    for (plan, tier), found in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        if len(found) < min_count:
            continue
        categories = sorted({str(i["category"]) for i in found})
        rule_id = _identifier(f"review_{plan}_{'_'.join(categories)}")
        if _rule_when(document, rule_id) is not None:
            continue
        named = ", ".join(c.replace("_", " ") for c in categories)
        out.append(Suggestion(
            id=f"add_rule:{rule_id}:{tier}",
            title=f"Add a Tier {tier} rule for {plan} accounts' {named} tickets",
            why=f"{len(found)} {plan} ticket(s) this month ({named}) needed Tier {tier} "
                "but the matrix puts them lower.",
            edit={"kind": "add_rule", "tier": tier, "rule": {
                "id": rule_id,
                "description": f"From the monthly review: {plan} accounts' {named} tickets",
                "when": {"all": [{"plan": [plan]}, {"category": categories}]}}}))
    return out


def _identifier(text: str) -> str:
    return _ID.sub("_", text.lower()).strip("_")[:64].rstrip("_")
