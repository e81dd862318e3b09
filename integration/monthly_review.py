"""The monthly review of one workspace, read from the store; and its calibration check.

``monthly_review`` reads the workspace's tickets of the ``history_days`` up to the month's
end (at most ``max_tickets`` of the newest) and its agents' overrides, reads every ticket with
the matrix in force, counts the month's findings, scores the matrix on the labeled examples,
and replays each suggested change over the same tickets, the labels standing in for the
history's escalations where an agent corrected a ticket. ``calibration_check`` tries each
calibration threshold the same way. Months are read in the matrix's display zone.
"""

from __future__ import annotations

import hashlib
import re
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

import yaml

from integration import store
from integration.analytics.review.calibration import CANDIDATES, calibrated, choose
from integration.analytics.review.edits import EditError, apply_edit
from integration.analytics.review.findings import (
    BY_HAND,
    Example,
    Seen,
    examples,
    findings,
    labeled,
    score,
    ticket_text,
)
from integration.analytics.review.suggest import suggest
from integration.audit.classify import Reading, classify
from integration.audit.outcomes import outcome_of, with_outcomes
from integration.audit.replay import Agreement
from integration.audit.settings import AuditSettings
from integration.errors import ValidationError
from integration.matrix import Matrix, MatrixError, load_matrix_text
from integration.models import Ticket
from integration.store.review import overrides_between, tickets_between

__all__ = ["HISTORY_DAYS", "MAX_TICKETS", "Window", "calibration_check", "digest",
           "labeled_history", "monthly_review", "parse_month", "review_matrix"]

HISTORY_DAYS = 90
MAX_TICKETS = 3000
EXAMPLES = 5
# Suggestions shown at most (each replayed).
SHOWN = 6
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")


@dataclass(frozen=True, kw_only=True, slots=True)
class Window:
    """The month reviewed and the history around it (``since`` to ``end``)."""

    month: str
    start: datetime
    end: datetime
    since: datetime


def parse_month(text: str, *, zone: Any, history_days: int = HISTORY_DAYS,
                option: str = "month") -> Window:
    """``YYYY-MM`` as the month's bounds in ``zone``; ``ValidationError`` naming ``option``."""
    found = _MONTH.match(text.strip())
    if found is None or not 1 <= int(found.group(2)) <= 12 or int(found.group(1)) < 1970:
        raise ValidationError(option, f"{text!r} is not a month: use YYYY-MM, e.g. 2026-11")
    year, month = int(found.group(1)), int(found.group(2))
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return Window(month=f"{year:04d}-{month:02d}", start=start, end=end,
                  since=min(start, end - timedelta(days=history_days)))


def digest(text: str) -> str:
    """A short fingerprint of a matrix text (the review's edits name the text they fit)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def review_matrix(text: str, calendar: str | None) -> Matrix:
    """The matrix of ``text`` with the workspace's calendar."""
    matrix = load_matrix_text(text, source="matrix.yaml")
    try:
        return matrix.with_calendar(calendar)
    except KeyError:
        return matrix


@dataclass(frozen=True, kw_only=True, slots=True)
class _Mark:
    ticket: Ticket
    stored_tier: int | None
    in_month: bool


@dataclass(kw_only=True, slots=True)
class _History:
    marks: list[_Mark] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    labels: list[Example] = field(default_factory=list)
    overrides: list[Any] = field(default_factory=list)


def _read(runtime: Any, tenant: store.TenantRow, window: Window, matrix: Matrix | None,
          max_tickets: int) -> _History:
    """The window's tickets (read with ``matrix``; unread when None), overrides and labels."""
    settings = AuditSettings()
    stored = [_Mark(ticket=with_outcomes(item.ticket, settings), stored_tier=item.tier,
                    in_month=window.start <= item.ticket.created_at < window.end)
              for item in deque(tickets_between(runtime.sessions, tenant_id=tenant.id,
                                                since=window.since, until=window.end),
                                maxlen=max_tickets)]
    history = _History(marks=stored)
    if matrix is not None:
        readings = classify([m.ticket for m in stored], [matrix], sla=False)
        history.seen = [Seen(ticket=m.ticket, stored_tier=m.stored_tier, in_month=m.in_month,
                             reading=item.readings[0])
                        for m, item in zip(stored, readings, strict=True)]
    with store.session_scope(runtime.sessions) as s:
        history.overrides = overrides_between(s, tenant_id=tenant.id, since=window.since,
                                              until=window.end)
    in_month = [o for o in history.overrides if window.start <= o.created_at < window.end]
    month_ids = {o.ticket_id for o in in_month}
    history.labels = [_placed(e, month_ids) for e in examples(history.overrides, stored)]
    return history


def _placed(example: Example, month_ids: set[str]) -> Example:
    if example.source == BY_HAND:
        return example
    return replace(example, in_month=example.ticket_id in month_ids)


def monthly_review(runtime: Any, tenant: store.TenantRow, month: str, *, text: str,
                   history_days: int = HISTORY_DAYS,
                   max_tickets: int = MAX_TICKETS) -> dict[str, Any]:
    """The review of ``tenant``'s ``month`` against the matrix ``text`` (JSON-ready)."""
    calendar = (tenant.settings or {}).get("calendar")
    matrix = review_matrix(text, calendar)
    window = parse_month(month, zone=matrix.display_zone, history_days=history_days)
    history = _read(runtime, tenant, window, matrix, max_tickets)
    month_overrides = [o for o in history.overrides if window.start <= o.created_at < window.end]
    found = findings(history.seen, month_overrides, history.labels, matrix)
    texts = {s.ticket.id: ticket_text(s.ticket) for s in history.seen}
    document = yaml.safe_load(text)
    suggestions = suggest(found, document, texts)
    label_map = {e.ticket_id: e.tier for e in history.labels}
    prepared = [labeled(s.ticket, label_map.get(s.ticket.id)) for s in history.seen]
    current_score = score((s.ticket, s.reading, label_map.get(s.ticket.id))
                          for s in history.seen)
    shown, skipped = _replayed(suggestions, text, calendar, prepared,
                               [s.reading for s in history.seen], label_map)
    return {
        "tenant": tenant.slug, "month": window.month,
        "from": window.start.isoformat(), "until": window.end.isoformat(),
        "history_since": window.since.isoformat(), "tickets_read": len(history.seen),
        "matrix_version": matrix.version, "base": digest(text),
        "findings": found.to_dict(),
        "labels": _labels_summary(history.labels, history.seen, current_score),
        "suggestions": shown, "skipped": skipped,
    }


def _labels_summary(labels: Sequence[Example], seen: Sequence[Seen],
                    current: Any) -> dict[str, Any]:
    readings = {s.ticket.id: s.reading for s in seen}
    by_source: dict[str, dict[str, int]] = {}
    for example in labels:
        entry = by_source.setdefault(example.source, {"examples": 0, "agree": 0})
        entry["examples"] += 1
        reading = readings.get(example.ticket_id)
        entry["agree"] += reading is not None and reading.tier == example.tier
    return {"examples": len(labels), "by_source": by_source, "score": current.to_dict()}


def _replayed(suggestions: Sequence[Any], text: str, calendar: str | None,
              tickets: Sequence[Ticket], current: Sequence[Reading],
              labels: dict[str, int]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    loaded: list[tuple[Any, Matrix]] = []
    skipped = []
    for suggestion in suggestions:
        try:
            edited = apply_edit(text, suggestion.edit)
            loaded.append((suggestion, review_matrix(edited.text, calendar)))
        except (EditError, MatrixError) as err:
            skipped.append({**suggestion.to_dict(), "problem": str(err)})
    if not loaded:
        return [], skipped
    sides = replay_sides(tickets, current, [m for _, m in loaded], labels)
    shown: list[dict[str, Any]] = []
    tightened: set[tuple[str, str]] = set()
    for (suggestion, matrix), side in zip(loaded, sides, strict=True):
        edit = suggestion.edit
        key = (str(edit.get("rule")), str(edit.get("condition")))
        if side["changed"] == 0:
            skipped.append({**suggestion.to_dict(), "problem": "changes no stored ticket's tier"})
        elif edit["kind"] == "set_threshold" and key in tightened:
            continue  # a smaller step of the same threshold already changes tickets
        elif len(shown) < SHOWN:
            if edit["kind"] == "set_threshold":
                tightened.add(key)
            shown.append({**suggestion.to_dict(), "version": matrix.version, "replay": side})
    return shown, skipped


@dataclass(kw_only=True, slots=True)
class _Side:
    agreement: Agreement = field(default_factory=Agreement)
    labels_agree: int = 0
    changed: int = 0
    raised: int = 0
    lowered: int = 0
    fixed: int = 0
    broken: int = 0
    examples: list[dict[str, Any]] = field(default_factory=list)

    def add(self, ticket: Ticket, now: Reading, new: Reading, label: int | None) -> None:
        self.agreement.add(new.tier == 3, outcome_of(ticket).escalated)
        if label is not None:
            self.labels_agree += new.tier == label
            self.fixed += now.tier != label and new.tier == label
            self.broken += now.tier == label and new.tier != label
        if new.tier == now.tier:
            return
        self.changed += 1
        self.raised += new.tier > now.tier
        self.lowered += new.tier < now.tier
        if len(self.examples) < EXAMPLES:
            self.examples.append({
                "ticket": ticket.id, "subject": ticket.subject[:120], "from_tier": now.tier,
                "to_tier": new.tier, "label_tier": label,
                "rules": [r for r in (*new.rules, *now.rules)
                          if (r in new.rules) != (r in now.rules)]})


def replay_sides(tickets: Sequence[Ticket], current: Sequence[Reading],
                 matrices: Sequence[Matrix], labels: dict[str, int]) -> list[dict[str, Any]]:
    """Each of ``matrices`` against the matrix in force (its ``current`` readings of
    ``tickets``, outcomes and labels in): tickets changing tier, which way, examples,
    agreement before and after."""
    base, base_labels, labeled_count = Agreement(), 0, 0
    sides = [_Side() for _ in matrices]
    for item, now in zip(classify(tickets, matrices, sla=False), current, strict=True):
        label = labels.get(item.ticket.id)
        base.add(now.tier == 3, outcome_of(item.ticket).escalated)
        if label is not None:
            labeled_count += 1
            base_labels += now.tier == label
        for side, reading in zip(sides, item.readings, strict=True):
            side.add(item.ticket, now, reading, label)
    return [{"changed": s.changed, "raised": s.raised, "lowered": s.lowered,
             "examples": s.examples, "labels": labeled_count,
             "labels_agree_before": base_labels, "labels_agree_after": s.labels_agree,
             "fixed": s.fixed, "broken": s.broken,
             "before": base.to_dict(), "after": s.agreement.to_dict()} for s in sides]


def labeled_history(runtime: Any, tenant: store.TenantRow, matrix: Matrix, *,
                    since: datetime, max_tickets: int = MAX_TICKETS) -> list[Ticket]:
    """The workspace's stored tickets since ``since`` (outcomes read), agents' corrections
    standing in for the history's escalations: what a replay measures agreement against."""
    window = Window(month="", start=since, end=runtime.now(), since=since)
    history = _read(runtime, tenant, window, None, max_tickets)
    labels = {e.ticket_id: e.tier for e in history.labels}
    return [labeled(m.ticket, labels.get(m.ticket.id)) for m in history.marks]


def calibration_check(runtime: Any, tenant: store.TenantRow, *, text: str, now: datetime,
                      history_days: int = HISTORY_DAYS,
                      max_tickets: int = MAX_TICKETS) -> dict[str, Any]:
    """Each calibration threshold replayed over the workspace's labeled corrections and
    history; ``chosen`` is the one to turn on (None: none agrees better)."""
    calendar = (tenant.settings or {}).get("calendar")
    matrix = review_matrix(text, calendar)
    window = Window(month="", start=now - timedelta(days=history_days), end=now,
                    since=now - timedelta(days=history_days))
    history = _read(runtime, tenant, window, None, max_tickets)
    labels = {e.ticket_id: e.tier for e in history.labels}
    tried = [calibrated(matrix, t) for t in CANDIDATES]
    pairs: list[list[tuple[Ticket, Reading, int | None]]] = [[] for _ in range(len(tried) + 1)]
    prepared = [labeled(m.ticket, labels.get(m.ticket.id)) for m in history.marks]
    for item in classify(prepared, [matrix, *tried], sla=False):
        for bucket, reading in zip(pairs, item.readings, strict=True):
            bucket.append((item.ticket, reading, labels.get(item.ticket.id)))
    current = score(pairs[0])
    scores = [(t, score(p)) for t, p in zip(CANDIDATES, pairs[1:], strict=True)]
    chosen = choose(current, scores)
    return {"tenant": tenant.slug, "since": window.since.isoformat(),
            "until": window.end.isoformat(), "tickets": len(history.marks),
            "examples": len(history.labels), "matrix_version": matrix.version,
            "current": current.to_dict(),
            "tried": [{"category_confidence": t, **s.to_dict()} for t, s in scores],
            "chosen": chosen[0] if chosen else None}
