"""Escalade actions -> the Freshdesk calls: one ticket update, one private note, one reply. Pure.

https://developers.freshdesk.com/api/#update_ticket, #add_note_to_a_ticket, #reply_ticket
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.helpdesk.common import (
    comment_bodies,
    comment_ref,
    helpdesk_actions,
    tag_names,
    to_html,
    with_marker,
)
from adapters.helpdesk.freshdesk.common import DIGITS
from integration.errors import ConfigurationError, ValidationError
from integration.models import Action, ActionKind, Priority, Status

__all__ = [
    "PRIORITY_CODES",
    "STATUS_CODES",
    "UPDATE_KINDS",
    "to_freshdesk_note",
    "to_freshdesk_reply",
    "to_freshdesk_update",
]

PRIORITY_CODES: Mapping[Priority, int] = {
    Priority.LOW: 1,
    Priority.NORMAL: 2,
    Priority.HIGH: 3,
    Priority.URGENT: 4,
}
# On hold has no built-in Freshdesk status; map it to a custom status with options.statuses.
STATUS_CODES: Mapping[Status, int] = {
    Status.NEW: 2,
    Status.OPEN: 2,
    Status.PENDING: 3,
    Status.SOLVED: 4,
    Status.CLOSED: 5,
}
UPDATE_KINDS = frozenset(
    {
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.ASSIGN,
        ActionKind.SET_FIELD,
    }
)


def _tags(action: Action) -> list[str]:
    cleaned = tag_names(action)
    if any("," in t for t in cleaned):
        # Freshdesk splits tags on commas in its UI and filters.
        raise ValidationError(f"{action.kind.value}.tags", "a tag cannot contain a comma")
    return cleaned


def to_freshdesk_update(
    actions: Sequence[Action],
    *,
    tier_field: str | None,
    group_ids: Mapping[str, int],
    current_tags: Sequence[str],
    status_codes: Mapping[Status, int] | None = None,
) -> dict[str, Any]:
    """The ``PUT /api/v2/tickets/{id}`` body for the field actions (``{}`` when none)."""
    body: dict[str, Any] = {}
    tags = list(dict.fromkeys(current_tags))
    touched_tags = False
    fields: dict[str, Any] = {}
    for action in helpdesk_actions(actions):
        payload = action.payload
        if action.kind is ActionKind.ADD_TAGS:
            known = {t.lower() for t in tags}
            tags.extend(t for t in _tags(action) if t.lower() not in known)
            touched_tags = True
        elif action.kind is ActionKind.REMOVE_TAGS:
            drop = {t.lower() for t in _tags(action)}
            tags = [t for t in tags if t.lower() not in drop]
            touched_tags = True
        elif action.kind is ActionKind.SET_PRIORITY:
            try:
                body["priority"] = PRIORITY_CODES[Priority(str(payload.get("priority")))]
            except ValueError as err:
                raise ValidationError(
                    "set_priority.priority", f"unknown priority {payload.get('priority')!r}"
                ) from err
        elif action.kind is ActionKind.ASSIGN:
            _assign(body, payload, group_ids)
        elif action.kind is ActionKind.SET_FIELD:
            field = payload.get("field")
            if field == "status":
                body["status"] = _status_code(payload.get("value"), status_codes)
                continue
            name = _field_name(field, tier_field)
            if name is not None:
                fields[name] = payload.get("value")
    if touched_tags:
        # Freshdesk replaces the whole list on update, so we send current + added - removed.
        body["tags"] = tags
    if fields:
        body["custom_fields"] = fields
    return body


def _assign(body: dict[str, Any], payload: Mapping[str, Any], group_ids: Mapping[str, int]) -> None:
    group, assignee = payload.get("group"), payload.get("assignee")
    if group is not None:
        if group not in group_ids:
            raise ConfigurationError(f"freshdesk: group {group!r} has no id in options.group_ids")
        body["group_id"] = int(group_ids[group])
    if assignee is not None:
        if not DIGITS.match(str(assignee)):
            raise ValidationError("assign.assignee", f"not a Freshdesk agent id: {assignee!r}")
        body["responder_id"] = int(assignee)


def _status_code(value: Any, status_codes: Mapping[Status, int] | None) -> int:
    codes = {**STATUS_CODES, **(status_codes or {})}
    try:
        return codes[Status(value)]
    except (ValueError, KeyError) as err:
        raise ValidationError(
            "set_field.value", f"no Freshdesk status for {value!r} (see options.statuses)"
        ) from err


def _field_name(field: Any, tier_field: str | None) -> str | None:
    if field == "tier":
        return tier_field  # no tier field configured: the tag carries the tier
    if isinstance(field, str) and field.startswith("cf_"):
        return field
    raise ValidationError("set_field.field", f"unknown field {field!r} (custom fields are cf_...)")


def _bodies(actions: Sequence[Action], kind: ActionKind) -> list[str]:
    return comment_bodies(helpdesk_actions(actions), kind)


def to_freshdesk_note(actions: Sequence[Action]) -> dict[str, Any] | None:
    """The ``POST /api/v2/tickets/{id}/notes`` body: every internal note as one private note."""
    notes = _bodies(actions, ActionKind.INTERNAL_NOTE)
    if not notes:
        return None
    ref = comment_ref(helpdesk_actions(actions), ActionKind.INTERNAL_NOTE)
    return {"body": to_html(with_marker("\n\n".join(notes), ref)), "private": True}


def to_freshdesk_reply(
    actions: Sequence[Action], *, from_email: str | None = None
) -> dict[str, Any] | None:
    """The ``POST /api/v2/tickets/{id}/reply`` body for the customer-facing replies."""
    replies = _bodies(actions, ActionKind.PUBLIC_REPLY)
    if not replies:
        return None
    ref = comment_ref(helpdesk_actions(actions), ActionKind.PUBLIC_REPLY)
    body: dict[str, Any] = {"body": to_html(with_marker("\n\n".join(replies), ref))}
    if from_email:
        body["from_email"] = from_email
    return body
