"""A ticket's story, newest first: what the sidebar, the start page and Canvas Kit show. Pure.

``build_timeline`` lists every decision (what, when, by which rules and why) with the outbox
rows it wrote and their delivery, newest first, under the current tier and the decision that
set it. A later decision (an SLA breach, an agent's override, the customer writing again)
adds a step; the reasons before it stay on the page.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from integration.calendars import format_local
from integration.store import DecisionRow, OutboxRow

__all__ = [
    "OVERRIDE_RULE",
    "RuleLine",
    "StepView",
    "TimelineView",
    "WriteView",
    "build_timeline",
    "rule_lines",
    "tier_setter",
]

OVERRIDE_RULE = "agent_override"
_SWEEP = "sla_breach"
_CAUSES = {
    _SWEEP: "SLA sweep",
    OVERRIDE_RULE: "Agent override",
    "backfill": "History import",
    "manual": "By hand",
}
_NOTE_PREVIEW = 160


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleLine:
    """A rule that fired and its sentence."""

    rule_id: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class WriteView:
    """One outbox row: where it went, whether it landed, and what it wrote."""

    target: str
    status: str
    attempts: int
    written: tuple[str, ...]
    error: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StepView:
    """One step of a ticket's story: a decision and its write-backs, or a write-back alone."""

    at: str
    at_iso: str
    by: str
    tier: int | None = None
    change: str | None = None  # "Tier 2 → 3", "Tier 3", "Tier 3, unchanged"; None: no decision
    rules: tuple[RuleLine, ...] = ()
    writes: tuple[WriteView, ...] = ()
    said: str | None = None  # a write-back alone: the note or alert it sent
    sets_tier: bool = False  # this decision's reasons stand for the current tier


@dataclass(frozen=True, kw_only=True, slots=True)
class TimelineView:
    """The current tier, the decision that set it, and every step newest first."""

    tier: int | None
    set_by: StepView | None
    steps: tuple[StepView, ...]
    earlier: int = 0  # older decisions not shown

    @property
    def empty(self) -> bool:
        """True when nothing was decided or written yet."""
        return not self.steps


def build_timeline(
    tier: int | None,
    decisions: Sequence[DecisionRow],
    writes: Sequence[OutboxRow],
    *,
    zone: tzinfo,
    earlier: int = 0,
) -> TimelineView:
    """The story of a ticket at ``tier``: ``decisions`` and their ``writes``, newest first.

    A write-back no decision caused (an SLA warning, a note linking a bug) is a step of its
    own. ``earlier`` counts older decisions left out.
    """
    by_decision: dict[int, list[OutboxRow]] = {}
    alone: list[OutboxRow] = []
    for row in writes:
        if row.decision_id is None:
            alone.append(row)
        else:
            by_decision.setdefault(row.decision_id, []).append(row)
    setter = tier_setter(tier, decisions)
    oldest = decisions[-1] if decisions else None
    timed: list[tuple[datetime, int, StepView]] = []
    for decision in decisions:
        step = _decision_step(decision, by_decision.get(decision.id, ()), zone=zone,
                              first=decision is oldest and not earlier,
                              sets_tier=decision is setter)
        timed.append((decision.decided_at, decision.id, step))
    for row in alone:
        timed.append((row.created_at, 0, _write_step(row, zone=zone)))
    # Newest first; at one instant the decision came first, so its write-backs list above it.
    timed.sort(key=lambda t: (t[0], t[1] == 0, t[1]), reverse=True)
    steps = tuple(step for _, _, step in timed)
    return TimelineView(tier=tier, set_by=next((s for s in steps if s.sets_tier), None),
                        steps=steps, earlier=earlier)


def rule_lines(decision: DecisionRow | None) -> tuple[RuleLine, ...]:
    """The rules that fired in ``decision`` and their sentences."""
    if decision is None:
        return ()
    return tuple(RuleLine(rule_id=str(r.get("rule_id", "")), reason=str(r.get("reason", "")))
                 for r in decision.rules or ())


def tier_setter(tier: int | None, decisions: Sequence[DecisionRow]) -> DecisionRow | None:
    """The decision whose reasons stand for ``tier``: the latest that weighed the ticket.

    An SLA breach that kept the tier only adds a step (its note, its alerts); the reasons
    of the decision before it still say why the ticket is at that tier.
    """
    for decision in decisions:  # newest first
        if decision.cause == _SWEEP and decision.previous_tier == decision.tier:
            continue
        return decision if decision.tier == tier else None
    return None


def _decision_step(
    decision: DecisionRow, writes: Sequence[OutboxRow], *, zone: tzinfo, first: bool,
    sets_tier: bool,
) -> StepView:
    previous, tier = decision.previous_tier, decision.tier
    if previous is None:
        change = f"Tier {tier}"
    elif previous != tier:
        change = f"Tier {previous} → {tier}"
    else:
        change = f"Tier {tier}, unchanged"
    by = _CAUSES.get(decision.cause)
    if by is None:
        by = "New ticket" if decision.cause == "event" and first else (
            "Ticket changed" if decision.cause == "event"
            else decision.cause.replace("_", " ").capitalize())
    return StepView(
        at=format_local(decision.decided_at, zone),
        at_iso=decision.decided_at.astimezone(UTC).isoformat(),
        by=by, tier=tier, change=change, rules=rule_lines(decision),
        writes=tuple(_write(w) for w in sorted(writes, key=lambda w: w.id)),
        sets_tier=sets_tier,
    )


def _write_step(row: OutboxRow, *, zone: tzinfo) -> StepView:
    return StepView(
        at=format_local(row.created_at, zone),
        at_iso=row.created_at.astimezone(UTC).isoformat(),
        by="Written back", writes=(_write(row),), said=_said(row.actions),
    )


def _write(row: OutboxRow) -> WriteView:
    detail = (row.result or {}).get("detail") or {}
    confirmed = detail.get("written") if isinstance(detail, Mapping) else None
    if isinstance(confirmed, list) and confirmed and all(isinstance(w, str) for w in confirmed):
        written = tuple(confirmed)
    else:
        written = tuple(_describe(a) for a in row.actions or ())
    return WriteView(target=row.target, status=row.status, attempts=row.attempts,
                     written=written, error=row.last_error or None)


def _describe(action: Mapping[str, Any]) -> str:
    """An outbox action in plain words, when the vendor did not say what it wrote."""
    kind, payload = str(action.get("kind", "")), action.get("payload") or {}
    tags = payload.get("tags") or ()
    if isinstance(tags, str):
        tags = (tags,)
    if kind == "add_tags":
        return "tags " + " ".join(f"+{t}" for t in tags)
    if kind == "remove_tags":
        return "tags " + " ".join(f"-{t}" for t in tags)
    if kind == "set_priority":
        return f"priority → {payload.get('priority')}"
    if kind == "assign":
        who = payload.get("assignee") or payload.get("group")
        return f"assigned to {who}" if who else "assigned"
    if kind == "set_field":
        return f"field {payload.get('field') or payload.get('name')} = {payload.get('value')}"
    if kind == "internal_note":
        return "internal note"
    if kind == "public_reply":
        return "reply to the customer"
    if kind == "alert":
        return str(payload.get("kind") or "alert").replace("_", " ")
    return kind.replace("_", " ")


def _said(actions: Sequence[Mapping[str, Any]] | None) -> str | None:
    """What a write-back on its own said: its note or reply, else its alert's text."""
    for action in actions or ():
        payload = action.get("payload") or {}
        text = payload.get("body") or payload.get("text")
        if isinstance(text, str) and text.strip():
            flat = " ".join(text.split())
            return flat if len(flat) <= _NOTE_PREVIEW else flat[: _NOTE_PREVIEW - 1] + "…"
    return None
