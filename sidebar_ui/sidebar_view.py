"""What the agent sidebar shows for one ticket, built from the stored rows. Pure: no I/O.

``build_sidebar`` turns a ticket row, its decisions (newest first) and its overrides into a
frozen :class:`SidebarView` that the template only prints: tier and why (each rule with the
evidence detection found), the handoff summary, the account, the SLA clock in the tenant's
business time zone, previous tickets, a linked bug, and the agents' earlier overrides.

The timeline below it (the ticket's story, which the start page and the Canvas Kit app show
too) is built by ``sidebar_ui.timeline_view``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Any

from integration.answer.respond import SUGGEST_FLOOR, AnswerRecord
from integration.calendars import format_local
from integration.matrix import Matrix
from integration.matrix.conditions import sharpest_drop
from integration.matrix.schema import AnswerMode
from integration.models import MessageSentiment, parse_time
from integration.store import DecisionRow, OutboxRow, TicketRow
from integration.store.people import TierOverrideRow
from sidebar_ui.timeline_view import RuleLine, TimelineView, build_timeline, rule_lines, tier_setter

__all__ = [
    "DEFAULT_CURRENCY",
    "AccountView",
    "BugView",
    "EvidenceLine",
    "OverrideView",
    "PreviousView",
    "KnowledgeView",
    "SidebarView",
    "SlaView",
    "SummaryView",
    "build_sidebar",
    "currency_of",
    "evidence_lines",
    "format_duration",
    "format_money",
    "knowledge_view",
]

# Sweep states that mean "already acted on / nothing running"; shown as stored.
_FINAL_STATES = frozenset({"breached", "promoted", "paused", "done"})
_STATE_LABELS = {
    "ok": "On track",
    "warning": "Due soon",
    "breached": "Breached",
    "promoted": "Breached, promoted",
    "paused": "Paused",
    "done": "Met",
}
_HEALTH_LOW, _HEALTH_OK = 0.4, 0.7
DEFAULT_CURRENCY = "USD"
_SUGGESTIONS = 3
_SUMMARY_LABELS = ("Wants:", "Tried:", "Bot answered:", "In their words:", "Nothing to summarize")


@dataclass(frozen=True, kw_only=True, slots=True)
class EvidenceLine:
    """What detection read: a label (trigger id, sentiment, ...), the words, their sentence."""

    kind: str
    label: str
    text: str
    sentence: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SummaryView:
    """The handoff in the customer's and the bot's own words."""

    summary: str | None = None
    wants: str | None = None
    customer_words: str | None = None
    tried: tuple[str, ...] = ()
    bot_answered: tuple[str, ...] = ()
    facts: tuple[str, ...] = ()

    @property
    def empty(self) -> bool:
        """True when there is nothing to show."""
        return not (self.summary or self.wants or self.customer_words or self.tried
                    or self.bot_answered or self.facts)


@dataclass(frozen=True, kw_only=True, slots=True)
class AccountView:
    """The customer organization, formatted for a narrow column."""

    name: str
    plan: str | None = None
    arr: str | None = None
    health: str | None = None
    health_level: str | None = None
    owner: str | None = None
    lifecycle: str | None = None
    renewal: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class SlaView:
    """The SLA clock: state badge, the metric, the due time and what is left (or overdue)."""

    state: str
    label: str
    metric: str | None = None
    due_local: str | None = None
    due_iso: str | None = None
    remaining: str | None = None
    overdue: bool = False


@dataclass(frozen=True, kw_only=True, slots=True)
class PreviousView:
    """An earlier ticket about the same issue."""

    id: str
    subject: str
    status: str
    created: str
    url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class BugView:
    """The issue-tracker bug linked to the ticket."""

    key: str
    title: str | None = None
    url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OverrideView:
    """An agent's earlier override."""

    id: int
    agent: str
    at: str
    from_tier: int | None
    to_tier: int
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class SuggestionView:
    """A help-centre article or macro that may answer the ticket."""

    title: str
    kind: str
    confidence: str
    url: str | None
    excerpt: str
    # What "Insert into reply" puts in the agent's editor: the passage and the link.
    insert: str


@dataclass(frozen=True, kw_only=True, slots=True)
class KnowledgeView:
    """What the team's knowledge gave the ticket: the automatic answer, or suggestions."""

    status: str
    suggestions: tuple[SuggestionView, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class SidebarView:
    """Everything the sidebar page prints for one ticket."""

    helpdesk: str
    ticket_id: str
    subject: str
    status: str
    tier: int | None
    priority: str | None
    category: str | None
    sentiment: float | None
    rules: tuple[RuleLine, ...]
    evidence: tuple[EvidenceLine, ...]
    summary: SummaryView
    account: AccountView | None
    sla: SlaView | None
    previous: tuple[PreviousView, ...]
    bug: BugView | None
    overrides: tuple[OverrideView, ...]
    timeline: TimelineView
    decided_at: str | None
    matrix_version: str | None
    ticket_url: str | None
    knowledge: KnowledgeView | None = None


def build_sidebar(
    ticket: TicketRow,
    decisions: Sequence[DecisionRow],
    overrides: Sequence[TierOverrideRow],
    *,
    matrix: Matrix,
    now: datetime,
    ticket_link: Callable[[str], str | None] | None = None,
    linked_bug: Mapping[str, Any] | None = None,
    writes: Sequence[OutboxRow] = (),
    earlier: int = 0,
    currency: str = DEFAULT_CURRENCY,
    answer: AnswerRecord | None = None,
) -> SidebarView:
    """The sidebar of ``ticket``; ``decisions``, ``overrides`` and ``writes`` newest first.

    ``ticket_link`` maps a helpdesk ticket id to its agent URL; without it, links are derived
    from the handoff's ``ticket_url`` when that ends with this ticket's id. ``writes`` are the
    outbox rows of the ticket (``store.ticket_stories``); ``earlier`` counts older decisions
    not passed. The "why" is the decision that set the current tier; later ones are steps of
    the timeline below it. ``answer`` is what the team's knowledge gave the ticket.
    """
    data: Mapping[str, Any] = ticket.data or {}
    latest = decisions[0] if decisions else None
    # SLA-sweep decisions carry no signals or handoff: read those from the last one that has.
    with_signals = next((d for d in decisions if d.signals), None)
    with_handoff = next((d for d in decisions if d.handoff), None)
    handoff: Mapping[str, Any] = (with_handoff.handoff or {}) if with_handoff else {}
    link = ticket_link or _link_from(handoff.get("ticket_url"), ticket.external_id)
    zone = matrix.display_zone
    timeline = build_timeline(ticket.tier, decisions, writes, zone=zone, earlier=earlier)
    setter = tier_setter(ticket.tier, decisions) or latest
    return SidebarView(
        helpdesk=ticket.helpdesk,
        ticket_id=ticket.external_id,
        subject=str(data.get("subject") or ""),
        status=ticket.status,
        tier=ticket.tier,
        priority=ticket.priority,
        category=ticket.category,
        sentiment=latest.sentiment if latest is not None else None,
        rules=rule_lines(setter),
        evidence=evidence_lines(with_signals.signals if with_signals else {}),
        summary=_summary(handoff),
        account=_account(data.get("account"), now=now, currency=currency),
        sla=_sla(ticket, now=now, zone=zone),
        previous=tuple(_previous(p, link) for p in handoff.get("previous") or ()),
        bug=_bug({**data, "linked_bug": linked_bug} if linked_bug else data,
                 latest, with_handoff),
        overrides=tuple(_override(o, zone) for o in overrides),
        timeline=timeline,
        decided_at=format_local(latest.decided_at, zone) if latest is not None else None,
        matrix_version=latest.matrix_version if latest is not None else None,
        ticket_url=handoff.get("ticket_url") or (link(ticket.external_id) if link else None),
        knowledge=knowledge_view(answer, zone),
    )


def currency_of(settings: Mapping[str, Any] | None) -> str:
    """The tenant's currency (setting ``currency``, an ISO 4217 code), ``USD`` when unset."""
    value = (settings or {}).get("currency")
    if isinstance(value, str) and len(value.strip()) == 3 and value.strip().isalpha():
        return value.strip().upper()
    return DEFAULT_CURRENCY


def format_money(amount: Any, currency: str) -> str | None:
    """``USD 240,000``; None when ``amount`` is not a number."""
    if isinstance(amount, bool) or not isinstance(amount, int | float):
        return None
    return f"{currency} {amount:,.0f}"


def evidence_lines(signals: Mapping[str, Any]) -> tuple[EvidenceLine, ...]:
    """The words and sentences behind a decision, from its stored signals JSON."""
    out: list[EvidenceLine] = []
    for hit in signals.get("triggers") or ():
        out.append(EvidenceLine(kind="trigger", label=str(hit.get("trigger", "")),
                                text=str(hit.get("match", "")),
                                sentence=hit.get("sentence") or None))
    sentiment = signals.get("sentiment")
    driver = _sentiment_sentence(signals)
    if isinstance(sentiment, int | float) and (driver or sentiment < 0):
        tone = " · frustrated" if signals.get("frustrated") else ""
        out.append(EvidenceLine(kind="sentiment", label="sentiment",
                                text=f"{sentiment:+.2f}{tone}", sentence=driver))
    if signals.get("sentiment_spike"):
        out.append(EvidenceLine(kind="tone_drop", label="tone drop",
                                text="dropped sharply mid-conversation" + _drop(signals)))
    keys = [str(k) for k in signals.get("error_keys") or ()]
    if keys:
        out.append(EvidenceLine(kind="error_keys", label="error keys", text=", ".join(keys)))
    for item in signals.get("evidence") or ():
        kind = str(item.get("kind", ""))
        if kind != "sentiment" and item.get("text"):
            out.append(EvidenceLine(kind=kind, label=kind.replace("_", " "),
                                    text=str(item["text"])))
    if signals.get("page_hint"):
        rule = f" ({signals['page_rule']})" if signals.get("page_rule") else ""
        out.append(EvidenceLine(kind="page", label="page", text=f"{signals['page_hint']}{rule}"))
    repeats = signals.get("repeat_contacts")
    if isinstance(repeats, int) and repeats > 1:
        out.append(EvidenceLine(kind="repeat", label="repeat contact",
                                text=f"contact #{repeats} about this issue"))
    return tuple(out)


def format_duration(delta: timedelta) -> str:
    """``3 d 4 h``, ``2 h 05 min``, ``12 min`` or ``under a minute`` (sign ignored)."""
    minutes = int(abs(delta).total_seconds() // 60)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {mins:02d} min"
    return f"{mins} min" if mins else "under a minute"


# --- pieces ---------------------------------------------------------------------------------


def knowledge_view(answer: AnswerRecord | None, zone: tzinfo) -> KnowledgeView | None:
    """What the team's knowledge gave a ticket, for an agent to read; None when nothing."""
    if answer is None:
        return None
    at = format_local(answer.at, zone)
    if answer.answered:
        status = (f"Answered automatically with “{answer.doc_title}” "
                  f"({answer.confidence:.0%}), {at}.")
        if answer.declined_at is not None:
            status += (f" The customer wrote back {format_local(answer.declined_at, zone)}: "
                       "it is with an agent now.")
    elif answer.mode is AnswerMode.ANSWER and answer.why:
        status = f"Not answered automatically: {answer.why}."
    else:
        status = "Articles that may answer this:"
    shown = [s for s in answer.suggestions if s.confidence >= SUGGEST_FLOOR][:_SUGGESTIONS]
    return KnowledgeView(status=status, suggestions=tuple(
        SuggestionView(title=s.title, kind=s.kind.value, confidence=f"{s.confidence:.0%}",
                       url=s.url, excerpt=s.excerpt,
                       insert="\n\n".join(p for p in (s.excerpt, s.url or "") if p))
        for s in shown))


def _drop(signals: Mapping[str, Any]) -> str:
    scored = tuple(
        MessageSentiment(message_id=str(m.get("message_id", "")), score=float(m["score"]),
                         sentence=str(m.get("sentence") or ""))
        for m in signals.get("message_sentiments") or ()
        if isinstance(m.get("score"), int | float))
    return sharpest_drop(scored)


def _sentiment_sentence(signals: Mapping[str, Any]) -> str | None:
    for item in signals.get("evidence") or ():
        if item.get("kind") == "sentiment" and item.get("text"):
            return str(item["text"])
    scored = [m for m in signals.get("message_sentiments") or () if m.get("sentence")]
    if not scored:
        return None
    return str(min(scored, key=lambda m: float(m.get("score", 0.0)))["sentence"])


def _summary(handoff: Mapping[str, Any]) -> SummaryView:
    def texts(key: str) -> tuple[str, ...]:
        return tuple(str(t) for t in handoff.get(key) or () if t)

    wants = handoff.get("wants") or None
    words = handoff.get("customer_words") or None
    summary = handoff.get("summary") or None
    # The extractive summary is its labelled parts joined ("Wants: …", "Tried: …"), which
    # the sidebar shows one by one; only prose (an LLM summary) is worth repeating.
    if summary and all(line.startswith(_SUMMARY_LABELS) or not line.strip()
                       for line in summary.splitlines()):
        summary = None
    return SummaryView(
        summary=summary,
        wants=wants,
        customer_words=words if words != wants else None,
        tried=texts("tried"),
        bot_answered=texts("bot_answered"),
        facts=texts("facts"),
    )


def _account(raw: Any, *, now: datetime, currency: str) -> AccountView | None:
    if not isinstance(raw, Mapping) or not (raw.get("name") or raw.get("id")):
        return None
    arr, health = raw.get("arr"), raw.get("health")
    level = None
    if isinstance(health, int | float):
        level = "low" if health < _HEALTH_LOW else "fair" if health < _HEALTH_OK else "good"
    return AccountView(
        name=str(raw.get("name") or raw.get("id")),
        plan=str(raw["plan"]).capitalize() if raw.get("plan") else None,
        arr=format_money(arr, currency),
        health=f"{health * 100:.0f}%" if isinstance(health, int | float) else None,
        health_level=level,
        owner=raw.get("owner") or None,
        lifecycle=str(raw["lifecycle"]).replace("_", " ") if raw.get("lifecycle") else None,
        renewal=_renewal(raw.get("renewal_date"), now),
    )


def _renewal(value: Any, now: datetime) -> str | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(str(value))
    except ValueError:
        return str(value)
    days = (day - now.date()).days
    when = "today" if days == 0 else f"in {days} d" if days > 0 else f"{-days} d ago"
    return f"{day.isoformat()} ({when})"


def _sla(ticket: TicketRow, *, now: datetime, zone: tzinfo) -> SlaView | None:
    clock = ticket.sla_clock or {}
    state = ticket.sla_state or clock.get("state")
    if state is None:
        return None
    due, warn = ticket.sla_due_at, ticket.sla_warn_at
    # The stored state is what the sweep last acted on; it runs every few seconds, so the
    # page reads the clock itself rather than show "on track" a minute past the due time.
    if state not in _FINAL_STATES and due is not None:
        if now >= due:
            state = "breached"
        elif warn is not None and now >= warn:
            state = "warning"
    running = state not in ("paused", "done") and due is not None
    label = _STATE_LABELS.get(state, state.replace("_", " ").capitalize())
    if state == "done" and any(isinstance(m, Mapping) and m.get("breached_at")
                               for m in clock.get("metrics") or ()):
        # A ticket solved after a window ran out did not meet its SLA.
        label = "Done, breached"
    return SlaView(
        state=state,
        label=label,
        metric=_metric(clock, due),
        due_local=format_local(due, zone) if running and due is not None else None,
        due_iso=due.astimezone(UTC).isoformat() if running and due is not None else None,
        remaining=format_duration(due - now) if running and due is not None else None,
        overdue=running and due is not None and now >= due,
    )


def _metric(clock: Mapping[str, Any], due: datetime | None) -> str | None:
    metrics = [m for m in clock.get("metrics") or () if m.get("due_at")]
    for metric in metrics:
        if due is not None and parse_time(metric["due_at"], "due_at") == due:
            return str(metric.get("metric", "")).replace("_", " ") or None
    return None


def _previous(raw: Mapping[str, Any], link: Callable[[str], str | None] | None) -> PreviousView:
    ident = str(raw.get("id", ""))
    created = str(raw.get("created_at") or "")[:10]
    return PreviousView(id=ident, subject=str(raw.get("subject") or ""),
                        status=str(raw.get("status") or ""), created=created,
                        url=link(ident) if link is not None and ident else None)


def _link_from(url: Any, ticket_id: str) -> Callable[[str], str | None] | None:
    if not isinstance(url, str) or not url.endswith(ticket_id):
        return None
    base = url[: len(url) - len(ticket_id)]
    if not base.startswith(("https://", "http://")):
        return None
    return lambda other: base + other


def _bug(data: Mapping[str, Any], *decisions: DecisionRow | None) -> BugView | None:
    # Linking a bug (Jira / Linear) may record it on the ticket or on a decision's handoff.
    custom = data.get("custom")
    candidates = [data.get("linked_bug"), custom.get("linked_bug") if isinstance(
        custom, Mapping) else None]
    for decision in decisions:
        if decision is not None:
            candidates += [(decision.handoff or {}).get("linked_bug"),
                           (decision.signals or {}).get("linked_bug")]
    for raw in candidates:
        if isinstance(raw, Mapping) and raw.get("key"):
            url = raw.get("url")
            safe = url if isinstance(url, str) and url.startswith(("https://", "http://")) else None
            return BugView(key=str(raw["key"]), title=raw.get("title") or None, url=safe)
    return None


def _override(row: TierOverrideRow, zone: tzinfo) -> OverrideView:
    return OverrideView(id=row.id, agent=row.agent or "an agent",
                        at=format_local(row.created_at, zone), from_tier=row.from_tier,
                        to_tier=row.to_tier, reason=row.reason)
