"""The Intercom adapter: one injected ``requests.Session``, timeouts, no sleeping, typed errors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator, Mapping, MutableMapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

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
    with_notices,
    without_landed,
    written_kinds,
)
from adapters.helpdesk.intercom.calls import (
    IntercomCall,
    tag_changes,
    to_intercom_calls,
)
from adapters.helpdesk.intercom.common import API_VERSION, numeric_intercom_id, opt_mapping
from adapters.helpdesk.intercom.normalize import to_ticket
from adapters.helpdesk.intercom.sidebar import (
    BODY_SIGNATURE_HEADER,
    SIDEBAR_PROOF,
    verify_canvas_request,
)
from adapters.helpdesk.intercom.webhooks import parse_webhook_body, verify_signature
from adapters.helpdesk.transport import get_json, retry_after, status_error, transport_errors
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RetriableError,
    ValidationError,
)
from integration.models import Action, ActionKind, Ticket

__all__ = ["BACKFILL_PAGE_SIZE", "REGIONS", "IntercomAdapter", "error_for_response"]

log = logging.getLogger(__name__)

# https://developers.intercom.com/docs/build-an-integration/learn-more/rest-apis/regional-hosting
REGIONS: Mapping[str, str] = {
    "us": "https://api.intercom.io",
    "eu": "https://api.eu.intercom.io",
    "au": "https://api.au.intercom.io",
}
BACKFILL_PAGE_SIZE = 150  # the search endpoint's maximum


def _retry_after(response: requests.Response, now: float) -> float | None:
    wait = retry_after(response, now=datetime.fromtimestamp(now, UTC))
    if wait is not None:
        return wait
    # Intercom's own hint: X-RateLimit-Reset is the epoch second the window reopens.
    reset = response.headers.get("X-RateLimit-Reset")
    if reset and reset.strip().isdigit():
        return max(0.0, float(reset) - now)
    return None


def error_for_response(response: requests.Response, *, now: float | None = None) -> DeliveryError:
    """Map a non-2xx Intercom response onto retriable or fatal, with Intercom's message."""
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping) and isinstance(data.get("errors"), list):
        # {"type": "error.list", "request_id", "errors": [{"code", "message", "field"}]}
        vendor = "; ".join(
            ": ".join(str(e[k]) for k in ("code", "message") if isinstance(e, Mapping) and e.get(k))
            for e in data["errors"]
        )
        if data.get("request_id"):
            vendor = f"{vendor} (request {data['request_id']})"
    elif data is not None:
        vendor = json.dumps(data, sort_keys=True)[:200]
    else:
        vendor = (response.text or "")[:200]
    method = response.request.method if response.request is not None else ""
    message = f"intercom {method} {status}: {vendor}".strip()
    moment = time.time() if now is None else now
    return status_error(status, message, wait=_retry_after(response, moment),
                        write=method not in ("", "GET", "HEAD"))


class IntercomAdapter(HelpdeskAdapter):
    """Intercom conversations through its REST API (version 2.14) and one injected session.

    Options: ``region`` (us / eu / au; ``base_url`` overrides it), ``admin_id`` (the bot
    teammate that writes; looked up once with ``GET /me`` when absent), ``team_ids``
    (matrix group name -> team id) and ``tier_attribute`` (a conversation attribute name).
    """

    identifier = "intercom"
    group_option = "team_ids"
    group_noun = "team"
    base_url_placeholder = "blank: api.intercom.io (or the region's)"
    sidebar_proof = SIDEBAR_PROOF
    sidebar_proof_header = BODY_SIGNATURE_HEADER
    # The inbox app lives on one host per data region.
    sidebar_framers = ("https://app.intercom.com",)
    regional_framers = {"us": "https://app.intercom.com", "eu": "https://app.eu.intercom.com",
                        "au": "https://app.au.intercom.com"}

    def __init__(
        self,
        *,
        config: HelpdeskConfig,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(config=config)
        token = config.credentials.get("access_token")
        if not token:
            raise ConfigurationError("intercom: credentials need an access_token")
        self._token = token
        options = config.options
        if config.base_url:
            self._root = site_root("intercom", config.base_url, "https://api.intercom.io")
        else:
            region = str(options.get("region") or "us").lower()
            if region not in REGIONS:
                raise ConfigurationError(
                    f"intercom: options.region must be one of {', '.join(REGIONS)}, got {region!r}"
                )
            self._root = REGIONS[region]
        self._admin_id = _opt_id(options.get("admin_id"), "admin_id")
        # The workspace (app) id appears in inbox links; optional.
        self._workspace_id = str(options.get("workspace_id") or "") or None
        self._team_ids = option_id_map("intercom", options.get("team_ids"), "team_ids")
        self._team_names = {v: k for k, v in self._team_ids.items()}
        tier_attribute = options.get("tier_attribute")
        if tier_attribute is not None and not (isinstance(tier_attribute, str) and tier_attribute):
            raise ConfigurationError("intercom: options.tier_attribute must be an attribute name")
        self._tier_attribute: str | None = tier_attribute
        self._timeout = timeout
        # A plain session: no urllib3 retries behind our back, the outbox retries.
        self.session = session if session is not None else requests.Session()
        # Workspace tag name (lower-cased: Intercom names are case-insensitive) -> id.
        self._tag_ids: dict[str, str] = {}

    @classmethod
    def verify_sidebar(cls, request: SidebarRequest, *, install: SidebarInstall) -> SidebarCaller:
        """Canvas Kit's ``X-Body-Signature`` over the raw body."""
        return verify_canvas_request(request, install)

    # -- HTTP

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
        missing_ok: bool = False,
    ) -> Mapping[str, Any] | None:
        headers = {
            "Authorization": f"Bearer {self._token}",
            "Accept": "application/json",
            "Intercom-Version": API_VERSION,
        }
        with transport_errors("intercom", write=method not in ("GET", "HEAD")):
            response = self.session.request(
                method, f"{self._root}{path}", params=params, json=body, headers=headers,
                timeout=self._timeout,
            )
        if missing_ok and response.status_code == 404:
            return None
        if not 200 <= response.status_code < 300:
            raise error_for_response(response)
        try:
            data = response.json()
        except ValueError as err:
            raise FatalError(f"intercom: {response.status_code} response is not JSON") from err
        if not isinstance(data, Mapping):
            raise FatalError("intercom: response is not a JSON object")
        return data

    def _call(self, method: str, path: str, **kwargs: Any) -> Mapping[str, Any]:
        data = self._request(method, path, **kwargs)
        assert data is not None  # only missing_ok returns None
        return data

    # -- webhooks

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Check ``X-Hub-Signature`` against the app's client secret (``webhook_secret``)."""
        if not self.config.webhook_secret:
            raise ConfigurationError("intercom: no client secret configured (webhook_secret)")
        verify_with_any(self.webhook_secrets(now), lambda secret: verify_signature(
            secret=secret, headers=headers, body=body))

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Read a verified notification."""
        return parse_webhook_body(body)

    # -- reading

    def normalize(self, raw: Mapping[str, Any]) -> Ticket:
        """Normalize a bundle as ``fetch_bundle`` gathers it."""
        return to_ticket(
            raw,
            tenant=self.config.tenant,
            admin_id=self._admin_id,
            team_names=self._team_names,
            tier_attribute=self._tier_attribute,
        )

    def fetch_bundle(
        self, conversation_id: str, *, cache: MutableMapping[str, Any] | None = None
    ) -> dict[str, Any]:
        """The conversation with its parts, its first contact and that contact's company."""
        conversation_id = numeric_intercom_id(conversation_id, "conversation_id")
        conversation = self._call(
            "GET", f"/conversations/{conversation_id}", params={"display_as": "plaintext"}
        )
        return self._with_people(conversation, {} if cache is None else cache)

    def _with_people(
        self, conversation: Mapping[str, Any], cache: MutableMapping[str, Any]
    ) -> dict[str, Any]:
        holder = opt_mapping(conversation.get("contacts"), "conversation.contacts")
        refs = mappings(holder.get("contacts"), "conversation.contacts.contacts")
        contact = company = None
        if refs and refs[0].get("id"):
            contact = self._cached(cache, f"contacts/{refs[0]['id']}")
        if contact is not None:
            companies = opt_mapping(contact.get("companies"), "contact.companies")
            # A contact in several companies: the first is the one Intercom shows first.
            data = mappings(companies.get("data"), "contact.companies.data")
            if data and data[0].get("id"):
                company = self._cached(cache, f"companies/{data[0]['id']}")
        return {"conversation": conversation, "contact": contact, "company": company}

    def _cached(self, cache: MutableMapping[str, Any], path: str) -> Mapping[str, Any] | None:
        if path not in cache:
            # An archived contact or deleted company must not make the conversation unreadable.
            cache[path] = self._request("GET", f"/{path}", missing_ok=True)
        found: Mapping[str, Any] | None = cache[path]
        return found

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """Fetch and normalize one conversation."""
        return self.normalize(self.fetch_bundle(ticket_id))

    def backfill(self, *, since: datetime, cursor: str | None = None) -> Iterator[BackfillPage]:
        """Conversations updated after ``since``, one search page (150) at a time.

        Search results carry no conversation parts, so each conversation is fetched whole
        (one request each, plus its contact and company once per page): slower, but the
        audit needs the customer's words. A conversation deleted meanwhile, or one that cannot
        be read, is left out and named in the page's ``skipped``; ``total_count`` gives the
        page's ``total``.
        """
        after = cursor
        while True:
            pagination: dict[str, Any] = {"per_page": BACKFILL_PAGE_SIZE}
            if after:
                pagination["starting_after"] = after
            query = {"field": "updated_at", "operator": ">", "value": int(since.timestamp())}
            page = self._call(
                "POST", "/conversations/search", body={"query": query, "pagination": pagination}
            )
            cache: dict[str, Any] = {}
            tickets = []
            skipped = []
            for i, found in enumerate(mappings(page.get("conversations"), "conversations")):
                conversation_id = numeric_intercom_id(found.get("id"), f"conversations[{i}].id")
                full = self._request(
                    "GET", f"/conversations/{conversation_id}",
                    params={"display_as": "plaintext"}, missing_ok=True,
                )
                if full is None:
                    skipped.append(SkippedTicket(id=conversation_id, reason=SkipReason.DELETED))
                    continue
                try:
                    tickets.append(self.normalize(self._with_people(full, cache)))
                except ValidationError as err:
                    # One malformed conversation must not stop a 60-day import.
                    skipped.append(SkippedTicket(id=conversation_id, reason=SkipReason.INVALID,
                                                 detail=str(err)))
            pages = opt_mapping(page.get("pages"), "pages")
            following = opt_mapping(pages.get("next"), "pages.next").get("starting_after")
            next_cursor = str(following) if following else None
            total = page.get("total_count")
            yield BackfillPage(
                tickets=tuple(tickets), cursor=next_cursor or after, done=next_cursor is None,
                skipped=tuple(skipped),
                total=total if isinstance(total, int) and not isinstance(total, bool) else None,
            )
            if next_cursor is None:
                return
            after = next_cursor

    # -- writing

    def acting_admin(self) -> str:
        """The admin id writes are made as: ``options.admin_id``, else the token's own admin."""
        if self._admin_id is None:
            me = self._call("GET", "/me")
            self._admin_id = numeric_intercom_id(me.get("id"), "me.id")
        return self._admin_id

    def _conversation(self, conversation_id: str) -> Mapping[str, Any]:
        return self._call("GET", f"/conversations/{conversation_id}")

    @staticmethod
    def _tags_on(conversation: Mapping[str, Any]) -> dict[str, str]:
        holder = opt_mapping(conversation.get("tags"), "conversation.tags")
        return {
            str(t["name"]): str(t["id"])
            for t in mappings(holder.get("tags"), "conversation.tags.tags")
            if t.get("name") and t.get("id")
        }

    def tag_ids(self, names: Sequence[str]) -> dict[str, str]:
        """Workspace tag ids by lower-cased name: cached, else listed once, else created."""
        if any(n.lower() not in self._tag_ids for n in names):
            listing = self._call("GET", "/tags")
            for tag in mappings(listing.get("data"), "data"):
                if isinstance(tag.get("name"), str) and tag.get("id") is not None:
                    self._tag_ids[tag["name"].lower()] = str(tag["id"])
        for name in names:
            if name.lower() not in self._tag_ids:
                created = mapping(self._call("POST", "/tags", body={"name": name}), "tag")
                self._tag_ids[name.lower()] = numeric_intercom_id(created.get("id"), "tag.id")
        return {n.lower(): self._tag_ids[n.lower()] for n in names}

    def apply(
        self, ticket_id: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Write the helpdesk actions call by call; report the kinds that did not land.

        A group with no Intercom team id is left out and said in the note (or the result);
        ``uncertain`` reads the conversation's parts first so a note or reply lands once.
        """
        conversation_id = numeric_intercom_id(ticket_id, "ticket_id")
        actions = helpdesk_actions(actions)
        if not actions:
            return ApplyResult(applied=(), detail={"skipped": "no helpdesk actions"})
        actions, warnings = skip_unmapped_groups(
            actions, self._team_ids, vendor="Intercom", noun="team", option="team_ids",
            tenant=self.config.tenant,
        )
        actions, _ = with_notices(actions, warnings)
        admin_id = self.acting_admin()
        conversation: Mapping[str, Any] | None = None
        there: tuple[ActionKind, ...] = ()
        if uncertain:
            conversation = self._conversation(conversation_id)
            actions, there = without_landed(actions, _landed_refs(conversation))
            # Each assignment adds a visible part to the conversation: skip the ones done.
            actions, assigned = _without_done_assignments(actions, conversation, self._team_ids)
            there = (*there, *assigned)
        current: dict[str, str] = {}
        touching = (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS, ActionKind.SET_PRIORITY)
        if any(a.kind in touching for a in actions):
            current = self._tags_on(conversation or self._conversation(conversation_id))
        adds, _ = tag_changes(actions, list(current))
        tag_ids = self.tag_ids([name for _, name in adds]) if adds else {}
        calls = to_intercom_calls(
            actions,
            conversation_id=conversation_id,
            admin_id=admin_id,
            team_ids=self._team_ids,
            tier_attribute=self._tier_attribute,
            current_tags=current,
            tag_ids=tag_ids,
        )
        result = self._send(calls, written_kinds(actions, tier_target=self._tier_attribute))
        return ApplyResult(
            applied=(*result.applied, *there),
            external_ref=result.external_ref,
            detail={**result.detail, **apply_detail(warnings=warnings, already=there)},
        )

    def _send(self, calls: Sequence[IntercomCall], kinds: tuple[ActionKind, ...]) -> ApplyResult:
        failed: dict[ActionKind, DeliveryError] = {}
        landed = 0
        ref = None
        for index, call in enumerate(calls):
            if call.kind in failed:
                continue
            try:
                result = self._call(call.method, call.path, body=call.body)
            except RetriableError as err:
                if not landed:
                    raise  # nothing written yet: the whole row is retried
                # A rate limit or outage will refuse the rest as well: stop and report them.
                for rest in (call, *calls[index + 1:]):
                    failed.setdefault(rest.kind, err)
                break
            except FatalError as err:
                failed[call.kind] = err  # refused for this call only; the others still go
                continue
            landed += 1
            if call.kind in (ActionKind.INTERNAL_NOTE, ActionKind.PUBLIC_REPLY):
                ref = _last_part_id(result) or ref
        if failed and not landed:
            raise next(iter(failed.values()))
        applied = tuple(k for k in kinds if k not in failed)
        if not failed:
            return ApplyResult(applied=applied, external_ref=ref)
        return ApplyResult(
            applied=applied,
            external_ref=ref,
            detail=apply_detail(failed=[failure(k, str(e), e) for k, e in failed.items()]),
        )

    def ticket_url(self, ticket_id: str) -> str | None:
        """The conversation in the Intercom inbox, when the workspace id is configured."""
        if self._workspace_id is None:
            return None
        return (f"https://app.intercom.com/a/inbox/{self._workspace_id}/inbox/conversation/"
                f"{ticket_id}")

    def is_own_write(self, ticket: Ticket) -> bool:
        """True when the conversation's latest part was written by Escalade."""
        last = ticket.custom.get("last_part")
        if isinstance(last, Mapping):
            return bool(last.get("ours"))
        return False

    def list_groups(self) -> list[HelpdeskGroup]:
        """The workspace's teams: ``GET /teams`` (one unpaginated list).

        https://developers.intercom.com/docs/references/rest-api/api.intercom.io/teams/listteams
        """
        data = self._call("GET", "/teams")
        return [HelpdeskGroup(id=numeric_intercom_id(team.get("id"), f"teams[{i}].id"),
                              name=str(team.get("name") or ""))
                for i, team in enumerate(mappings(data.get("teams"), "teams"))]

    def fetch_knowledge(self, *, cursor: str | None) -> Iterator[KnowledgePage]:
        """The Help Center's published articles, read whole every time
        (``intercom/knowledge.py``)."""
        from adapters.helpdesk.intercom.knowledge import IntercomKnowledge

        return IntercomKnowledge(call=self._call).pages()

    def who_am_i(self) -> str:
        """``GET /me``: the admin the token belongs to, and its workspace.

        https://developers.intercom.com/docs/references/rest-api/api.intercom.io/admins/identifyadmin
        """
        data = get_json(self.session, f"{self._root}/me", vendor="Intercom",
                        headers={"Authorization": f"Bearer {self._token}",
                                 "Accept": "application/json", "Intercom-Version": API_VERSION})
        app = data.get("app") or {}
        workspace = app.get("name") if isinstance(app, Mapping) else None
        return (f"Intercom: signed in as {data.get('name')}"
                + (f" in workspace {workspace}" if workspace else ""))


def _opt_id(value: Any, name: str) -> str | None:
    return option_id("intercom", value, name)


def _last_part_id(conversation: Mapping[str, Any]) -> str | None:
    # A reply answers with the whole conversation; the new part is the last one.
    holder = conversation.get("conversation_parts")
    parts = holder.get("conversation_parts") if isinstance(holder, Mapping) else None
    if isinstance(parts, list) and parts and isinstance(parts[-1], Mapping):
        part_id = parts[-1].get("id")
        return str(part_id) if part_id is not None else None
    return None


def _without_done_assignments(
    actions: Sequence[Action], conversation: Mapping[str, Any], team_ids: Mapping[str, str]
) -> tuple[list[Action], tuple[ActionKind, ...]]:
    """Drop the team / admin assignments the conversation already has."""
    team = str(conversation.get("team_assignee_id") or "")
    admin = str(conversation.get("admin_assignee_id") or "")
    kept: list[Action] = []
    dropped = False
    for action in actions:
        if action.kind is not ActionKind.ASSIGN:
            kept.append(action)
            continue
        payload = dict(action.payload)
        group = payload.get("group")
        if group is not None and team and str(team_ids.get(str(group), "")) == team:
            payload.pop("group")
        if payload.get("assignee") is not None and str(payload["assignee"]) == admin:
            payload.pop("assignee")
        if payload.get("group") is None and payload.get("assignee") is None:
            dropped = True
            continue
        kept.append(replace(action, payload=payload))
    return kept, (ActionKind.ASSIGN,) if dropped else ()


def _landed_refs(conversation: Mapping[str, Any]) -> set[str]:
    """Refs of Escalade's footers among the conversation's parts (the latest 500)."""
    holder = conversation.get("conversation_parts")
    parts = holder.get("conversation_parts") if isinstance(holder, Mapping) else None
    bodies = [p.get("body") for p in parts or () if isinstance(p, Mapping)]
    source = conversation.get("source")
    if isinstance(source, Mapping):
        bodies.append(source.get("body"))
    return marker_refs(bodies)
