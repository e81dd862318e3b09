"""The normalized model: what every helpdesk's ticket becomes, and what the core decides.

Frozen, keyword-only dataclasses and enums. Raw vendor dicts never get past an adapter; the
wire format (``Ticket.from_dict`` / ``to_dict``) is the one ``escalade triage`` reads and
prints.
"""

from __future__ import annotations

import math
import operator
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from enum import IntEnum, StrEnum
from itertools import repeat
from typing import Any, TypeVar

from integration.errors import ValidationError

__all__ = [
    "Account",
    "Action",
    "ActionKind",
    "Author",
    "Category",
    "Channel",
    "Decision",
    "Evidence",
    "Handoff",
    "Message",
    "MessageSentiment",
    "PageRule",
    "Person",
    "PreviousTicket",
    "Priority",
    "Route",
    "RuleHit",
    "Signals",
    "Status",
    "Ticket",
    "Tier",
    "TierReading",
    "TriggerHit",
    "TriggerSpec",
    "account_key",
    "format_time",
    "parse_time",
    "evolve",
    "quick_pickle",
    "requester_key",
]


class Tier(IntEnum):
    """1: AI / self-serve, 2: agent-assisted, 3: specialist or account manager."""

    ONE = 1
    TWO = 2
    THREE = 3


class Priority(StrEnum):
    """Ticket priority, ordered low to urgent."""

    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"
    URGENT = "urgent"

    @property
    def rank(self) -> int:
        """Position in the order low < normal < high < urgent."""
        return _PRIORITY_RANK[self]


_PRIORITY_RANK = {priority: n for n, priority in enumerate(Priority)}


class Channel(StrEnum):
    """Where the customer wrote from."""

    EMAIL = "email"
    WEB = "web"
    CHAT = "chat"
    API = "api"
    PHONE = "phone"
    SOCIAL = "social"
    OTHER = "other"


class Status(StrEnum):
    """Normalized ticket status; ``pending`` and ``on_hold`` wait on someone else."""

    NEW = "new"
    OPEN = "open"
    PENDING = "pending"
    ON_HOLD = "on_hold"
    SOLVED = "solved"
    CLOSED = "closed"

    @property
    def is_open(self) -> bool:
        """True while the ticket still needs work."""
        return self not in (Status.SOLVED, Status.CLOSED)


class Author(StrEnum):
    """Who wrote a message."""

    CUSTOMER = "customer"
    AGENT = "agent"
    BOT = "bot"
    SYSTEM = "system"


class Category(StrEnum):
    """The customer's main intent (the default escalation policy's categories)."""

    BILLING = "billing"
    REFUND = "refund"
    CANCELLATION = "cancellation"
    ACCOUNT_ACCESS = "account_access"
    BUG = "bug"
    OUTAGE = "outage"
    HOW_TO = "how_to"
    FEATURE_REQUEST = "feature_request"
    LEGAL = "legal"
    SECURITY = "security"
    ONBOARDING = "onboarding"
    OTHER = "other"


def parse_time(value: Any, field_name: str) -> datetime:
    """Parse an ISO 8601 timestamp into an aware UTC datetime, naming the field on error."""
    if isinstance(value, datetime):
        dt = value
    elif isinstance(value, str):
        text = value.strip()
        if text.endswith("Z"):
            text = text[:-1] + "+00:00"
        try:
            dt = datetime.fromisoformat(text)
        except ValueError as err:
            raise ValidationError(field_name, f"not an ISO 8601 timestamp: {value!r}") from err
    else:
        raise ValidationError(field_name, f"expected an ISO 8601 string, got {_kind(value)}")
    if dt.tzinfo is None:
        raise ValidationError(field_name, f"timestamp has no time zone: {value!r}")
    return dt.astimezone(UTC)


def format_time(value: datetime) -> str:
    """Format an aware datetime the way the wire format does (UTC, trailing Z)."""
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


_Pickled = TypeVar("_Pickled")


def quick_pickle(cls: type[_Pickled]) -> type[_Pickled]:
    """Give a frozen slotted dataclass a state of one tuple, read and set without ``fields()``.

    Tickets cross process boundaries by the hundred thousand (audit and triage workers); the
    generated state methods look the fields up on every call, which costs twice the rest.
    """
    names = tuple(f.name for f in fields(cls))  # type: ignore[arg-type]
    get = operator.attrgetter(*names)
    put = object.__setattr__

    def getstate(self: object) -> tuple[Any, ...]:
        state: tuple[Any, ...] = get(self)
        return state

    def setstate(self: object, state: tuple[Any, ...]) -> None:
        if len(state) != len(names):
            raise ValueError(f"{cls.__name__} takes {len(names)} values, not {len(state)}")
        # Consumed by a zero-length deque: the loop runs in C, not in Python bytecode.
        deque(map(put, repeat(self, len(names)), names, state), maxlen=0)

    setattr(cls, "__getstate__", getstate)  # noqa: B010 - dataclass set these already
    setattr(cls, "__setstate__", setstate)  # noqa: B010
    _FIELD_INDEX[cls] = {name: n for n, name in enumerate(names)}
    return cls


_FIELD_INDEX: dict[type, dict[str, int]] = {}


def evolve(obj: _Pickled, **changes: Any) -> _Pickled:
    """``dataclasses.replace`` for a ``quick_pickle`` class without ``__post_init__``, faster.

    ``replace`` walks every field and calls ``__init__`` by keyword; this copies the state
    tuple and sets the changed values, for the records read once per ticket.
    """
    cls = type(obj)
    index = _FIELD_INDEX[cls]
    if hasattr(cls, "__post_init__"):
        raise TypeError(f"{cls.__name__} derives fields in __post_init__: use replace()")
    pickled: Any = obj
    state = list(pickled.__getstate__())
    for name, value in changes.items():
        state[index[name]] = value
    new: Any = object.__new__(cls)
    new.__setstate__(tuple(state))
    out: _Pickled = new
    return out


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class Person:
    """A requester or agent."""

    id: str
    email: str | None = None
    name: str | None = None

    @property
    def domain(self) -> str | None:
        """The e-mail domain, lower-cased."""
        if self.email and "@" in self.email:
            return self.email.rsplit("@", 1)[1].lower()
        return None

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Person:
        """Build from the wire format."""
        obj = _obj(data, path)
        return cls(
            id=_str(obj, "id", path),
            email=_opt_str(obj, "email", path),
            name=_opt_str(obj, "name", path),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to the wire format."""
        return {"id": self.id, "email": self.email, "name": self.name}


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class Account:
    """The customer organization with what the CRM knows of it."""

    id: str
    name: str | None = None
    domain: str | None = None
    plan: str | None = None
    arr: float | None = None
    health: float | None = None
    owner: str | None = None
    # From the CRM or the product-activity source; optional on the wire.
    lifecycle: str | None = None
    renewal_date: date | None = None

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Account:
        """Build from the wire format."""
        obj = _obj(data, path)
        health = _opt_num(obj, "health", path)
        if health is not None and not 0.0 <= health <= 1.0:
            raise ValidationError(f"{path}.health", f"must be between 0 and 1, got {health}")
        arr = _opt_num(obj, "arr", path)
        if arr is not None and arr < 0:
            raise ValidationError(f"{path}.arr", f"must not be negative, got {arr}")
        plan = _opt_str(obj, "plan", path)
        renewal = _opt_str(obj, "renewal_date", path)
        try:
            renewal_date = date.fromisoformat(renewal) if renewal else None
        except ValueError as err:
            raise ValidationError(
                f"{path}.renewal_date", f"not an ISO date (YYYY-MM-DD): {renewal!r}"
            ) from err
        return cls(
            id=_str(obj, "id", path),
            name=_opt_str(obj, "name", path),
            domain=_opt_str(obj, "domain", path),
            plan=plan.lower() if plan else None,
            arr=arr,
            health=health,
            owner=_opt_str(obj, "owner", path),
            lifecycle=_opt_str(obj, "lifecycle", path),
            renewal_date=renewal_date,
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to the wire format."""
        return {
            "id": self.id,
            "name": self.name,
            "domain": self.domain,
            "plan": self.plan,
            "arr": self.arr,
            "health": self.health,
            "owner": self.owner,
            **({"lifecycle": self.lifecycle} if self.lifecycle else {}),
            **({"renewal_date": self.renewal_date.isoformat()} if self.renewal_date else {}),
        }


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class Message:
    """One message of the conversation, public reply or internal note."""

    id: str
    author: Author
    body: str
    created_at: datetime
    public: bool = True

    @classmethod
    def from_dict(cls, data: Any, path: str) -> Message:
        """Build from the wire format."""
        obj = _obj(data, path)
        return cls(
            id=_str(obj, "id", path),
            author=_enum(Author, obj, "author", path),
            public=_bool(obj, "public", path, default=True),
            body=_str(obj, "body", path, allow_empty=True),
            created_at=parse_time(_req(obj, "created_at", path), f"{path}.created_at"),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to the wire format."""
        return {
            "id": self.id,
            "author": self.author.value,
            "public": self.public,
            "body": self.body,
            "created_at": format_time(self.created_at),
        }


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class Ticket:
    """A helpdesk ticket (or Intercom conversation) in Escalade's own terms."""

    tenant: str
    helpdesk: str
    id: str
    subject: str
    status: Status
    priority: Priority
    channel: Channel
    created_at: datetime
    updated_at: datetime
    requester: Person
    messages: tuple[Message, ...] = ()
    account: Account | None = None
    tags: tuple[str, ...] = ()
    assignee: str | None = None
    group: str | None = None
    page_url: str | None = None
    csat: float | None = None
    custom: Mapping[str, Any] = field(default_factory=dict)
    # Unique across tenants and helpdesks; computed once because history lookups compare it
    # for every earlier ticket of an account.
    key: str = field(init=False, repr=False, compare=False)
    # The customer's messages, picked out once: detection asks for them many times a ticket.
    _customer: tuple[Message, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "key", f"{self.tenant}:{self.helpdesk}:{self.id}")
        object.__setattr__(self, "_customer",
                           tuple(m for m in self.messages if m.author is Author.CUSTOMER))

    @property
    def customer_messages(self) -> tuple[Message, ...]:
        """The messages the customer wrote, oldest first."""
        return self._customer

    @classmethod
    def from_dict(cls, data: Any) -> Ticket:
        """Build from the wire format; raises ``ValidationError`` naming the bad field."""
        obj = _obj(data, "ticket")
        messages = obj.get("messages", [])
        if not isinstance(messages, list):
            raise ValidationError("messages", f"expected a list, got {_kind(messages)}")
        tags = obj.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ValidationError("tags", "expected a list of strings")
        custom = obj.get("custom", {})
        if custom is None:
            custom = {}
        if not isinstance(custom, dict):
            raise ValidationError("custom", f"expected an object, got {_kind(custom)}")
        account = obj.get("account")
        csat = _opt_num(obj, "csat", "")
        return cls(
            tenant=_str(obj, "tenant", ""),
            helpdesk=_str(obj, "helpdesk", ""),
            id=_str(obj, "id", "", coerce_int=True),
            subject=_str(obj, "subject", "", allow_empty=True),
            status=_enum(Status, obj, "status", ""),
            priority=_enum(Priority, obj, "priority", "", default=Priority.NORMAL),
            channel=_enum(Channel, obj, "channel", "", default=Channel.OTHER),
            created_at=parse_time(_req(obj, "created_at", ""), "created_at"),
            updated_at=parse_time(_req(obj, "updated_at", ""), "updated_at"),
            requester=Person.from_dict(_req(obj, "requester", ""), "requester"),
            account=Account.from_dict(account, "account") if account is not None else None,
            messages=tuple(
                Message.from_dict(m, f"messages[{i}]") for i, m in enumerate(messages)
            ),
            tags=tuple(tags),
            assignee=_opt_str(obj, "assignee", ""),
            group=_opt_str(obj, "group", ""),
            page_url=_opt_str(obj, "page_url", ""),
            csat=csat,
            custom=dict(custom),
        )

    def to_dict(self) -> dict[str, Any]:
        """Serialize to the wire format."""
        out: dict[str, Any] = {
            "tenant": self.tenant,
            "helpdesk": self.helpdesk,
            "id": self.id,
            "subject": self.subject,
            "status": self.status.value,
            "priority": self.priority.value,
            "channel": self.channel.value,
            "created_at": format_time(self.created_at),
            "updated_at": format_time(self.updated_at),
            "requester": self.requester.to_dict(),
            "messages": [m.to_dict() for m in self.messages],
            "tags": list(self.tags),
            "assignee": self.assignee,
            "group": self.group,
            "custom": dict(self.custom),
        }
        if self.account is not None:
            out["account"] = self.account.to_dict()
        if self.page_url is not None:
            out["page_url"] = self.page_url
        if self.csat is not None:
            out["csat"] = self.csat
        return out


# --- what detection finds ---------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerSpec:
    """A keyword trigger from the matrix: lemmas and multi-word phrases."""

    id: str
    lemmas: tuple[str, ...] = ()
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class PageRule:
    """A URL pattern from the matrix: where the customer wrote from and what that suggests."""

    id: str
    pattern: str
    category: Category | None = None
    urgency: str = "normal"


@dataclass(frozen=True, kw_only=True, slots=True)
class TriggerHit:
    """A trigger that matched, with the words and sentence that made it match."""

    trigger: str
    match: str
    sentence: str
    message_id: str | None = None
    # How the learned reader took the match ("read as live, p=0.93"), or what it found
    # without a keyword ("churn intent without the word"); empty when no reader looked.
    reading: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class MessageSentiment:
    """Sentiment of one customer message in [-1, 1]; ``sentence`` drove the score."""

    message_id: str
    score: float
    sentence: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Evidence:
    """Why a signal has its value: a kind (category, severity, ...) and the text behind it."""

    kind: str
    text: str


@dataclass(frozen=True, slots=True)
class TierReading:
    """A learned model's tier probabilities for a ticket, one row per tier the rules may give.

    The model reads the ticket's meaning, category, triggers, tone and account together with
    the tier the escalation rules chose, so its answer depends on that tier: row ``t - 1`` is
    its (tier 1, tier 2, tier 3) probabilities when the rules say tier ``t``.
    """

    given: tuple[tuple[float, float, float], ...]
    # The rules and bumps of the matrix the model was trained with: a tier set by any other
    # (an admin's own rule) is the admin's call, not the model's.
    knows: frozenset[str] = frozenset()

    def after(self, rules_tier: int) -> tuple[float, float, float]:
        """The probabilities when the rules chose ``rules_tier``."""
        return self.given[rules_tier - 1]


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class Signals:
    """Everything detection read from a ticket; the matrix decides on these alone."""

    category: Category = Category.OTHER
    category_confidence: float = 0.0
    sentiment: float = 0.0
    message_sentiments: tuple[MessageSentiment, ...] = ()
    sentiment_spike: bool = False
    frustrated: bool = False
    inquiry: bool = False
    # Product activity (integration.engagement): recent / previous logins, and whether it fell.
    engagement_trend: float | None = None
    engagement_declining: bool = False
    triggers: tuple[TriggerHit, ...] = ()
    # Triggers whose words occur but were all read as only mentioned (past, negated, a name,
    # a joke, someone else's...), with no live match anywhere in the ticket.
    mentioned: tuple[str, ...] = ()
    error_keys: tuple[str, ...] = ()
    severity: str | None = None
    page_hint: str | None = None
    page_rule: str | None = None
    page_urgency: str | None = None
    repeat_contacts: int = 1
    customer_message_count: int = 0
    # The customer wrote again, not just to thank us, after Escalade answered automatically.
    answer_declined: bool = False
    evidence: tuple[Evidence, ...] = ()
    # What a model trained on labeled tickets says the tier is (integration.detect.tiers).
    tier_reading: TierReading | None = None

    @property
    def trigger_ids(self) -> tuple[str, ...]:
        """Distinct trigger ids, in order of first match."""
        return tuple(dict.fromkeys(h.trigger for h in self.triggers))


# --- what the matrix decides ------------------------------------------------------------


@dataclass(frozen=True, kw_only=True, slots=True)
class PreviousTicket:
    """An earlier ticket of the same account about the same issue (for the handoff)."""

    id: str
    subject: str
    status: Status
    created_at: datetime

    def to_dict(self) -> dict[str, Any]:
        """Serialize for alerts and the sidebar."""
        return {"id": self.id, "subject": self.subject, "status": self.status.value,
                "created_at": format_time(self.created_at)}


@dataclass(frozen=True, kw_only=True, slots=True)
class Handoff:
    """What the agent taking over must know, gathered around a decision.

    Every text is the customer's, the bot's or a system's own words (``integration.summary``
    is extractive), but a ``summary`` a language model wrote: ``summary_by`` names it.
    """

    summary: str | None = None
    wants: str | None = None
    customer_words: str | None = None
    tried: tuple[str, ...] = ()
    bot_answered: tuple[str, ...] = ()
    previous: tuple[PreviousTicket, ...] = ()
    facts: tuple[str, ...] = ()
    ticket_url: str | None = None
    summary_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Serialize for the decision log and the sidebar."""
        return {
            "summary": self.summary,
            "summary_by": self.summary_by,
            "wants": self.wants,
            "customer_words": self.customer_words,
            "tried": list(self.tried),
            "bot_answered": list(self.bot_answered),
            "previous": [p.to_dict() for p in self.previous],
            "facts": list(self.facts),
            "ticket_url": self.ticket_url,
        }


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleHit:
    """A matrix rule that fired: its stable id and a sentence saying why."""

    rule_id: str
    reason: str


@dataclass(frozen=True, kw_only=True, slots=True)
class Route:
    """Where the ticket goes and why."""

    group: str | None = None
    assignee: str | None = None
    reason: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Serialize for the decision log and ``escalade triage``."""
        return {"group": self.group, "assignee": self.assignee, "reason": self.reason}


class ActionKind(StrEnum):
    """What an outbound action does; helpdesk kinds are merged into one update."""

    ADD_TAGS = "add_tags"
    REMOVE_TAGS = "remove_tags"
    SET_PRIORITY = "set_priority"
    ASSIGN = "assign"
    SET_FIELD = "set_field"
    INTERNAL_NOTE = "internal_note"
    PUBLIC_REPLY = "public_reply"
    ALERT = "alert"


@dataclass(frozen=True, kw_only=True, slots=True)
class Action:
    """One thing to write somewhere: ``target`` is ``helpdesk`` or a connector id."""

    kind: ActionKind
    target: str
    payload: Mapping[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """Serialize for the outbox."""
        return {"kind": self.kind.value, "target": self.target, "payload": dict(self.payload)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Action:
        """Rebuild from the outbox."""
        return cls(
            kind=ActionKind(data["kind"]),
            target=str(data["target"]),
            payload=dict(data.get("payload") or {}),
        )


@dataclass(frozen=True, kw_only=True, slots=True)
class Decision:
    """The matrix's verdict on one ticket, citing every rule that fired."""

    ticket_id: str
    tier: Tier
    priority: Priority
    category: Category
    sentiment: float
    triggers: tuple[str, ...]
    rules: tuple[RuleHit, ...]
    matrix_version: str
    sla_due_at: datetime | None = None
    sla_state: str | None = None
    route: Route = field(default_factory=Route)
    actions: tuple[Action, ...] = ()

    @property
    def reasons(self) -> tuple[str, ...]:
        """The human sentences of every rule that fired."""
        return tuple(r.reason for r in self.rules)

    def to_dict(self) -> dict[str, Any]:
        """Serialize as one line of ``escalade triage`` output (the normalized wire format)."""
        return {
            "id": self.ticket_id,
            "tier": int(self.tier),
            "priority": self.priority.value,
            "category": self.category.value,
            "sentiment": round(self.sentiment, 3),
            "triggers": list(self.triggers),
            "reasons": list(self.reasons),
            "rules": [r.rule_id for r in self.rules],
            "sla_due_at": format_time(self.sla_due_at) if self.sla_due_at else None,
            "sla_state": self.sla_state,
            "route": self.route.to_dict(),
            "matrix_version": self.matrix_version,
        }


# --- field readers that name the bad field ----------------------------------------------

_E = TypeVar("_E", bound=StrEnum)


def _kind(value: Any) -> str:
    return "null" if value is None else type(value).__name__


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _obj(data: Any, path: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise ValidationError(path or "ticket", f"expected an object, got {_kind(data)}")
    return data


def _req(obj: Mapping[str, Any], key: str, path: str) -> Any:
    if key not in obj or obj[key] is None:
        raise ValidationError(_join(path, key), "is required")
    return obj[key]


def _str(
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    allow_empty: bool = False,
    coerce_int: bool = False,
) -> str:
    value = _req(obj, key, path)
    if coerce_int and isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        raise ValidationError(_join(path, key), f"expected a string, got {_kind(value)}")
    if not allow_empty and not value.strip():
        raise ValidationError(_join(path, key), "must not be empty")
    return value


def _opt_str(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if not isinstance(value, str):
        raise ValidationError(_join(path, key), f"expected a string, got {_kind(value)}")
    return value


def _opt_num(obj: Mapping[str, Any], key: str, path: str) -> float | None:
    value = obj.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValidationError(_join(path, key), f"expected a number, got {_kind(value)}")
    if not math.isfinite(value):
        raise ValidationError(_join(path, key), "must be a finite number")
    return float(value)


def _bool(obj: Mapping[str, Any], key: str, path: str, *, default: bool) -> bool:
    value = obj.get(key, default)
    if not isinstance(value, bool):
        raise ValidationError(_join(path, key), f"expected true or false, got {_kind(value)}")
    return value


def _enum(
    enum: type[_E],
    obj: Mapping[str, Any],
    key: str,
    path: str,
    *,
    default: _E | None = None,
) -> _E:
    value = obj.get(key)
    if value is None:
        if default is not None:
            return default
        raise ValidationError(_join(path, key), "is required")
    try:
        return enum(value)
    except ValueError as err:
        allowed = ", ".join(e.value for e in enum)
        raise ValidationError(
            _join(path, key), f"{value!r} is not one of: {allowed}"
        ) from err


@dataclass(frozen=True, kw_only=True, slots=True)
class TicketFacts:
    """What is known around a ticket that an alert payload may lack (the store knows it)."""

    ticket_url: str | None = None
    summary: str | None = None
    tracker_key: str | None = None
    tracker_url: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class OutboxOutcome:
    """Where a queued write stands: ``pending``, ``inflight``, ``delivered`` or ``failed``."""

    status: str
    error: str | None
    next_attempt_at: datetime | None
    payloads: tuple[Mapping[str, Any], ...] = ()


def requester_key(ticket: Ticket) -> str:
    """Who wrote, comparable across tickets: the lower-cased e-mail, else the helpdesk id."""
    email = (ticket.requester.email or "").strip().lower()
    return f"email:{email}" if email else f"id:{ticket.helpdesk}:{ticket.requester.id}"


def account_key(ticket: Ticket) -> str | None:
    """Which customer organization, comparable across tickets; None when unknown."""
    if ticket.account is None:
        return None
    return f"account:{ticket.account.id}"
