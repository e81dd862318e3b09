"""The sandbox helpdesk: a stand-in so a new user sees Escalade work with no credentials.

Inbound, a webhook body is one JSON object::

    {"delivery_id": "d-1", "event": "ticket.created" | "ticket.updated",
     "ticket": <normalized ticket, Ticket.from_dict>}

signed with ``X-Escalade-Signature: sha256=<hex HMAC-SHA256(webhook_secret, body)>``.
The sandbox remembers the newest version of every ticket it was given (``fetch_ticket``).

Outbound, nothing leaves the process: ``apply`` merges the helpdesk actions into one update,
describes each write in plain words, hands the writes to an injected ``recorder`` and applies
them to its in-memory copy of the ticket. Options make it fail on purpose so the outbox's
retries can be seen: ``{"fail_with": 429 | 500 | 422, "fail_times": 2, "retry_after": 1}``
(without ``fail_times`` every call fails). ``{"preload_demo": true}`` loads the demo workspace.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any, ClassVar

import requests

from adapters.helpdesk.base import (
    ApplyResult,
    BackfillPage,
    HelpdeskAdapter,
    HelpdeskConfig,
    HelpdeskGroup,
    SidebarCaller,
    SidebarInstall,
    SidebarRequest,
    WebhookEvent,
)
from adapters.helpdesk.common import INSTALL_SECRET_HEADER, raw_header, verify_install_secret
from integration.errors import (
    ConfigurationError,
    FatalError,
    RetriableError,
    UnsupportedEvent,
    ValidationError,
    WebhookVerificationError,
)
from integration.inbound import same_secret
from integration.models import (
    Action,
    ActionKind,
    Author,
    Message,
    Priority,
    Ticket,
    format_time,
)

__all__ = [
    "DEMO_GROUPS",
    "EVENTS",
    "SIGNATURE_HEADER",
    "Recorder",
    "SandboxAdapter",
    "cursor_for",
    "describe_writes",
    "sign",
    "to_ticket",
    "webhook_body",
]

SIGNATURE_HEADER = "X-Escalade-Signature"
_SCHEME = "sha256="

# event type -> what it means; anything else is UnsupportedEvent (answered 202 "ignored").
EVENTS: Mapping[str, str] = {
    "ticket.created": "a ticket was opened",
    "ticket.updated": "a ticket changed (new message, status, fields)",
}

Recorder = Callable[[str, list[dict[str, Any]]], None]

_PREVIEW_CHARS = 48
# The sandbox's groups: the default matrix's, by name (it assigns groups by name, no ids).
DEMO_GROUPS: tuple[HelpdeskGroup, ...] = (
    HelpdeskGroup(id="support", name="support"),
    HelpdeskGroup(id="support_tier_2", name="support_tier_2"),
    HelpdeskGroup(id="escalations", name="escalations"),
    HelpdeskGroup(id="billing", name="billing"),
)


# --- pure edge functions ----------------------------------------------------------------


def sign(body: bytes, secret: str) -> str:
    """The ``X-Escalade-Signature`` header value for ``body``."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"{_SCHEME}{digest}"


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
    if ticket.helpdesk != SandboxAdapter.identifier:
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


def _failure_plan(options: Mapping[str, Any]) -> tuple[int | None, int | None, float | None]:
    status = options.get("fail_with")
    if status is None:
        return None, None, None
    if isinstance(status, bool) or not isinstance(status, int) or not 400 <= status <= 599:
        raise ConfigurationError(f"sandbox: fail_with must be an HTTP error status, got {status!r}")
    times = options.get("fail_times")
    if times is not None and (isinstance(times, bool) or not isinstance(times, int) or times < 0):
        raise ConfigurationError(f"sandbox: fail_times must be a whole number >= 0, got {times!r}")
    retry_after = options.get("retry_after", 1 if status == 429 else None)
    if retry_after is not None and (
        isinstance(retry_after, bool) or not isinstance(retry_after, int | float)
    ):
        raise ConfigurationError(f"sandbox: retry_after must be seconds, got {retry_after!r}")
    return status, times, float(retry_after) if retry_after is not None else None


# --- the adapter ------------------------------------------------------------------------


class SandboxAdapter(HelpdeskAdapter):
    """An in-memory helpdesk that records what Escalade would write."""

    identifier: ClassVar[str] = "sandbox"
    group_option: ClassVar[str | None] = None
    # No helpdesk frames the sandbox's sidebar: it opens from Escalade's own start page.
    sidebar_proof: ClassVar[str] = "sandbox_secret"
    sidebar_proof_header: ClassVar[str | None] = INSTALL_SECRET_HEADER
    sidebar_for_admins: ClassVar[bool] = True
    sidebar_framers: ClassVar[tuple[str, ...]] = ("'self'",)

    def __init__(
        self,
        *,
        config: HelpdeskConfig,
        tickets: Iterable[Ticket] = (),
        recorder: Recorder | None = None,
        clock: Callable[[], datetime] | None = None,
        session: requests.Session | None = None,
    ) -> None:
        # ``session`` is taken as every adapter takes it; the sandbox calls nothing with it.
        del session
        super().__init__(config=config)
        self._fail_with, self._fail_times, self._retry_after = _failure_plan(config.options)
        self._failures = 0
        self._updates = 0
        self._recorder = recorder
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._tickets: dict[str, Ticket] = {}
        if config.options.get("preload_demo"):
            from integration.demo import demo_tickets

            tickets = [*demo_tickets(), *tickets]
        for ticket in tickets:
            self._remember(ticket)

    @classmethod
    def verify_sidebar(cls, request: SidebarRequest, *, install: SidebarInstall) -> SidebarCaller:
        """The install secret, as the Freshdesk app sends it."""
        return verify_install_secret(request, install, via=cls.sidebar_proof)

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Check ``X-Escalade-Signature`` against the body; the scheme has no timestamp."""
        secret = self.config.webhook_secret
        if not secret:
            raise WebhookVerificationError(
                "sandbox: no webhook secret is configured, so no delivery can be trusted"
            )
        given = raw_header(headers, SIGNATURE_HEADER)
        if not given:
            raise WebhookVerificationError(f"sandbox: missing {SIGNATURE_HEADER} header")
        if not given.startswith(_SCHEME):
            raise WebhookVerificationError(
                f"sandbox: {SIGNATURE_HEADER} must look like 'sha256=<hex>'"
            )
        # The secret it replaced still counts while its grace period lasts.
        if not any(same_secret(given.strip().lower(), sign(body, key))
                   for key in self.webhook_secrets(now)):
            raise WebhookVerificationError(f"sandbox: {SIGNATURE_HEADER} does not match the body")

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Read a verified delivery and remember its ticket."""
        try:
            data = json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise ValidationError("body", f"not valid UTF-8 JSON: {err}") from err
        if not isinstance(data, dict):
            raise ValidationError("body", "expected a JSON object")
        delivery_id = data.get("delivery_id")
        if not isinstance(delivery_id, str) or not delivery_id.strip():
            raise ValidationError("delivery_id", "expected a non-empty string")
        event = data.get("event")
        if not isinstance(event, str) or not event:
            raise ValidationError("event", "expected an event type such as 'ticket.created'")
        if event not in EVENTS:
            raise UnsupportedEvent(event)
        ticket = to_ticket(data.get("ticket"), tenant=self.config.tenant, path="ticket")
        self._remember(ticket)
        return WebhookEvent(
            delivery_id=delivery_id,
            event_type=event,
            ticket_id=ticket.id,
            occurred_at=ticket.updated_at,
            ticket=ticket,
        )

    def normalize(self, raw: Mapping[str, Any]) -> Ticket:
        """The sandbox already speaks the normalized format; validate it."""
        return to_ticket(raw, tenant=self.config.tenant)

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """The newest version of the ticket the sandbox was given (with our writes applied)."""
        with self._lock:
            ticket = self._tickets.get(str(ticket_id))
        if ticket is None:
            # What a real helpdesk's 404 is: retrying will not make the ticket appear.
            raise FatalError(f"sandbox: ticket {ticket_id!r} was never sent to this sandbox")
        return ticket

    def backfill(
        self, *, since: datetime, cursor: str | None = None
    ) -> Iterator[BackfillPage]:
        """Known tickets updated since ``since``, oldest first, in pages; resumes after ``cursor``.

        ``{"backfill_page_size": n}`` sets the page size (default 100).
        """
        size = self.config.options.get("backfill_page_size", 100)
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ConfigurationError(f"sandbox: backfill_page_size must be >= 1, got {size!r}")
        with self._lock:
            known = sorted(self._tickets.values(), key=lambda t: (t.updated_at, t.id))
        wanted = [
            t for t in known
            if t.updated_at >= since and (cursor is None or cursor_for(t) > cursor)
        ]
        if not wanted:
            yield BackfillPage(tickets=(), cursor=cursor, done=True)
            return
        for start in range(0, len(wanted), size):
            page = tuple(wanted[start : start + size])
            yield BackfillPage(
                tickets=page, cursor=cursor_for(page[-1]), done=start + size >= len(wanted)
            )

    def apply(
        self, ticket_id: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Record the writes one helpdesk update would make; fail on purpose when configured.

        ``uncertain``: a note or reply whose text the ticket already shows is not added again.
        """
        helpdesk = [a for a in actions if a.target == "helpdesk"]
        skipped = [f"{a.target}: {a.kind.value}" for a in actions if a.target != "helpdesk"]
        detail: dict[str, Any] = {"written": []}
        if skipped:
            detail["skipped"] = skipped
        there: tuple[ActionKind, ...] = ()
        if uncertain:
            helpdesk, there = self._without_landed(str(ticket_id), helpdesk)
            if there:
                detail["already_there"] = [k.value for k in there]
        if not helpdesk:
            return ApplyResult(applied=there, detail=detail)
        writes = describe_writes(helpdesk)
        self._maybe_fail()
        with self._lock:
            self._updates += 1
            update_ref = f"sandbox-update-{self._updates}"
            known = self._tickets.get(str(ticket_id))
            if known is not None:
                self._tickets[known.id] = self._with_writes(known, writes, update_ref)
        if self._recorder is not None:
            self._recorder(str(ticket_id), writes)
        detail["written"] = [w["summary"] for w in writes]
        if known is None:
            detail["ticket_known"] = False
        applied = tuple(dict.fromkeys([*(a.kind for a in helpdesk), *there]))
        return ApplyResult(applied=applied, external_ref=update_ref, detail=detail)

    def _without_landed(
        self, ticket_id: str, actions: list[Action]
    ) -> tuple[list[Action], tuple[ActionKind, ...]]:
        with self._lock:
            known = self._tickets.get(ticket_id)
        posted = {
            (m.public, m.body.strip())
            for m in (known.messages if known is not None else ())
            if m.author is Author.BOT
        }
        kept, there = [], []
        for action in actions:
            body = action.payload.get("body")
            public = action.kind is ActionKind.PUBLIC_REPLY
            if (
                action.kind in (ActionKind.INTERNAL_NOTE, ActionKind.PUBLIC_REPLY)
                and isinstance(body, str)
                and (public, body.strip()) in posted
            ):
                there.append(action.kind)
                continue
            kept.append(action)
        return kept, tuple(dict.fromkeys(there))

    def is_own_write(self, ticket: Ticket) -> bool:
        """True when the latest message was written by a bot or the system (our write-back)."""
        if not ticket.messages:
            return False
        latest = max(enumerate(ticket.messages), key=lambda im: (im[1].created_at, im[0]))[1]
        return latest.author in (Author.BOT, Author.SYSTEM)

    def list_groups(self) -> list[HelpdeskGroup]:
        """The fixed demo groups (no call: the sandbox lives in this process)."""
        return list(DEMO_GROUPS)

    def who_am_i(self) -> str:
        """Nothing to ask: the sandbox lives in this process."""
        return "Sandbox helpdesk: runs inside Escalade, nothing to call"

    def _remember(self, ticket: Ticket) -> None:
        with self._lock:
            known = self._tickets.get(ticket.id)
            # Deliveries can arrive out of order; an older snapshot never replaces a newer one.
            if known is None or ticket.updated_at >= known.updated_at:
                self._tickets[ticket.id] = ticket

    def _maybe_fail(self) -> None:
        if self._fail_with is None:
            return
        with self._lock:
            if self._fail_times is not None and self._failures >= self._fail_times:
                return
            self._failures += 1
            attempt = self._failures
        status = self._fail_with
        of = f" of {self._fail_times}" if self._fail_times is not None else ""
        message = f"sandbox: simulated HTTP {status} (configured failure {attempt}{of})"
        if status in (408, 429) or status >= 500:
            raise RetriableError(message, retry_after=self._retry_after)
        raise FatalError(message)

    def _with_writes(self, ticket: Ticket, writes: list[dict[str, Any]], ref: str) -> Ticket:
        now = self._clock()
        tags = list(ticket.tags)
        changes: dict[str, Any] = {}
        custom = dict(ticket.custom)
        messages = list(ticket.messages)
        for n, write in enumerate(writes, start=1):
            kind = write["write"]
            if kind == "tags":
                tags = [t for t in tags if t not in write["remove"]]
                tags += [t for t in write["add"] if t not in tags]
            elif kind == "priority":
                changes["priority"] = Priority(write["value"])
            elif kind in ("group", "assignee"):
                changes[kind] = write["value"]
            elif kind == "field":
                custom[write["field"]] = write["value"]
            else:
                messages.append(
                    Message(
                        id=f"{ref}-{n}",
                        author=Author.BOT,
                        body=write["body"],
                        created_at=now,
                        public=kind == "public_reply",
                    )
                )
        return replace(
            ticket,
            tags=tuple(tags),
            custom=custom,
            messages=tuple(messages),
            updated_at=max(now, ticket.updated_at),
            **changes,
        )
