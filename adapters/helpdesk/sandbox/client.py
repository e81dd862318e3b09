"""The sandbox adapter: it moves no bytes over a network, it keeps them in memory.

``apply`` merges the helpdesk actions into one update, describes each write
(``describe_writes``), hands the writes to the injected ``recorder`` and applies them to its
copy of the ticket; options make it fail on purpose (``fail_with``, ``fail_times``,
``retry_after``) so the outbox's retries can be seen.
"""

from __future__ import annotations

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
    KnowledgePage,
    SidebarCaller,
    SidebarInstall,
    SidebarRequest,
    WebhookEvent,
)
from adapters.helpdesk.common import INSTALL_SECRET_HEADER, raw_header, verify_install_secret
from adapters.helpdesk.sandbox.convert import (
    EVENTS,
    HELPDESK,
    SIGNATURE_HEADER,
    SIGNATURE_SCHEME,
    cursor_for,
    describe_writes,
    sign,
    to_ticket,
)
from integration.answer.types import KnowledgeDoc
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
)

__all__ = ["DEMO_GROUPS", "Recorder", "SandboxAdapter"]

Recorder = Callable[[str, list[dict[str, Any]]], None]

# The sandbox's groups: the default matrix's, by name (it assigns groups by name, no ids).
DEMO_GROUPS: tuple[HelpdeskGroup, ...] = (
    HelpdeskGroup(id="support", name="support"),
    HelpdeskGroup(id="support_tier_2", name="support_tier_2"),
    HelpdeskGroup(id="escalations", name="escalations"),
    HelpdeskGroup(id="billing", name="billing"),
)


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


class SandboxAdapter(HelpdeskAdapter):
    """An in-memory helpdesk that records what Escalade would write."""

    identifier: ClassVar[str] = HELPDESK
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
        if not given.startswith(SIGNATURE_SCHEME):
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

    def fetch_knowledge(self, *, cursor: str | None) -> Iterator[KnowledgePage]:
        """The file named by ``options.knowledge_file`` (the import format), else the demo
        help centre packaged with Escalade; always read whole."""
        from integration.answer.types import DocKind

        yield KnowledgePage(docs=tuple(_sandbox_knowledge(self.config.options)), cursor=None,
                            complete=(DocKind.ARTICLE, DocKind.MACRO))

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


def _sandbox_knowledge(options: Mapping[str, Any]) -> list[KnowledgeDoc]:
    """The sandbox's help centre: ``options.knowledge_file``, else the demo's."""
    path = options.get("knowledge_file")
    if not path:
        from integration.demo.knowledge import demo_knowledge

        return demo_knowledge()
    from pathlib import Path

    from integration.knowledge_file import parse_knowledge

    try:
        lines = Path(str(path)).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigurationError(
            f"sandbox: options.knowledge_file: cannot read {path}: {err}") from err
    return parse_knowledge(lines, source=str(path))
