"""How much an account is at risk of leaving, and why: a score from 0 to 1 with its reasons.

Pure: no I/O. ``integration.store.accounts`` gathers an account's tickets (with their tier,
state and latest sentiment) and what its CRM and product data say; ``score_account`` turns
that into five parts, each from 0 to 1, weighed into one score:

- product activity declining: logins of the last 30 days against the 30 before;
- contact rate rising: tickets of the last 30 days against the usual 30 days of the 90 before;
- negative sentiment: the average reading of the last 30 days' tickets (and its trend);
- open Tier 3 tickets;
- a renewal coming up within 90 days.

Every reason is a sentence with its number and the tickets behind it (its evidence). An input
that is not known (no activity data, no renewal date) scores nothing and is said as missing,
never guessed. ARR at risk is the account's ARR times its score. An account crosses the
threshold when its score reaches it; ``alert_step`` says when the account owner is told
(once per crossing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from enum import StrEnum
from types import MappingProxyType

from integration.errors import ValidationError
from integration.models import Account

__all__ = [
    "DEFAULT_THRESHOLD",
    "DEFAULT_WEIGHTS",
    "AccountHistory",
    "Factor",
    "Reason",
    "RiskPolicy",
    "RiskScore",
    "TicketPoint",
    "alert_step",
    "formula_text",
    "policy_from_settings",
    "score_account",
]

DEFAULT_THRESHOLD = 0.5


class Factor(StrEnum):
    """The parts of the score, in the order they are shown."""

    ACTIVITY = "activity"
    CONTACTS = "contacts"
    SENTIMENT = "sentiment"
    TIER3 = "tier3"
    RENEWAL = "renewal"


DEFAULT_WEIGHTS: Mapping[Factor, float] = MappingProxyType({
    Factor.ACTIVITY: 0.25,
    Factor.CONTACTS: 0.2,
    Factor.SENTIMENT: 0.2,
    Factor.TIER3: 0.2,
    Factor.RENEWAL: 0.15,
})
_LABELS = {
    Factor.ACTIVITY: "product activity declining",
    Factor.CONTACTS: "contact rate rising",
    Factor.SENTIMENT: "negative sentiment",
    Factor.TIER3: "open Tier 3 tickets",
    Factor.RENEWAL: "renewal within 90 days",
}
# A login drop of this share or more scores the whole activity part.
_FULL_DROP = 0.5
# Three times the usual contact rate scores the whole contacts part.
_FULL_RATE = 3.0
# A quarter above the usual rate is the least that counts as rising.
_MIN_RATIO = 1.25
# Fewer recent tickets than this are too few to call a rising rate.
_MIN_CONTACTS = 3
# An average sentiment this low scores the whole sentiment part; above _CALM it scores nothing.
_FULL_NEGATIVE = -0.6
_CALM = -0.1
_FULL_TIER3 = 2
# Earlier history shorter than this cannot say what the usual contact rate is.
_MIN_BASELINE_DAYS = 14


@dataclass(frozen=True, kw_only=True, slots=True)
class TicketPoint:
    """One ticket of the account as the score reads it."""

    ref: str
    created_at: datetime
    subject: str = ""
    tier: int | None = None
    open: bool = False
    sentiment: float | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountHistory:
    """What the store knows of one account: its CRM facts, tickets and product trend."""

    account: Account
    tickets: tuple[TicketPoint, ...] = ()
    # Logins of the last 30 days over the 30 before, from the newest decision that knew it.
    engagement_trend: float | None = None
    engagement_ref: str | None = None
    # The ticket whose account data gave the renewal date.
    renewal_ref: str | None = None
    # The oldest ticket the workspace holds: contact rates cannot look further back.
    history_since: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class RiskPolicy:
    """A workspace's threshold and weights (the defaults unless its settings say otherwise)."""

    threshold: float = DEFAULT_THRESHOLD
    weights: Mapping[Factor, float] = field(default_factory=lambda: DEFAULT_WEIGHTS)
    recent_days: int = 30
    baseline_days: int = 90
    renewal_days: int = 90


@dataclass(frozen=True, kw_only=True, slots=True)
class Reason:
    """One part of the score that counted: a sentence with its number and its evidence."""

    factor: Factor
    points: float  # the part, 0..1, before its weight
    weighted: float  # what it adds to the score
    text: str
    tickets: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class RiskScore:
    """An account's score, what made it, and what could not be known."""

    account: Account
    score: float
    arr_at_risk: float
    reasons: tuple[Reason, ...] = ()
    missing: tuple[str, ...] = ()
    above: bool = False
    # The tickets read, newest first (for the account's timeline).
    tickets: tuple[TicketPoint, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class _Part:
    points: float = 0.0
    text: str | None = None
    tickets: tuple[str, ...] = ()
    missing: str | None = None


def score_account(history: AccountHistory, *, now: datetime,
                  policy: RiskPolicy | None = None) -> RiskScore:
    """The account's risk score at ``now`` with its reasons, each naming its evidence."""
    policy = policy or RiskPolicy()
    parts = {
        Factor.ACTIVITY: _activity(history),
        Factor.CONTACTS: _contacts(history, now, policy),
        Factor.SENTIMENT: _sentiment(history, now, policy),
        Factor.TIER3: _tier3(history),
        Factor.RENEWAL: _renewal(history, now, policy),
    }
    reasons = tuple(
        Reason(factor=factor, points=round(part.points, 3),
               weighted=round(part.points * policy.weights.get(factor, 0.0), 3),
               text=part.text, tickets=part.tickets)
        for factor, part in parts.items() if part.points > 0 and part.text
    )
    missing = [part.missing for part in parts.values() if part.missing]
    if history.account.arr is None:
        missing.append("No ARR is known for this account, so no ARR is at risk.")
    score = round(min(sum(r.weighted for r in reasons), 1.0), 2)
    return RiskScore(
        account=history.account, score=score,
        arr_at_risk=round((history.account.arr or 0.0) * score, 2),
        reasons=tuple(sorted(reasons, key=lambda r: -r.weighted)), missing=tuple(missing),
        above=score >= policy.threshold, tickets=history.tickets,
    )


def alert_step(*, was_above: bool, score: float, threshold: float) -> tuple[bool, bool]:
    """(above the threshold now, tell the owner now): once per crossing, again only after
    the score fell below and rose again."""
    above = score >= threshold
    return above, above and not was_above


def formula_text(policy: RiskPolicy | None = None) -> str:
    """The score's formula in words, for the page that shows it."""
    policy = policy or RiskPolicy()
    parts = " + ".join(f"{policy.weights.get(f, 0.0):.0%} {_LABELS[f]}" for f in Factor)
    return (f"Score = {parts}; each part from 0 to 1. ARR at risk = ARR × score. "
            f"An account is at risk from a score of {policy.threshold:.2f}.")


def policy_from_settings(settings: Mapping[str, object] | None) -> RiskPolicy:
    """The workspace's policy from its ``account_risk`` settings; a bad value names its field."""
    raw = (settings or {}).get("account_risk") or {}
    if not isinstance(raw, Mapping):
        raise ValidationError("account_risk", "must be an object like {\"threshold\": 0.5}")
    threshold = raw.get("threshold", DEFAULT_THRESHOLD)
    if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not (
            0.0 < float(threshold) <= 1.0):
        raise ValidationError("account_risk.threshold",
                              f"a number above 0 and at most 1, got {threshold!r}")
    return RiskPolicy(threshold=float(threshold))


# --- the five parts -------------------------------------------------------------------------


def _clamp(value: float) -> float:
    return max(0.0, min(1.0, value))


def _activity(history: AccountHistory) -> _Part:
    trend = history.engagement_trend
    if trend is None:
        return _Part(missing="No product activity data for this account: activity not counted.")
    drop = 1.0 - trend
    refs = (history.engagement_ref,) if history.engagement_ref else ()
    if drop <= 0:
        return _Part()
    return _Part(points=_clamp(drop / _FULL_DROP), tickets=refs,
                 text=f"Product logins fell {drop:.0%} in the last 30 days against the 30 before.")


def _window(tickets: Sequence[TicketPoint], start: datetime, end: datetime) -> list[TicketPoint]:
    return [t for t in tickets if start <= t.created_at < end]


def _contacts(history: AccountHistory, now: datetime, policy: RiskPolicy) -> _Part:
    split = now - timedelta(days=policy.recent_days)
    recent = _window(history.tickets, split, now + timedelta(seconds=1))
    start = split - timedelta(days=policy.baseline_days)
    if history.history_since is not None:
        start = max(start, history.history_since)
    baseline_days = (split - start).total_seconds() / 86400
    if baseline_days < _MIN_BASELINE_DAYS:
        return _Part(missing=(f"Less than {_MIN_BASELINE_DAYS} days of tickets before the last "
                              f"{policy.recent_days}: the usual contact rate is not known."))
    before = _window(history.tickets, start, split)
    usual = len(before) * policy.recent_days / baseline_days
    ratio = len(recent) / max(usual, 1.0)
    if len(recent) < _MIN_CONTACTS or ratio < _MIN_RATIO:
        return _Part()
    text = (f"{len(recent)} tickets in the last {policy.recent_days} days, where "
            f"{policy.recent_days} days usually bring {usual:.1f} (the {baseline_days:.0f} "
            f"days before): {ratio:.1f}× the usual rate.")
    return _Part(points=_clamp((ratio - 1.0) / (_FULL_RATE - 1.0)), text=text,
                 tickets=tuple(t.ref for t in _newest(recent)))


def _newest(tickets: Sequence[TicketPoint]) -> list[TicketPoint]:
    return sorted(tickets, key=lambda t: t.created_at, reverse=True)


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values)


def _sentiment(history: AccountHistory, now: datetime, policy: RiskPolicy) -> _Part:
    split = now - timedelta(days=policy.recent_days)
    recent = [t for t in _window(history.tickets, split, now + timedelta(seconds=1))
              if t.sentiment is not None]
    if not recent:
        return _Part(missing=f"No ticket of the last {policy.recent_days} days has a sentiment "
                             "reading: sentiment not counted.")
    earlier = [t for t in _window(history.tickets, split - timedelta(days=policy.baseline_days),
                                  split) if t.sentiment is not None]
    average = _mean([t.sentiment for t in recent if t.sentiment is not None])
    if average >= _CALM:
        return _Part()
    points = _clamp((average - _CALM) / (_FULL_NEGATIVE - _CALM))
    was = ""
    if earlier:
        before = _mean([t.sentiment for t in earlier if t.sentiment is not None])
        was = f" (the {policy.baseline_days} days before: {before:+.2f} over {len(earlier)})"
        if average >= before:
            # Negative, but no worse than it was: half the part.
            points /= 2
    negative = [t for t in _newest(recent) if (t.sentiment or 0.0) < _CALM]
    text = (f"Average sentiment {average:+.2f} over {_tickets(len(recent))} of the last "
            f"{policy.recent_days} days{was}.")
    return _Part(points=points, text=text, tickets=tuple(t.ref for t in negative))


def _tickets(count: int) -> str:
    return f"{count} ticket{'s' if count != 1 else ''}"


def _tier3(history: AccountHistory) -> _Part:
    open_tier3 = [t for t in _newest(history.tickets) if t.open and t.tier == 3]
    if not open_tier3:
        return _Part()
    count = len(open_tier3)
    text = f"{count} Tier 3 ticket{'s' if count != 1 else ''} open."
    return _Part(points=_clamp(count / _FULL_TIER3), text=text,
                 tickets=tuple(t.ref for t in open_tier3))


def _renewal(history: AccountHistory, now: datetime, policy: RiskPolicy) -> _Part:
    renewal: date | None = history.account.renewal_date
    if renewal is None:
        return _Part(missing="No renewal date known (CRM or billing): renewal not counted.")
    days = (renewal - now.date()).days
    refs = (history.renewal_ref,) if history.renewal_ref else ()
    if days < 0:
        return _Part(missing=f"The renewal date on record ({renewal.isoformat()}) has passed: "
                             "renewal not counted until the CRM has the next one.")
    if days > policy.renewal_days:
        return _Part()
    text = f"Renews in {days} day{'s' if days != 1 else ''}, on {renewal.isoformat()}."
    return _Part(points=_clamp(1.0 - days / policy.renewal_days), text=text, tickets=refs)

