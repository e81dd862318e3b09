"""Escalade actions -> the ordered Intercom calls that write them. Pure.

Intercom has no combined update: tags, assignment, notes and replies are separate endpoints.
The order is chosen so an interruption hurts least: conversation attributes and tags first
(the tier is visible at once), then the handoff note, then the assignment (whoever is
notified finds the note already there), and the customer-facing reply last.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.helpdesk.common import (
    comment_bodies,
    comment_ref,
    helpdesk_actions,
    tag_names,
    to_html,
    with_marker,
)
from adapters.helpdesk.intercom.common import DIGITS
from adapters.helpdesk.intercom.normalize import priority_tag
from integration.errors import ConfigurationError, ValidationError
from integration.models import Action, ActionKind, Priority

__all__ = [
    "IntercomCall",
    "tag_changes",
    "to_intercom_calls",
]

_LEVELS = {p.value: p for p in Priority}


@dataclass(frozen=True, kw_only=True, slots=True)
class IntercomCall:
    """One request to send: which action kind it serves, method, path and JSON body."""

    kind: ActionKind
    method: str
    path: str
    body: Mapping[str, Any] | None = None


def _priority(action: Action) -> Priority:
    value = action.payload.get("priority")
    if not isinstance(value, str) or value not in _LEVELS:
        raise ValidationError("set_priority.priority", f"unknown priority {value!r}")
    return _LEVELS[value]


def tag_changes(
    actions: Sequence[Action], current: Sequence[str]
) -> tuple[list[tuple[ActionKind, str]], list[tuple[ActionKind, str]]]:
    """Tags to attach and to detach (with the kind each serves), given the tags present.

    Intercom tag names are case-insensitive, so names are compared lower-cased; a priority is
    one ``escalade_priority_<level>`` tag and replaces any other level's tag.
    """
    present = {t.lower(): t for t in current}
    final = dict(present)
    origin: dict[str, ActionKind] = {}
    for action in helpdesk_actions(actions):
        if action.kind is ActionKind.ADD_TAGS:
            for tag in tag_names(action):
                final[tag.lower()] = tag
                origin[tag.lower()] = action.kind
        elif action.kind is ActionKind.REMOVE_TAGS:
            for tag in tag_names(action):
                final.pop(tag.lower(), None)
                origin[tag.lower()] = action.kind
        elif action.kind is ActionKind.SET_PRIORITY:
            chosen = priority_tag(_priority(action))
            for level in Priority:
                final.pop(priority_tag(level), None)
                origin[priority_tag(level)] = action.kind
            final[chosen] = chosen
    adds = [(origin[k], name) for k, name in final.items() if k not in present]
    removes = [(origin[k], name) for k, name in present.items() if k not in final]
    return adds, removes


def _attributes(
    actions: Sequence[Action], tier_attribute: str | None
) -> dict[str, str | int | float | bool]:
    out: dict[str, str | int | float | bool] = {}
    for action in actions:
        if action.kind is not ActionKind.SET_FIELD:
            continue
        name = _attribute_name(action.payload.get("field"), tier_attribute)
        value = action.payload.get("value")
        if not isinstance(value, str | int | float | bool):
            raise ValidationError("set_field.value", f"not an attribute value: {value!r}")
        if name is not None:
            out[name] = value
    return out


def _attribute_name(field: Any, tier_attribute: str | None) -> str | None:
    if field == "tier":
        return tier_attribute  # no tier attribute configured: the tag carries the tier
    if isinstance(field, str) and field.strip():
        return field.strip()  # any other field is a conversation attribute by name
    raise ValidationError("set_field.field", f"unknown field {field!r}")


def _bodies(actions: Sequence[Action], kind: ActionKind) -> str | None:
    bodies = comment_bodies(actions, kind)
    if not bodies:
        return None
    return to_html(with_marker("\n\n".join(bodies), comment_ref(actions, kind)))


def _assignments(
    actions: Sequence[Action], team_ids: Mapping[str, str]
) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for action in actions:
        if action.kind is not ActionKind.ASSIGN:
            continue
        group, assignee = action.payload.get("group"), action.payload.get("assignee")
        if group is not None:
            if group not in team_ids:
                raise ConfigurationError(f"intercom: group {group!r} has no id in options.team_ids")
            out.append(("team", str(team_ids[group])))
        if assignee is not None:
            if isinstance(assignee, bool) or not DIGITS.match(str(assignee)):
                raise ValidationError("assign.assignee", f"not an Intercom admin id: {assignee!r}")
            out.append(("admin", str(assignee)))
    return out


def to_intercom_calls(
    actions: Sequence[Action],
    *,
    conversation_id: str,
    admin_id: str,
    team_ids: Mapping[str, str],
    tier_attribute: str | None,
    current_tags: Mapping[str, str],
    tag_ids: Mapping[str, str],
) -> list[IntercomCall]:
    """The calls for the helpdesk actions; ``current_tags`` maps names on it to ids.

    ``tag_ids`` maps lower-cased workspace tag names to ids and must hold every tag to attach
    (the adapter looks them up or creates them first).
    """
    actions = helpdesk_actions(actions)
    base = f"/conversations/{conversation_id}"
    calls: list[IntercomCall] = []
    attributes = _attributes(actions, tier_attribute)
    if attributes:
        calls.append(IntercomCall(kind=ActionKind.SET_FIELD, method="PUT", path=base,
                                  body={"custom_attributes": attributes}))
    adds, removes = tag_changes(actions, list(current_tags))
    for kind, name in adds:
        if name.lower() not in tag_ids:
            raise ValidationError(f"{kind.value}.tags", f"tag {name!r} has no id yet")
        calls.append(IntercomCall(kind=kind, method="POST", path=f"{base}/tags",
                                  body={"id": str(tag_ids[name.lower()]), "admin_id": admin_id}))
    for kind, name in removes:
        calls.append(IntercomCall(kind=kind, method="DELETE",
                                  path=f"{base}/tags/{current_tags[name]}",
                                  body={"admin_id": admin_id}))
    note = _bodies(actions, ActionKind.INTERNAL_NOTE)
    if note is not None:
        calls.append(IntercomCall(kind=ActionKind.INTERNAL_NOTE, method="POST",
                                  path=f"{base}/reply",
                                  body={"message_type": "note", "type": "admin",
                                        "admin_id": admin_id, "body": note}))
    for assignee_type, assignee_id in _assignments(actions, team_ids):
        calls.append(IntercomCall(kind=ActionKind.ASSIGN, method="POST", path=f"{base}/parts",
                                  body={"message_type": "assignment", "type": assignee_type,
                                        "admin_id": admin_id, "assignee_id": assignee_id}))
    reply = _bodies(actions, ActionKind.PUBLIC_REPLY)
    if reply is not None:
        calls.append(IntercomCall(kind=ActionKind.PUBLIC_REPLY, method="POST",
                                  path=f"{base}/reply",
                                  body={"message_type": "comment", "type": "admin",
                                        "admin_id": admin_id, "body": reply}))
    return calls
