"""Who is asking, for which tenant and ticket: each helpdesk's own proof, then our token.

Every sidebar and Canvas request proves where it comes from with its helpdesk's mechanism,
which the helpdesk's adapter checks (``HelpdeskAdapter.verify_sidebar``): a Zendesk signed-URL
JWT (``via="zendesk_jwt"``), the per-install secret of the Freshdesk app and the sandbox
(``"freshdesk_secret"``, ``"sandbox_secret"``), Intercom's Canvas Kit body signature
(``"intercom_signature"``). This module hands the adapter the request and what the tenant
stored, and turns its verdict into 401 (no valid proof), 403 (another tenant's) or 400.

Sidebar tokens (``via="sidebar_token"``): after the first request we hand the page a
short-lived HMAC-signed token (``X-Escalade-Sidebar-Token`` header or ``sidebar_token``
form/query field), because a third-party iframe gets no cookies. A token records the proof
it was issued on (``proof``). Without any helpdesk proof, tokens are issued only for the
demo workspace (``DEMO_PROOF``: the public start page and the demo's Slack links) or to a
signed-in admin (``ADMIN_PROOF``); a workspace whose sidebar no helpdesk frames (the
sandbox) other than the demo accepts only tokens issued on an admin session or its own
proof (``token_accepted``).

A secret that was just rotated is still accepted during its grace period
(``integration.workspaces.validation.secret_versions``): the helpdesk's copy cannot change at
the same instant as ours.

Missing or wrong proof is 401. Proof that is valid but for another tenant (or, for a token
bound to a ticket, another ticket) is 403: a secret or signature that fails for this tenant is
also tried against the other tenants on the same helpdesk so that case is told apart.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import flask
from werkzeug.exceptions import BadRequest, Forbidden, NotFound, Unauthorized

from adapters.helpdesk.base import (
    HelpdeskAdapter,
    SidebarInstall,
    SidebarOtherTenant,
    SidebarProofError,
    SidebarRequest,
)
from adapters.registry import adapter_class
from integration import store
from integration.errors import ConfigurationError, ValidationError
from integration.inbound import load_json, same_secret
from integration.store.pages import other_tenants_on
from integration.workspaces.install_secrets import secret_versions

__all__ = [
    "ADMIN_PROOF",
    "DEMO_PROOF",
    "SIDEBAR_TOKEN_FIELD",
    "SIDEBAR_TOKEN_HEADER",
    "SidebarIdentity",
    "helpdesk_class",
    "identify",
    "is_demo",
    "issue_sidebar_token",
    "opens_for_admins",
    "read_sidebar_token",
    "require_ticket_access",
    "sidebar_request",
    "sidebar_token_of",
    "token_accepted",
]

SIDEBAR_TOKEN_HEADER = "X-Escalade-Sidebar-Token"
SIDEBAR_TOKEN_FIELD = "sidebar_token"

# What a token issued without a helpdesk's proof was issued on.
DEMO_PROOF = "demo"
ADMIN_PROOF = "admin_session"


@dataclass(frozen=True, kw_only=True, slots=True)
class SidebarIdentity:
    """A verified caller: the tenant, its helpdesk, the agent if known, and the ticket."""

    tenant: str
    helpdesk: str
    user: str | None
    ticket_id: str | None
    # "zendesk_jwt" | "freshdesk_secret" | "sandbox_secret" | "intercom_signature" |
    # "admin_session" | "demo" | "sidebar_token"
    via: str
    # For a sidebar token: the proof it was issued on (None: a token from before proofs).
    proof: str | None = None


def is_demo(tenant: str, helpdesk: str) -> bool:
    """True for the public demo workspace (the only one anyone may open without proof)."""
    from integration.demo import DEMO_HELPDESK, DEMO_TENANT

    return tenant == DEMO_TENANT and helpdesk == DEMO_HELPDESK


def helpdesk_class(helpdesk: str) -> type[HelpdeskAdapter]:
    """The adapter class of ``helpdesk``; 404 for a helpdesk Escalade cannot serve."""
    try:
        return adapter_class(helpdesk)
    except ConfigurationError as err:
        raise NotFound(f"no sidebar for helpdesk {helpdesk!r}") from err


def opens_for_admins(helpdesk: str) -> bool:
    """True for a helpdesk no agent workspace frames (the sandbox): its sidebar opens from
    Escalade's own pages, for the demo's visitors and signed-in admins."""
    try:
        return adapter_class(helpdesk).sidebar_for_admins
    except ConfigurationError:
        return False


def token_accepted(identity: SidebarIdentity, *, tenant: str, helpdesk: str) -> bool:
    """Whether a sidebar token's proof is enough for ``tenant``; 403 when it is the demo's.

    A real helpdesk's tokens all come from its own proof; a workspace whose sidebar no
    helpdesk frames (the sandbox), other than the demo, is opened only by an admin or its
    own proof, never by a token handed to anonymous visitors (or one issued before tokens
    recorded their proof).
    """
    if identity.proof == DEMO_PROOF and not is_demo(tenant, helpdesk):
        raise Forbidden("a demo link opens only the demo workspace")
    cls = helpdesk_class(helpdesk)
    if cls.sidebar_for_admins and not is_demo(tenant, helpdesk):
        return identity.proof in (ADMIN_PROOF, cls.sidebar_proof)
    return True


def identify(
    req: flask.Request, *, runtime: Any, helpdesk: str, tenant: str
) -> SidebarIdentity:
    """Verify ``req`` for ``tenant`` on ``helpdesk``; 401 without valid proof, 403 elsewhere's."""
    token = sidebar_token_of(req)
    if token:
        identity = read_sidebar_token(token, key=runtime.cipher.sign_key("sidebar"),
                                      now=runtime.now())
        if identity.tenant != tenant or identity.helpdesk != helpdesk:
            raise Forbidden(f"this sidebar token is not for {helpdesk} tenant {tenant!r}")
        if not token_accepted(identity, tenant=tenant, helpdesk=helpdesk):
            raise Unauthorized("this link does not open this workspace's sidebar: sign in "
                               "as an admin and open the ticket from the start page")
        return identity
    with store.session_scope(runtime.sessions) as s:
        row = store.get_tenant(s, tenant)
        if row is None or row.helpdesk != helpdesk:
            raise NotFound(f"unknown tenant {tenant!r} for helpdesk {helpdesk!r}")
        secrets = store.tenant_secrets(row, runtime.cipher)
        settings = dict(row.settings or {})
        base_url = row.base_url
    cls = helpdesk_class(helpdesk)
    now = runtime.now()
    install = SidebarInstall(
        tenant=tenant, base_url=base_url, settings=settings, secrets=secrets, now=now,
        versions=lambda name: secret_versions(secrets, name, now=now),
        app_config=runtime.config,
        others=lambda: _other_tenants_secrets(runtime, helpdesk, tenant),
    )
    try:
        caller = cls.verify_sidebar(sidebar_request(req), install=install)
    except SidebarProofError as err:
        raise Unauthorized(str(err)) from err
    except SidebarOtherTenant as err:
        raise Forbidden(str(err)) from err
    except ValidationError as err:
        raise BadRequest(err.message) from err
    return SidebarIdentity(tenant=tenant, helpdesk=helpdesk, user=caller.user,
                           ticket_id=caller.ticket_id, via=caller.via)


def sidebar_request(req: flask.Request) -> SidebarRequest:
    """What of ``req`` a helpdesk's sidebar proof is read from."""
    # werkzeug's headers read like a mapping (a case-insensitive ``get``, ``items``).
    headers = cast(Mapping[str, str], req.headers)
    form = req.form.to_dict()
    return SidebarRequest(method=req.method, headers=headers, form=form,
                          values=req.values.to_dict(), body=req.get_data(cache=True))


def require_ticket_access(identity: SidebarIdentity, *, tenant: str, ticket_id: str) -> None:
    """403 unless ``identity`` may see ``ticket_id`` of ``tenant``."""
    if identity.tenant != tenant:
        raise Forbidden(f"signed in for tenant {identity.tenant!r}, not {tenant!r}")
    if identity.ticket_id is not None and identity.ticket_id != str(ticket_id):
        raise Forbidden(f"signed in for ticket {identity.ticket_id}, not {ticket_id}")


# --- sidebar tokens -----------------------------------------------------------------------


def issue_sidebar_token(
    identity: SidebarIdentity, *, key: bytes, now: datetime,
    ttl: timedelta = timedelta(minutes=30),
) -> str:
    """A signed, expiring token carrying ``identity`` for the page's follow-up requests."""
    # A token handed on from another token keeps the proof the first one was issued on.
    proof = identity.proof if identity.via == "sidebar_token" else identity.via
    claims = {
        "t": identity.tenant, "h": identity.helpdesk, "u": identity.user,
        "k": identity.ticket_id, "p": proof, "exp": int((now + ttl).timestamp()),
    }
    payload = _b64(json.dumps(claims, separators=(",", ":"), sort_keys=True).encode())
    return f"{payload}.{_b64(_mac(key, payload))}"


def read_sidebar_token(token: str, *, key: bytes, now: datetime) -> SidebarIdentity:
    """The identity in ``token``; 401 when it is malformed, forged or expired."""
    payload, _, signature = token.strip().partition(".")
    try:
        given = _unb64(signature)
    except ValueError as err:
        raise Unauthorized("sidebar token is malformed") from err
    # The signature first: a stranger's claims are never parsed.
    if not payload.isascii() or not same_secret(given, _mac(key, payload)):
        raise Unauthorized("sidebar token signature is wrong")
    try:
        claims = load_json(_unb64(payload)) if payload else None
    except ValueError as err:
        raise Unauthorized("sidebar token is malformed") from err
    if not isinstance(claims, dict) or not isinstance(claims.get("exp"), int):
        raise Unauthorized("sidebar token is malformed")
    if now >= datetime.fromtimestamp(claims["exp"], UTC):
        raise Unauthorized("sidebar token expired: reload the sidebar")
    tenant, helpdesk = claims.get("t"), claims.get("h")
    if not isinstance(tenant, str) or not isinstance(helpdesk, str):
        raise Unauthorized("sidebar token is malformed")
    user, ticket, proof = claims.get("u"), claims.get("k"), claims.get("p")
    return SidebarIdentity(
        tenant=tenant, helpdesk=helpdesk, via="sidebar_token",
        user=str(user) if user is not None else None,
        ticket_id=str(ticket) if ticket is not None else None,
        proof=proof if isinstance(proof, str) else None,
    )


def sidebar_token_of(req: flask.Request) -> str | None:
    """The sidebar token a request carries (header, form or query field), if any."""
    token = req.headers.get(SIDEBAR_TOKEN_HEADER)
    if not token and req.mimetype in ("application/x-www-form-urlencoded",
                                      "multipart/form-data"):
        token = req.form.get(SIDEBAR_TOKEN_FIELD)
    return token or req.args.get(SIDEBAR_TOKEN_FIELD) or None


def _mac(key: bytes, payload: str) -> bytes:
    return hmac.new(key, payload.encode("ascii"), hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError) as err:
        raise ValueError("not base64url") from err


# --- the cross-tenant check ---------------------------------------------------------------


def _other_tenants_secrets(runtime: Any, helpdesk: str, tenant: str) -> list[Mapping[str, str]]:
    # Only on the failure path: tells "another tenant's valid proof" (403) from "no proof"
    # (401). One small decrypt per tenant on the same helpdesk.
    with store.session_scope(runtime.sessions) as s:
        rows = other_tenants_on(s, helpdesk=helpdesk, slug=tenant)
        return [store.tenant_secrets(row, runtime.cipher) for row in rows]
