"""Zendesk ticket JSON (show + comments + sideloads) -> ``Ticket``. Pure."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from adapters.helpdesk.common import (
    has_marker,
    is_url,
    mapping,
    mappings,
    member,
    number,
    opt_text,
)
from adapters.helpdesk.zendesk.common import HELPDESK, zendesk_id, zendesk_time
from integration.errors import ValidationError
from integration.models import Account, Author, Channel, Message, Person, Priority, Status, Ticket

__all__ = ["CHANNELS", "CSAT_SCORES", "PRIORITIES", "STATUSES", "to_ticket"]

STATUSES: Mapping[str, Status] = {
    "new": Status.NEW,
    "open": Status.OPEN,
    "pending": Status.PENDING,
    "hold": Status.ON_HOLD,
    "solved": Status.SOLVED,
    "closed": Status.CLOSED,
}
PRIORITIES: Mapping[str, Priority] = {p.value: p for p in Priority}
# via.channel names: https://developer.zendesk.com/documentation/ticketing/reference-guides/via-object-reference/
CHANNELS: Mapping[str | int, Channel] = {
    "email": Channel.EMAIL,
    "web": Channel.WEB,
    "web_form": Channel.WEB,
    "web_widget": Channel.WEB,
    "help_center": Channel.WEB,
    "mobile_sdk": Channel.WEB,
    "sdk": Channel.WEB,
    "chat": Channel.CHAT,
    "chat_transcript": Channel.CHAT,
    "native_messaging": Channel.CHAT,
    "messaging": Channel.CHAT,
    "api": Channel.API,
    "web_service": Channel.API,
    "voice": Channel.PHONE,
    "phone": Channel.PHONE,
    "sms": Channel.PHONE,
    "twitter": Channel.SOCIAL,
    "facebook": Channel.SOCIAL,
    "instagram_dm": Channel.SOCIAL,
    "whatsapp": Channel.SOCIAL,
    "line": Channel.SOCIAL,
    "wechat": Channel.SOCIAL,
    # numeric via ids: 0 web form, 4 mail, 5 web service (API)
    0: Channel.WEB,
    4: Channel.EMAIL,
    5: Channel.API,
}
# Comments written by business rules (triggers, automations) or Zendesk itself.
SYSTEM_VIA = frozenset({"rule", "system", "automation"})
CSAT_SCORES: Mapping[str, float] = {"good": 1.0, "bad": 0.0}


def to_ticket(
    bundle: Mapping[str, Any],
    *,
    tenant: str,
    bot_user_id: int | None,
    group_names: Mapping[int, str] | None = None,
    tier_field_id: int | None = None,
    page_url_field_id: int | None = None,
) -> Ticket:
    """Normalize ``{"ticket", "comments", "users", "organization"}`` as the API returns them."""
    raw = mapping(bundle.get("ticket"), "ticket")
    ticket_id = zendesk_id(raw.get("id"), "ticket.id")
    users = {
        zendesk_id(u.get("id"), f"users[{i}].id"): u
        for i, u in enumerate(mappings(bundle.get("users"), "users"))
    }
    requester_id = zendesk_id(raw.get("requester_id"), "ticket.requester_id")
    requester = users.get(requester_id, {})
    fields = _custom_fields(raw.get("custom_fields"))
    status, priority = _status_and_priority(raw)
    via = member(raw, "via")
    comments = mappings(bundle.get("comments"), "comments")
    messages = tuple(
        _message(c, f"comments[{i}]", requester_id, bot_user_id, users)
        for i, c in enumerate(comments)
    )
    group = _group(raw, group_names)
    custom: dict[str, Any] = {
        "zendesk_type": raw.get("type"),
        "custom_fields": {str(k): v for k, v in fields.items()},
    }
    if tier_field_id is not None and fields.get(tier_field_id) is not None:
        custom["tier"] = _tier_value(fields[tier_field_id])
    return Ticket(
        tenant=tenant,
        helpdesk=HELPDESK,
        id=ticket_id,
        subject=str(raw.get("subject") or raw.get("raw_subject") or ""),
        status=STATUSES[status],
        priority=priority,
        channel=_channel(via.get("channel")),
        created_at=zendesk_time(raw.get("created_at"), "ticket.created_at"),
        updated_at=zendesk_time(raw.get("updated_at"), "ticket.updated_at"),
        requester=Person(
            id=requester_id,
            email=opt_text(requester.get("email")),
            name=opt_text(requester.get("name")),
        ),
        messages=tuple(sorted(messages, key=lambda m: m.created_at)),
        account=_account(bundle.get("organization")),
        tags=tuple(t for t in raw.get("tags") or () if isinstance(t, str)),
        assignee=str(raw["assignee_id"]) if raw.get("assignee_id") is not None else None,
        group=group,
        page_url=_page_url(raw, comments, fields, page_url_field_id),
        csat=_csat(raw.get("satisfaction_rating")),
        custom=custom,
    )


def _status_and_priority(raw: Mapping[str, Any]) -> tuple[str, Priority]:
    """The ticket's Zendesk status (a known one) and its priority (normal when unset)."""
    status = raw.get("status")
    if not isinstance(status, str) or status not in STATUSES:
        raise ValidationError("ticket.status", f"unknown Zendesk status {status!r}")
    priority = raw.get("priority")
    if priority is not None and (not isinstance(priority, str) or priority not in PRIORITIES):
        raise ValidationError("ticket.priority", f"unknown Zendesk priority {priority!r}")
    return status, PRIORITIES[priority] if priority else Priority.NORMAL


def _group(raw: Mapping[str, Any], group_names: Mapping[int, str] | None) -> str | None:
    """The group's name when known, else its id."""
    if raw.get("group_id") is None:
        return None
    group_id = zendesk_id(raw["group_id"], "ticket.group_id")
    return (group_names or {}).get(int(group_id), group_id)


def _channel(raw: Any) -> Channel:
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return Channel.OTHER
    return CHANNELS.get(raw, Channel.OTHER)


def _message(
    raw: Mapping[str, Any],
    path: str,
    requester_id: str,
    bot_user_id: int | None,
    users: Mapping[str, Mapping[str, Any]],
) -> Message:
    body = raw.get("body")
    if body is None:
        body = raw.get("plain_body") or ""
    if not isinstance(body, str):
        raise ValidationError(f"{path}.body", "expected a string")
    author_id = str(raw["author_id"]) if raw.get("author_id") is not None else None
    via = member(raw, "via")
    if has_marker(body) or (bot_user_id is not None and author_id == str(bot_user_id)):
        author = Author.BOT
    elif author_id == requester_id:
        author = Author.CUSTOMER
    elif via.get("channel") in SYSTEM_VIA:
        author = Author.SYSTEM
    elif author_id is not None and users.get(author_id, {}).get("role") == "end-user":
        # a CC'd colleague of the requester is still the customer side
        author = Author.CUSTOMER
    else:
        author = Author.AGENT
    public = raw.get("public", True)
    if not isinstance(public, bool):
        raise ValidationError(f"{path}.public", "expected true or false")
    return Message(
        id=zendesk_id(raw.get("id"), f"{path}.id"),
        author=author,
        body=body,
        created_at=zendesk_time(raw.get("created_at"), f"{path}.created_at"),
        public=public,
    )


def _account(raw: Any) -> Account | None:
    if raw is None:
        return None
    org = mapping(raw, "organization")
    extra = member(org, "organization_fields")
    domains = [d for d in org.get("domain_names") or () if isinstance(d, str) and d]
    plan = opt_text(extra.get("plan"))
    health = number(extra.get("health"), "organization.organization_fields.health")
    if health is not None and 1.0 < health <= 100.0:
        health = health / 100.0  # health kept as a percentage field
    if health is not None and not 0.0 <= health <= 1.0:
        raise ValidationError("organization.organization_fields.health", f"out of range: {health}")
    return Account(
        id=zendesk_id(org.get("id"), "organization.id"),
        name=opt_text(org.get("name")),
        domain=domains[0].lower() if domains else None,
        plan=plan.lower() if plan else None,
        arr=number(extra.get("arr"), "organization.organization_fields.arr"),
        health=health,
        owner=opt_text(extra.get("account_owner")),
    )


def _page_url(
    raw: Mapping[str, Any],
    comments: Sequence[Mapping[str, Any]],
    fields: Mapping[int, Any],
    page_url_field_id: int | None,
) -> str | None:
    if page_url_field_id is not None and is_url(fields.get(page_url_field_id)):
        return str(fields[page_url_field_id])
    # The web widget records the page in via.source.from on the ticket or its first comment.
    for holder in (raw, *comments[:1]):
        via = holder.get("via")
        source = via.get("source") if isinstance(via, Mapping) else None
        origin = source.get("from") if isinstance(source, Mapping) else None
        if isinstance(origin, Mapping):
            for key in ("url", "address", "title"):
                if is_url(origin.get(key)):
                    return str(origin[key])
    return None


def _csat(raw: Any) -> float | None:
    if isinstance(raw, Mapping):
        return CSAT_SCORES.get(str(raw.get("score")))
    return None


def _custom_fields(raw: Any) -> dict[int, Any]:
    out: dict[int, Any] = {}
    for item in raw or ():
        if isinstance(item, Mapping) and isinstance(item.get("id"), int):
            out[item["id"]] = item.get("value")
    return out


def _tier_value(value: Any) -> Any:
    text = str(value).strip().lower().removeprefix("tier_").removeprefix("tier")
    return int(text) if text.isdigit() else value
