"""Security headers every response gets unless its blueprint set its own.

Pages load scripts and styles only from this origin (an inline script needs the request's
nonce: ``{{ csp_nonce() }}``), cannot be framed by anyone (``frame-ancestors 'none'`` and
``X-Frame-Options: DENY``), are not content-sniffed and do not leak their URL to other sites.
The agent sidebar is the exception: a helpdesk frames it, so ``sidebar_ui.sidebar`` sets a
policy whose ``frame-ancestors`` names exactly that helpdesk's origins (``frame_ancestors``,
as the helpdesk's adapter lists them).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, g

from adapters.registry import adapter_class
from integration.errors import ConfigurationError

__all__ = ["content_security_policy", "csp_nonce", "frame_ancestors", "init_app"]


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
    try:
        cls = adapter_class(helpdesk)
    except ConfigurationError:
        return "'none'"
    return " ".join(cls.sidebar_frame_origins(base_url=base_url, settings=settings)) or "'none'"


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
