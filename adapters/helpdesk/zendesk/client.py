"""The Zendesk adapter: zenpy and one injected ``requests.Session``, no sleeping, typed errors."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import cache
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from zenpy import Zenpy
from zenpy.lib.api import BaseApi
from zenpy.lib.exception import APIException, RatelimitBudgetExceeded, ZenpyException

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
    verify_with_any,
)
from adapters.helpdesk.common import (
    apply_detail,
    failure,
    helpdesk_actions,
    mapping,
    mappings,
    marker_refs,
    member,
    option_id,
    option_id_map,
    site_root,
    skip_unmapped_groups,
    with_notices,
    without_landed,
    written_kinds,
)
from adapters.helpdesk.transport import get_json, retry_after, status_error, transport_error
from adapters.helpdesk.zendesk.common import macro_id, zendesk_id
from adapters.helpdesk.zendesk.normalize import to_ticket
from adapters.helpdesk.zendesk.sidebar import SIDEBAR_PROOF, verify_signed_url
from adapters.helpdesk.zendesk.update import to_zendesk_followup, to_zendesk_update
from adapters.helpdesk.zendesk.webhooks import parse_webhook_body, verify_signature
from integration.errors import (
    ConfigurationError,
    DeliveryError,
    FatalError,
    RateLimited,
    RetriableError,
)
from integration.models import Action, ActionKind, Author, Ticket

__all__ = ["ZendeskAdapter", "error_for_response"]

log = logging.getLogger(__name__)

# Our bot comment and the update that carries it share one audit timestamp; later changes by
# anyone else move ``updated_at`` past this window.
OWN_WRITE_WINDOW = timedelta(seconds=5)
MAX_COMMENT_PAGES = 50
MAX_GROUP_PAGES = 20


def error_for_response(response: requests.Response) -> DeliveryError:
    """Map a non-2xx Zendesk response onto retriable or fatal, with the vendor's message."""
    status = response.status_code
    try:
        data = response.json()
    except ValueError:
        data = None
    if isinstance(data, Mapping):
        parts = [data.get("error"), data.get("description"), data.get("details")]
        error = data.get("error")
        if isinstance(error, Mapping):  # some endpoints nest {"title", "message"}
            parts = [error.get("title"), error.get("message")]
        vendor = " | ".join(
            json.dumps(p, sort_keys=True) if not isinstance(p, str) else p for p in parts if p
        )
    else:
        vendor = (response.text or "")[:200]
    method = response.request.method if response.request else ""
    message = f"zendesk {method} {status}: {vendor}"
    return status_error(status, message.strip(), wait=retry_after(response),
                        write=method not in ("", "GET", "HEAD"))


def _raise_on_rate_limit(response: requests.Response, *args: Any, **kwargs: Any) -> None:
    # Runs inside requests before zenpy sees the response, so zenpy never reaches its
    # sleep-until-Retry-After loop (zenpy.lib.api.BaseApi._call_api).
    if response.status_code == 429:
        raise error_for_response(response)


class ZendeskAdapter(HelpdeskAdapter):
    """Zendesk Support through zenpy and one injected ``requests.Session``.

    The session becomes the adapter's: zenpy sets its auth, and a response hook turns a 429
    into ``RetriableError`` before anything can wait on it. Give each tenant its own session.
    """

    identifier = "zendesk"
    base_url_placeholder = "https://yourcompany.zendesk.com"
    sidebar_proof = SIDEBAR_PROOF
    sidebar_framers = ("https://*.zendesk.com",)
    framed_at_base_url = True
    sidebar_sdk = "zaf_sdk.min.js"

    def __init__(
        self,
        *,
        config: HelpdeskConfig,
        session: requests.Session | None = None,
        timeout: float = 10.0,
    ) -> None:
        super().__init__(config=config)
        root = site_root("zendesk", config.base_url, "https://<sub>.zendesk.com")
        parts = urlsplit(root)
        self._root = root
        self._api_root = f"{root}/api/v2"
        self._timeout = timeout
        options = config.options
        self._bot_user_id = _opt_int(options.get("bot_user_id"), "bot_user_id")
        self._tier_field_id = _opt_int(options.get("tier_field_id"), "tier_field_id")
        self._page_url_field_id = _opt_int(options.get("page_url_field_id"), "page_url_field_id")
        self._group_ids = {
            name: int(group_id)
            for name, group_id in option_id_map("zendesk", options.get("group_ids"),
                                                "group_ids").items()
        }
        self._group_names = {v: k for k, v in self._group_ids.items()}
        # A plain session: no urllib3 retries behind our back, the outbox retries.
        self.session = session if session is not None else requests.Session()
        if _raise_on_rate_limit not in self.session.hooks["response"]:
            self.session.hooks["response"].append(_raise_on_rate_limit)
        self.client = self._build_client(parts.scheme, parts.netloc, parts.path)

    def _build_client(self, scheme: str, netloc: str, path: str) -> Zenpy:
        creds = self.config.credentials
        if creds.get("oauth_token"):
            auth = {"oauth_token": creds["oauth_token"]}
        elif creds.get("email") and creds.get("api_token"):
            auth = {"email": creds["email"], "token": creds["api_token"]}
        else:
            raise ConfigurationError("zendesk: credentials need email + api_token or oauth_token")
        try:
            client = Zenpy(
                subdomain="escalade",  # placeholder: the real host is set below
                session=self.session,
                timeout=self._timeout,
                # zenpy has no raise_on_ratelimit flag: a zero budget makes it raise
                # RatelimitBudgetExceeded instead of sleeping (our hook raises first anyway).
                ratelimit_budget=0,
                # Its caches would serve stale tickets and organizations (ARR, health).
                disable_cache=True,
                **auth,
            )
        except ZenpyException as err:
            # zenpy's message embeds its locals, credentials included: do not repeat it.
            raise ConfigurationError("zendesk: zenpy refused the credentials") from err
        for api in vars(client).values():
            if isinstance(api, BaseApi):
                _rebase(api, scheme=scheme, netloc=netloc, prefix=f"{path.strip('/')}/api/v2")
        return client

    @classmethod
    def verify_sidebar(cls, request: SidebarRequest, *, install: SidebarInstall) -> SidebarCaller:
        """The signed-URL JWT Zendesk POSTs to the app's iframe URL."""
        return verify_signed_url(request, install)

    # -- webhooks

    def verify_webhook(self, *, headers: Mapping[str, str], body: bytes, now: datetime) -> None:
        """Check ``X-Zendesk-Webhook-Signature`` against the tenant's signing secret."""
        if not self.config.webhook_secret:
            raise ConfigurationError("zendesk: no webhook signing secret configured")
        verify_with_any(self.webhook_secrets(now), lambda secret: verify_signature(
            secret=secret, headers=headers, body=body, now=now))

    def parse_webhook(self, *, headers: Mapping[str, str], body: bytes) -> WebhookEvent:
        """Read a verified event-subscription or trigger webhook."""
        return parse_webhook_body(headers, body)

    # -- reading

    def normalize(self, raw: Mapping[str, Any]) -> Ticket:
        """Normalize a bundle as ``fetch_ticket`` gathers it."""
        return to_ticket(
            raw,
            tenant=self.config.tenant,
            bot_user_id=self._bot_user_id,
            group_names=self._group_names,
            tier_field_id=self._tier_field_id,
            page_url_field_id=self._page_url_field_id,
        )

    def fetch_bundle(self, ticket_id: str) -> dict[str, Any]:
        """The ticket with users and organization sideloaded, and all its comments."""
        ticket_id = zendesk_id(ticket_id, "ticket_id")
        # Read with the session, not zenpy objects: zenpy renames keys (via.source.from ->
        # from_), pads every attribute with null and swallows sideloads into its cache,
        # while to_ticket wants the vendor JSON as documented.
        shown = self._get_json(
            f"{self._api_root}/tickets/{ticket_id}.json", {"include": "users,organizations"}
        )
        users = {u.get("id"): u for u in mappings(shown.get("users"), "users")}
        comments: list[Mapping[str, Any]] = []
        for page in self._comment_pages(ticket_id):
            comments.extend(mappings(page.get("comments"), "comments"))
            users.update({u.get("id"): u for u in mappings(page.get("users"), "users")})
        ticket = mapping(shown.get("ticket"), "ticket")
        orgs = mappings(shown.get("organizations"), "organizations")
        org = next((o for o in orgs if o.get("id") == ticket.get("organization_id")), None)
        return {
            "ticket": ticket,
            "comments": comments,
            "users": list(users.values()),
            "organization": org,
        }

    def fetch_ticket(self, ticket_id: str) -> Ticket:
        """Fetch and normalize one ticket."""
        return self.normalize(self.fetch_bundle(ticket_id))

    def backfill(self, *, since: datetime, cursor: str | None = None) -> Iterator[BackfillPage]:
        """Stream the incremental ticket export (``zendesk/backfill.py``), resumable by cursor."""
        from adapters.helpdesk.zendesk.backfill import IncrementalExport

        # One export object per adapter: its read-ahead survives the runner's retries.
        export = self.__dict__.get("_incremental_export")
        if not isinstance(export, IncrementalExport):
            export = IncrementalExport(
                get_json=self._get_json,
                api_root=self._api_root,
                comment_pages=self._comment_pages,
                normalize=self.normalize,
                options=self.config.options,
            )
            self.__dict__["_incremental_export"] = export
        return export.pages(since=since, cursor=cursor)

    def fetch_knowledge(self, *, cursor: str | None) -> Iterator[KnowledgePage]:
        """Help Center articles changed since ``cursor``, then the shared macros
        (``zendesk/knowledge.py``)."""
        from adapters.helpdesk.zendesk.knowledge import ZendeskKnowledge

        return ZendeskKnowledge(get_json=self._get_json, api_root=self._api_root).pages(cursor)

    def _comment_pages(self, ticket_id: str) -> Iterator[Mapping[str, Any]]:
        url = f"{self._api_root}/tickets/{ticket_id}/comments.json"
        params: dict[str, Any] = {"page[size]": 100, "include": "users"}
        for _ in range(MAX_COMMENT_PAGES):
            page = self._get_json(url, params)
            yield page
            meta, links = page.get("meta") or {}, page.get("links") or {}
            next_link = links.get("next") if meta.get("has_more") else None
            if not isinstance(next_link, str) or not next_link:
                return
            # Follow the cursor, not the host: behind a proxy Zendesk's links name its own.
            params = dict(parse_qsl(urlsplit(next_link).query))
        log.warning(
            "zendesk: ticket %s has more than %d comment pages", ticket_id, MAX_COMMENT_PAGES
        )

    def _get_json(self, url: str, params: Mapping[str, Any] | None) -> Mapping[str, Any]:
        with _vendor_errors():
            response = self.session.get(url, params=params, timeout=self._timeout)
        return _json_or_raise(response)

    def _put_json(self, url: str, body: Mapping[str, Any]) -> Mapping[str, Any]:
        with _vendor_errors(write=True):
            response = self.session.put(url, json=body, timeout=self._timeout)
        return _json_or_raise(response)

    def _landed_refs(self, ticket_id: str) -> set[str]:
        """Refs of Escalade's footers among the ticket's latest 100 comments."""
        page = self._get_json(
            f"{self._api_root}/tickets/{ticket_id}/comments.json",
            {"page[size]": 100, "sort": "-created_at"},
        )
        comments = mappings(page.get("comments"), "comments")
        return marker_refs(c.get(key) for c in comments for key in ("body", "plain_body"))

    # -- writing

    def apply(
        self, ticket_id: str, actions: Sequence[Action], *, uncertain: bool = False
    ) -> ApplyResult:
        """Write the helpdesk actions as one update (plus one for a public reply).

        A group with no Zendesk id is left out and said in the note (or the result);
        ``uncertain`` reads the latest comments first so a note or reply lands once.
        """
        ticket_id = zendesk_id(ticket_id, "ticket_id")
        actions = helpdesk_actions(actions)
        if not actions:
            return ApplyResult(applied=(), detail={"skipped": "no helpdesk actions"})
        actions = [self._macro_rendered(ticket_id, a) for a in actions]
        actions, warnings = skip_unmapped_groups(
            actions, self._group_ids, vendor="Zendesk", noun="group", option="group_ids",
            tenant=self.config.tenant,
        )
        actions, _ = with_notices(actions, warnings)
        there: tuple[ActionKind, ...] = ()
        if uncertain:
            actions, there = without_landed(actions, self._landed_refs(ticket_id))
        current_tags: list[str] = []
        stamp = None
        if any(a.kind in (ActionKind.ADD_TAGS, ActionKind.REMOVE_TAGS) for a in actions):
            with _vendor_errors():
                current = self.client.tickets(id=int(ticket_id))
            current_tags = list(current.tags or ())
            stamp = current.updated_at
        body = to_zendesk_update(
            actions,
            tier_field_id=self._tier_field_id,
            group_ids=self._group_ids,
            current_tags=current_tags,
            updated_stamp=stamp,
        )
        followup = to_zendesk_followup(actions)
        applied = (*written_kinds(actions, tier_target=self._tier_field_id), *there)
        url = f"{self._api_root}/tickets/{ticket_id}.json"
        # Sent with the session, not zenpy.tickets.update(): zenpy always serializes the
        # ticket's read-only `id` into the body, which the vendor's schema rejects.
        result = self._put_json(url, body) if body["ticket"] else {}
        audit = member(result, "audit")
        ref = str(audit["id"]) if audit.get("id") is not None else None
        detail = apply_detail(warnings=warnings, already=there)
        if followup is None:
            return ApplyResult(applied=applied, external_ref=ref, detail=detail)
        try:
            self._put_json(url, followup)
        except DeliveryError as err:
            # The main update landed; report the reply alone so only it is retried.
            landed = tuple(k for k in applied if k is not ActionKind.PUBLIC_REPLY)
            failed = [failure(ActionKind.PUBLIC_REPLY, str(err), err)]
            return ApplyResult(
                applied=landed,
                external_ref=ref,
                detail=apply_detail(warnings=warnings, already=there, failed=failed),
            )
        return ApplyResult(applied=applied, external_ref=ref, detail=detail)

    def _macro_rendered(self, ticket_id: str, action: Action) -> Action:
        """A reply from a macro, with the comment Zendesk's own macro renders for this ticket.

        Zendesk fills the macro's placeholders from the ticket; a macro that is gone (or
        renders no comment) leaves Escalade's own rendering of it in place.
        """
        macro = macro_id(action.payload.get("macro")) if action.kind is ActionKind.PUBLIC_REPLY \
            else None
        if macro is None:
            return action
        url = f"{self._api_root}/tickets/{ticket_id}/macros/{macro}/apply.json"
        try:
            result = self._get_json(url, None)
        except FatalError as err:
            log.warning("zendesk: macro %s not applied to ticket %s (%s); our own rendering is "
                        "sent", macro, ticket_id, err)
            return action
        comment = member(member(member(result, "result"), "ticket"), "comment")
        body = comment.get("body")
        if not isinstance(body, str) or not body.strip():
            return action
        return Action(kind=action.kind, target=action.target,
                      payload={**action.payload, "body": body})

    def ticket_url(self, ticket_id: str) -> str | None:
        """The ticket in the agent interface."""
        return f"{self._root}/agent/tickets/{ticket_id}"

    def is_own_write(self, ticket: Ticket) -> bool:
        """True when the latest change is the comment Escalade wrote with its last update."""
        if not ticket.messages:
            return False
        last = max(ticket.messages, key=lambda m: m.created_at)
        return last.author is Author.BOT and (
            abs(ticket.updated_at - last.created_at) <= OWN_WRITE_WINDOW
        )

    def list_groups(self) -> list[HelpdeskGroup]:
        """``GET /api/v2/groups`` in cursor pages of 100, deleted groups left out.

        https://developer.zendesk.com/api-reference/ticketing/groups/groups/#list-groups
        """
        url = f"{self._api_root}/groups.json"
        params: dict[str, Any] = {"page[size]": 100, "exclude_deleted": "true"}
        groups: list[HelpdeskGroup] = []
        for _ in range(MAX_GROUP_PAGES):
            page = self._get_json(url, params)
            for i, group in enumerate(mappings(page.get("groups"), "groups")):
                if group.get("deleted"):
                    continue
                groups.append(HelpdeskGroup(id=zendesk_id(group.get("id"), f"groups[{i}].id"),
                                            name=str(group.get("name") or "")))
            meta, links = page.get("meta") or {}, page.get("links") or {}
            next_link = links.get("next") if meta.get("has_more") else None
            if not isinstance(next_link, str) or not next_link:
                break
            params = dict(parse_qsl(urlsplit(next_link).query))
        return groups

    def who_am_i(self) -> str:
        """``GET /api/v2/users/me.json`` through the adapter's own session.

        Zendesk answers 200 with an anonymous user when the credentials are missing, so the
        user id is checked too.
        https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
        """
        data = get_json(self.session, f"{self._root}/api/v2/users/me.json", vendor="Zendesk")
        user = data.get("user") or {}
        if not isinstance(user, Mapping) or user.get("id") is None:
            raise FatalError("Zendesk answered as an anonymous user: the credentials were "
                             "not accepted")
        return f"Zendesk: signed in as {user.get('name')} ({user.get('role')})"


def _opt_int(value: Any, name: str) -> int | None:
    found = option_id("zendesk", value, name)
    return int(found) if found is not None else None


def _rebase(api: BaseApi, *, scheme: str, netloc: str, prefix: str) -> None:
    """Point one zenpy API object at an arbitrary base URL (a proxy or local sandbox)."""
    # zenpy builds "https://{subdomain}.{domain}/api/v2" from a read-only base_url property
    # that also decides which responses it parses; override it on this instance's class.
    api.__class__ = _rebased_class(api.__class__)
    api._escalade_netloc = netloc
    api.protocol = scheme
    api.api_prefix = prefix


@cache
def _rebased_class(cls: type[BaseApi]) -> type[BaseApi]:
    return type(
        f"Rebased{cls.__name__}",
        (cls,),
        {"base_url": property(lambda self: self._escalade_netloc)},
    )


@contextmanager
def _vendor_errors(*, write: bool = False) -> Iterator[None]:
    """Translate zenpy and requests failures into retriable / fatal delivery errors."""
    try:
        yield
    except DeliveryError:
        raise
    except RatelimitBudgetExceeded as err:
        raise RateLimited("zendesk: rate limited (429)") from err
    except APIException as err:
        if err.response is None:
            raise FatalError(f"zendesk: {err}") from err
        raise error_for_response(err.response) from err
    except requests.HTTPError as err:
        if err.response is None:
            raise RetriableError(f"zendesk: {err}") from err
        raise error_for_response(err.response) from err
    except requests.RequestException as err:
        raise transport_error("zendesk", err, write=write) from err
    except ZenpyException as err:
        raise FatalError(f"zendesk: {err}") from err


def _json_or_raise(response: requests.Response) -> Mapping[str, Any]:
    if not 200 <= response.status_code < 300:
        raise error_for_response(response)
    try:
        data = response.json()
    except ValueError as err:
        raise FatalError(f"zendesk: {response.status_code} response is not JSON") from err
    if not isinstance(data, Mapping):
        raise FatalError("zendesk: response is not a JSON object")
    return data
