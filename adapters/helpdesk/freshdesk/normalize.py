"""Freshdesk ticket JSON (view + conversations + company) -> ``Ticket``. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from adapters.helpdesk.common import has_marker, is_url, mapping, mappings, number, opt_text
from adapters.helpdesk.freshdesk.common import (
    HELPDESK,
    freshdesk_id,
    html_to_text,
    int_code,
    opt_freshdesk_id,
)
from integration.errors import ValidationError
from integration.models import (
    Account,
    Author,
    Channel,
    Message,
    Person,
    Priority,
    Status,
    Ticket,
    parse_time,
)

__all__ = ["CHANNELS", "HEALTH_SCORES", "PRIORITIES", "STATUSES", "to_ticket"]

# https://developers.freshdesk.com/api/#tickets ("Ticket properties": status, priority, source)
STATUSES: Mapping[int, Status] = {
    2: Status.OPEN,
    3: Status.PENDING,
    4: Status.SOLVED,  # "Resolved"
    5: Status.CLOSED,
}
PRIORITIES: Mapping[int, Priority] = {
    1: Priority.LOW,
    2: Priority.NORMAL,  # "Medium"
    3: Priority.HIGH,
    4: Priority.URGENT,
}
CHANNELS: Mapping[int, Channel] = {
    1: Channel.EMAIL,
    2: Channel.WEB,  # customer portal
    3: Channel.PHONE,
    4: Channel.WEB,  # forum (older accounts)
    5: Channel.SOCIAL,  # Twitter
    6: Channel.SOCIAL,  # Facebook
    7: Channel.CHAT,
    8: Channel.WEB,  # Mobihelp (in-app)
    9: Channel.WEB,  # feedback widget
    10: Channel.EMAIL,  # outbound email, started by an agent
}
OUTBOUND_EMAIL = 10
# The built-in company "Health score" dropdown (Freshdesk Pro/Enterprise), as 0..1.
HEALTH_SCORES: Mapping[str, float] = {"at risk": 0.2, "doing okay": 0.6, "happy": 0.9}


def to_ticket(
    bundle: Mapping[str, Any],
    *,
    tenant: str,
    bot_user_id: int | None = None,
    group_names: Mapping[int, str] | None = None,
    tier_field: str | None = None,
    page_url_field: str | None = None,
    status_categories: Mapping[int, Status] | None = None,
) -> Ticket:
    """Normalize ``{"ticket", "conversations", "company"}`` as the API returns them."""
    raw = mapping(bundle.get("ticket"), "ticket")
    ticket_id = freshdesk_id(raw.get("id"), "ticket.id")
    requester_id = freshdesk_id(raw.get("requester_id"), "ticket.requester_id")
    embedded = raw.get("requester")
    requester: Mapping[str, Any] = embedded if isinstance(embedded, Mapping) else {}
    fields = raw.get("custom_fields") or {}
    if not isinstance(fields, Mapping):
        raise ValidationError("ticket.custom_fields", "expected an object")
    created_at = parse_time(raw.get("created_at"), "ticket.created_at")
    messages = _messages(bundle, raw, ticket_id, created_at, requester_id, bot_user_id)
    group_id = opt_freshdesk_id(raw.get("group_id"), "ticket.group_id")
    group = (group_names or {}).get(int(group_id), group_id) if group_id else None
    assignee = opt_freshdesk_id(raw.get("responder_id"), "ticket.responder_id")
    custom = _custom(raw, fields, tier_field)
    page_url = fields.get(page_url_field) if page_url_field else None
    return Ticket(
        tenant=tenant,
        helpdesk=HELPDESK,
        id=ticket_id,
        subject=str(raw.get("subject") or ""),
        status=_status(raw.get("status"), status_categories or {}),
        priority=_priority(raw.get("priority")),
        channel=_channel(raw.get("source")),
        created_at=created_at,
        updated_at=parse_time(raw.get("updated_at"), "ticket.updated_at"),
        requester=Person(
            id=requester_id,
            email=opt_text(requester.get("email")),
            name=opt_text(requester.get("name")),
        ),
        messages=tuple(sorted(messages, key=lambda m: m.created_at)),
        account=_account(bundle.get("company")),
        tags=tuple(t for t in raw.get("tags") or () if isinstance(t, str)),
        assignee=assignee,
        group=group,
        page_url=str(page_url) if is_url(page_url) else None,
        custom=custom,
    )


def _messages(
    bundle: Mapping[str, Any],
    raw: Mapping[str, Any],
    ticket_id: str,
    created_at: datetime,
    requester_id: str,
    bot_user_id: int | None,
) -> list[Message]:
    """The ticket's description (its first message) and every conversation after it."""
    messages = [_description(raw, ticket_id, created_at)] if _has_description(raw) else []
    conversations = mappings(bundle.get("conversations"), "conversations")
    messages.extend(
        _message(c, f"conversations[{i}]", requester_id, bot_user_id)
        for i, c in enumerate(conversations)
    )
    return messages


def _custom(
    raw: Mapping[str, Any], fields: Mapping[str, Any], tier_field: str | None
) -> dict[str, Any]:
    """What Freshdesk knows that the model has no field for: type, fields, stats, tier."""
    custom: dict[str, Any] = {
        "freshdesk_type": raw.get("type"),
        "custom_fields": dict(fields),
    }
    if isinstance(raw.get("stats"), Mapping):
        custom["stats"] = dict(raw["stats"])
    if tier_field and fields.get(tier_field) is not None:
        custom["tier"] = _tier_value(fields[tier_field])
    return custom


def _status(raw: Any, categories: Mapping[int, Status]) -> Status:
    code = int_code(raw, "ticket.status")
    if code in STATUSES:
        return STATUSES[code]
    # Custom statuses (6+) behave like their configured category; unknown ones need work.
    return categories.get(code, Status.OPEN)


def _priority(raw: Any) -> Priority:
    if raw is None:
        return Priority.NORMAL
    code = int_code(raw, "ticket.priority")
    if code not in PRIORITIES:
        raise ValidationError("ticket.priority", f"unknown Freshdesk priority {code!r}")
    return PRIORITIES[code]


def _channel(raw: Any) -> Channel:
    if isinstance(raw, bool) or not isinstance(raw, int):
        return Channel.OTHER
    return CHANNELS.get(raw, Channel.OTHER)


def _has_description(raw: Mapping[str, Any]) -> bool:
    return bool(raw.get("description_text") or raw.get("description"))


def _description(raw: Mapping[str, Any], ticket_id: str, created_at: datetime) -> Message:
    # The first message is the ticket's description; /conversations lists only what follows.
    text = raw.get("description_text")
    if not isinstance(text, str) or not text.strip():
        description = raw.get("description")
        if not isinstance(description, str):
            raise ValidationError("ticket.description", "expected a string")
        text = html_to_text(description)
    author = Author.AGENT if raw.get("source") == OUTBOUND_EMAIL else Author.CUSTOMER
    if has_marker(text):
        author = Author.BOT
    return Message(id=f"{ticket_id}-description", author=author, body=text, created_at=created_at)


def _message(
    raw: Mapping[str, Any], path: str, requester_id: str, bot_user_id: int | None
) -> Message:
    text = raw.get("body_text")
    if text is None:
        body = raw.get("body") or ""
        if not isinstance(body, str):
            raise ValidationError(f"{path}.body", "expected a string")
        text = html_to_text(body)
    if not isinstance(text, str):
        raise ValidationError(f"{path}.body_text", "expected a string")
    user_id = str(raw["user_id"]) if raw.get("user_id") is not None else None
    private = raw.get("private", False)
    if not isinstance(private, bool):
        raise ValidationError(f"{path}.private", "expected true or false")
    if has_marker(text) or (bot_user_id is not None and user_id == str(bot_user_id)):
        author = Author.BOT
    elif raw.get("incoming") is True or user_id == requester_id:
        # ``incoming``: written from outside (the requester or a CC'd colleague of theirs)
        author = Author.CUSTOMER
    else:
        author = Author.AGENT
    return Message(
        id=freshdesk_id(raw.get("id"), f"{path}.id"),
        author=author,
        body=text,
        created_at=parse_time(raw.get("created_at"), f"{path}.created_at"),
        public=not private,
    )


def _account(raw: Any) -> Account | None:
    if raw is None:
        return None
    company = mapping(raw, "company")
    fields = company.get("custom_fields")
    extra: Mapping[str, Any] = fields if isinstance(fields, Mapping) else {}
    domains = [d for d in company.get("domains") or () if isinstance(d, str) and d.strip()]
    plan = opt_text(extra.get("plan")) or opt_text(company.get("account_tier"))
    return Account(
        id=freshdesk_id(company.get("id"), "company.id"),
        name=opt_text(company.get("name")),
        domain=domains[0].strip().lower() if domains else None,
        plan=plan.lower() if plan else None,
        arr=number(extra.get("arr"), "company.custom_fields.arr"),
        health=_health(extra.get("health"), company.get("health_score")),
        owner=opt_text(extra.get("account_owner")),
    )


def _health(custom: Any, builtin: Any) -> float | None:
    health = number(custom, "company.custom_fields.health")
    if health is None:
        if isinstance(builtin, str):
            return HEALTH_SCORES.get(builtin.strip().lower())
        return None
    if 1.0 < health <= 100.0:
        health = health / 100.0  # kept as a percentage field
    if not 0.0 <= health <= 1.0:
        raise ValidationError("company.custom_fields.health", f"out of range: {health}")
    return health


def _tier_value(value: Any) -> Any:
    text = str(value).strip().lower().removeprefix("tier_").removeprefix("tier").strip()
    return int(text) if text.isdigit() else value
