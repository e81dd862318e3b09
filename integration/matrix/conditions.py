"""Matrix conditions: whether each holds for one ticket, and why, with its evidence. Pure.

Each condition kind has a check in ``_CHECKS`` that returns the reasons it holds (quoting
what detection found) or ``None``; ``all``, ``any`` and ``not`` combine them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo
from typing import Any

from integration.matrix.schema import Condition
from integration.models import Category, Handoff, MessageSentiment, Signals, Ticket

__all__ = ["Facts", "holds", "quote", "sharpest_drop"]

_QUOTE_LIMIT = 120


@dataclass(frozen=True, kw_only=True, slots=True)
class Facts:
    """What conditions (and the notes and alerts) read of one ticket at one moment."""

    ticket: Ticket
    signals: Signals
    now: datetime
    handoff: Handoff | None = None
    # Every due time a note or reply prints reads in this zone (the workspace's calendar).
    zone: tzinfo = UTC


# A check returns the reasons (with evidence) when its condition holds, else None.
_Check = Callable[[Any, Facts], list[str] | None]


def holds(condition: Condition, ctx: Facts) -> list[str] | None:
    """The reasons ``condition`` holds for the ticket, or ``None`` when it does not."""
    return _CHECKS[condition.kind](condition.value, ctx)


def quote(text: str) -> str:
    """``text`` on one line, cut to a short quote."""
    text = " ".join(text.split())
    return text if len(text) <= _QUOTE_LIMIT else text[: _QUOTE_LIMIT - 1].rstrip() + "…"


def _evidence(ctx: Facts, *kinds: str) -> str:
    for item in ctx.signals.evidence:
        if item.kind in kinds and item.text:
            return f' ("{quote(item.text)}")'
    return ""


def _trigger(ids: tuple[str, ...], ctx: Facts) -> list[str] | None:
    first: dict[str, Any] = {}
    for hit in ctx.signals.triggers:
        if hit.trigger in ids and hit.trigger not in first:
            first[hit.trigger] = hit
    if not first:
        return None
    return [
        f'trigger {h.trigger!r} matched "{h.match}" in "{quote(h.sentence)}"'
        + (f" ({h.reading})" if h.reading else "")
        if h.match
        # Found by meaning, with no keyword to cite.
        else f'trigger {h.trigger!r}: {h.reading}: "{quote(h.sentence)}"'
        for h in first.values()
    ]


def _mentioned(ids: tuple[str, ...], ctx: Facts) -> list[str] | None:
    said = [t for t in ctx.signals.mentioned if t in ids]
    if not said:
        return None
    out = []
    for trigger in said:
        # The reading that set it aside, as detection wrote it: "'refund' is past in '…'".
        why = next((e.text for e in ctx.signals.evidence if e.kind == "trigger_ignored"
                    and e.text.startswith(f"{trigger}: ")), "")
        out.append(f"{trigger!r} only mentioned" + (f" ({quote(why)})" if why else ""))
    return out


def _category(values: tuple[Category, ...], ctx: Facts) -> list[str] | None:
    cat, confidence = ctx.signals.category, ctx.signals.category_confidence
    if cat not in values:
        return None
    detail = f" (confidence {confidence:.2f})" if confidence > 0 else ""
    return [f"category {cat.value}{detail}{_evidence(ctx, 'category')}"]


def _plan(values: tuple[str, ...], ctx: Facts) -> list[str] | None:
    account = ctx.ticket.account
    plan = (account.plan or "").lower() if account else ""
    return [f"plan {plan}"] if plan and plan in values else None


def _arr_at_least(limit: float, ctx: Facts) -> list[str] | None:
    account = ctx.ticket.account
    if account is None or account.arr is None or account.arr < limit:
        return None
    return [f"ARR {account.arr:,.0f} ≥ {limit:,.0f}"]


def _arr_above(limit: float, ctx: Facts) -> list[str] | None:
    account = ctx.ticket.account
    if account is None or account.arr is None or not account.arr > limit:
        return None
    return [f"ARR {account.arr:,.0f} > {limit:,.0f}"]


def _health_below(limit: float, ctx: Facts) -> list[str] | None:
    account = ctx.ticket.account
    if account is None or account.health is None or not account.health < limit:
        return None
    return [f"health {account.health:.2f} < {limit:g}"]


def _sentiment_below(limit: float, ctx: Facts) -> list[str] | None:
    score = ctx.signals.sentiment
    if not score < limit:
        return None
    worst = min(ctx.signals.message_sentiments, key=lambda m: m.score, default=None)
    worst_said = (
        f' (most negative: "{quote(worst.sentence)}")' if worst and worst.sentence else ""
    )
    return [f"sentiment {score:+.2f} < {limit:+g}{worst_said}"]


def _frustrated(expected: bool, ctx: Facts) -> list[str] | None:
    if ctx.signals.frustrated is not expected:
        return None
    if expected:
        return ["customer is clearly frustrated" + _evidence(ctx, "tone", "frustration")]
    return ["customer is not frustrated"]


def _answer_declined(expected: bool, ctx: Facts) -> list[str] | None:
    if ctx.signals.answer_declined is not expected:
        return None
    if expected:
        return ["the customer wrote back after our automatic answer"
                + _evidence(ctx, "answer_declined")]
    return ["no reply to an automatic answer"]


def _sentiment_spike(expected: bool, ctx: Facts) -> list[str] | None:
    if ctx.signals.sentiment_spike is not expected:
        return None
    if not expected:
        return ["the customer's tone held steady"]
    return ["the customer's tone dropped sharply mid-conversation"
            + sharpest_drop(ctx.signals.message_sentiments)]


def sharpest_drop(sentiments: tuple[MessageSentiment, ...]) -> str:
    """`` (+0.40 → -0.55: "...")`` for the largest fall between two customer messages."""
    pairs = list(zip(sentiments, sentiments[1:], strict=False))
    if not pairs:
        return ""
    before, after = max(pairs, key=lambda p: p[0].score - p[1].score)
    said = f': "{quote(after.sentence)}"' if after.sentence else ""
    return f" ({before.score:+.2f} → {after.score:+.2f}{said})"


def _inquiry(expected: bool, ctx: Facts) -> list[str] | None:
    if ctx.signals.inquiry is not expected:
        return None
    if expected:
        return ["the customer only asks for information" + _evidence(ctx, "ask")]
    return ["the customer asks for action or reports a problem"]


def _confidence_at_least(limit: float, ctx: Facts) -> list[str] | None:
    confidence = ctx.signals.category_confidence
    if not confidence >= limit:
        return None
    return [f"category confidence {confidence:.2f} ≥ {limit:g}"]


def _engagement_declining(expected: bool, ctx: Facts) -> list[str] | None:
    signals = ctx.signals
    if signals.engagement_declining is not expected:
        return None
    if not expected:
        return ["product usage is not declining"]
    trend = signals.engagement_trend
    detail = f" (logins at {trend:.0%} of the previous 30 days)" if trend is not None else ""
    return [f"product usage is declining{detail}"]


def _renewal_within_days(days: int, ctx: Facts) -> list[str] | None:
    account = ctx.ticket.account
    renewal = account.renewal_date if account is not None else None
    if renewal is None:
        return None
    left = (renewal - ctx.now.date()).days
    if not 0 <= left <= days:
        return None
    return [f"renewal on {renewal.isoformat()}, in {left} days (≤ {days})"]


def _severity(values: tuple[str, ...], ctx: Facts) -> list[str] | None:
    severity = (ctx.signals.severity or "").lower()
    if severity not in values:
        return None
    return [f"severity {severity}{_evidence(ctx, 'severity')}"]


def _repeat_contacts(limit: int, ctx: Facts) -> list[str] | None:
    count = ctx.signals.repeat_contacts
    if count < limit:
        return None
    return [f"contact #{count} about the same unresolved issue (≥ {limit})"]


def _customer_count(ctx: Facts) -> int:
    return ctx.signals.customer_message_count or len(ctx.ticket.customer_messages)


def _customer_messages(limit: int, ctx: Facts) -> list[str] | None:
    count = _customer_count(ctx)
    return [f"{count} customer messages (≥ {limit})"] if count >= limit else None


def _customer_span(limit: Any, ctx: Facts) -> list[str] | None:
    times = [m.created_at for m in ctx.ticket.customer_messages]
    if len(times) < 2:
        return None
    span = max(times) - min(times)
    if span < limit:
        return None
    days = span.total_seconds() / 86400
    return [f"customer wrote {len(times)} times over {days:.1f} days without a fix"]


def _channel(values: tuple[Any, ...], ctx: Facts) -> list[str] | None:
    return [f"channel {ctx.ticket.channel.value}"] if ctx.ticket.channel in values else None


def _page(values: tuple[str, ...], ctx: Facts) -> list[str] | None:
    rule = ctx.signals.page_rule
    if rule is None or rule not in values:
        return None
    return [f"written from page {rule!r} ({ctx.ticket.page_url})"]


def _page_urgency(values: tuple[str, ...], ctx: Facts) -> list[str] | None:
    urgency = ctx.signals.page_urgency
    if urgency is None or urgency not in values:
        return None
    return [f"page urgency {urgency} ({ctx.ticket.page_url})"]


# ``all`` and ``any`` look each part's check up themselves: a matrix is dozens of nested
# conditions per ticket, and a history audit asks them of every ticket.


def _all(parts: tuple[Condition, ...], ctx: Facts) -> list[str] | None:
    reasons: list[str] = []
    for part in parts:
        found = _CHECKS[part.kind](part.value, ctx)
        if found is None:
            return None
        reasons.extend(found)
    return reasons


def _any(parts: tuple[Condition, ...], ctx: Facts) -> list[str] | None:
    reasons: list[str] | None = None
    for part in parts:
        found = _CHECKS[part.kind](part.value, ctx)
        if found is not None:
            reasons = found if reasons is None else reasons + found
    return reasons


def _not(inner: Condition, ctx: Facts) -> list[str] | None:
    if holds(inner, ctx) is not None:
        return None
    if inner.kind == "trigger":
        return [f"no {' / '.join(inner.value)} trigger"]
    if inner.kind == "mentioned":
        return [f"{' / '.join(inner.value)} not merely mentioned"]
    if isinstance(inner.value, bool):
        # "not inquiry: true" is "inquiry: false", and reads as what is true instead.
        return _CHECKS[inner.kind](not inner.value, ctx)
    return [f"not {inner.describe()}"]


_CHECKS: dict[str, _Check] = {
    "trigger": _trigger,
    "mentioned": _mentioned,
    "category": _category,
    "plan": _plan,
    "arr_at_least": _arr_at_least,
    "arr_above": _arr_above,
    "health_below": _health_below,
    "sentiment_below": _sentiment_below,
    "sentiment_spike": _sentiment_spike,
    "frustrated": _frustrated,
    "inquiry": _inquiry,
    "confidence_at_least": _confidence_at_least,
    "engagement_declining": _engagement_declining,
    "renewal_within_days": _renewal_within_days,
    "severity": _severity,
    "repeat_contacts_at_least": _repeat_contacts,
    "customer_messages_at_least": _customer_messages,
    "customer_messages_span_at_least": _customer_span,
    "channel": _channel,
    "page": _page,
    "page_urgency": _page_urgency,
    "answer_declined": _answer_declined,
    "all": _all,
    "any": _any,
    "not": _not,
}
