"""What a month says about the matrix: noisy rules, missed escalations, agents' reasons.

Agents' corrections become labeled examples (``examples``): an override labels its ticket
with the tier the agent chose (the last override of a ticket wins); a ticket the helpdesk
shows escalated (its tags, field or group, as the audit reads them) that Escalade never put
at Tier 3 and no agent corrected is labeled Tier 3, escalated by hand. ``findings`` counts,
for the month's tickets as the matrix in force reads them, how often each rule fired and how
often agents lowered what it decided, which escalations the matrix missed, and lists the
reasons agents wrote. ``score`` says how a matrix agrees with the labels and the history.
Pure.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol

from integration.analytics.review.calibration import Score
from integration.audit.classify import Reading
from integration.audit.outcomes import outcome_of
from integration.matrix import Matrix
from integration.models import Author, Ticket

__all__ = ["Example", "Findings", "Seen", "Stored", "examples", "findings", "labeled", "score",
           "ticket_text"]

LOWERED, RAISED, BY_HAND = "lowered by an agent", "raised by an agent", "escalated by hand"
_LISTED = 50


@dataclass(frozen=True, kw_only=True, slots=True)
class Seen:
    """A stored ticket (outcomes read) as the matrix in force reads it."""

    ticket: Ticket
    stored_tier: int | None
    reading: Reading
    in_month: bool


@dataclass(frozen=True, kw_only=True, slots=True)
class Example:
    """A labeled example: the tier an agent's correction says the ticket needed."""

    ticket_id: str
    subject: str
    tier: int
    source: str
    reason: str | None = None
    agent: str | None = None
    # The rules of the decision the agent corrected (overrides only).
    rules: tuple[str, ...] = ()
    in_month: bool = True


@dataclass(kw_only=True, slots=True)
class RuleCount:
    """One rule or bump over the month."""

    rule: str
    tier: int | None
    fired: int = 0
    lowered: int = 0
    raised: int = 0
    unescalated: int = 0
    lowered_to: Counter[int] = field(default_factory=Counter)
    lowered_tickets: list[str] = field(default_factory=list)

    @property
    def lowered_share(self) -> float:
        """Share of the tickets it fired on that agents lowered."""
        return self.lowered / self.fired if self.fired else (1.0 if self.lowered else 0.0)

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        return {"rule": self.rule, "tier": self.tier, "fired": self.fired,
                "lowered": self.lowered, "raised": self.raised,
                "unescalated": self.unescalated, "lowered_share": round(self.lowered_share, 4),
                "lowered_to": {str(k): v for k, v in sorted(self.lowered_to.items())}}


@dataclass(kw_only=True, slots=True)
class Findings:
    """The month's counts, the missed escalations and the agents' reasons."""

    tickets: int = 0
    tiers: Counter[int] = field(default_factory=Counter)
    escalated: int = 0
    lowered: int = 0
    raised: int = 0
    by_hand: int = 0
    rules: dict[str, RuleCount] = field(default_factory=dict)
    triggers: Counter[str] = field(default_factory=Counter)
    triggers_lowered: Counter[str] = field(default_factory=Counter)
    missed: list[dict[str, Any]] = field(default_factory=list)
    reasons: list[dict[str, Any]] = field(default_factory=list)

    def noisy(self) -> list[RuleCount]:
        """Rules agents lowered, most lowered first."""
        found = [r for r in self.rules.values() if r.lowered or r.unescalated]
        return sorted(found, key=lambda r: (-r.lowered, -r.lowered_share, -r.unescalated,
                                            r.rule))

    def to_dict(self) -> dict[str, Any]:
        """For the JSON."""
        return {
            "tickets": self.tickets,
            "tiers": {str(t): self.tiers.get(t, 0) for t in (1, 2, 3)},
            "escalated_in_helpdesk": self.escalated,
            "lowered": self.lowered, "raised": self.raised, "escalated_by_hand": self.by_hand,
            "noisy_rules": [r.to_dict() for r in self.noisy()],
            "rules": [r.to_dict() for r in sorted(self.rules.values(),
                                                  key=lambda r: (-r.fired, r.rule))],
            "triggers": [{"trigger": t, "fired": n, "lowered": self.triggers_lowered.get(t, 0)}
                         for t, n in self.triggers.most_common()],
            "missed": self.missed,
            "reasons": self.reasons,
        }


def labeled(ticket: Ticket, tier: int | None) -> Ticket:
    """``ticket`` whose history says escalated exactly when its label is Tier 3."""
    if tier is None:
        return ticket
    return replace(ticket, custom={**ticket.custom, "escalated": tier == 3,
                                   "escalation_reason": "the agent's correction"
                                   if tier == 3 else None})


class Stored(Protocol):
    """A stored ticket with the tier Escalade gave it (``Seen`` is one)."""

    @property
    def ticket(self) -> Ticket: ...  # noqa: D102
    @property
    def stored_tier(self) -> int | None: ...  # noqa: D102
    @property
    def in_month(self) -> bool: ...  # noqa: D102


def examples(overrides: Sequence[Any], seen: Iterable[Stored]) -> list[Example]:
    """Overrides (the last per ticket) and hand escalations, as labeled examples."""
    last: dict[str, Any] = {}
    for override in overrides:
        last[override.ticket_id] = override
    out = [Example(ticket_id=o.ticket_id, subject=o.subject, tier=o.to_tier,
                   source=LOWERED if (o.from_tier or 1) > o.to_tier else RAISED,
                   reason=o.reason, agent=o.agent, rules=tuple(o.rules))
           for o in last.values()]
    for item in seen:
        ticket = item.ticket
        if (ticket.id not in last and item.stored_tier != 3
                and outcome_of(ticket).escalated):
            out.append(Example(ticket_id=ticket.id, subject=ticket.subject, tier=3,
                               source=BY_HAND, reason=outcome_of(ticket).escalation_reason,
                               in_month=item.in_month))
    return out


def findings(seen: Sequence[Seen], overrides: Sequence[Any], labels: Sequence[Example],
             matrix: Matrix) -> Findings:
    """The month's findings for the matrix in force (``seen`` read with it)."""
    tiers = _rule_tiers(matrix)
    out = Findings()
    by_id = {item.ticket.id: item for item in seen}
    for item in seen:
        if item.in_month:
            _count_ticket(out, item, tiers)
    for override in overrides:
        _count_override(out, override, by_id.get(override.ticket_id), tiers)
    for example in labels:
        labeled_item = by_id.get(example.ticket_id)
        if example.source == BY_HAND and example.in_month:
            out.by_hand += 1
        if example.in_month and example.source != LOWERED and labeled_item is not None:
            out.missed.append(_missed(example, labeled_item))
    # What the matrix still misses first.
    out.missed = sorted(out.missed, key=lambda m: m["caught_now"])[:_LISTED]
    out.reasons = [_reason(o) for o in reversed(overrides)][:_LISTED]
    return out


def _rule_tiers(matrix: Matrix) -> dict[str, int | None]:
    tiers: dict[str, int | None] = {r.id: int(t) for t, rules in matrix.rules.items()
                                    for r in rules}
    tiers.update({b.id: None for b in matrix.bumps})
    return tiers


def _rule(out: Findings, rule: str, tiers: Mapping[str, int | None]) -> RuleCount:
    found = out.rules.get(rule)
    if found is None:
        found = out.rules[rule] = RuleCount(rule=rule, tier=tiers.get(rule))
    return found


def _count_ticket(out: Findings, item: Seen, tiers: Mapping[str, int | None]) -> None:
    reading, ticket = item.reading, item.ticket
    escalated = outcome_of(ticket).escalated
    out.tickets += 1
    out.tiers[reading.tier] += 1
    out.escalated += escalated
    out.triggers.update(reading.triggers)
    for rule in reading.rules:
        if rule not in tiers:
            continue  # the evaluator's own citations (default tier, floor)
        count = _rule(out, rule, tiers)
        count.fired += 1
        if reading.tier == 3 and not ticket.status.is_open and not escalated:
            count.unescalated += 1


def _count_override(out: Findings, override: Any, item: Seen | None,
                    tiers: Mapping[str, int | None]) -> None:
    lowered = (override.from_tier or 1) > override.to_tier
    out.lowered += lowered
    out.raised += not lowered
    rules = tuple(override.rules) or (item.reading.rules if item is not None else ())
    for rule in rules:
        if rule not in tiers:
            continue
        count = _rule(out, rule, tiers)
        if lowered:
            count.lowered += 1
            count.lowered_to[override.to_tier] += 1
            count.lowered_tickets.append(override.ticket_id)
        else:
            count.raised += 1
    if lowered and item is not None:
        out.triggers_lowered.update(item.reading.triggers)


def _missed(example: Example, item: Seen) -> dict[str, Any]:
    ticket, reading = item.ticket, item.reading
    return {"ticket": example.ticket_id, "subject": example.subject[:120],
            "source": example.source, "label_tier": example.tier, "now_tier": reading.tier,
            "caught_now": reading.tier >= example.tier, "category": reading.category,
            "plan": (ticket.account.plan or None) if ticket.account else None,
            "reason": example.reason}


def _reason(override: Any) -> dict[str, Any]:
    return {"ticket": override.ticket_id, "subject": override.subject[:120],
            "from_tier": override.from_tier, "to_tier": override.to_tier,
            "direction": "down" if (override.from_tier or 1) > override.to_tier else "up",
            "reason": override.reason, "agent": override.agent, "rules": list(override.rules),
            "at": override.created_at}


def score(pairs: Iterable[tuple[Ticket, Reading, int | None]]) -> Score:
    """Agreement with the labels (exact tier) and with the unlabeled history (Tier 3 against
    escalated)."""
    labels = labels_agree = history = history_agree = 0
    for ticket, reading, label in pairs:
        if label is not None:
            labels += 1
            labels_agree += reading.tier == label
        else:
            history += 1
            history_agree += (reading.tier == 3) == outcome_of(ticket).escalated
    return Score(labels=labels, labels_agree=labels_agree, history=history,
                 history_agree=history_agree)


def ticket_text(ticket: Ticket) -> str:
    """The subject and the customer's words, lower case (where trigger words are looked for)."""
    parts = [ticket.subject, *(m.body for m in ticket.messages if m.author is Author.CUSTOMER)]
    return " ".join(parts).lower()
