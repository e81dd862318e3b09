"""The Zendesk sidebar's proof: the signed-URL JWT Zendesk POSTs to the app's iframe URL.

The app's manifest sets ``"signedUrls": true``, so Zendesk POSTs the iframe URL with a form
field ``token``, a JWT it signs with RS256 using the app's key pair. It is verified with the
app's public key (tenant secret or setting ``zendesk_app_public_key``, PEM, else the
install-wide ``ZENDESK_APP_PUBLIC_KEY``; Zendesk serves it at
``GET /api/v2/apps/{app_id}/public_key.pem``), must carry ``exp``/``iss``/``aud``, and maps to
the tenant: ``iss`` is the account's host (``acme.zendesk.com``) and ``aud``
``https://acme.zendesk.com/api/v2/apps/installations/<id>.json``; both must name the tenant's
``base_url`` host (and, when the setting ``zendesk_installation_id`` is stored, that
installation). Only RS256 is accepted: signed URLs use nothing else, and allowing HMAC with a
public key is the classic algorithm-confusion hole.
https://developer.zendesk.com/documentation/apps/build-an-app/building-a-server-side-app/part-5-secure-the-app
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlparse

import jwt

from adapters.helpdesk.base import (
    SidebarCaller,
    SidebarInstall,
    SidebarOtherTenant,
    SidebarProofError,
    SidebarRequest,
)

__all__ = ["JWT_LEEWAY", "SIDEBAR_PROOF", "verify_signed_url"]

SIDEBAR_PROOF = "zendesk_jwt"
# Zendesk's clock and ours may differ a little; the JWT lives only a few minutes anyway.
JWT_LEEWAY = timedelta(seconds=60)
_INSTALL_AUD = re.compile(r"^https://(?P<host>[^/]+)/api/v2/apps/installations/(?P<id>\d+)\.json$")
_USER_SUB = re.compile(r"/api/v2/users/(?P<id>\d+)\.json$")


def verify_signed_url(request: SidebarRequest, install: SidebarInstall) -> SidebarCaller:
    """The agent behind a signed-URL POST for ``install``'s Zendesk account, or raise."""
    token = request.form.get("token") if request.method == "POST" else None
    if not token:
        raise SidebarProofError("no Zendesk signed-URL token (form field 'token'); "
                                "the app manifest must set signedUrls: true")
    keys = install.versions("zendesk_app_public_key")
    if not keys:
        fallback = (install.settings.get("zendesk_app_public_key")
                    or install.app_config.get("ZENDESK_APP_PUBLIC_KEY"))
        keys = (str(fallback),) if fallback else ()
    if not keys:
        raise SidebarProofError(
            f"tenant {install.tenant!r} has no zendesk_app_public_key to verify with")
    claims = _claims(token, keys)
    _check_times(claims, now=install.now)
    base_url = install.base_url
    host = (urlparse(base_url).hostname or "").lower() if base_url else ""
    issuer = str(claims["iss"]).lower().removeprefix("https://").rstrip("/")
    match = _INSTALL_AUD.match(str(claims["aud"]))
    if match is None:
        raise SidebarProofError(
            f"Zendesk token audience is not an app installation: {claims['aud']}")
    if not host or issuer != host or match["host"].lower() != host:
        raise SidebarOtherTenant(f"Zendesk token is for {issuer}, not tenant {install.tenant!r}")
    installation = install.settings.get("zendesk_installation_id")
    if installation and str(installation) != match["id"]:
        raise SidebarOtherTenant(f"Zendesk token is for app installation {match['id']}, "
                                 f"not {installation}")
    sub = _USER_SUB.search(str(claims.get("sub") or ""))
    return SidebarCaller(via=SIDEBAR_PROOF, user=sub["id"] if sub else None, ticket_id=None)


def _claims(token: str, keys: tuple[str, ...]) -> dict[str, Any]:
    first: Exception | None = None
    for key in keys:
        try:
            return dict(jwt.decode(
                token, key, algorithms=["RS256"],
                # Time claims are checked apart, against the caller's clock.
                options={"require": ["exp", "iss", "aud"], "verify_aud": False,
                         "verify_exp": False, "verify_iat": False, "verify_nbf": False},
            ))
        except (jwt.InvalidTokenError, ValueError, TypeError) as err:
            first = first or err
    raise SidebarProofError(f"Zendesk token rejected: {first}") from first


def _check_times(claims: Mapping[str, Any], *, now: datetime) -> None:
    try:
        exp = datetime.fromtimestamp(float(claims["exp"]), UTC)
        nbf = claims.get("nbf")
        not_before = datetime.fromtimestamp(float(nbf), UTC) if nbf is not None else None
    except (TypeError, ValueError, OverflowError) as err:
        raise SidebarProofError("Zendesk token has malformed time claims") from err
    if now > exp + JWT_LEEWAY:
        raise SidebarProofError("Zendesk token expired: reload the app")
    if not_before is not None and now < not_before - JWT_LEEWAY:
        raise SidebarProofError("Zendesk token is not valid yet")
