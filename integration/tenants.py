"""Checks on a helpdesk connection before it is stored (CLI and admin pages share them)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlparse

from integration.errors import ValidationError

__all__ = ["REQUIRED_SECRETS", "validate_connection"]

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{1,39}$")

# Helpdesks reached at a fixed vendor host unless a base URL overrides it (Intercom: region).
BASE_URL_OPTIONAL = frozenset({"sandbox", "intercom"})

# Which credentials each helpdesk needs before we can fetch or write a ticket.
REQUIRED_SECRETS: dict[str, tuple[str, ...]] = {
    "zendesk": ("email", "api_token"),
    "freshdesk": ("api_key",),
    "intercom": ("access_token",),
    "sandbox": (),
}


def validate_connection(
    *, slug: str, helpdesk: str, base_url: str | None, secrets: Mapping[str, str]
) -> None:
    """Raise ``ValidationError`` naming the first missing or malformed setting."""
    if not SLUG.match(slug):
        raise ValidationError("slug", "use 2-40 lower-case letters, digits or dashes")
    if helpdesk not in REQUIRED_SECRETS:
        raise ValidationError("helpdesk", f"unknown helpdesk {helpdesk!r}")
    if not base_url and helpdesk not in BASE_URL_OPTIONAL:
        raise ValidationError("base_url", f"{helpdesk} needs --base-url")
    if base_url:
        parsed = urlparse(base_url)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValidationError("base_url", f"not an http(s) URL: {base_url!r}")
    for name in REQUIRED_SECRETS[helpdesk]:
        if not secrets.get(name):
            raise ValidationError(name, f"{helpdesk} needs --{name.replace('_', '-')}")
