"""Intercom Canvas Kit inbox app: Escalade's tier, why, and an override form in the inbox.

Intercom POSTs ``initialize`` when a teammate opens a conversation with the app in its
details panel and ``submit`` when the override button is pressed; both bodies are signed
(``X-Body-Signature``, checked by the Intercom adapter's ``verify_sidebar``) and both answers
are ``{"canvas": ...}``.
Canvas building is pure (``CanvasView`` in, Canvas Kit JSON out); the views only read the
store, and an override goes through ``sidebar_ui.override`` exactly like the sidebar's. The
canvas is the sidebar made compact: the reasons of the decision that set the tier, the last
steps of the ticket's timeline, the account (ARR in the tenant's currency) and the SLA due
time in the tenant's business time zone.
https://developers.intercom.com/docs/canvas-kit
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, request
from werkzeug.exceptions import BadRequest

from integration import store
from integration.calendars import format_local
from integration.matrix import Matrix
from sidebar_ui.auth import identify, require_ticket_access
from sidebar_ui.override import try_override
from sidebar_ui.sidebar_view import (
    DEFAULT_CURRENCY,
    KnowledgeView,
    currency_of,
    format_money,
    knowledge_view,
)
from sidebar_ui.timeline_view import StepView, build_timeline

__all__ = [
    "CanvasView",
    "bp",
    "canvas_json",
    "canvas_view",
    "ticket_canvas",
    "unknown_canvas",
]

bp = Blueprint("canvas", __name__)

UNKNOWN_TEXT = "Escalade has not seen this conversation yet."
_MAX_TEXT = 600
# Steps of the timeline the canvas lists, and decisions it reads for them.
HISTORY_STEPS = 4
_STORY_DECISIONS = 10
_LINK = re.compile(r"\]\s*\(")


@dataclass(frozen=True, kw_only=True, slots=True)
class CanvasView:
    """What the canvas shows about one conversation, read from the store."""

    ticket_id: str
    tier: int | None
    priority: str | None = None
    reasons: tuple[str, ...] = ()
    evidence: tuple[str, ...] = ()
    summary: str | None = None
    account: Mapping[str, Any] = field(default_factory=dict)
    sla_due_at: datetime | None = None
    sla_state: str | None = None
    previous: tuple[Mapping[str, Any], ...] = ()
    linked_bug: Mapping[str, Any] | None = None
    history: tuple[StepView, ...] = ()  # newest first
    zone: tzinfo = UTC  # the tenant's business time zone, for due times
    currency: str = DEFAULT_CURRENCY
    # What the team's knowledge gave the conversation (the sidebar's help-centre section).
    knowledge: KnowledgeView | None = None


# --- views --------------------------------------------------------------------------------


@bp.post("/intercom/canvas/<tenant>/initialize")
def initialize(tenant: str) -> Response:
    """First canvas for a conversation."""
    runtime = current_app.extensions["escalade"]
    identity = identify(request, runtime=runtime, helpdesk="intercom", tenant=tenant)
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        canvas = _canvas_for(s, runtime, tenant, identity.ticket_id, now=now)
    return jsonify({"canvas": canvas})


@bp.post("/intercom/canvas/<tenant>/submit")
def submit(tenant: str) -> Response:
    """The override form was submitted: record it and answer with the refreshed canvas."""
    runtime = current_app.extensions["escalade"]
    identity = identify(request, runtime=runtime, helpdesk="intercom", tenant=tenant)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        raise BadRequest("submit body must be a JSON object")
    raw = body.get("input_values")
    values = ({str(k): str(v) for k, v in raw.items() if v is not None}
              if isinstance(raw, dict) else {})
    now = runtime.now()
    with store.session_scope(runtime.sessions) as s:
        tenant_row = store.get_tenant(s, tenant)
        row = _ticket_row(s, tenant_row, identity.ticket_id)
        if tenant_row is None or row is None or identity.ticket_id is None:
            return jsonify({"canvas": unknown_canvas()})
        require_ticket_access(identity, tenant=tenant, ticket_id=row.external_id)
        result, errors = try_override(s, values, runtime=runtime, tenant=tenant_row,
                                      ticket=row, agent=identity.user, now=now)
        matrix, currency = runtime.matrix_for(tenant_row), currency_of(tenant_row.settings)
        if result is None:
            s.rollback()
            view = canvas_view(s, row, matrix=matrix, currency=currency)
            return jsonify({"canvas": ticket_canvas(view, now=now, values=values,
                                                    errors=errors)})
        notice = (f"Tier set to {result.to_tier}. It is being written back to the "
                  "conversation and recorded with the ticket.")
        view = canvas_view(s, row, matrix=matrix, currency=currency)
    runtime.wake()
    return jsonify({"canvas": ticket_canvas(view, now=now, notice=notice)})


def _canvas_for(
    s: Any, runtime: Any, tenant: str, ticket_id: str | None, *, now: datetime
) -> dict[str, Any]:
    tenant_row = store.get_tenant(s, tenant)
    row = _ticket_row(s, tenant_row, ticket_id)
    if tenant_row is None or row is None:
        return unknown_canvas()
    view = canvas_view(s, row, matrix=runtime.matrix_for(tenant_row),
                       currency=currency_of(tenant_row.settings))
    return ticket_canvas(view, now=now)


def _ticket_row(s: Any, tenant_row: Any, ticket_id: str | None) -> Any:
    if tenant_row is None or not ticket_id:
        return None
    return store.get_ticket(s, tenant_row.id, "intercom", ticket_id)


def canvas_view(
    s: Any, row: store.TicketRow, *, matrix: Matrix, currency: str = DEFAULT_CURRENCY
) -> CanvasView:
    """Read what the canvas shows about ``row``: why its tier, its story, the latest context."""
    story = store.ticket_stories(s, [row.id], per_ticket=_STORY_DECISIONS, context=True)[row.id]
    decisions = story.decisions
    timeline = build_timeline(row.tier, decisions, story.writes, zone=matrix.display_zone,
                              earlier=story.earlier)
    why = timeline.set_by.rules if timeline.set_by is not None else next(
        (step.rules for step in timeline.steps if step.rules), ())
    # An override or SLA decision carries no handoff or evidence: show the last one that did.
    handoff = next((d.handoff for d in decisions if d.handoff), None) or {}
    evidence = next((d.signals.get("evidence") for d in decisions
                     if (d.signals or {}).get("evidence")), None) or ()
    data = row.data or {}
    bug = data.get("linked_bug")
    return CanvasView(
        ticket_id=row.external_id,
        tier=row.tier,
        priority=row.priority,
        reasons=tuple(r.reason for r in why),
        evidence=tuple(str(e["text"]) for e in evidence
                       if isinstance(e, dict) and e.get("text"))[:3],
        summary=handoff.get("summary"),
        account=data.get("account") or {},
        sla_due_at=row.sla_due_at,
        sla_state=row.sla_state,
        previous=tuple(p for p in handoff.get("previous") or () if isinstance(p, dict)),
        linked_bug=bug if isinstance(bug, dict) else None,
        history=timeline.steps[:HISTORY_STEPS],
        zone=matrix.display_zone,
        currency=currency,
        knowledge=knowledge_view(store.answers.answer_for_ticket(s, row.id),
                                 matrix.display_zone),
    )


# --- canvases (pure) ----------------------------------------------------------------------


def unknown_canvas() -> dict[str, Any]:
    """The canvas for a conversation Escalade has no record of."""
    return {"content": {"components": [
        _text("Escalade", style="header"),
        _text(UNKNOWN_TEXT),
        _text("It appears here once Intercom has sent the conversation's first webhook.",
              style="muted"),
    ]}}


def ticket_canvas(
    view: CanvasView,
    *,
    now: datetime,
    notice: str | None = None,
    values: Mapping[str, str] | None = None,
    errors: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The canvas for a known conversation: tier, why, context, and the override form."""
    values, errors = values or {}, errors or {}
    components: list[dict[str, Any]] = [_tier_badge(view)]
    if notice:
        components.append(_text(f"✓ {notice}", component_id="notice"))
    components += _section("Why", [f"• {_plain(r)}" for r in view.reasons if r])
    components += _section("Evidence", [f"“{_plain(e)}”" for e in view.evidence])
    if view.summary:
        components += _section("Summary", [_plain(view.summary)])
    components += _context(view, now=now)
    components += _knowledge(view.knowledge)
    components += _section("History", [_step_line(step) for step in view.history])
    if view.previous:
        components.append(_text("**Previous tickets**", bottom_margin=True))
        components.append({"type": "list", "items": [_previous_item(p) for p in view.previous[:5]]})
    components.append({"type": "divider"})
    components += _override_form(view, values=values, errors=errors)
    return {"content": {"components": components}}


def _tier_badge(view: CanvasView) -> dict[str, Any]:
    if view.tier is None:
        return _text("Not tiered yet", style="header")
    priority = f" · {view.priority} priority" if view.priority else ""
    return _text(f"Tier {view.tier}{priority}", style="header", component_id="tier-badge")


def _section(title: str, lines: Sequence[str]) -> list[dict[str, Any]]:
    if not lines:
        return []
    return [_text(f"**{title}**", bottom_margin=True)] + [_text(line) for line in lines]


def _context(view: CanvasView, *, now: datetime) -> list[dict[str, Any]]:
    account = view.account
    rows: list[tuple[str, str]] = []
    if account:
        rows.append(("Account", str(account.get("name") or account.get("id") or "—")))
        rows += [("Plan", str(account["plan"]))] if account.get("plan") else []
        arr = format_money(account.get("arr"), view.currency)
        if arr is not None:
            rows.append(("ARR", arr))
        if account.get("health") is not None:
            rows.append(("Health", _health(account["health"])))
        rows += [("Owner", str(account["owner"]))] if account.get("owner") else []
        rows += [("Renewal", str(account["renewal_date"]))] if account.get("renewal_date") else []
    if view.sla_due_at is not None:
        rows.append(("SLA due", _due(view.sla_due_at, now=now, zone=view.zone)))
    if view.sla_state:
        rows.append(("SLA state", view.sla_state))
    bug = view.linked_bug
    if bug:
        label = " ".join(str(bug[k]) for k in ("key", "status") if bug.get(k))
        rows.append(("Linked bug", label or str(bug.get("url") or "yes")))
    if not rows:
        return []
    return [{"type": "data-table", "items": [
        {"type": "field-value", "field": k, "value": v} for k, v in rows
    ]}]


def _override_form(
    view: CanvasView, *, values: Mapping[str, str], errors: Mapping[str, str]
) -> list[dict[str, Any]]:
    current = values.get("tier") or (str(view.tier) if view.tier else "")
    dropdown: dict[str, Any] = {
        "type": "dropdown", "id": "tier", "label": "Override tier",
        "options": [{"type": "option", "id": str(t), "text": f"Tier {t}"} for t in (1, 2, 3)],
    }
    if current in ("1", "2", "3"):
        dropdown["value"] = current
    if "tier" in errors:
        dropdown["save_state"] = "failed"
    reason: dict[str, Any] = {
        "type": "input", "id": "reason", "label": "Why is the tier wrong?",
        "placeholder": "Goes to the monthly matrix review",
    }
    if values.get("reason"):
        reason["value"] = values["reason"]
    out: list[dict[str, Any]] = [dropdown]
    if "tier" in errors:
        out.append(_text(errors["tier"], style="error", component_id="tier-error"))
    if "reason" in errors:
        reason["save_state"] = "failed"
    out.append(reason)
    if "reason" in errors:
        out.append(_text(errors["reason"], style="error", component_id="reason-error"))
    out.append({"type": "button", "id": "override", "label": "Override tier",
                "style": "secondary", "action": {"type": "submit"}})
    return out


def _knowledge(knowledge: KnowledgeView | None) -> list[dict[str, Any]]:
    """The automatic answer or the articles, each opening in a new tab."""
    if knowledge is None:
        return []
    out = [_text("**Help centre**"), _text(_plain(knowledge.status), style="muted")]
    items = []
    for index, article in enumerate(knowledge.suggestions):
        item: dict[str, Any] = {"type": "item", "id": f"article-{index}",
                                "title": article.title[:120],
                                "subtitle": f"{article.kind} · {article.confidence} sure"}
        if article.url:
            item["action"] = {"type": "url", "url": article.url}
        items.append(item)
    if items:
        out.append({"type": "list", "items": items})
    return out


def _previous_item(previous: Mapping[str, Any]) -> dict[str, Any]:
    ident = str(previous.get("id") or "?")
    subtitle = " · ".join(str(previous[k])[:10] if k == "created_at" else str(previous[k])
                          for k in ("status", "created_at") if previous.get(k))
    item: dict[str, Any] = {"type": "item", "id": f"previous-{ident}",
                            "title": str(previous.get("subject") or f"#{ident}")[:120]}
    if subtitle:
        item["subtitle"] = subtitle
    return item


def _text(text: str, *, style: str | None = None, component_id: str | None = None,
          bottom_margin: bool = False) -> dict[str, Any]:
    component: dict[str, Any] = {"type": "text", "text": text}
    if style:
        component["style"] = style
    if component_id:
        component["id"] = component_id
    if bottom_margin:
        component["bottom_margin"] = "none"
    return component


def _plain(value: Any) -> str:
    # Customer words must not become Markdown links in the teammate's inbox.
    text = " ".join(str(value).split())
    if len(text) > _MAX_TEXT:
        text = text[: _MAX_TEXT - 1].rstrip() + "…"
    return _LINK.sub("] (", text)


def _health(value: Any) -> str:
    try:
        score = float(value)
    except (TypeError, ValueError):
        return str(value)
    word = "at risk" if score < 0.4 else "watch" if score < 0.7 else "healthy"
    return f"{score:.2f} ({word})"


def _step_line(step: StepView) -> str:
    """``Sun 6 Dec 06:19 CET · SLA sweep · Tier 2 → 3 · helpdesk delivered``."""
    parts = [step.at, step.by]
    if step.change:
        parts.append(step.change)
    parts += [f"{w.target} {w.status}" for w in step.writes]
    if step.said and not step.change:
        parts.append(_plain(step.said))
    return " · ".join(parts)


def _due(due: datetime, *, now: datetime, zone: tzinfo) -> str:
    minutes = int((due - now).total_seconds() // 60)
    when = format_local(due, zone)
    if minutes < 0:
        return f"{when} (overdue {_span(-minutes)})"
    return f"{when} (in {_span(minutes)})"


def _span(minutes: int) -> str:
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h {minutes % 60:02d} min"
    return f"{minutes // (24 * 60)} days"


def canvas_json(canvas: Mapping[str, Any]) -> str:
    """``canvas`` as compact JSON (what Intercom receives), for size checks."""
    return json.dumps({"canvas": canvas}, separators=(",", ":"), ensure_ascii=False)
