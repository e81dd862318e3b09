"""Each helpdesk's sidebar proof, checked by its adapter class with no web framework or store."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from adapters.helpdesk.base import (
    HelpdeskAdapter,
    SidebarCaller,
    SidebarInstall,
    SidebarOtherTenant,
    SidebarProofError,
    SidebarRequest,
)
from adapters.helpdesk.common import AGENT_HEADER, INSTALL_SECRET_HEADER, TICKET_HEADER
from adapters.helpdesk.intercom import body_signature
from adapters.registry import HELPDESKS, adapter_class
from integration.errors import ValidationError

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


def _pem_pair() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    public = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    return private, public


PRIVATE, PUBLIC = _pem_pair()


def install(*, tenant: str = "acme", secrets: Mapping[str, str] | None = None,
            base_url: str | None = None, settings: Mapping[str, Any] | None = None,
            previous: Mapping[str, str] | None = None,
            others: tuple[Mapping[str, str], ...] = (),
            app_config: Mapping[str, Any] | None = None) -> SidebarInstall:
    """A tenant's stored proof material; ``previous`` holds rotated-out values still valid."""
    stored = dict(secrets or {})
    old = dict(previous or {})

    def versions(name: str) -> tuple[str, ...]:
        current = stored.get(name)
        if not current:
            return ()
        return (current, old[name]) if name in old else (current,)

    return SidebarInstall(tenant=tenant, base_url=base_url, settings=settings or {},
                          secrets=stored, now=NOW, versions=versions,
                          app_config=app_config or {}, others=lambda: others)


def request(*, method: str = "POST", headers: Mapping[str, str] | None = None,
            form: Mapping[str, str] | None = None, body: bytes = b"",
            query: Mapping[str, str] | None = None) -> SidebarRequest:
    """A sidebar request as the pages hand it over."""
    return SidebarRequest(method=method, headers=headers or {}, form=form or {},
                          values={**(query or {}), **(form or {})}, body=body)


@pytest.mark.parametrize("identifier", sorted(HELPDESKS))
def test_every_helpdesk_names_its_proof_and_who_frames_it(identifier: str) -> None:
    cls = adapter_class(identifier)
    assert cls.sidebar_proof
    assert cls.sidebar_frame_origins(), f"{identifier}: nobody may frame its sidebar"
    assert "verify_sidebar" in HelpdeskAdapter.__abstractmethods__
    assert not cls.__abstractmethods__


@pytest.mark.parametrize(("identifier", "base_url", "settings", "origins"), [
    ("zendesk", "https://support.acme.example", {},
     ("https://*.zendesk.com", "https://support.acme.example")),
    ("zendesk", "https://*.evil.example", {}, ("https://*.zendesk.com",)),
    ("freshdesk", "https://acme.freshdesk.com", {},
     ("https://*.freshdesk.com", "https://*.freshworks.com", "https://acme.freshdesk.com")),
    ("intercom", None, {"region": "au"}, ("https://app.au.intercom.com",)),
    ("intercom", None, {"region": "mars"}, ("https://app.intercom.com",)),
    ("sandbox", "https://ignored.example", {}, ("'self'",)),
])
def test_frame_origins(identifier: str, base_url: str | None, settings: dict[str, Any],
                       origins: tuple[str, ...]) -> None:
    cls = adapter_class(identifier)
    assert cls.sidebar_frame_origins(base_url=base_url, settings=settings) == origins


def test_only_the_sandbox_opens_for_admins_and_only_zendesk_loads_an_sdk() -> None:
    assert {h for h in HELPDESKS if adapter_class(h).sidebar_for_admins} == {"sandbox"}
    assert {h: adapter_class(h).sidebar_sdk for h in HELPDESKS
            if adapter_class(h).sidebar_sdk} == {"zendesk": "zaf_sdk.min.js"}


# --- Zendesk: the signed-URL JWT ------------------------------------------------------------


def zendesk_token(host: str = "acme.zendesk.com", *, installation: int = 42,
                  issued: datetime = NOW, key: str = PRIVATE) -> str:
    """A JWT shaped like the one Zendesk POSTs to a signed URL."""
    return jwt.encode({
        "iss": host, "aud": f"https://{host}/api/v2/apps/installations/{installation}.json",
        "sub": f"https://{host}/api/v2/users/7.json", "iat": int(issued.timestamp()),
        "exp": int((issued + timedelta(minutes=5)).timestamp()),
    }, key, algorithm="RS256")


ZENDESK = adapter_class("zendesk")
ACME_ZENDESK = "https://acme.zendesk.com"


def test_zendesk_signed_url_names_the_agent() -> None:
    caller = ZENDESK.verify_sidebar(
        request(form={"token": zendesk_token()}),
        install=install(secrets={"zendesk_app_public_key": PUBLIC}, base_url=ACME_ZENDESK))
    assert caller == SidebarCaller(via="zendesk_jwt", user="7", ticket_id=None)


def test_zendesk_key_falls_back_to_the_setting_then_the_install_wide_key() -> None:
    token = zendesk_token()
    wheres: tuple[dict[str, Any], ...] = ({"settings": {"zendesk_app_public_key": PUBLIC}},
                                          {"app_config": {"ZENDESK_APP_PUBLIC_KEY": PUBLIC}})
    for where in wheres:
        caller = ZENDESK.verify_sidebar(request(form={"token": token}),
                                        install=install(base_url=ACME_ZENDESK, **where))
        assert caller.user == "7"
    with pytest.raises(SidebarProofError, match="has no zendesk_app_public_key"):
        ZENDESK.verify_sidebar(request(form={"token": token}),
                               install=install(base_url=ACME_ZENDESK))


def test_zendesk_key_rotated_out_still_verifies_during_its_grace() -> None:
    new_private, new_public = _pem_pair()
    del new_private
    rotated = install(secrets={"zendesk_app_public_key": new_public}, base_url=ACME_ZENDESK,
                      previous={"zendesk_app_public_key": PUBLIC})
    assert ZENDESK.verify_sidebar(request(form={"token": zendesk_token()}),
                                  install=rotated).user == "7"


@pytest.mark.parametrize(("token", "error", "message"), [
    (None, SidebarProofError, "signedUrls"),
    (zendesk_token(issued=NOW - timedelta(minutes=10)), SidebarProofError, "expired"),
    (zendesk_token("globex.zendesk.com"), SidebarOtherTenant, "globex.zendesk.com"),
    (zendesk_token(installation=43), SidebarOtherTenant, "installation 43"),
])
def test_zendesk_refusals(token: str | None, error: type[Exception], message: str) -> None:
    pinned = install(secrets={"zendesk_app_public_key": PUBLIC}, base_url=ACME_ZENDESK,
                     settings={"zendesk_installation_id": "42"})
    with pytest.raises(error, match=message):
        ZENDESK.verify_sidebar(request(form={"token": token} if token else {}), install=pinned)


def test_zendesk_token_only_counts_when_posted() -> None:
    with pytest.raises(SidebarProofError, match="signedUrls"):
        ZENDESK.verify_sidebar(
            request(method="GET", form={"token": zendesk_token()}),
            install=install(secrets={"zendesk_app_public_key": PUBLIC}, base_url=ACME_ZENDESK))


# --- Freshdesk and the sandbox: the install secret ------------------------------------------


@pytest.mark.parametrize(("identifier", "via"), [("freshdesk", "freshdesk_secret"),
                                                 ("sandbox", "sandbox_secret")])
def test_install_secret_names_ticket_and_agent(identifier: str, via: str) -> None:
    caller = adapter_class(identifier).verify_sidebar(
        request(headers={INSTALL_SECRET_HEADER.lower(): "s3cret-of-acme", TICKET_HEADER: "88",
                         AGENT_HEADER: "sam@acme.example"}),
        install=install(secrets={"sidebar_secret": "s3cret-of-acme"}))
    assert caller == SidebarCaller(via=via, user="sam@acme.example", ticket_id="88")


def test_install_secret_takes_the_ticket_from_the_query_too() -> None:
    caller = adapter_class("freshdesk").verify_sidebar(
        request(method="GET", headers={INSTALL_SECRET_HEADER: "old-secret"},
                query={"ticket_id": "91"}),
        install=install(secrets={"sidebar_secret": "new-secret"},
                        previous={"sidebar_secret": "old-secret"}))
    assert (caller.ticket_id, caller.user) == ("91", None)


@pytest.mark.parametrize(("given", "error", "message"), [
    (None, SidebarProofError, "missing X-Escalade-Install-Secret"),
    ("s3cret-of-acme ", SidebarProofError, "wrong X-Escalade-Install-Secret"),
    ("s3cret-of-globex", SidebarOtherTenant, "belongs to another tenant, not 'acme'"),
])
def test_install_secret_refusals(given: str | None, error: type[Exception],
                                 message: str) -> None:
    stored = install(secrets={"sidebar_secret": "s3cret-of-acme"},
                     others=({"sidebar_secret": "s3cret-of-globex"},))
    headers = {INSTALL_SECRET_HEADER: given} if given is not None else {}
    with pytest.raises(error, match=message):
        adapter_class("freshdesk").verify_sidebar(request(headers=headers), install=stored)


# --- Intercom: the Canvas Kit body signature ------------------------------------------------

INTERCOM = adapter_class("intercom")


def canvas_body(workspace: str = "ws-acme") -> bytes:
    """An ``initialize`` body as Intercom posts it."""
    return json.dumps({"workspace_id": workspace, "admin": {"id": "991"},
                       "context": {"conversation_id": 1295}}).encode()


def test_canvas_signature_names_teammate_and_conversation() -> None:
    body = canvas_body()
    caller = INTERCOM.verify_sidebar(
        request(headers={"X-Body-Signature": body_signature("client-acme", body)}, body=body),
        install=install(secrets={"client_secret": "client-acme", "webhook_secret": "other"},
                        settings={"intercom_workspace_id": "ws-acme"}))
    assert caller == SidebarCaller(via="intercom_signature", user="991", ticket_id="1295")


@pytest.mark.parametrize(("signed_with", "body", "error", "message"), [
    ("client-acme", canvas_body("ws-elsewhere"), SidebarOtherTenant, "workspace ws-elsewhere"),
    ("client-globex", canvas_body(), SidebarOtherTenant, "signed for another tenant"),
    ("guess", canvas_body(), SidebarProofError, "wrong X-Body-Signature"),
    ("client-acme", b"[1, 2]", ValidationError, "not a JSON object"),
    ("client-acme", b"{nope", ValidationError, "Canvas request"),
])
def test_canvas_refusals(signed_with: str, body: bytes, error: type[Exception],
                         message: str) -> None:
    stored = install(secrets={"webhook_secret": "client-acme"},
                     settings={"intercom_workspace_id": "ws-acme"},
                     others=({"client_secret": "client-globex"},))
    with pytest.raises(error, match=message):
        INTERCOM.verify_sidebar(
            request(headers={"X-Body-Signature": body_signature(signed_with, body)}, body=body),
            install=stored)
