"""Security headers every response gets unless its blueprint set its own.

Pages load scripts and styles only from this origin (an inline script needs the request's
nonce: ``{{ csp_nonce() }}``), cannot be framed by anyone (``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``), are not content-sniffed and do not leak their URL to other sites.
The agent sidebar is the exception: a helpdesk frames it, so ``sidebar_ui.sidebar`` sets a
policy whose ``frame-ancestors`` names exactly that helpdesk's origins (``frame_ancestors``).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from flask import Flask, Response, g

__all__ = ["HELPDESK_FRAMERS", "REGIONAL_FRAMERS", "content_security_policy", "csp_nonce",
           "frame_ancestors", "init_app"]

# Who may frame a helpdesk's sidebar: the agent workspace's origins (plus the tenant's own
# host, added by ``frame_ancestors``). Intercom's regions each have their own app host.
HELPDESK_FRAMERS: dict[str, tuple[str, ...]] = {
    "zendesk": ("https://*.zendesk.com",),
    "freshdesk": ("https://*.freshdesk.com", "https://*.freshworks.com"),
    "intercom": ("https://app.intercom.com",),
    # The sandbox has no helpdesk: its sidebar opens from Escalade's own start page.
    "sandbox": ("'self'",),
}
# Helpdesks whose agent app lives on one host per data region (the tenant's ``region``).
REGIONAL_FRAMERS: dict[str, dict[str, str]] = {
    "intercom": {"us": "https://app.intercom.com", "eu": "https://app.eu.intercom.com",
                 "au": "https://app.au.intercom.com"},
}
# Helpdesks an agent may reach at the tenant's own address (a custom or regional host).
_OWN_HOST = frozenset({"zendesk", "freshdesk"})


def csp_nonce() -> str:
    """This request's script nonce (made on first use)."""
    nonce = g.get("csp_nonce")
    if not isinstance(nonce, str):
        nonce = secrets.token_urlsafe(16)
        g.csp_nonce = nonce
    return nonce


def content_security_policy(*, frame_ancestors: str = "'none'", nonce: str | None = None,
                            connect: bool = False, default: str = "'self'") -> str:
    """The policy of our pages; ``frame_ancestors`` says who may frame them."""
    script = "'self'" + (f" 'nonce-{nonce}'" if nonce else "")
    parts = [f"default-src {default}", f"script-src {script}", "style-src 'self'",
             "img-src 'self' data:", "object-src 'none'", "base-uri 'none'",
             "form-action 'self'", f"frame-ancestors {frame_ancestors}"]
    if connect:
        parts.append("connect-src 'self'")
    return "; ".join(parts)


def frame_ancestors(helpdesk: str, *, base_url: str | None = None,
                    settings: Mapping[str, Any] | None = None) -> str:
    """The ``frame-ancestors`` sources of ``helpdesk``'s sidebar; ``'none'`` for others."""
    framers = list(HELPDESK_FRAMERS.get(helpdesk, ()))
    regions = REGIONAL_FRAMERS.get(helpdesk)
    if regions:
        region = str((settings or {}).get("region") or "").lower()
        framers = [regions.get(region) or framers[0]]
    if helpdesk in _OWN_HOST and base_url:
        parts = urlsplit(base_url)
        if parts.scheme in ("http", "https") and parts.netloc and "*" not in parts.netloc:
            own = f"{parts.scheme}://{parts.netloc.lower()}"
            if own not in framers:
                framers.append(own)
    return " ".join(framers) or "'none'"


def _defaults(response: Response) -> Response:
    headers = response.headers
    if "Content-Security-Policy" not in headers:
        headers["Content-Security-Policy"] = content_security_policy(nonce=g.get("csp_nonce"))
        headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    return response


def init_app(app: Flask) -> None:
    """Give every response of ``app`` the default headers; ``csp_nonce`` in templates."""
    app.after_request(_defaults)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
