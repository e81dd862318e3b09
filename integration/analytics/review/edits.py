"""A suggested change applied to the matrix file's text, comments kept, and its diff.

An edit is a small JSON-ready dict (what the review page's form carries back):

- ``{"kind": "move_rule", "rule": ID, "to": TIER}`` moves a tier rule to another tier;
- ``{"kind": "drop_word", "trigger": ID, "word": WORD}`` drops a lemma or phrase;
- ``{"kind": "set_threshold", "rule": ID, "condition": KIND, "value": NUMBER}`` changes a
  rule's (or bump's) numeric condition, e.g. ``sentiment_below``;
- ``{"kind": "add_rule", "tier": TIER, "rule": {"id", "description", "when"}}`` adds a rule
  first in its tier (checked before the others).

``edit_document`` changes the parsed document; ``apply_edit`` makes the same change in the
text, touching only the lines it must, and checks that the result reads as the changed
document (else it replaces the touched block whole, and as a last resort writes the document
out again without its comments, and says so). ``EditError`` names the edit's field. Pure.
"""

from __future__ import annotations

import copy
import difflib
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import yaml

from integration.errors import ValidationError

__all__ = ["EDIT_KINDS", "EditError", "Edited", "apply_edit", "diff_lines", "edit_document"]

EDIT_KINDS = ("move_rule", "drop_word", "set_threshold", "add_rule")
THRESHOLD_KINDS = ("sentiment_below", "health_below", "arr_at_least", "arr_above",
                   "confidence_at_least", "repeat_contacts_at_least",
                   "customer_messages_at_least")


class EditError(ValidationError):
    """The edit does not fit the matrix (unknown rule, last word of a trigger, ...)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class Edited:
    """The new text; ``rewritten`` when comments could not be kept."""

    text: str
    rewritten: bool = False


def edit_document(document: dict[str, Any], edit: dict[str, Any]) -> dict[str, Any]:
    """A copy of the parsed matrix ``document`` with ``edit`` made."""
    kind = edit.get("kind")
    if kind not in EDIT_KINDS:
        raise EditError("kind", f"{kind!r} is not one of: {', '.join(EDIT_KINDS)}")
    doc = copy.deepcopy(document)
    _DOC_EDITS[str(kind)](doc, edit)
    return doc


def apply_edit(text: str, edit: dict[str, Any]) -> Edited:
    """``text`` with ``edit`` made, comments and layout kept wherever the edit allows."""
    document = _parse(text)
    expected = edit_document(document, edit)
    for splice in _TEXT_EDITS[str(edit["kind"])]:
        candidate = splice(text, edit, expected)
        if candidate is not None and _reads_as(candidate, expected):
            return Edited(text=candidate)
    return Edited(text=_dump(expected), rewritten=True)


def diff_lines(old: str, new: str, *, name: str = "matrix.yaml") -> list[str]:
    """A unified diff of the two texts, three lines of context."""
    return [line.rstrip("\n") for line in difflib.unified_diff(
        old.splitlines(keepends=True), new.splitlines(keepends=True),
        fromfile=f"{name} (before)", tofile=f"{name} (after)")]


# --- the document ---------------------------------------------------------------------------


def _parse(text: str) -> dict[str, Any]:
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise EditError("matrix", f"the matrix does not read as YAML: {err}") from err
    if not isinstance(data, dict):
        raise EditError("matrix", "the matrix is not a mapping")
    return data


def _tier_rules(doc: dict[str, Any], tier: int) -> list[dict[str, Any]]:
    tiers = doc.setdefault("tiers", {})
    spec = tiers.get(tier)
    if spec is None:
        raise EditError("to", f"the matrix has no tier {tier}")
    rules = spec.get("rules")
    if rules is None:
        rules = spec["rules"] = []
    return list(rules) if not isinstance(rules, list) else rules


def _find_rule(doc: dict[str, Any], rule_id: str) -> tuple[list[dict[str, Any]], int]:
    places = [spec.get("rules") or [] for spec in (doc.get("tiers") or {}).values()]
    places.append(doc.get("bumps") or [])
    for rules in places:
        for index, rule in enumerate(rules):
            if isinstance(rule, dict) and rule.get("id") == rule_id:
                return rules, index
    raise EditError("rule", f"the matrix has no rule {rule_id!r}")


def _move_rule(doc: dict[str, Any], edit: dict[str, Any]) -> None:
    rules, index = _find_rule(doc, str(edit.get("rule")))
    if rules is (doc.get("bumps") or None):
        raise EditError("rule", "a bump moves tiers itself; it cannot be moved to a tier")
    target = edit.get("to")
    if target not in (1, 2, 3):
        raise EditError("to", f"must be 1, 2 or 3, got {target!r}")
    rule = rules.pop(index)
    _tier_rules(doc, int(target)).insert(0, rule)


def _drop_word(doc: dict[str, Any], edit: dict[str, Any]) -> None:
    trigger_id, word = str(edit.get("trigger")), str(edit.get("word", "")).strip().lower()
    trigger = (doc.get("triggers") or {}).get(trigger_id)
    if not isinstance(trigger, dict):
        raise EditError("trigger", f"the matrix has no trigger {trigger_id!r}")
    words = [*(trigger.get("lemmas") or []), *(trigger.get("phrases") or [])]
    if word not in [str(w).lower() for w in words]:
        raise EditError("word", f"{word!r} is not a word of the trigger {trigger_id!r}")
    if len(words) < 2:
        raise EditError("word", f"{word!r} is the trigger {trigger_id!r}'s only word")
    for key in ("lemmas", "phrases"):
        if trigger.get(key):
            trigger[key] = [w for w in trigger[key] if str(w).lower() != word]
            if not trigger[key]:
                del trigger[key]


def _set_threshold(doc: dict[str, Any], edit: dict[str, Any]) -> None:
    rules, index = _find_rule(doc, str(edit.get("rule")))
    condition, value = edit.get("condition"), edit.get("value")
    if condition not in THRESHOLD_KINDS:
        raise EditError("condition", f"must be one of: {', '.join(THRESHOLD_KINDS)}")
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise EditError("value", f"must be a number, got {value!r}")
    found = _replace_leaf(rules[index].get("when"), str(condition), value)
    if not found:
        raise EditError("condition", f"the rule {edit.get('rule')!r} has no {condition}")


def _replace_leaf(node: Any, kind: str, value: float) -> int:
    if isinstance(node, dict):
        found = 0
        for key, inner in node.items():
            if key == kind and not isinstance(inner, dict | list):
                node[key] = value
                found += 1
            elif key != "not":
                found += _replace_leaf(inner, kind, value)
        return found
    if isinstance(node, list):
        return sum(_replace_leaf(item, kind, value) for item in node)
    return 0


def _add_rule(doc: dict[str, Any], edit: dict[str, Any]) -> None:
    rule = edit.get("rule")
    if not isinstance(rule, dict) or not rule.get("id") or "when" not in rule:
        raise EditError("rule", "a new rule needs an id and a condition (when)")
    tier = edit.get("tier")
    if tier not in (1, 2, 3):
        raise EditError("tier", f"must be 1, 2 or 3, got {tier!r}")
    try:
        _find_rule(doc, str(rule["id"]))
    except EditError:
        _tier_rules(doc, int(tier)).insert(0, dict(rule))
        return
    raise EditError("rule", f"the matrix already has a rule {rule['id']!r}")


_DOC_EDITS: dict[str, Callable[[dict[str, Any], dict[str, Any]], None]] = {
    "move_rule": _move_rule, "drop_word": _drop_word, "set_threshold": _set_threshold,
    "add_rule": _add_rule,
}


# --- the text -------------------------------------------------------------------------------


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _block_end(lines: list[str], start: int, indent: int) -> int:
    """The line after the block that starts at ``start`` (its children indent past
    ``indent``); trailing blank lines are left out."""
    end = start + 1
    while end < len(lines) and (not lines[end].strip() or _indent(lines[end]) > indent):
        end += 1
    while end > start + 1 and not lines[end - 1].strip():
        end -= 1
    return end


def _rule_block(lines: list[str], rule_id: str) -> tuple[int, int, int] | None:
    pattern = re.compile(rf"^(\s*)- id: ['\"]?{re.escape(rule_id)}['\"]?\s*(#.*)?$")
    found = [(n, len(m.group(1))) for n, line in enumerate(lines)
             if (m := pattern.match(line))]
    if len(found) != 1:
        return None
    start, indent = found[0]
    return start, _block_end(lines, start, indent), indent


def _key_line(lines: list[str], key: str, indent: int, start: int = 0,
              end: int | None = None) -> int | None:
    pattern = re.compile(rf"^{' ' * indent}['\"]?{re.escape(key)}['\"]?:\s*(#.*)?$")
    for n in range(start, len(lines) if end is None else end):
        if pattern.match(lines[n]):
            return n
    return None


def _rules_list(lines: list[str], tier: int) -> tuple[int, int] | None:
    """Where a new rule of ``tier`` goes (the line after ``rules:``) and its dash indent."""
    top = _key_line(lines, "tiers", 0)
    if top is None:
        return None
    tiers_end = _block_end(lines, top, 0)
    tier_line = next((n for n in range(top + 1, tiers_end)
                      if re.match(rf"^\s+['\"]?{tier}['\"]?:\s*(#.*)?$", lines[n])), None)
    if tier_line is None:
        return None
    tier_indent = _indent(lines[tier_line])
    tier_end = _block_end(lines, tier_line, tier_indent)
    rules_line = next((n for n in range(tier_line + 1, tier_end)
                       if re.match(r"^\s+rules:\s*(#.*)?$", lines[n])
                       and _indent(lines[n]) > tier_indent), None)
    if rules_line is None:
        return None
    item = next((lines[n] for n in range(rules_line + 1, tier_end)
                 if lines[n].lstrip().startswith("- ")), None)
    dash = _indent(item) if item is not None else _indent(lines[rules_line]) + 2
    return rules_line + 1, dash


def _dumped_item(item: dict[str, Any], indent: int) -> list[str]:
    text = yaml.safe_dump([item], sort_keys=False, default_flow_style=None, width=100,
                          allow_unicode=True)
    return [" " * indent + line if line else line for line in text.splitlines()]


def _splice_move(text: str, edit: dict[str, Any], expected: dict[str, Any]) -> str | None:
    lines = text.splitlines()
    block = _rule_block(lines, str(edit["rule"]))
    if block is None:
        return None
    start, end, indent = block
    moved = lines[start:end]
    rest = lines[:start] + lines[end:]
    place = _rules_list(rest, int(edit["to"]))
    if place is None:
        return None
    at, dash = place
    shift = dash - indent
    moved = [(" " * shift + line if shift >= 0 else line[-shift:]) if line.strip() else line
             for line in moved]
    return "\n".join(rest[:at] + moved + rest[at:]) + "\n"


def _splice_add(text: str, edit: dict[str, Any], expected: dict[str, Any]) -> str | None:
    lines = text.splitlines()
    place = _rules_list(lines, int(edit["tier"]))
    if place is None:
        return None
    at, dash = place
    return "\n".join(lines[:at] + _dumped_item(edit["rule"], dash) + lines[at:]) + "\n"


def _splice_word(text: str, edit: dict[str, Any], expected: dict[str, Any]) -> str | None:
    lines = text.splitlines()
    top = _key_line(lines, "triggers", 0)
    if top is None:
        return None
    own = next((n for n in range(top + 1, _block_end(lines, top, 0))
                if re.match(rf"^\s+{re.escape(str(edit['trigger']))}:\s*(#.*)?$", lines[n])),
               None)
    if own is None:
        return None
    end = _block_end(lines, own, _indent(lines[own]))
    word = re.escape(str(edit["word"]).strip().lower())
    quoted = rf"(?:{word}|'{word}'|\"{word}\")"
    item = re.compile(rf"^\s*- {quoted}\s*(#.*)?$", re.IGNORECASE)
    for n in range(own + 1, end):
        if item.match(lines[n]):
            return "\n".join(lines[:n] + lines[n + 1:]) + "\n"
    block = "\n".join(lines[own:end])
    # An item of a flow list: drop it with the comma that separates it from a neighbour.
    flow = re.compile(rf"(?<=[\[,])(\s*){quoted}\s*,\s*|,\s*{quoted}(?=\s*\])|"
                      rf"(?<=\[)\s*{quoted}\s*(?=\])", re.IGNORECASE)
    changed, count = flow.subn(lambda m: m.group(1) or "", block, count=1)
    if count != 1:
        return None
    return "\n".join(lines[:own] + changed.split("\n") + lines[end:]) + "\n"


def _splice_threshold(text: str, edit: dict[str, Any], expected: dict[str, Any]) -> str | None:
    lines = text.splitlines()
    block = _rule_block(lines, str(edit["rule"]))
    if block is None:
        return None
    start, end, _ = block
    pattern = re.compile(rf"(\b{re.escape(str(edit['condition']))}:\s*)(-?[0-9][0-9_.]*)")
    body = "\n".join(lines[start:end])
    changed, count = pattern.subn(lambda m: f"{m.group(1)}{edit['value']:g}", body)
    if count < 1:
        return None
    return "\n".join(lines[:start] + changed.split("\n") + lines[end:]) + "\n"


def _replace_rule_block(text: str, edit: dict[str, Any], expected: dict[str, Any]) -> str | None:
    # The whole rule written anew: its inner comments go, the rest of the file stays.
    lines = text.splitlines()
    block = _rule_block(lines, str(edit["rule"]))
    if block is None:
        return None
    start, end, indent = block
    rules, index = _find_rule(expected, str(edit["rule"]))
    return "\n".join(lines[:start] + _dumped_item(rules[index], indent) + lines[end:]) + "\n"


_TEXT_EDITS: dict[str, tuple[Callable[[str, dict[str, Any], dict[str, Any]], str | None], ...]] = {
    "move_rule": (_splice_move,),
    "drop_word": (_splice_word,),
    "set_threshold": (_splice_threshold, _replace_rule_block),
    "add_rule": (_splice_add,),
}


def _reads_as(text: str, expected: dict[str, Any]) -> bool:
    try:
        return bool(yaml.safe_load(text) == expected)
    except yaml.YAMLError:
        return False


def _dump(document: dict[str, Any]) -> str:
    return str(yaml.safe_dump(document, sort_keys=False, default_flow_style=None, width=100,
                              allow_unicode=True))
