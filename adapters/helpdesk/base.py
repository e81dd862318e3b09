"""What every helpdesk adapter is: a small class that only moves bytes.

The conversions (vendor payload -> ``Ticket``, actions -> vendor update) are pure functions in
each vendor module; the class verifies webhooks, fetches and applies through an injected
``requests.Session`` (or SDK client), and raises the errors in ``integration.errors``.

The agent sidebar is the helpdesk's too: each class checks its helpdesk's own proof on a
sidebar request (``verify_sidebar``, a class method: no credentials or client are needed to
check a signature) and says who may frame the sidebar, so the pages never ask which helpdesk
they serve. Sidebar proofs fail with ``SidebarProofError`` (no valid proof: 401) or
``SidebarOtherTenant`` (a valid proof, but for another tenant: 403).
"""

from __future__ import annotations

import abc
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, ClassVar
from urllib.parse import urlsplit

from integration.answer.types import DocKind, KnowledgeDoc
from integration.errors import (
    DeliveryError,
    EscaladeError,
    FatalError,
    RetriableError,
    WebhookVerificationError,
)
from integration.models import Action, ActionKind, Ticket

__all__ = [
    "ApplyResult",
    "BackfillPage",
    "ConnectionCheck",
    "HelpdeskAdapter",
    "HelpdeskConfig",
    "HelpdeskGroup",
    "KnowledgePage",
    "SidebarCaller",
    "SidebarInstall",
    "SidebarOtherTenant",
    "SidebarProofError",
    "SidebarRequest",
    "SkipReason",
    "SkippedTicket",
    "WebhookEvent",
    "verify_with_any",
]


def verify_with_any(secrets: Sequence[str], check: Callable[[str], None]) -> None:
    """Pass when ``check`` passes with any of ``secrets``; else raise the first one's error."""
    first: WebhookVerificationError | None = None
    for secret in secrets:
        try:
            check(secret)
            return
        except WebhookVerificationError as err:
            first = first or err
    raise first or WebhookVerificationError("no webhook secret to verify with")


@dataclass(frozen=True, kw_only=True, slots=True)
class HelpdeskConfig:
    """One tenant's connection to its helpdesk (secrets already decrypted)."""

    tenant: str
    helpdesk: str
    base_url: str | None = None
    credentials: Mapping[str, str] = field(default_factory=dict)
    webhook_secret: str | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    # The webhook secret this one replaced, still accepted until ``previous_until``: the
    # helpdesk cannot switch to a rotated secret at the same instant we do.
    previous_webhook_secret: str | None = None
    previous_until: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class WebhookEvent:
    """A verified inbound webhook, reduced to what processing needs."""

    delivery_id: str
    event_type: str
    ticket_id: str
    occurred_at: datetime | None = None
    # A ticket the payload carried whole (sandbox); vendors send ids and we fetch.
    ticket: Ticket | None = None


class SkipReason(StrEnum):
    """Why a history import left a ticket out."""

    DELETED = "deleted"  # deleted in the helpdesk (still listed by its export, or gone meanwhile)
    INVALID = "invalid"  # the vendor's data could not be read as a ticket


@dataclass(frozen=True, kw_only=True, slots=True)
class SkippedTicket:
    """A ticket a history page left out: its helpdesk id, why, and for invalid ones the error."""

    id: str
    reason: SkipReason
    detail: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class HelpdeskGroup:
    """A group (Zendesk, Freshdesk) or team (Intercom) that tickets can be assigned to."""

    id: str
    name: str


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillPage:
    """One page of a history import: its tickets and the cursor that resumes after it."""

    tickets: tuple[Ticket, ...]
    cursor: str | None
    done: bool = False
    # How many tickets the whole import holds, when the vendor says (for progress and ETA).
    total: int | None = None
    # Tickets on this page that were left out, each with its reason (for the summary).
    skipped: tuple[SkippedTicket, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class KnowledgePage:
    """One page of a knowledge sync: documents, ids the helpdesk retired, where to resume.

    ``removed`` holds (kind, id) of documents deleted, archived, unpublished or drafted when
    the vendor says so; ``complete`` names the kinds whose whole listing this sync's pages
    gave, so a stored document of that kind they did not list is gone. ``cursor`` is what the
    next sync passes back (None: the vendor has nothing to resume from).
    """

    docs: tuple[KnowledgeDoc, ...]
    cursor: str | None
    removed: tuple[tuple[DocKind, str], ...] = ()
    complete: tuple[DocKind, ...] = ()


@dataclass(frozen=True, kw_only=True, slots=True)
class ApplyResult:
    """What ``apply`` wrote: the action kinds that landed and the vendor's reference.

    ``detail`` may hold ``failed`` (kinds that did not surely land: ``kind``, ``error``,
    ``retriable``, ``retry_after``, ``uncertain``), ``warnings`` (what was left out and
    why, in plain words) and ``already_there`` (kinds an earlier attempt had written).
    """

    applied: tuple[ActionKind, ...]
    external_ref: str | None = None
    detail: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, kw_only=True, slots=True)
class ConnectionCheck:
    """What a connection test learned: who answered and, for a helpdesk, its groups (teams)."""

    message: str
    groups: tuple[HelpdeskGroup, ...] = ()


class SidebarProofError(EscaladeError):
    """A sidebar request carries no valid proof of its helpdesk (missing, wrong or stale)."""


class SidebarOtherTenant(EscaladeError):
    """A sidebar request's proof is valid, but for another tenant, installation or workspace."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SidebarRequest:
    """A sidebar (or Canvas) request as its proof is read: no web framework needed."""

    method: str
    headers: Mapping[str, str]
    # The form fields, and the query string and form fields together.
    form: Mapping[str, str] = field(default_factory=dict)
    values: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""


@dataclass(frozen=True, kw_only=True, slots=True)
class SidebarInstall:
    """What one tenant stored to check its helpdesk's sidebar requests with."""

    tenant: str
    base_url: str | None
    settings: Mapping[str, Any]
    secrets: Mapping[str, str]
    now: datetime
    # The secret ``name``, then the value it replaced while its grace period lasts: the
    # helpdesk's copy of a rotated secret cannot change at the same instant as ours.
    versions: Callable[[str], tuple[str, ...]]
    # Install-wide settings (``ESCALADE_*`` without the prefix), e.g. a default app key.
    app_config: Mapping[str, Any] = field(default_factory=dict)
    # The secrets of the other tenants on the same helpdesk, read only after a proof failed:
    # another tenant's valid proof is told apart (403) from no proof at all (401).
    others: Callable[[], Iterable[Mapping[str, str]]] = tuple


@dataclass(frozen=True, kw_only=True, slots=True)
class SidebarCaller:
    """Who a verified sidebar request comes from: the proof, the agent and ticket if known."""

    via: str
    user: str | None = None
    ticket_id: str | None = None


class HelpdeskAdapter(abc.ABC):
    """One helpdesk vendor behind a common interface."""

    identifier: ClassVar[str]
    # The install option that maps the matrix's group names to this helpdesk's ids, and
    # what the helpdesk calls a group; None where groups are written by name (the sandbox).
    group_option: ClassVar[str | None] = "group_ids"
    group_noun: ClassVar[str] = "group"
    # What the admin's form shows in an empty base URL field; None when the helpdesk has no
    # address of its own (the sandbox).
    base_url_placeholder: ClassVar[str | None] = None

    # --- the agent sidebar
    # The name of the helpdesk's sidebar proof (``SidebarCaller.via``), and the request
    # header that carries it when it rides in a header.
    sidebar_proof: ClassVar[str]
    sidebar_proof_header: ClassVar[str | None] = None
    # No helpdesk of its own frames the sidebar (the sandbox): a signed-in admin opens it
    # from the start page, and a sidebar token opens it only when it was issued on an admin
    # session or on the helpdesk's own proof.
    sidebar_for_admins: ClassVar[bool] = False
    # Who may frame the sidebar: the agent workspace's origins; per data region
    # (``options.region``) where each region has its own host; and the tenant's own address
    # where agents may reach the helpdesk at a custom or regional host.
    sidebar_framers: ClassVar[tuple[str, ...]] = ()
    regional_framers: ClassVar[Mapping[str, str]] = {}
    framed_at_base_url: ClassVar[bool] = False
    # The helpdesk's app SDK the sidebar page loads, as vendored under the sidebar's
    # ``static/vendor`` (never from a CDN); None when the page needs none.
    sidebar_sdk: ClassVar[str | None] = None

    def __init__(self, *, config: HelpdeskConfig) -> None:
        self.config = config

    @classmethod
    @abc.abstractmethod
    def verify_sidebar(cls, request: SidebarRequest, *, install: SidebarInstall) -> SidebarCaller:
        """Check the helpdesk's own proof on a sidebar request; who it comes from, or raise.

        ``SidebarProofError`` when the proof is missing or wrong, ``SidebarOtherTenant`` when
        it is valid for another tenant, ``ValidationError`` when the body cannot be read.
        """

    @classmethod
    def sidebar_frame_origins(
        cls, *, base_url: str | None = None, settings: Mapping[str, Any] | None = None
    ) -> tuple[str, ...]:
        """The origins that may frame this helpdesk's sidebar for one tenant."""
        framers = list(cls.sidebar_framers)
        if cls.regional_framers:
            region = str((settings or {}).get("region") or "").lower()
            framers = [cls.regional_framers.get(region) or framers[0]]
        if cls.framed_at_base_url and base_url:
            parts = urlsplit(base_url)
            if parts.scheme in ("http", "https") and parts.netloc and "*" not in parts.netloc:
                own = f"{parts.scheme}://{parts.netloc.lower()}"
                if own not in framers:
                    framers.append(own)
        return tuple(framers)

    def webhook_secrets(self, now: datetime) -> tuple[str, ...]:
        """The webhook secret, then the one it replaced while that one's grace period lasts."""
        current, previous = self.config.webhook_secret, self.config.previous_webhook_secret
        if not current:
            return ()
        until = self.config.previous_until
        if previous and previous != current and until is not None and now < until:
            return (current, previous)
        return (current,)

    @abc.abstractmethod
    def verify_webhook(
        self, *, headers: Mapping[str, str], body: bytes, now: datetime
    ) -> None:
        """Raise ``WebhookVerificationError`` unless the request really comes from the vendor."""

    @abc.abstractmethod
    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Read a verified body; ``ValidationError`` for bad shape, ``UnsupportedEvent`` to skip."""

    @abc.abstractmethod
    def normalize(self, raw: Mapping[str, Any]) -> Ticket:
        """Turn the vendor's ticket bundle (as ``fetch_ticket`` gathers it) into a ``Ticket``."""

    @abc.abstractmethod
    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """Fetch the ticket with its conversation, requester and organization, normalized."""

    def backfill(self, *, since: datetime, cursor: str | None = None) -> Iterator[BackfillPage]:
        """Stream pages of tickets changed since ``since``; ``cursor`` resumes a stopped import.

        Pages are yielded as the vendor returns them (never the whole export in memory); a
        ticket that cannot be read is left out and named in ``BackfillPage.skipped``; a rate
        limit, a server error or an unreachable vendor raises ``RetriableError`` (``RateLimited``,
        ``ServerError``, ``Unreachable``) so the caller decides how long to wait.
        """
        raise NotImplementedError(f"{self.identifier}: backfill is not available yet")

    def fetch_knowledge(self, *, cursor: str | None) -> Iterator[KnowledgePage]:
        """Stream the team's published articles and macros, changed ones only where the vendor
        can tell (``cursor`` from the last sync's final page; None: everything).

        Bodies are plain text (``adapters.helpdesk.knowledge.article_text``); errors are as
        for ``backfill``. A helpdesk with no knowledge of its own yields nothing.
        """
        return iter(())

    @abc.abstractmethod
    def apply(
        self, ticket_id: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Write helpdesk actions back, as one update where the vendor allows.

        ``uncertain``: an earlier attempt may have landed, so notes and replies whose footer
        (their ``ref``) is already on the ticket are not written again.
        """

    def ticket_url(self, ticket_id: str) -> str | None:
        """Where an agent opens the ticket in the helpdesk (None when it cannot be known)."""
        return None

    def is_own_write(self, ticket: Ticket) -> bool:
        """True when the latest change on the ticket was made by Escalade itself."""
        return False

    def list_groups(self) -> list[HelpdeskGroup]:
        """The groups (or teams) tickets can be assigned to, as the helpdesk lists them."""
        raise NotImplementedError(f"{self.identifier}: listing groups is not available")

    @abc.abstractmethod
    def who_am_i(self) -> str:
        """One cheap authenticated call: who the credentials belong to, in a short sentence."""

    def test_connection(self) -> ConnectionCheck:
        """Ask the helpdesk who the credentials belong to, then list its groups (or teams).

        Raises ``ConfigurationError`` for settings that cannot work, ``FatalError`` with the
        vendor's own message when it refused (401, 403, 404), ``RetriableError`` when it could
        not be reached or failed (timeouts, 429, 5xx). Nothing retries or sleeps.
        """
        message = self.who_am_i()
        try:
            groups = tuple(self.list_groups())
        except DeliveryError as err:
            raise _told(f"{message}, but listing its {self.group_noun}s failed: {err}",
                        err) from err
        return ConnectionCheck(message=message, groups=groups)


def _told(message: str, err: DeliveryError) -> DeliveryError:
    # Not ``type(err)(message)``: ServerError and Unreachable take more than a message.
    if isinstance(err, RetriableError):
        return RetriableError(message, retry_after=err.retry_after)
    return FatalError(message)
