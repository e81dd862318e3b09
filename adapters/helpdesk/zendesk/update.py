"""Escalade actions -> the body of one Zendesk ticket update (plus a follow-up reply). Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from adapters.helpdesk.common import (
    comment_bodies,
    comment_ref,
    helpdesk_actions,
    tag_names,
    with_marker,
)
from adapters.helpdesk.zendesk.common import DIGITS
from adapters.helpdesk.zendesk.normalize import PRIORITIES
from integration.errors import ConfigurationError, ValidationError
from integration.models import Action, ActionKind

__all__ = ["to_zendesk_followup", "to_zendesk_update"]


def _tags(action: Action) -> list[str]:
    # Zendesk tags are lower-case and cannot hold spaces (a space splits two tags).
    return [re.sub(r"\s+", "_", t.lower()) for t in tag_names(action)]


def to_zendesk_update(
    actions: Sequence[Action],
    *,
    tier_field_id: int | None,
    group_ids: Mapping[str, int],
    current_tags: Sequence[str],
    updated_stamp: str | None = None,
) -> dict[str, Any]:
    """Build the one ``PUT /api/v2/tickets/{id}`` body for the helpdesk actions."""
    actions = helpdesk_actions(actions)
    ticket: dict[str, Any] = {}
    tags = list(dict.fromkeys(current_tags))
    touched_tags = False
    fields: dict[int, Any] = {}
    for action in actions:
        payload = action.payload
        if action.kind is ActionKind.ADD_TAGS:
            tags.extend(t for t in _tags(action) if t not in tags)
            touched_tags = True
        elif action.kind is ActionKind.REMOVE_TAGS:
            drop = set(_tags(action))
            tags = [t for t in tags if t not in drop]
            touched_tags = True
        elif action.kind is ActionKind.SET_PRIORITY:
            priority = payload.get("priority")
            if priority not in PRIORITIES:
                raise ValidationError("set_priority.priority", f"unknown priority {priority!r}")
            ticket["priority"] = priority
        elif action.kind is ActionKind.ASSIGN:
            ticket.update(_assignment(payload, group_ids))
        elif action.kind is ActionKind.SET_FIELD:
            field_id = _field_id(payload.get("field"), tier_field_id)
            if field_id is not None:
                fields[field_id] = payload.get("value")
    if touched_tags:
        # The vendor spec has no additional_tags/remove_tags, so we send the merged list;
        # safe_update below makes Zendesk refuse it (409) if the tags moved under us.
        ticket["tags"] = tags
    if fields:
        ticket["custom_fields"] = [{"id": k, "value": v} for k, v in fields.items()]
    comment = _first_comment(actions)
    if comment is not None:
        ticket["comment"] = comment
    if ticket and updated_stamp is not None:
        ticket["safe_update"] = True
        ticket["updated_stamp"] = updated_stamp
    return {"ticket": ticket}


def _assignment(payload: Mapping[str, Any], group_ids: Mapping[str, int]) -> dict[str, int]:
    """The group and assignee ids an assign action asks for."""
    out: dict[str, int] = {}
    group, assignee = payload.get("group"), payload.get("assignee")
    if group is not None:
        if group not in group_ids:
            raise ConfigurationError(f"zendesk: group {group!r} has no id in options.group_ids")
        out["group_id"] = int(group_ids[group])
    if assignee is not None:
        if not DIGITS.match(str(assignee)):
            raise ValidationError("assign.assignee", f"not a Zendesk user id: {assignee!r}")
        out["assignee_id"] = int(assignee)
    return out


def _first_comment(actions: Sequence[Action]) -> dict[str, Any] | None:
    """One comment per update: the internal notes, else the public replies."""
    notes = comment_bodies(actions, ActionKind.INTERNAL_NOTE)
    if notes:
        ref = comment_ref(actions, ActionKind.INTERNAL_NOTE)
        return {"body": with_marker("\n\n".join(notes), ref), "public": False}
    replies = comment_bodies(actions, ActionKind.PUBLIC_REPLY)
    if replies:
        ref = comment_ref(actions, ActionKind.PUBLIC_REPLY)
        return {"body": with_marker("\n\n".join(replies), ref), "public": True}
    return None


def to_zendesk_followup(actions: Sequence[Action]) -> dict[str, Any] | None:
    """The second update carrying the public reply when a note took the first one."""
    actions = helpdesk_actions(actions)
    notes = comment_bodies(actions, ActionKind.INTERNAL_NOTE)
    replies = comment_bodies(actions, ActionKind.PUBLIC_REPLY)
    # Zendesk takes one comment per update: the handoff note rides with the field changes
    # (agents read it beside the new tier), the customer reply follows on its own.
    if not (notes and replies):
        return None
    body = with_marker("\n\n".join(replies), comment_ref(actions, ActionKind.PUBLIC_REPLY))
    return {"ticket": {"comment": {"body": body, "public": True}}}


def _field_id(field: Any, tier_field_id: int | None) -> int | None:
    if field == "tier":
        return tier_field_id  # no tier field configured: the tag carries the tier
    if isinstance(field, int) or (isinstance(field, str) and DIGITS.match(field)):
        return int(field)
    raise ValidationError("set_field.field", f"unknown field {field!r}")
