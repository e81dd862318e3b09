"""A helpdesk's "test connection": one cheap authenticated call, and what it answered.

The check returns a short description of who answered (user, workspace) or raises:
``ConfigurationError`` for settings that cannot work, ``FatalError`` with the vendor's own
message when it refused (401, 403, 404), ``RetriableError`` when it could not be reached or
failed (timeouts, 429, 5xx). Nothing here retries or sleeps. (Connectors test themselves:
``Connector.test_connection``.)

The helpdesk adapters have no "ping" of their own, so the check builds the adapter (which
validates the install options and credentials), sends one GET of the vendor's "who am I"
endpoint through the adapter's own session, then lists the groups (``list_groups``) that
the matrix's group names are mapped to:

- Zendesk  ``GET /api/v2/users/me.json`` (answers 200 with an anonymous user when the
  credentials are missing, so the user id is checked too)
  https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
- Freshdesk ``GET /api/v2/agents/me`` https://developers.freshdesk.com/api/#me
- Intercom ``GET /me`` https://developers.intercom.com/docs/references/rest-api/api.intercom.io/admins/identifyadmin
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import requests

from adapters.helpdesk.base import HelpdeskConfig, HelpdeskGroup
from adapters.helpdesk.common import site_root, status_error, transport_error
from adapters.registry import build_adapter
from integration.errors import ConfigurationError, DeliveryError, FatalError, RetriableError

__all__ = ["TIMEOUT", "HelpdeskCheck", "check_helpdesk", "vendor_message"]

TIMEOUT = 10.0
INTERCOM_VERSION = "2.14"
_MAX_MESSAGE = 300


def vendor_message(response: requests.Response) -> str:
    """The vendor's own words from an error response (JSON shapes of all five vendors)."""
    try:
        data: Any = response.json()
    except ValueError:
        text = " ".join(response.text.split())
        return text[:_MAX_MESSAGE] or response.reason or ""
    parts: list[str] = []
    if isinstance(data, Mapping):
        for key in ("errorMessages", "errors"):
            value = data.get(key)
            if isinstance(value, list):
                parts += [str(e.get("message") if isinstance(e, Mapping) else e) for e in value]
            elif isinstance(value, Mapping):  # Jira: {"errors": {"field": "message"}}
                parts += [f"{k}: {v}" for k, v in value.items()]
        for key in ("message", "error", "description"):
            value = data.get(key)
            if isinstance(value, str) and value not in parts:
                parts.append(value)
    message = "; ".join(p for p in parts if p) or str(data)
    return message[:_MAX_MESSAGE]


def _get_json(
    session: requests.Session, method: str, url: str, *, vendor: str, **kwargs: Any
) -> Mapping[str, Any]:
    try:
        response = session.request(method, url, timeout=TIMEOUT, **kwargs)
    except requests.RequestException as err:
        raise transport_error(vendor, err, write=False) from err
    if not 200 <= response.status_code < 300:
        raise status_error(response.status_code,
                           f"{vendor} answered {response.status_code}: {vendor_message(response)}")
    try:
        data = response.json()
    except ValueError as err:
        raise FatalError(f"{vendor} answered {response.status_code} without JSON "
                         "(is the URL the API's?)") from err
    if not isinstance(data, Mapping):
        raise FatalError(f"{vendor} answered with unexpected JSON")
    return data


@dataclass(frozen=True, kw_only=True, slots=True)
class HelpdeskCheck:
    """What a helpdesk test learned: who answered, and the groups (teams) it lists."""

    message: str
    groups: tuple[HelpdeskGroup, ...] = ()


def check_helpdesk(config: HelpdeskConfig, *, session: requests.Session) -> HelpdeskCheck:
    """Ask the helpdesk who the credentials belong to, then list its groups (or teams)."""
    if config.helpdesk == "sandbox":
        adapter = build_adapter(config)
        return HelpdeskCheck(message="Sandbox helpdesk: runs inside Escalade, nothing to call",
                             groups=tuple(adapter.list_groups()))
    # The adapter validates the install and takes over ``session`` (zenpy sets its auth on
    # it); the calls below go through that same session.
    adapter = build_adapter(config, session=session)
    message = _who_am_i(config, session)
    try:
        groups = tuple(adapter.list_groups())
    except DeliveryError as err:
        raise listing_failed(f"{message}, but listing its {adapter.group_noun}s failed: {err}",
                             err) from err
    return HelpdeskCheck(message=message, groups=groups)


def listing_failed(message: str, err: DeliveryError) -> DeliveryError:
    """``err`` told in ``message``: retriable (with its wait) or fatal, as ``err`` was."""
    # Not ``type(err)(message)``: ServerError and Unreachable take more than a message.
    if isinstance(err, RetriableError):
        return RetriableError(message, retry_after=err.retry_after)
    return FatalError(message)


def _who_am_i(config: HelpdeskConfig, session: requests.Session) -> str:
    creds = config.credentials
    if config.helpdesk == "zendesk":
        root = site_root("zendesk", config.base_url, "https://<sub>.zendesk.com")
        data = _get_json(session, "GET", f"{root}/api/v2/users/me.json",
                         vendor="Zendesk")
        user = data.get("user") or {}
        if not isinstance(user, Mapping) or user.get("id") is None:
            raise FatalError("Zendesk answered as an anonymous user: the credentials were "
                             "not accepted")
        return f"Zendesk: signed in as {user.get('name')} ({user.get('role')})"
    if config.helpdesk == "freshdesk":
        root = site_root("freshdesk", config.base_url, "https://<domain>.freshdesk.com")
        data = _get_json(session, "GET", f"{root}/api/v2/agents/me",
                         vendor="Freshdesk", auth=(creds.get("api_key", ""), "X"))
        contact = data.get("contact") or {}
        name = contact.get("name") if isinstance(contact, Mapping) else None
        return f"Freshdesk: signed in as {name or data.get('id')}"
    if config.helpdesk == "intercom":
        from adapters.helpdesk.intercom.client import REGIONS

        region = str(config.options.get("region") or "us").lower()
        root = (site_root("intercom", config.base_url, "https://api.intercom.io")
                if config.base_url else REGIONS.get(region, REGIONS["us"]))
        data = _get_json(session, "GET", f"{root}/me", vendor="Intercom",
                         headers={"Authorization": f"Bearer {creds.get('access_token', '')}",
                                  "Accept": "application/json",
                                  "Intercom-Version": INTERCOM_VERSION})
        app = data.get("app") or {}
        workspace = app.get("name") if isinstance(app, Mapping) else None
        return (f"Intercom: signed in as {data.get('name')}"
                + (f" in workspace {workspace}" if workspace else ""))
    raise ConfigurationError(f"no connection test for helpdesk {config.helpdesk!r}")

