"""Who gets in: each helpdesk's own proof, sidebar tokens, and 403 for another tenant."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import flask
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from werkzeug.exceptions import Forbidden, NotFound, Unauthorized

from adapters.helpdesk.common import INSTALL_SECRET_HEADER
from adapters.helpdesk.intercom import body_signature
from integration import store
from sidebar_ui.auth import (
    SIDEBAR_TOKEN_HEADER,
    SidebarIdentity,
    identify,
    issue_sidebar_token,
    read_sidebar_token,
    require_ticket_access,
)

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
KEY = b"k" * 32


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


ZENDESK_PRIVATE, ZENDESK_PUBLIC = _pem_pair()
OTHER_PRIVATE, _ = _pem_pair()


def zendesk_token(host: str = "acme.zendesk.com", *, key: str = ZENDESK_PRIVATE,
                  installation: int = 42, issued: datetime = NOW, **claims: Any) -> str:
    """A JWT shaped like the one Zendesk POSTs to a signed URL."""
    payload: dict[str, Any] = {
        "iss": host,
        "aud": f"https://{host}/api/v2/apps/installations/{installation}.json",
        "sub": f"https://{host}/api/v2/users/7.json",
        "iat": int(issued.timestamp()),
        "nbf": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=5)).timestamp()),
        "qsh": "c0ffee",
        "context": {"product": "support", "location": "ticket_sidebar"},
    }
    payload.update(claims)
    return jwt.encode(payload, key, algorithm="RS256")


def _hs256_with_public_key() -> str:
    # Built by hand: PyJWT itself refuses to HMAC-sign with a PEM key.
    def part(value: dict[str, Any]) -> str:
        raw = json.dumps(value, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    claims = {"iss": "acme.zendesk.com", "exp": 2_000_000_000,
              "aud": "https://acme.zendesk.com/api/v2/apps/installations/42.json"}
    signing_input = f"{part({'alg': 'HS256', 'typ': 'JWT'})}.{part(claims)}"
    mac = hmac.new(ZENDESK_PUBLIC.encode(), signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


@pytest.fixture
def tenants(runtime: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """Two tenants per helpdesk, and the runtime's clock pinned to NOW."""
    monkeypatch.setattr(runtime, "now", lambda: NOW)
    with store.session_scope(runtime.sessions) as s:
        for slug, host in (("acme", "acme"), ("globex", "globex")):
            store.add_tenant(s, slug=slug, name=slug, helpdesk="zendesk",
                             base_url=f"https://{host}.zendesk.com",
                             secrets={"email": "a@b.example", "api_token": "t",
                                      "zendesk_app_public_key": ZENDESK_PUBLIC},
                             settings={}, cipher=runtime.cipher)
        for slug in ("fd-a", "fd-b"):
            store.add_tenant(s, slug=slug, name=slug, helpdesk="freshdesk",
                             base_url=f"https://{slug}.freshdesk.com",
                             secrets={"api_key": "k", "sidebar_secret": f"secret-of-{slug}"},
                             settings={}, cipher=runtime.cipher)
        for slug in ("ic-a", "ic-b"):
            store.add_tenant(s, slug=slug, name=slug, helpdesk="intercom", base_url=None,
                             secrets={"access_token": "x", "webhook_secret": f"client-{slug}"},
                             settings={"intercom_workspace_id": f"ws-{slug}"},
                             cipher=runtime.cipher)
    yield runtime


def _identify(app: Any, runtime: Any, helpdesk: str, tenant: str, **request: Any
              ) -> SidebarIdentity:
    with app.test_request_context(f"/sidebar/{helpdesk}/{tenant}", **request):
        return identify(flask.request, runtime=runtime, helpdesk=helpdesk, tenant=tenant)


# --- Zendesk ------------------------------------------------------------------------------


def test_zendesk_signed_url_identifies_tenant_and_agent(app: Any, tenants: Any) -> None:
    identity = _identify(app, tenants, "zendesk", "acme", method="POST",
                         data={"token": zendesk_token()})
    assert identity == SidebarIdentity(tenant="acme", helpdesk="zendesk", user="7",
                                       ticket_id=None, via="zendesk_jwt")


@pytest.mark.parametrize(
    ("token", "message"),
    [
        (None, "signedUrls"),
        (zendesk_token(key=OTHER_PRIVATE), "Signature verification failed"),
        (zendesk_token(issued=NOW - timedelta(minutes=10)), "expired"),
        (zendesk_token(issued=NOW + timedelta(minutes=10)), "not valid yet"),
        (zendesk_token(aud="https://acme.zendesk.com/somewhere"), "audience"),
        ("not-a-jwt", "rejected"),
        # Algorithm confusion: HMAC keyed with the public key must never pass.
        (_hs256_with_public_key(), "rejected"),
    ],
)
def test_zendesk_bad_tokens_are_401(app: Any, tenants: Any, token: str | None,
                                    message: str) -> None:
    data = {"token": token} if token else {}
    with pytest.raises(Unauthorized, match=message):
        _identify(app, tenants, "zendesk", "acme", method="POST", data=data)


def test_zendesk_token_of_another_account_is_403(app: Any, tenants: Any) -> None:
    token = zendesk_token("globex.zendesk.com")
    assert _identify(app, tenants, "zendesk", "globex", method="POST",
                     data={"token": token}).tenant == "globex"
    with pytest.raises(Forbidden, match="globex.zendesk.com"):
        _identify(app, tenants, "zendesk", "acme", method="POST", data={"token": token})


def test_zendesk_installation_pinned_by_setting(app: Any, tenants: Any) -> None:
    with store.session_scope(tenants.sessions) as s:
        acme = store.get_tenant(s, "acme")
        assert acme is not None
        acme.settings = {"zendesk_installation_id": "42"}
    assert _identify(app, tenants, "zendesk", "acme", method="POST",
                     data={"token": zendesk_token(installation=42)}).tenant == "acme"
    with pytest.raises(Forbidden, match="installation 43"):
        _identify(app, tenants, "zendesk", "acme", method="POST",
                  data={"token": zendesk_token(installation=43)})


def test_zendesk_without_public_key_says_so(app: Any, runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="bare", name="bare", helpdesk="zendesk",
                         base_url="https://acme.zendesk.com",
                         secrets={"email": "a@b.example", "api_token": "t"}, settings={},
                         cipher=runtime.cipher)
    with pytest.raises(Unauthorized, match="zendesk_app_public_key"):
        _identify(app, runtime, "zendesk", "bare", method="POST",
                  data={"token": zendesk_token()})


def test_unknown_tenant_or_wrong_helpdesk_is_404(app: Any, tenants: Any) -> None:
    with pytest.raises(NotFound):
        _identify(app, tenants, "zendesk", "nobody", method="POST",
                  data={"token": zendesk_token()})
    with pytest.raises(NotFound):
        _identify(app, tenants, "freshdesk", "acme", method="POST",
                  headers={INSTALL_SECRET_HEADER: "secret-of-fd-a"})


# --- Freshdesk ----------------------------------------------------------------------------


def test_freshdesk_install_secret(app: Any, tenants: Any) -> None:
    identity = _identify(app, tenants, "freshdesk", "fd-a", method="POST", headers={
        INSTALL_SECRET_HEADER: "secret-of-fd-a", "X-Escalade-Ticket-Id": "88",
        "X-Escalade-Agent": "sam@fd-a.example"})
    assert identity == SidebarIdentity(tenant="fd-a", helpdesk="freshdesk",
                                       user="sam@fd-a.example", ticket_id="88",
                                       via="freshdesk_secret")


@pytest.mark.parametrize("headers", [{}, {INSTALL_SECRET_HEADER: "guess"},
                                     {INSTALL_SECRET_HEADER: "secret-of-fd-a "}])
def test_freshdesk_missing_or_wrong_secret_is_401(app: Any, tenants: Any,
                                                  headers: dict[str, str]) -> None:
    with pytest.raises(Unauthorized):
        _identify(app, tenants, "freshdesk", "fd-a", method="POST", headers=headers)


def test_freshdesk_secret_of_another_tenant_is_403(app: Any, tenants: Any) -> None:
    with pytest.raises(Forbidden, match="another tenant"):
        _identify(app, tenants, "freshdesk", "fd-b", method="POST",
                  headers={INSTALL_SECRET_HEADER: "secret-of-fd-a"})


# --- Intercom -----------------------------------------------------------------------------


def _canvas_body(workspace: str = "ws-ic-a") -> bytes:
    return json.dumps({"workspace_id": workspace, "admin": {"id": "991", "email": "kim@a.example"},
                       "context": {"conversation_id": 1295, "location": "conversation"},
                       "conversation": {"id": "1295"}}).encode()


def test_intercom_body_signature(app: Any, tenants: Any) -> None:
    body = _canvas_body()
    identity = _identify(app, tenants, "intercom", "ic-a", method="POST", data=body,
                         headers={"X-Body-Signature": body_signature("client-ic-a", body)})
    assert identity == SidebarIdentity(tenant="ic-a", helpdesk="intercom", user="kim@a.example",
                                       ticket_id="1295", via="intercom_signature")


def test_intercom_signature_must_cover_the_exact_body(app: Any, tenants: Any) -> None:
    body = _canvas_body()
    signature = body_signature("client-ic-a", body)
    with pytest.raises(Unauthorized, match="X-Body-Signature"):
        _identify(app, tenants, "intercom", "ic-a", method="POST", data=body + b" ",
                  headers={"X-Body-Signature": signature})
    with pytest.raises(Unauthorized, match="missing"):
        _identify(app, tenants, "intercom", "ic-a", method="POST", data=body)


def test_intercom_request_signed_for_another_tenant_is_403(app: Any, tenants: Any) -> None:
    body = _canvas_body()
    with pytest.raises(Forbidden):
        _identify(app, tenants, "intercom", "ic-b", method="POST", data=body,
                  headers={"X-Body-Signature": body_signature("client-ic-a", body)})


def test_intercom_other_workspace_is_403(app: Any, tenants: Any) -> None:
    body = _canvas_body(workspace="ws-elsewhere")
    with pytest.raises(Forbidden, match="workspace"):
        _identify(app, tenants, "intercom", "ic-a", method="POST", data=body,
                  headers={"X-Body-Signature": body_signature("client-ic-a", body)})


# --- sidebar tokens -----------------------------------------------------------------------

IDENTITY = SidebarIdentity(tenant="acme", helpdesk="zendesk", user="7", ticket_id="4711",
                           via="zendesk_jwt")


def test_sidebar_token_round_trip() -> None:
    token = issue_sidebar_token(IDENTITY, key=KEY, now=NOW)
    read = read_sidebar_token(token, key=KEY, now=NOW + timedelta(minutes=29))
    assert read == SidebarIdentity(tenant="acme", helpdesk="zendesk", user="7",
                                   ticket_id="4711", via="sidebar_token", proof="zendesk_jwt")


def test_sidebar_token_expires() -> None:
    token = issue_sidebar_token(IDENTITY, key=KEY, now=NOW, ttl=timedelta(minutes=5))
    with pytest.raises(Unauthorized, match="expired"):
        read_sidebar_token(token, key=KEY, now=NOW + timedelta(minutes=5))


@pytest.mark.parametrize("mutate", [
    lambda t: t[:-2] + ("AA" if not t.endswith("AA") else "BB"),
    lambda t: "eyJ0IjoiZ2xvYmV4In0" + t[t.index("."):],
    lambda t: t.replace(".", ""),
    lambda t: "",
])
def test_forged_sidebar_tokens_are_401(mutate: Any) -> None:
    token = issue_sidebar_token(IDENTITY, key=KEY, now=NOW)
    with pytest.raises(Unauthorized):
        read_sidebar_token(mutate(token), key=KEY, now=NOW)
    with pytest.raises(Unauthorized):
        read_sidebar_token(token, key=b"x" * 32, now=NOW)


def test_identify_accepts_sidebar_token_header_form_and_query(app: Any, tenants: Any) -> None:
    token = issue_sidebar_token(IDENTITY, key=tenants.cipher.sign_key("sidebar"), now=NOW)
    for request in ({"headers": {SIDEBAR_TOKEN_HEADER: token}},
                    {"data": {"sidebar_token": token}},
                    {"query_string": {"sidebar_token": token}}):
        identity = _identify(app, tenants, "zendesk", "acme", method="POST", **request)
        assert (identity.tenant, identity.ticket_id, identity.via) == (
            "acme", "4711", "sidebar_token")


def test_sidebar_token_for_another_tenant_is_403(app: Any, tenants: Any) -> None:
    token = issue_sidebar_token(IDENTITY, key=tenants.cipher.sign_key("sidebar"), now=NOW)
    with pytest.raises(Forbidden):
        _identify(app, tenants, "zendesk", "globex", method="POST",
                  headers={SIDEBAR_TOKEN_HEADER: token})


def test_require_ticket_access() -> None:
    require_ticket_access(IDENTITY, tenant="acme", ticket_id="4711")
    with pytest.raises(Forbidden):
        require_ticket_access(IDENTITY, tenant="globex", ticket_id="4711")
    with pytest.raises(Forbidden):
        require_ticket_access(IDENTITY, tenant="acme", ticket_id="4712")
    tenant_wide = SidebarIdentity(tenant="acme", helpdesk="zendesk", user=None,
                                  ticket_id=None, via="zendesk_jwt")
    require_ticket_access(tenant_wide, tenant="acme", ticket_id="9")
