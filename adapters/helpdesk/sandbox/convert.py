"""The sandbox's pure edge functions: its webhook body and signature, tickets, writes in words.

A webhook body is one JSON object::

    {"delivery_id": "d-1", "event": "ticket.created" | "ticket.updated",
     "ticket": <normalized ticket, Ticket.from_dict>}

signed with ``X-Escalade-Signature: sha256=<hex HMAC-SHA256(webhook_secret, body)>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Mapping, Sequence
from typing import Any

from integration.errors import (
    FatalError,
    ValidationError,
)
from integration.models import (
    Action,
    ActionKind,
    Priority,
    Ticket,
    format_time,
)

__all__ = [
    "EVENTS",
    "HELPDESK",
    "SIGNATURE_HEADER",
    "SIGNATURE_SCHEME",
    "cursor_for",
    "describe_writes",
    "sign",
    "to_ticket",
    "webhook_body",
]

HELPDESK = "sandbox"
SIGNATURE_HEADER = "X-Escalade-Signature"
SIGNATURE_SCHEME = "sha256="

# event type -> what it means; anything else is UnsupportedEvent (answered 202 "ignored").
EVENTS: Mapping[str, str] = {
    "ticket.created": "a ticket was opened",
    "ticket.updated": "a ticket changed (new message, status, fields)",
}

_PREVIEW_CHARS = 48


def sign(body: bytes, secret: str) -> str:
    """The ``X-Escalade-Signature`` header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{SIGNATURE_SCHEME}{digest}"


def webhook_body(ticket: Ticket, *, delivery_id: str, event: str = "ticket.updated") -> bytes:
    """Serialize a ticket as a sandbox webhook body (what the demo and tests send)."""
    payload = {"delivery_id": delivery_id, "event": event, "ticket": ticket.to_dict()}
    return json.dumps(payload, ensure_ascii=False).encode("utf-8")


def to_ticket(data: Any, *, tenant: str, path: str = "") -> Ticket:
    """Read a normalized ticket for ``tenant``; errors name the field under ``path``."""
    if not isinstance(data, Mapping):
        kind = "null" if data is None else type(data).__name__
        raise ValidationError(path or "ticket", f"expected an object, got {kind}")
    prefix = f"{path}." if path else ""
    try:
        ticket = Ticket.from_dict(data)
    except ValidationError as err:
        raise ValidationError(f"{prefix}{err.field}", err.message) from err
    if ticket.helpdesk != HELPDESK:
        raise ValidationError(f"{prefix}helpdesk", f"expected 'sandbox', got {ticket.helpdesk!r}")
    # A sandbox serves one tenant; a ticket claiming another is refused, never stored.
    if ticket.tenant != tenant:
        raise ValidationError(
            f"{prefix}tenant", f"ticket belongs to {ticket.tenant!r}, this sandbox to {tenant!r}"
        )
    return ticket


def cursor_for(ticket: Ticket) -> str:
    """The ``backfill`` cursor that resumes after ``ticket``."""
    return f"{format_time(ticket.updated_at)}|{ticket.id}"


def describe_writes(actions: Sequence[Action]) -> list[dict[str, Any]]:
    """Merge helpdesk actions into the writes one update makes, each with a plain ``summary``.

    Order is fixed (tags, priority, group, assignee, fields, notes, replies) the way a
    helpdesk applies one update; a tag both added and removed ends as the later action says.
    """
    added: dict[str, None] = {}
    removed: dict[str, None] = {}
    scalars: dict[str, Any] = {}
    fields: dict[str, Any] = {}
    notes: list[str] = []
    replies: list[str] = []
    for index, action in enumerate(actions):
        where = f"actions[{index}]"
        payload = action.payload
        if action.kind in (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS):
            into, out_of = (
                (added, removed) if action.kind is ActionKind.ADD_TAGS else (removed, added)
            )
            for tag in _tags(payload, where):
                out_of.pop(tag, None)
                into[tag] = None
        elif action.kind is ActionKind.SET_PRIORITY:
            scalars["priority"] = _priority(payload, where).value
        elif action.kind is ActionKind.ASSIGN:
            if "group" not in payload and "assignee" not in payload:
                raise FatalError(f"sandbox: {where}: assign needs 'group' or 'assignee'")
            for key in ("group", "assignee"):
                if key in payload:
                    scalars[key] = _opt_text(payload, key, where)
        elif action.kind is ActionKind.SET_FIELD:
            name = payload.get("field", payload.get("name"))
            if not isinstance(name, str) or not name:
                raise FatalError(f"sandbox: {where}: set_field needs a 'field' name")
            fields[name] = payload.get("value")
        elif action.kind is ActionKind.INTERNAL_NOTE:
            notes.append(_body(payload, where))
        elif action.kind is ActionKind.PUBLIC_REPLY:
            replies.append(_body(payload, where))
        else:
            raise FatalError(f"sandbox: {where}: a helpdesk cannot do {action.kind.value!r}")

    writes: list[dict[str, Any]] = []
    if added or removed:
        signed = " ".join([*(f"+{t}" for t in added), *(f"-{t}" for t in removed)])
        writes.append(_write("tags", f"tags {signed}", add=list(added), remove=list(removed)))
    for key in ("priority", "group", "assignee"):
        if key in scalars:
            shown = scalars[key] if scalars[key] is not None else "(none)"
            writes.append(_write(key, f"{key} → {shown}", value=scalars[key]))
    for name, value in fields.items():
        shown = json.dumps(value, ensure_ascii=False)
        writes.append(_write("field", f"field {name} = {shown}", field=name, value=value))
    for body in notes:
        writes.append(_write("internal_note", f"internal note ({len(body)} chars)", body=body))
    for body in replies:
        writes.append(_write("public_reply", f"public reply: {_preview(body)}", body=body))
    return writes


def _write(kind: str, summary: str, **data: Any) -> dict[str, Any]:
    return {"write": kind, **data, "summary": summary}


def _tags(payload: Mapping[str, Any], where: str) -> list[str]:
    tags = payload.get("tags", payload.get("tag"))
    if isinstance(tags, str):
        tags = [tags]
    if (
        not isinstance(tags, list)
        or not tags
        or not all(isinstance(t, str) and t.strip() for t in tags)
    ):
        raise FatalError(f"sandbox: {where}: 'tags' must be a non-empty list of strings")
    return [t.strip() for t in tags]


def _priority(payload: Mapping[str, Any], where: str) -> Priority:
    value = payload.get("priority")
    try:
        return Priority(str(value))
    except ValueError as err:
        raise FatalError(f"sandbox: {where}: {value!r} is not a priority") from err


def _opt_text(payload: Mapping[str, Any], key: str, where: str) -> str | None:
    value = payload.get(key)
    if value is not None and not isinstance(value, str):
        raise FatalError(f"sandbox: {where}: {key!r} must be a string or null")
    return value


def _body(payload: Mapping[str, Any], where: str) -> str:
    body = payload.get("body", payload.get("text"))
    if not isinstance(body, str) or not body.strip():
        raise FatalError(f"sandbox: {where}: a message needs a non-empty 'body'")
    return body


def _preview(body: str) -> str:
    flat = " ".join(body.split())
    if len(flat) <= _PREVIEW_CHARS:
        return f"'{flat}'"
    head = flat[: _PREVIEW_CHARS + 1]
    # Cut at a word boundary so the preview never ends mid-word.
    cut = head.rsplit(" ", 1)[0] if " " in head else head[:_PREVIEW_CHARS]
    return f"'{cut.rstrip(' ,;:.')}...'"
