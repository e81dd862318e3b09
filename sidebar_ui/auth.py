"""Who is asking, for which tenant and ticket: each helpdesk's own proof, then our token.

Every sidebar and Canvas request proves where it comes from with its helpdesk's mechanism:

- Zendesk (``via="zendesk_jwt"``): the app's manifest sets ``"signedUrls": true``, so Zendesk
  POSTs the iframe URL with a form field ``token``, a JWT it signs with RS256 using the app's
  key pair. We verify it with the app's public key (tenant secret or setting
  ``zendesk_app_public_key``, PEM, else the install-wide ``ZENDESK_APP_PUBLIC_KEY``; Zendesk
  serves it at ``GET /api/v2/apps/{app_id}/public_key.pem``), require ``exp``/``iss``/``aud``,
  and map it to the tenant: ``iss`` is the account's host (``acme.zendesk.com``) and ``aud``
  ``https://acme.zendesk.com/api/v2/apps/installations/<id>.json``; both must name the
  tenant's ``base_url`` host (and, when the setting ``zendesk_installation_id`` is stored,
  that installation), else 403. Only RS256 is accepted: signed URLs use nothing else, and
  allowing HMAC with a public key is the classic algorithm-confusion hole.
  https://developer.zendesk.com/documentation/apps/build-an-app/building-a-server-side-app/part-5-secure-the-app
- Freshdesk (``via="freshdesk_secret"``): the app's request template (config/requests.json)
  sends the per-install secret from a secure iparam in ``X-Escalade-Install-Secret``; it must
  equal the tenant secret ``sidebar_secret``. The sandbox helpdesk uses the same scheme.
- Intercom (``via="intercom_signature"``): ``X-Body-Signature`` is the hex HMAC-SHA256 of the
  raw body keyed with the app's client secret (tenant secret ``client_secret``, else
  ``webhook_secret``, which is what the Intercom adapter calls the same secret).
- Sidebar tokens (``via="sidebar_token"``): after the first request we hand the page a
  short-lived HMAC-signed token (``X-Escalade-Sidebar-Token`` header or ``sidebar_token``
  form/query field), because a third-party iframe gets no cookies. A token records the proof
  it was issued on (``proof``). Without any helpdesk proof, tokens are issued only for the
  demo workspace (``DEMO_PROOF``: the public start page and the demo's Slack links) or to a
  signed-in admin (``ADMIN_PROOF``); a sandbox workspace other than the demo accepts only
  tokens issued on an admin session or its install secret (``token_accepted``).

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
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import flask
import jwt
from werkzeug.exceptions import BadRequest, Forbidden, NotFound, Unauthorized

from integration import store
from integration.inbound import load_json, same_secret
from integration.store.pages import other_tenants_on
from integration.workspaces.validation import secret_versions

__all__ = [
    "ADMIN_PROOF",
    "DEMO_PROOF",
    "INSTALL_SECRET_HEADER",
    "SIDEBAR_TOKEN_FIELD",
    "SIDEBAR_TOKEN_HEADER",
    "SidebarIdentity",
    "body_signature",
    "identify",
    "is_demo",
    "issue_sidebar_token",
    "read_sidebar_token",
    "require_ticket_access",
    "sidebar_token_of",
    "token_accepted",
]

INSTALL_SECRET_HEADER = "X-Escalade-Install-Secret"
TICKET_HEADER = "X-Escalade-Ticket-Id"
AGENT_HEADER = "X-Escalade-Agent"
BODY_SIGNATURE_HEADER = "X-Body-Signature"
SIDEBAR_TOKEN_HEADER = "X-Escalade-Sidebar-Token"
SIDEBAR_TOKEN_FIELD = "sidebar_token"

# Zendesk's clock and ours may differ a little; the JWT lives only a few minutes anyway.
JWT_LEEWAY = timedelta(seconds=60)
_INSTALL_AUD = re.compile(r"^https://(?P<host>[^/]+)/api/v2/apps/installations/(?P<id>\d+)\.json$")
_USER_SUB = re.compile(r"/api/v2/users/(?P<id>\d+)\.json$")
_SECRET_HELPDESKS = frozenset({"freshdesk", "sandbox"})
# What a token issued without a helpdesk's proof was issued on.
DEMO_PROOF = "demo"
ADMIN_PROOF = "admin_session"
# Proofs that open a sandbox workspace other than the demo: an admin, or its install secret.
_SANDBOX_PROOFS = frozenset({ADMIN_PROOF, "sandbox_secret"})


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


def token_accepted(identity: SidebarIdentity, *, tenant: str, helpdesk: str) -> bool:
    """Whether a sidebar token's proof is enough for ``tenant``; 403 when it is the demo's.

    A real helpdesk's tokens all come from its own proof; a sandbox workspace other than the
    demo is opened only by an admin or its install secret, never by a token handed to
    anonymous visitors (or one issued before tokens recorded their proof).
    """
    if identity.proof == DEMO_PROOF and not is_demo(tenant, helpdesk):
        raise Forbidden("a demo link opens only the demo workspace")
    if helpdesk == "sandbox" and not is_demo(tenant, helpdesk):
        return identity.proof in _SANDBOX_PROOFS
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
    if helpdesk == "zendesk":
        return _zendesk(req, runtime=runtime, tenant=tenant, secrets=secrets,
                        settings=settings, base_url=base_url)
    if helpdesk == "intercom":
        return _intercom(req, runtime=runtime, tenant=tenant, secrets=secrets,
                         settings=settings)
    if helpdesk in _SECRET_HELPDESKS:
        return _install_secret(req, runtime=runtime, helpdesk=helpdesk, tenant=tenant,
                               secrets=secrets)
    raise NotFound(f"no sidebar for helpdesk {helpdesk!r}")


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


# --- Zendesk: signed URLs ----------------------------------------------------------------


def _zendesk(
    req: flask.Request, *, runtime: Any, tenant: str, secrets: Mapping[str, str],
    settings: Mapping[str, Any], base_url: str | None,
) -> SidebarIdentity:
    token = req.form.get("token") if req.method == "POST" else None
    if not token:
        raise Unauthorized("no Zendesk signed-URL token (form field 'token'); "
                           "the app manifest must set signedUrls: true")
    keys = secret_versions(secrets, "zendesk_app_public_key", now=runtime.now())
    if not keys:
        fallback = (settings.get("zendesk_app_public_key")
                    or runtime.config.get("ZENDESK_APP_PUBLIC_KEY"))
        keys = (str(fallback),) if fallback else ()
    if not keys:
        raise Unauthorized(f"tenant {tenant!r} has no zendesk_app_public_key to verify with")
    claims = _zendesk_claims(token, keys)
    _check_times(claims, now=runtime.now())
    host = (urlparse(base_url).hostname or "").lower() if base_url else ""
    issuer = str(claims["iss"]).lower().removeprefix("https://").rstrip("/")
    match = _INSTALL_AUD.match(str(claims["aud"]))
    if match is None:
        raise Unauthorized(f"Zendesk token audience is not an app installation: {claims['aud']}")
    if not host or issuer != host or match["host"].lower() != host:
        raise Forbidden(f"Zendesk token is for {issuer}, not tenant {tenant!r}")
    installation = settings.get("zendesk_installation_id")
    if installation and str(installation) != match["id"]:
        raise Forbidden(f"Zendesk token is for app installation {match['id']}, "
                        f"not {installation}")
    sub = _USER_SUB.search(str(claims.get("sub") or ""))
    return SidebarIdentity(tenant=tenant, helpdesk="zendesk", via="zendesk_jwt",
                           user=sub["id"] if sub else None, ticket_id=None)


def _zendesk_claims(token: str, keys: tuple[str, ...]) -> dict[str, Any]:
    first: Exception | None = None
    for key in keys:
        try:
            return dict(jwt.decode(
                token, key, algorithms=["RS256"],
                # Time claims are checked apart, against the runtime's clock.
                options={"require": ["exp", "iss", "aud"], "verify_aud": False,
                         "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            ))
        except (jwt.InvalidTokenError, ValueError, TypeError) as err:
            first = first or err
    raise Unauthorized(f"Zendesk token rejected: {first}") from first


def _check_times(claims: Mapping[str, Any], *, now: datetime) -> None:
    try:
        exp = datetime.fromtimestamp(float(claims["exp"]), UTC)
        nbf = claims.get("nbf")
        not_before = datetime.fromtimestamp(float(nbf), UTC) if nbf is not None else None
    except (TypeError, ValueError, OverflowError) as err:
        raise Unauthorized("Zendesk token has malformed time claims") from err
    if now > exp + JWT_LEEWAY:
        raise Unauthorized("Zendesk token expired: reload the app")
    if not_before is not None and now < not_before - JWT_LEEWAY:
        raise Unauthorized("Zendesk token is not valid yet")


# --- Freshdesk (and sandbox): per-install secret ------------------------------------------


def _install_secret(
    req: flask.Request, *, runtime: Any, helpdesk: str, tenant: str,
    secrets: Mapping[str, str],
) -> SidebarIdentity:
    given = req.headers.get(INSTALL_SECRET_HEADER, "")
    if not given:
        raise Unauthorized(f"missing {INSTALL_SECRET_HEADER} header")
    accepted = secret_versions(secrets, "sidebar_secret", now=runtime.now())
    if not any(_same(given, expected) for expected in accepted):
        if _held_by_other(runtime, helpdesk, tenant,
                          lambda other: _same(given, other.get("sidebar_secret"))):
            raise Forbidden(f"this install secret belongs to another tenant, not {tenant!r}")
        raise Unauthorized(f"wrong {INSTALL_SECRET_HEADER}")
    ticket = req.headers.get(TICKET_HEADER) or req.values.get("ticket_id") or None
    return SidebarIdentity(tenant=tenant, helpdesk=helpdesk, via=f"{helpdesk}_secret",
                           user=req.headers.get(AGENT_HEADER) or None, ticket_id=ticket)


def _same(given: str, expected: str | None) -> bool:
    return bool(expected) and hmac.compare_digest(given.encode(), str(expected).encode())


# --- Intercom: Canvas Kit body signature --------------------------------------------------


def body_signature(secret: str, body: bytes) -> str:
    """Intercom's ``X-Body-Signature``: hex HMAC-SHA256 of the raw body."""
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _intercom(
    req: flask.Request, *, runtime: Any, tenant: str, secrets: Mapping[str, str],
    settings: Mapping[str, Any],
) -> SidebarIdentity:
    given = req.headers.get(BODY_SIGNATURE_HEADER, "").strip().lower()
    if not given:
        raise Unauthorized(f"missing {BODY_SIGNATURE_HEADER} header")
    body = req.get_data(cache=True)
    accepted = _intercom_secrets(secrets, now=runtime.now())
    if not any(same_secret(given, body_signature(key, body)) for key in accepted):
        def signed_by(other: Mapping[str, str]) -> bool:
            key = _intercom_secret(other)
            return bool(key) and same_secret(given, body_signature(key, body))

        if _held_by_other(runtime, "intercom", tenant, signed_by):
            raise Forbidden(f"request signed for another tenant, not {tenant!r}")
        raise Unauthorized(f"wrong {BODY_SIGNATURE_HEADER}")
    try:
        data = load_json(body)
    except ValueError as err:
        raise BadRequest(f"Canvas request {err}") from err
    if not isinstance(data, dict):
        raise BadRequest("Canvas request body is not a JSON object")
    workspace = settings.get("intercom_workspace_id")
    if workspace and str(data.get("workspace_id")) != str(workspace):
        raise Forbidden(f"workspace {data.get('workspace_id')} is not tenant {tenant!r}")
    admin = data.get("admin")
    if not isinstance(admin, dict):
        admin = {}
    return SidebarIdentity(tenant=tenant, helpdesk="intercom", via="intercom_signature",
                           user=_text(admin.get("email")) or _text(admin.get("id")),
                           ticket_id=_conversation_id(data))


def _intercom_secret(secrets: Mapping[str, str]) -> str:
    return secrets.get("client_secret") or secrets.get("webhook_secret") or ""


def _intercom_secrets(secrets: Mapping[str, str], *, now: datetime) -> tuple[str, ...]:
    name = "client_secret" if secrets.get("client_secret") else "webhook_secret"
    return secret_versions(secrets, name, now=now)


def _conversation_id(data: Mapping[str, Any]) -> str | None:
    conversation = data.get("conversation")
    if isinstance(conversation, dict) and conversation.get("id") is not None:
        return _text(conversation["id"])
    context = data.get("context")
    if isinstance(context, dict):
        return _text(context.get("conversation_id"))
    return None


def _text(value: Any) -> str | None:
    return str(value) if value is not None and value != "" else None


# --- the cross-tenant check ---------------------------------------------------------------


def _held_by_other(runtime: Any, helpdesk: str, tenant: str, check: Any) -> bool:
    # Only on the failure path: tells "another tenant's valid proof" (403) from "no proof"
    # (401). One small decrypt per tenant on the same helpdesk.
    with store.session_scope(runtime.sessions) as s:
        rows = other_tenants_on(s, helpdesk=helpdesk, slug=tenant)
        return any(check(store.tenant_secrets(row, runtime.cipher)) for row in rows)
