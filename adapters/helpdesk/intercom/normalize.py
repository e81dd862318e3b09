"""Intercom conversation JSON (with its contact and company) -> ``Ticket``. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from adapters.helpdesk.common import has_marker, is_url, mapping, mappings, number
from adapters.helpdesk.intercom.common import (
    HELPDESK,
    intercom_id,
    numeric_intercom_id,
    opt_mapping,
    opt_stripped,
    plain_text,
    unix_time,
)
from integration.errors import ValidationError
from integration.models import Account, Author, Channel, Message, Person, Priority, Status, Ticket

__all__ = [
    "AUTHORS",
    "CHANNELS",
    "PRIORITIES",
    "PRIORITY_TAG_PREFIX",
    "STATES",
    "priority_tag",
    "to_ticket",
]

STATES: Mapping[str, Status] = {
    "open": Status.OPEN,
    "snoozed": Status.PENDING,  # snoozed = waiting until a time or a reply
    "closed": Status.CLOSED,
}
# Intercom's own flag is binary (the inbox star); "urgent" only exists as our tag.
PRIORITIES: Mapping[str, Priority] = {"priority": Priority.HIGH, "not_priority": Priority.NORMAL}
# The priority Escalade wrote, kept as a conversation tag: the 2.14 API has no documented way
# to set the flag (only the Preview version does, intercom/Intercom-OpenAPI#620).
PRIORITY_TAG_PREFIX = "escalade_priority_"
# conversation_source.type in the 2.14 description.
CHANNELS: Mapping[str, Channel] = {
    "conversation": Channel.CHAT,  # the Messenger
    "email": Channel.EMAIL,
    "push": Channel.WEB,  # in-app / mobile push the customer answered
    "facebook": Channel.SOCIAL,
    "instagram": Channel.SOCIAL,
    "twitter": Channel.SOCIAL,
    "whatsapp": Channel.SOCIAL,
    "phone_call": Channel.PHONE,
    "phone_switch": Channel.PHONE,
    "sms": Channel.PHONE,
}
AUTHORS: Mapping[str, Author] = {
    "user": Author.CUSTOMER,
    "lead": Author.CUSTOMER,
    "contact": Author.CUSTOMER,
    "admin": Author.AGENT,
    "team": Author.AGENT,
    "bot": Author.BOT,  # Fin and Workflows
}
NOTE_PARTS = frozenset({"note", "note_and_reopen"})
SUBJECT_FROM_BODY = 80


def priority_tag(priority: Priority) -> str:
    """The conversation tag that records a priority Escalade set."""
    return f"{PRIORITY_TAG_PREFIX}{priority.value}"


def to_ticket(
    bundle: Mapping[str, Any],
    *,
    tenant: str,
    admin_id: str | None,
    team_names: Mapping[str, str] | None = None,
    tier_attribute: str | None = None,
) -> Ticket:
    """Normalize ``{"conversation", "contact", "company"}`` as the API returns them."""
    raw = mapping(bundle.get("conversation"), "conversation")
    conversation_id = numeric_intercom_id(raw.get("id"), "conversation.id")
    state = raw.get("state")
    if not isinstance(state, str) or state not in STATES:
        raise ValidationError("conversation.state", f"unknown Intercom state {state!r}")
    source = opt_mapping(raw.get("source"), "conversation.source")
    tags = _tags(raw.get("tags"))
    messages, last_part = _messages(raw, source, admin_id)
    custom = _custom(raw, state, source, last_part, tier_attribute)
    team = raw.get("team_assignee_id")
    team_id = (intercom_id(team, "conversation.team_assignee_id")
               if team not in (None, 0, "0") else None)
    admin = raw.get("admin_assignee_id")
    return Ticket(
        tenant=tenant,
        helpdesk=HELPDESK,
        id=conversation_id,
        subject=_subject(raw, source, messages),
        status=STATES[state],
        priority=_priority(raw.get("priority"), tags),
        channel=CHANNELS.get(str(source.get("type")), Channel.OTHER),
        created_at=unix_time(raw.get("created_at"), "conversation.created_at"),
        updated_at=unix_time(raw.get("updated_at"), "conversation.updated_at"),
        requester=_requester(raw, bundle.get("contact")),
        messages=tuple(messages),
        account=_account(bundle.get("company")),
        tags=tags,
        assignee=(intercom_id(admin, "conversation.admin_assignee_id")
                  if admin not in (None, 0) else None),
        group=(team_names or {}).get(team_id, team_id) if team_id else None,
        page_url=str(source["url"]) if is_url(source.get("url")) else None,
        csat=_csat(raw.get("conversation_rating")),
        custom=custom,
    )


def _messages(
    raw: Mapping[str, Any], source: Mapping[str, Any], admin_id: str | None
) -> tuple[list[Message], dict[str, Any] | None]:
    """The opening message and every part, oldest first, and who wrote the last part."""
    parts = mappings(
        opt_mapping(raw.get("conversation_parts"), "conversation.conversation_parts").get(
            "conversation_parts"
        ),
        "conversation.conversation_parts.conversation_parts",
    )
    messages = []
    opening = _opening(raw, source, admin_id)
    if opening is not None:
        messages.append(opening)
    last_part: dict[str, Any] | None = None
    for i, part in enumerate(parts):
        path = f"conversation.conversation_parts.conversation_parts[{i}]"
        message, author = _part(part, path, admin_id)
        if message is not None:
            messages.append(message)
        last_part = author
    messages.sort(key=lambda m: m.created_at)
    return messages, last_part


def _custom(
    raw: Mapping[str, Any],
    state: str,
    source: Mapping[str, Any],
    last_part: dict[str, Any] | None,
    tier_attribute: str | None,
) -> dict[str, Any]:
    """What Intercom knows that the model has no field for: state, source, attributes, tier."""
    attributes = opt_mapping(raw.get("custom_attributes"), "conversation.custom_attributes")
    custom: dict[str, Any] = {
        "intercom_state": state,
        "source_type": source.get("type"),
        "delivered_as": source.get("delivered_as"),
        "custom_attributes": dict(attributes),
        "last_part": last_part,
    }
    if raw.get("waiting_since") is not None:
        waiting = unix_time(raw["waiting_since"], "conversation.waiting_since")
        custom["waiting_since"] = waiting.isoformat()
    if tier_attribute and attributes.get(tier_attribute) is not None:
        custom["tier"] = _tier_value(attributes[tier_attribute])
    return custom


def _tags(raw: Any) -> tuple[str, ...]:
    holder = opt_mapping(raw, "conversation.tags")
    tags = mappings(holder.get("tags"), "conversation.tags.tags")
    return tuple(str(t["name"]) for t in tags if isinstance(t.get("name"), str))


def _priority(raw: Any, tags: tuple[str, ...]) -> Priority:
    if raw is not None and raw not in PRIORITIES:
        raise ValidationError("conversation.priority", f"unknown Intercom priority {raw!r}")
    native = PRIORITIES[raw] if raw is not None else Priority.NORMAL
    levels = {p.value: p for p in Priority}
    ours = [levels[t.removeprefix(PRIORITY_TAG_PREFIX)] for t in tags
            if t.startswith(PRIORITY_TAG_PREFIX) and t.removeprefix(PRIORITY_TAG_PREFIX) in levels]
    # An agent's star is never hidden by a lower priority we wrote earlier.
    return max([native, *ours], key=lambda p: p.rank)


def _author(raw: Any, body: str, admin_id: str | None) -> tuple[Author, dict[str, Any]]:
    author = raw if isinstance(raw, Mapping) else {}
    kind, author_id = author.get("type"), author.get("id")
    ours = has_marker(body) or (
        kind == "admin" and admin_id is not None and str(author_id) == str(admin_id)
    )
    info = {"type": kind, "id": None if author_id is None else str(author_id), "ours": ours}
    if ours:
        return Author.BOT, info
    if author.get("from_ai_agent") or author.get("is_ai_answer"):
        return Author.BOT, info
    return AUTHORS.get(str(kind), Author.SYSTEM), info


def _opening(
    raw: Mapping[str, Any], source: Mapping[str, Any], admin_id: str | None
) -> Message | None:
    body = source.get("body")
    if body is None:
        return None
    if not isinstance(body, str):
        raise ValidationError("conversation.source.body", "expected a string")
    text = plain_text(body)
    if not text:
        return None
    author, _ = _author(source.get("author"), text, admin_id)
    return Message(
        id=intercom_id(source.get("id"), "conversation.source.id"),
        author=author,
        body=text,
        created_at=unix_time(raw.get("created_at"), "conversation.created_at"),
        public=True,
    )


def _part(
    part: Mapping[str, Any], path: str, admin_id: str | None
) -> tuple[Message | None, dict[str, Any]]:
    body = part.get("body")
    if body is not None and not isinstance(body, str):
        raise ValidationError(f"{path}.body", "expected a string")
    text = plain_text(body or "")
    author, info = _author(part.get("author"), text, admin_id)
    created_at = unix_time(part.get("created_at"), f"{path}.created_at")
    info = {**info, "part_type": part.get("part_type"), "created_at": created_at.isoformat()}
    if not text:
        return None, info  # assignment, state or attribute change: no words to read
    return (
        Message(
            id=intercom_id(part.get("id"), f"{path}.id"),
            author=author,
            body=text,
            created_at=created_at,
            public=part.get("part_type") not in NOTE_PARTS,
        ),
        info,
    )


def _subject(raw: Mapping[str, Any], source: Mapping[str, Any], messages: list[Message]) -> str:
    for candidate in (raw.get("title"), source.get("subject")):
        if isinstance(candidate, str) and plain_text(candidate):
            return plain_text(candidate)
    # Messenger conversations have no subject; the inbox shows the first line instead.
    first = next((m.body for m in messages if m.author is Author.CUSTOMER), "")
    line = first.strip().splitlines()[0] if first.strip() else ""
    return line if len(line) <= SUBJECT_FROM_BODY else line[: SUBJECT_FROM_BODY - 1] + "…"


def _requester(raw: Mapping[str, Any], contact: Any) -> Person:
    if contact is not None:
        found = mapping(contact, "contact")
        return Person(
            id=intercom_id(found.get("id"), "contact.id"),
            email=opt_stripped(found.get("email")),
            name=opt_stripped(found.get("name")),
        )
    holder = opt_mapping(raw.get("contacts"), "conversation.contacts")
    contacts = mappings(holder.get("contacts"), "conversation.contacts.contacts")
    if not contacts:
        raise ValidationError("conversation.contacts", "the conversation has no contact")
    return Person(id=intercom_id(contacts[0].get("id"), "conversation.contacts.contacts[0].id"))


def _account(raw: Any) -> Account | None:
    if raw is None:
        return None
    company = mapping(raw, "company")
    extra = opt_mapping(company.get("custom_attributes"), "company.custom_attributes")
    plan = company.get("plan")
    plan_name = opt_stripped(plan.get("name")) if isinstance(plan, Mapping) else opt_stripped(plan)
    arr = number(_first(extra, "arr", "ARR"), "company.custom_attributes.arr")
    if arr is None:
        monthly = number(company.get("monthly_spend"), "company.monthly_spend")
        # Intercom reports 0 when monthly_spend was never set: that is not a free account.
        arr = monthly * 12 if monthly else None
    health = number(_first(extra, "health", "health_score"), "company.custom_attributes.health")
    if health is not None and 1.0 < health <= 100.0:
        health = health / 100.0  # kept as a percentage attribute
    if health is not None and not 0.0 <= health <= 1.0:
        raise ValidationError("company.custom_attributes.health", f"out of range: {health}")
    if arr is not None and arr < 0:
        raise ValidationError("company.custom_attributes.arr", f"must not be negative: {arr}")
    return Account(
        id=intercom_id(company.get("id"), "company.id"),
        name=opt_stripped(company.get("name")),
        domain=_domain(company.get("website")),
        plan=plan_name.lower() if plan_name else None,
        arr=arr,
        health=health,
        owner=opt_stripped(_first(extra, "account_owner", "owner")),
    )


def _first(attrs: Mapping[str, Any], *names: str) -> Any:
    return next((attrs[n] for n in names if attrs.get(n) not in (None, "")), None)


def _domain(website: Any) -> str | None:
    text = opt_stripped(website)
    if text is None:
        return None
    host = urlsplit(text if "//" in text else f"//{text}").hostname
    return host.lower().removeprefix("www.") if host else None


def _csat(raw: Any) -> float | None:
    # conversation_rating.rating is 1-5 stars; the model wants 0..1.
    if isinstance(raw, Mapping) and isinstance(raw.get("rating"), int):
        rating = min(5, max(1, int(raw["rating"])))
        return (rating - 1) / 4
    return None


def _tier_value(value: Any) -> Any:
    text = str(value).strip().lower().removeprefix("tier_").removeprefix("tier").strip()
    return int(text) if text.isdigit() else value
