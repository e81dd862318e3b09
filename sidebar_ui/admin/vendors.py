""""Test connection": one cheap authenticated call per vendor, and what it answered.

Each check returns a short description of who answered (workspace, user) or raises:
``ConfigurationError`` for settings that cannot work, ``FatalError`` with the vendor's own
message when it refused (401, 403, 404), ``RetriableError`` when it could not be reached or
failed (timeouts, 429, 5xx). Nothing here retries or sleeps.

The helpdesk adapters have no "ping" of their own, so the helpdesk check builds the adapter
(which validates the install options and credentials) and sends one GET of the vendor's
"who am I" endpoint through the adapter's own session:

- Zendesk  ``GET /api/v2/users/me.json`` (answers 200 with an anonymous user when the
  credentials are missing, so the user id is checked too)
  https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self
- Freshdesk ``GET /api/v2/agents/me`` https://developers.freshdesk.com/api/#me
- Intercom ``GET /me`` https://developers.intercom.com/docs/references/rest-api/api.intercom.io/admins/identifyadmin
- Jira     ``GET /rest/api/3/myself`` https://developer.atlassian.com/cloud/jira/platform/rest/v3/api-group-myself/
- Linear   GraphQL ``{ viewer { id name } }`` https://developers.linear.app/docs/graphql/working-with-the-graphql-api
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import requests

from adapters.helpdesk.base import HelpdeskConfig
from adapters.helpdesk.common import site_root, status_error
from adapters.registry import build_adapter
from integration.errors import ConfigurationError, FatalError, RetriableError

__all__ = [
    "LINEAR_API",
    "TIMEOUT",
    "check_helpdesk",
    "check_jira",
    "check_linear",
    "vendor_message",
]

TIMEOUT = 10.0
LINEAR_API = "https://api.linear.app"
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
        raise RetriableError(f"{vendor} is unreachable: {type(err).__name__}") from err
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


def check_helpdesk(config: HelpdeskConfig, *, session: requests.Session) -> str:
    """Build the tenant's adapter and ask the helpdesk who the credentials belong to."""
    if config.helpdesk == "sandbox":
        return "Sandbox helpdesk: runs inside Escalade, nothing to call"
    # The adapter validates the install and takes over ``session`` (zenpy sets its auth on
    # it); the call below goes through that same session.
    build_adapter(config, session=session)
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


def check_jira(settings: Mapping[str, Any], secrets: Mapping[str, str], *,
               session: requests.Session) -> str:
    """``GET /rest/api/3/myself`` with the e-mail and API token (Basic auth)."""
    site = str(settings.get("base_url") or settings.get("site_url") or "")
    email = str(settings.get("email") or "")
    token = secrets.get("api_token", "")
    if not site or not email or not token:
        raise ConfigurationError("Jira needs the site URL, the account e-mail and an API token")
    root = site_root("jira", site, "https://<site>.atlassian.net")
    data = _get_json(session, "GET", f"{root}/rest/api/3/myself", vendor="Jira",
                     auth=(email, token), headers={"Accept": "application/json"})
    who = data.get("displayName") or data.get("accountId")
    return f"Jira: signed in as {who}" + (
        f" ({data['emailAddress']})" if data.get("emailAddress") else "")


def check_linear(settings: Mapping[str, Any], secrets: Mapping[str, str], *,
                 session: requests.Session) -> str:
    """One GraphQL query for the API key's user (``viewer``)."""
    key = secrets.get("api_key", "")
    if not key:
        raise ConfigurationError("Linear needs an API key")
    root = site_root("linear", str(settings.get("base_url") or LINEAR_API), LINEAR_API)
    # Personal API keys go in the header as they are; OAuth tokens need "Bearer".
    auth = key if key.startswith("lin_api_") else f"Bearer {key}"
    data = _get_json(session, "POST", f"{root}/graphql", vendor="Linear",
                     json={"query": "{ viewer { id name } }"},
                     headers={"Authorization": auth, "Content-Type": "application/json"})
    errors = data.get("errors")
    if errors:
        # GraphQL reports some failures with 200 and an "errors" list.
        messages = [str(e.get("message")) for e in errors if isinstance(e, Mapping)]
        raise FatalError(f"Linear refused: {'; '.join(messages) or errors}")
    viewer = (data.get("data") or {}).get("viewer") or {}
    if not isinstance(viewer, Mapping) or not viewer.get("id"):
        raise FatalError("Linear answered without a viewer: the key was not accepted")
    return f"Linear: signed in as {viewer.get('name')}"
