"""The app under attack: one tenant per helpdesk, every secret known, a signer per endpoint.

``hostile_app`` builds the app with a sandbox, Zendesk, Freshdesk and Intercom tenant (Jira
and Linear secrets on the sandbox one), Slack's signing secret and an admin, so that a signed
request reaches the code behind each endpoint's check. ``SIGNERS`` maps an endpoint to the
headers that make a body pass its check, exactly as the vendor computes them.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet
from flask import Flask

from tests.store.helpers import backend_store

SLACK_SECRET = "fuzz-slack-signing-secret"
SANDBOX_SECRET = "fuzz-sandbox-secret"
ZENDESK_SECRET = "fuzz-zendesk-secret"
FRESHDESK_SECRET = "fuzz-freshdesk-secret"
INTERCOM_SECRET = "fuzz-intercom-client-secret"
JIRA_SECRET = "fuzz-jira-secret"
LINEAR_SECRET = "fuzz-linear-secret"
SIDEBAR_SECRET = "fuzz-sidebar-install-secret"
ADMIN_EMAIL = "ops@example.com"
ADMIN_PASSWORD = "correct horse battery"

TENANTS: Mapping[str, str] = {"demo": "sandbox", "zd": "zendesk", "fd": "freshdesk",
                              "ic": "intercom"}


def _hex(secret: str, body: bytes, digest: Any = hashlib.sha256) -> str:
    return hmac.new(secret.encode(), body, digest).hexdigest()


def sign_sandbox(body: bytes) -> dict[str, str]:
    """``X-Escalade-Signature`` for the sandbox tenant."""
    return {"X-Escalade-Signature": f"sha256={_hex(SANDBOX_SECRET, body)}"}


def sign_zendesk(body: bytes) -> dict[str, str]:
    """Zendesk's base64 HMAC-SHA256 of timestamp + body, with a fresh timestamp."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    digest = hmac.new(ZENDESK_SECRET.encode(), stamp.encode() + body, hashlib.sha256).digest()
    return {"X-Zendesk-Webhook-Signature": base64.b64encode(digest).decode(),
            "X-Zendesk-Webhook-Signature-Timestamp": stamp}


def sign_freshdesk(body: bytes) -> dict[str, str]:
    """Freshdesk signs nothing: the shared secret rides in a header."""
    return {"X-Escalade-Secret": FRESHDESK_SECRET}


def sign_intercom(body: bytes) -> dict[str, str]:
    """Intercom's ``X-Hub-Signature: sha1=<hex>``."""
    return {"X-Hub-Signature": f"sha1={_hex(INTERCOM_SECRET, body, hashlib.sha1)}"}


def sign_jira(body: bytes) -> dict[str, str]:
    """A Jira admin webhook's ``X-Hub-Signature: sha256=<hex>``."""
    return {"X-Hub-Signature": f"sha256={_hex(JIRA_SECRET, body)}"}


def sign_linear(body: bytes) -> dict[str, str]:
    """``Linear-Signature`` (the body's own ``webhookTimestamp`` is the fuzzer's business)."""
    return {"Linear-Signature": _hex(LINEAR_SECRET, body)}


def sign_slack(body: bytes) -> dict[str, str]:
    """Slack's v0 signature over ``v0:<timestamp>:<body>``."""
    stamp = str(int(time.time()))
    base = b"v0:" + stamp.encode() + b":" + body
    return {"X-Slack-Request-Timestamp": stamp,
            "X-Slack-Signature": f"v0={_hex(SLACK_SECRET, base)}"}


def sign_canvas(body: bytes) -> dict[str, str]:
    """Intercom Canvas Kit's ``X-Body-Signature``."""
    return {"X-Body-Signature": _hex(INTERCOM_SECRET, body)}


def sign_sidebar(body: bytes) -> dict[str, str]:
    """The sandbox sidebar's per-install secret."""
    return {"X-Escalade-Install-Secret": SIDEBAR_SECRET}


Signer = Callable[[bytes], dict[str, str]]

# endpoint -> (URL values that reach a tenant whose secret we hold, signer)
SIGNERS: Mapping[str, tuple[Mapping[str, str], Signer]] = {
    "webhooks.receive[sandbox]": ({"helpdesk": "sandbox", "tenant_slug": "demo"}, sign_sandbox),
    "webhooks.receive[zendesk]": ({"helpdesk": "zendesk", "tenant_slug": "zd"}, sign_zendesk),
    "webhooks.receive[freshdesk]": ({"helpdesk": "freshdesk", "tenant_slug": "fd"},
                                    sign_freshdesk),
    "webhooks.receive[intercom]": ({"helpdesk": "intercom", "tenant_slug": "ic"},
                                   sign_intercom),
    "tracker_webhooks.jira_webhook": ({"tenant_slug": "demo"}, sign_jira),
    "tracker_webhooks.linear_webhook": ({"tenant_slug": "demo"}, sign_linear),
    "slack.slack_events": ({}, sign_slack),
    "canvas.initialize": ({"tenant": "ic"}, sign_canvas),
    "canvas.submit": ({"tenant": "ic"}, sign_canvas),
    "sidebar.bootstrap": ({"helpdesk": "sandbox", "tenant": "demo"}, sign_sidebar),
    "sidebar.ticket_page": ({"helpdesk": "sandbox", "tenant": "demo", "ticket_id": "1"},
                            sign_sidebar),
    "sidebar.override": ({"helpdesk": "sandbox", "tenant": "demo", "ticket_id": "1"},
                         sign_sidebar),
}


def app_config(url: str, var_dir: Path) -> dict[str, Any]:
    """Overrides for an app on ``url`` with Slack enabled and no background threads."""
    return {
        "VAR_DIR": var_dir,
        "DATABASE_URL": url,
        "SECRET_KEY": Fernet.generate_key().decode(),
        "WORKERS": 0,
        "LOG_LEVEL": "WARNING",
        "SLACK_SIGNING_SECRET": SLACK_SECRET,
        "DB_TIMEOUT_SECONDS": 2.0,
    }


def add_tenants(runtime: Any) -> None:
    """One tenant per helpdesk, every secret the signers use."""
    from integration import store
    from integration.store.people import set_admin

    secrets: dict[str, dict[str, str]] = {
        "demo": {"webhook_secret": SANDBOX_SECRET, "sidebar_secret": SIDEBAR_SECRET,
                 "jira.webhook_secret": JIRA_SECRET, "linear.webhook_secret": LINEAR_SECRET},
        "zd": {"webhook_secret": ZENDESK_SECRET, "email": "agent@zd.example",
               "api_token": "zd-token"},
        "fd": {"webhook_secret": FRESHDESK_SECRET, "api_key": "fd-key"},
        "ic": {"webhook_secret": INTERCOM_SECRET, "access_token": "ic-token"},
    }
    base_urls = {"zd": "https://zd.zendesk.com", "fd": "https://fd.freshdesk.com"}
    with store.session_scope(runtime.sessions) as s:
        for slug, helpdesk in TENANTS.items():
            store.add_tenant(s, slug=slug, name=slug.title(), helpdesk=helpdesk,
                             base_url=base_urls.get(slug), secrets=secrets[slug], settings={},
                             cipher=runtime.cipher)
        set_admin(s, email=ADMIN_EMAIL, password=ADMIN_PASSWORD, now=datetime.now(UTC))


@contextmanager
def hostile_app(backend: str, tmp_path: Path) -> Iterator[Flask]:
    """A migrated app on ``backend`` with the tenants above."""
    from integration.web import create_app

    with backend_store(backend, tmp_path) as opened:
        opened.engine.dispose()
        app = create_app(app_config(opened.url, tmp_path / "var"))
        runtime = app.extensions["escalade"]
        add_tenants(runtime)
        try:
            yield app
        finally:
            runtime.engine.dispose()
