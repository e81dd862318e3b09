"""The Freshdesk adapter: one injected ``requests.Session``, timeouts, no sleeping, typed errors."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

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
    SkippedTicket,
    SkipReason,
    WebhookEvent,
    verify_with_any,
)
from adapters.helpdesk.common import (
    INSTALL_SECRET_HEADER,
    apply_detail,
    failure,
    helpdesk_actions,
    mapping,
    mappings,
    marker_refs,
    option_id,
    option_id_map,
    site_root,
    skip_unmapped_groups,
    verify_install_secret,
    with_notices,
    without_landed,
    written_kinds,
)
from adapters.helpdesk.freshdesk.common import freshdesk_id
from adapters.helpdesk.freshdesk.normalize import to_ticket
from adapters.helpdesk.freshdesk.update import (
    UPDATE_KINDS,
    to_freshdesk_note,
    to_freshdesk_reply,
    to_freshdesk_update,
)
from adapters.helpdesk.freshdesk.webhooks import (
    DEFAULT_USERNAME,
    MIN_SECRET_LENGTH,
    parse_webhook_body,
    verify_secret,
)
from adapters.helpdesk.transport import get_json, retry_after, status_error, transport_errors
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RetriableError,
    ValidationError,
)
from integration.models import Action, ActionKind, Author, Status, Ticket, format_time, parse_time

__all__ = ["BackfillCursor", "FreshdeskAdapter", "error_for_response"]

log = logging.getLogger(__name__)

# Our note/reply and the ticket update they ride with land within seconds; a later change by
# anyone else moves ``updated_at`` past this window.
OWN_WRITE_WINDOW = timedelta(seconds=15)
MAX_CONVERSATION_PAGES = 50
MAX_GROUP_PAGES = 20


def error_for_response(response: requests.Response) -> DeliveryError:
    """Map a non-2xx Freshdesk response onto retriable or fatal, with the vendor's message."""
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        # {"description": "Validation failed", "errors": [{"field", "message", "code"}]}
        parts = [str(data["description"])] if data.get("description") else []
        for item in data.get("errors") or ():
            if isinstance(item, Mapping):
                where = f"{item.get('field')}: " if item.get("field") else ""
                parts.append(f"{where}{item.get('message')} ({item.get('code')})")
        if not parts and data.get("message"):
            parts.append(str(data["message"]))
        vendor = " | ".join(parts)
    else:
        vendor = (response.text or "")[:200]
    method = response.request.method if response.request is not None else ""
    message = f"freshdesk {method} {status}: {vendor}".strip()
    # Freshdesk's 409 is a conflicting state (e.g. a duplicate), not a transient one.
    return status_error(status, message, wait=retry_after(response),
                        retriable=frozenset({408, 429}), write=method not in ("", "GET", "HEAD"))


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillCursor:
    """Where a backfill resumes: the ``updated_since`` window and the next page in it."""

    updated_since: datetime
    page: int

    def encode(self) -> str:
        """The opaque string handed to the caller."""
        return f"{format_time(self.updated_since)}|{self.page}"

    @classmethod
    def decode(cls, text: str) -> BackfillCursor:
        """Read a cursor written by ``encode``."""
        since, _, page = text.partition("|")
        if not page.isdigit() or int(page) < 1:
            raise ConfigurationError(f"freshdesk: not a backfill cursor: {text!r}")
        return cls(updated_since=parse_time(since, "cursor"), page=int(page))


class FreshdeskAdapter(HelpdeskAdapter):
    """Freshdesk API v2 through one injected ``requests.Session`` (API key, Basic auth)."""

    identifier = "freshdesk"
    base_url_placeholder = "https://yourcompany.freshdesk.com"
    sidebar_proof = "freshdesk_secret"
    sidebar_proof_header = INSTALL_SECRET_HEADER
    sidebar_framers = ("https://*.freshdesk.com", "https://*.freshworks.com")
    framed_at_base_url = True
    page_size: ClassVar[int] = 100
    # https://developers.freshdesk.com/api/#list_all_tickets : at most 300 pages per filter.
    max_list_page: ClassVar[int] = 300

    def __init__(
        self,
        *,
        config: HelpdeskConfig,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(config=config)
        root = site_root("freshdesk", config.base_url, "https://<domain>.freshdesk.com")
        self._root = root
        self._api_root = f"{root}/api/v2"
        api_key = config.credentials.get("api_key")
        if not api_key:
            raise ConfigurationError("freshdesk: credentials.api_key is required")
        self._auth = (api_key, "X")  # the API key is the user; Freshdesk ignores the password
        self._timeout = timeout
        options = config.options
        self._bot_user_id = _opt_int(options.get("bot_user_id"), "bot_user_id")
        self._tier_field = _opt_field(options.get("tier_field"), "tier_field")
        self._page_url_field = _opt_field(options.get("page_url_field"), "page_url_field")
        self._reply_from = options.get("reply_from_email") or None
        self._webhook_username = str(options.get("webhook_username") or DEFAULT_USERNAME)
        self._group_ids = _id_map(options.get("group_ids"), "group_ids")
        self._group_names = {v: k for k, v in self._group_ids.items()}
        self._status_categories = _status_map(options.get("statuses"))
        # Writing a status Freshdesk lacks (on hold) uses the first custom code mapped to it.
        self._status_codes: dict[Status, int] = {}
        for code, status in self._status_categories.items():
            self._status_codes.setdefault(status, code)
        self.session = session if session is not None else requests.Session()
        self.rate_limit_total: int | None = None
        self.rate_limit_remaining: int | None = None

    @classmethod
    def verify_sidebar(cls, request: SidebarRequest, *, install: SidebarInstall) -> SidebarCaller:
        """The per-install secret the Freshdesk app sends from a secure iparam."""
        return verify_install_secret(request, install, via=cls.sidebar_proof)

    # -- webhooks

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Check Basic auth or ``X-Escalade-Secret`` against the tenant's webhook secret."""
        secret = self.config.webhook_secret
        if not secret or len(secret) < MIN_SECRET_LENGTH:
            raise ConfigurationError(
                f"freshdesk: webhook_secret must be set, at least {MIN_SECRET_LENGTH} characters"
            )
        verify_with_any(self.webhook_secrets(now), lambda given: verify_secret(
            secret=given, username=self._webhook_username, headers=headers))

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Read a verified automation-rule or FDK product-event body."""
        return parse_webhook_body(body)

    # -- reading

    def normalize(self, raw: Mapping[str, Any]) -> Ticket:
        """Normalize a bundle as ``fetch_bundle`` gathers it."""
        return to_ticket(
            raw,
            tenant=self.config.tenant,
            bot_user_id=self._bot_user_id,
            group_names=self._group_names,
            tier_field=self._tier_field,
            page_url_field=self._page_url_field,
            status_categories=self._status_categories,
        )

    def fetch_bundle(self, ticket_id: str) -> dict[str, Any]:
        """The ticket (requester, stats embedded), its company and all its conversations."""
        ticket_id = freshdesk_id(ticket_id, "ticket_id")
        ticket = self._get_json(
            f"{self._api_root}/tickets/{ticket_id}", {"include": "requester,company,stats"}
        )
        return self._bundle(mapping(ticket, "ticket"), {})

    def _bundle(
        self, ticket: Mapping[str, Any], companies: dict[str, Mapping[str, Any] | None]
    ) -> dict[str, Any]:
        # include=company embeds only id and name; domains and custom fields need the company.
        company = None
        company_id = ticket.get("company_id")
        if company_id is not None:
            key = freshdesk_id(company_id, "ticket.company_id")
            if key not in companies:
                companies[key] = mapping(
                    self._get_json(f"{self._api_root}/companies/{key}", None), "company"
                )
            company = companies[key]
        conversations: list[Mapping[str, Any]] = []
        for page in self._conversation_pages(freshdesk_id(ticket.get("id"), "ticket.id")):
            conversations.extend(page)
        return {"ticket": ticket, "conversations": conversations, "company": company}

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """Fetch and normalize one ticket."""
        return self.normalize(self.fetch_bundle(ticket_id))

    def _conversation_pages(self, ticket_id: str) -> Iterator[list[Mapping[str, Any]]]:
        url = f"{self._api_root}/tickets/{ticket_id}/conversations"
        params: dict[str, Any] = {"per_page": self.page_size, "page": 1}
        for _ in range(MAX_CONVERSATION_PAGES):
            response = self._get(url, params)
            yield mappings(_json(response), "conversations")
            next_link = response.links.get("next", {}).get("url")
            if not next_link:
                return
            # Follow the page, not the host: behind a proxy Freshdesk's links name its own.
            params = dict(parse_qsl(urlsplit(next_link).query))
        log.warning(
            "freshdesk: ticket %s has more than %d conversation pages",
            ticket_id,
            MAX_CONVERSATION_PAGES,
        )

    def backfill(self, *, since: datetime, cursor: str | None = None) -> Iterator[BackfillPage]:
        """Stream tickets updated since ``since``, oldest change first, one page at a time.

        Costs one listing call per 100 tickets plus one conversations call per ticket (and one
        per distinct company): Freshdesk's list cannot embed conversations. Past page 300 the
        listing restarts with ``updated_since`` = the last ``updated_at`` seen, so a ticket at
        the seam may come twice (imports are idempotent). A ticket that cannot be read is left
        out and named in the page's ``skipped``.
        """
        position = (
            BackfillCursor.decode(cursor)
            if cursor
            else BackfillCursor(updated_since=since.astimezone(UTC), page=1)
        )
        companies: dict[str, Mapping[str, Any] | None] = {}
        while True:
            response = self._get(
                f"{self._api_root}/tickets",
                {
                    "updated_since": format_time(position.updated_since),
                    "order_by": "updated_at",
                    "order_type": "asc",
                    "per_page": self.page_size,
                    "page": position.page,
                    "include": "requester,description",
                },
            )
            rows = mappings(_json(response), "tickets")
            tickets, skipped = self._backfill_tickets(rows, companies)
            more = bool(response.links.get("next")) and len(rows) > 0
            if not more:
                yield BackfillPage(tickets=tickets, cursor=None, done=True, skipped=skipped)
                return
            position = self._next_position(position, rows, tickets)
            yield BackfillPage(tickets=tickets, cursor=position.encode(), done=False,
                               skipped=skipped)

    def _backfill_tickets(
        self, rows: Sequence[Mapping[str, Any]], companies: dict[str, Mapping[str, Any] | None]
    ) -> tuple[tuple[Ticket, ...], tuple[SkippedTicket, ...]]:
        tickets: list[Ticket] = []
        skipped: list[SkippedTicket] = []
        for row in rows:
            try:
                tickets.append(self.normalize(self._bundle(row, companies)))
            except ValidationError as err:
                # One malformed ticket must not stop a 60-day import: the runner names it.
                ticket_id = str(row.get("id"))
                skipped.append(
                    SkippedTicket(id=ticket_id, reason=SkipReason.INVALID, detail=str(err))
                )
        return tuple(tickets), tuple(skipped)

    def _next_position(
        self,
        current: BackfillCursor,
        rows: Sequence[Mapping[str, Any]],
        tickets: Sequence[Ticket],
    ) -> BackfillCursor:
        if current.page < self.max_list_page:
            return BackfillCursor(updated_since=current.updated_since, page=current.page + 1)
        last = max((t.updated_at for t in tickets), default=_last_updated(rows, current))
        if last <= current.updated_since:
            # A whole window of tickets shares one second: step past it rather than loop.
            log.warning(
                "freshdesk backfill: >%d pages at %s, skipping ahead one second",
                self.max_list_page,
                format_time(last),
            )
            last = current.updated_since + timedelta(seconds=1)
        return BackfillCursor(updated_since=last, page=1)

    # -- writing

    def apply(
        self, ticket_id: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Write the field changes as one update, then the private note, then the reply.

        A group with no Freshdesk id is left out and said in the note (or the result);
        ``uncertain`` reads the conversations first so a note or reply lands once.
        """
        ticket_id = freshdesk_id(ticket_id, "ticket_id")
        actions = helpdesk_actions(actions)
        if not actions:
            return ApplyResult(applied=(), detail={"skipped": "no helpdesk actions"})
        actions, warnings = skip_unmapped_groups(
            actions, self._group_ids, vendor="Freshdesk", noun="group", option="group_ids",
            tenant=self.config.tenant,
        )
        actions, _ = with_notices(actions, warnings)
        there: tuple[ActionKind, ...] = ()
        if uncertain:
            actions, there = without_landed(actions, self._landed_refs(ticket_id))
        result = self._run(self._steps(ticket_id, actions))
        return ApplyResult(
            applied=(*result.applied, *there),
            external_ref=result.external_ref,
            detail={**result.detail, **apply_detail(warnings=warnings, already=there)},
        )

    def _steps(
        self, ticket_id: str, actions: Sequence[Action]
    ) -> list[tuple[tuple[ActionKind, ...], Callable[[], Mapping[str, Any]]]]:
        """The calls to make, in order: the field update, the note, the reply."""
        update = to_freshdesk_update(
            actions,
            tier_field=self._tier_field,
            group_ids=self._group_ids,
            current_tags=self._current_tags(ticket_id, actions),
            status_codes={s: c for s, c in self._status_codes.items() if s is Status.ON_HOLD},
        )
        note = to_freshdesk_note(actions)
        reply = to_freshdesk_reply(actions, from_email=self._reply_from)
        ticket_url = f"{self._api_root}/tickets/{ticket_id}"
        steps: list[tuple[tuple[ActionKind, ...], Callable[[], Mapping[str, Any]]]] = []
        if update:
            kinds = written_kinds(actions, tier_target=self._tier_field, only=UPDATE_KINDS)
            steps.append((kinds, lambda: self._send("PUT", ticket_url, update)))
        if note is not None:
            steps.append(((ActionKind.INTERNAL_NOTE,),
                          lambda: self._send("POST", f"{ticket_url}/notes", note)))
        if reply is not None:
            steps.append(((ActionKind.PUBLIC_REPLY,),
                          lambda: self._send("POST", f"{ticket_url}/reply", reply)))
        return steps

    def _current_tags(self, ticket_id: str, actions: Sequence[Action]) -> list[str]:
        """The ticket's tags now, read only when the actions change tags (the update sends all)."""
        if not any(a.kind in (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS) for a in actions):
            return []
        current = self._get_json(f"{self._api_root}/tickets/{ticket_id}", None)
        return [t for t in current.get("tags") or () if isinstance(t, str)]

    def _landed_refs(self, ticket_id: str) -> set[str]:
        """Refs of Escalade's footers among the ticket's conversations (oldest page first)."""
        found: set[str] = set()
        for page in self._conversation_pages(ticket_id):
            found |= marker_refs(c.get(k) for c in page for k in ("body_text", "body"))
        return found

    def _run(
        self, steps: Sequence[tuple[tuple[ActionKind, ...], Callable[[], Mapping[str, Any]]]]
    ) -> ApplyResult:
        applied: list[ActionKind] = []
        failed: list[dict[str, Any]] = []
        ref: str | None = None
        halted: RetriableError | None = None
        for kinds, call in steps:
            if halted is not None:
                # A rate limit or outage stops the rest; they are retried with the same hint.
                failed.extend(
                    failure(k, "not attempted: an earlier call failed", halted) for k in kinds
                )
                continue
            try:
                result = call()
            except DeliveryError as err:
                if not applied and not failed:
                    raise  # nothing landed: the whole apply is retried or failed
                failed.extend(failure(k, str(err), err) for k in kinds)
                if isinstance(err, RetriableError):
                    halted = err
                continue
            applied.extend(kinds)
            if result.get("id") is not None:
                ref = str(result["id"])
        detail: dict[str, Any] = {"failed": failed} if failed else {}
        return ApplyResult(applied=tuple(dict.fromkeys(applied)), external_ref=ref, detail=detail)

    def ticket_url(self, ticket_id: str) -> str | None:
        """The ticket in the agent interface."""
        return f"{self._root}/a/tickets/{ticket_id}"

    def is_own_write(self, ticket: Ticket) -> bool:
        """True when the latest message is Escalade's and nothing changed after it."""
        if not ticket.messages:
            return False
        last = max(ticket.messages, key=lambda m: m.created_at)
        return last.author is Author.BOT and ticket.updated_at - last.created_at <= OWN_WRITE_WINDOW

    def list_groups(self) -> list[HelpdeskGroup]:
        """``GET /api/v2/groups``, 100 a page, following the ``Link: rel="next"`` header.

        https://developers.freshdesk.com/api/#list_all_groups
        """
        url = f"{self._api_root}/groups"
        params: dict[str, Any] = {"per_page": self.page_size, "page": 1}
        groups: list[HelpdeskGroup] = []
        for _ in range(MAX_GROUP_PAGES):
            response = self._get(url, params)
            for i, group in enumerate(mappings(_json(response), "groups")):
                groups.append(HelpdeskGroup(id=freshdesk_id(group.get("id"), f"groups[{i}].id"),
                                            name=str(group.get("name") or "")))
            next_link = response.links.get("next", {}).get("url")
            if not next_link:
                break
            params = dict(parse_qsl(urlsplit(next_link).query))
        return groups

    def fetch_knowledge(self, *, cursor: str | None) -> Iterator[KnowledgePage]:
        """Published solution articles and shared canned responses, read whole every time
        (``freshdesk/knowledge.py``): Freshdesk lists neither by change."""
        from adapters.helpdesk.freshdesk.knowledge import FreshdeskKnowledge

        return FreshdeskKnowledge(get=self._get, api_root=self._api_root, root=self._root,
                                  remaining=lambda: self.rate_limit_remaining).pages()

    def who_am_i(self) -> str:
        """``GET /api/v2/agents/me``: the agent the API key belongs to.

        https://developers.freshdesk.com/api/#me
        """
        data = get_json(self.session, f"{self._api_root}/agents/me", vendor="Freshdesk",
                        auth=self._auth)
        contact = data.get("contact") or {}
        name = contact.get("name") if isinstance(contact, Mapping) else None
        return f"Freshdesk: signed in as {name or data.get('id')}"

    # -- transport

    def _get(self, url: str, params: Mapping[str, Any] | None) -> requests.Response:
        with transport_errors("freshdesk"):
            response = self.session.get(url, params=params, auth=self._auth, timeout=self._timeout)
        return self._checked(response)

    def _get_json(self, url: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        return mapping(_json(self._get(url, params)), "response")

    def _send(self, method: str, url: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        with transport_errors("freshdesk", write=True):
            response = self.session.request(
                method, url, json=body, auth=self._auth, timeout=self._timeout
            )
        data = _json(self._checked(response))
        return data if isinstance(data, Mapping) else {}

    def _checked(self, response: requests.Response) -> requests.Response:
        total = response.headers.get("X-RateLimit-Total")
        remaining = response.headers.get("X-RateLimit-Remaining")
        if total is not None and total.isdigit():
            self.rate_limit_total = int(total)
        if remaining is not None and remaining.isdigit():
            self.rate_limit_remaining = int(remaining)
        if not 200 <= response.status_code < 300:
            raise error_for_response(response)
        return response


def _last_updated(rows: Sequence[Mapping[str, Any]], current: BackfillCursor) -> datetime:
    # A page whose every ticket was skipped still moves the window on, by the listing's times.
    times = []
    for row in rows:
        try:
            times.append(parse_time(row.get("updated_at"), "ticket.updated_at"))
        except ValidationError:
            continue
    return max(times, default=current.updated_since)


def _json(response: requests.Response) -> Any:
    try:
        return response.json()
    except ValueError as err:
        raise FatalError(f"freshdesk: {response.status_code} response is not JSON") from err


def _opt_int(value: Any, name: str) -> int | None:
    found = option_id("freshdesk", value, name)
    return int(found) if found is not None else None


def _opt_field(value: Any, name: str) -> str | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not value.startswith("cf_"):
        raise ConfigurationError(f"freshdesk: options.{name} must be a cf_... field name")
    return value


def _id_map(value: Any, name: str) -> dict[str, int]:
    return {k: int(v) for k, v in option_id_map("freshdesk", value, name).items()}


def _status_map(value: Any) -> dict[int, Status]:
    """``options.statuses``: custom Freshdesk status code -> its category, e.g. {"6": "pending"}."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError("freshdesk: options.statuses must map status codes to statuses")
    out: dict[int, Status] = {}
    for key, raw in value.items():
        code = _opt_int(key, f"statuses.{key}")
        if code is None or code < 6:
            raise ConfigurationError(f"freshdesk: options.statuses: {key!r} is not a custom code")
        try:
            out[code] = Status(raw)
        except ValueError as err:
            raise ConfigurationError(
                f"freshdesk: options.statuses.{key}: unknown status {raw!r}"
            ) from err
    return out
