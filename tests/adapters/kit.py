"""What the helpdesk adapter tests share: fixtures, installs, and the vendors' API descriptions.

- ``Fixtures("zendesk").load(name)``: a vendor payload from ``tests/fixtures/<vendor>/``.
- ``Install``: how a test tenant configures a vendor; ``install.adapter(**changes)`` builds
  the adapter through the registry on a fresh ``requests.Session``, which ``responses``
  intercepts, so no test touches the network.
- ``validate_calls(helpdesk, calls)``: every request sent, and every faked answer, has the
  vendor's documented shape: its OpenAPI description in ../shared/specs (Zendesk, Intercom)
  or the schemas written from Freshdesk's reference (``freshdesk_schemas``).

The descriptions are read in place (never copied into the project); every check skips the
calling test with a reason when the folder is absent, as in a fresh clone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import responses
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

from adapters.helpdesk.base import HelpdeskAdapter, HelpdeskConfig
from adapters.registry import build_adapter
from integration.models import Action, ActionKind
from tests import recorded
from tests.adapters import freshdesk_schemas

__all__ = [
    "API_DESCRIPTIONS",
    "FIXTURES",
    "SPECS",
    "Fixtures",
    "Install",
    "act",
    "openapi",
    "refuse_sleep",
    "sent",
    "validate_calls",
    "validate_exchange",
    "validate_request",
]

SPECS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "specs").resolve()
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
# Each helpdesk's published API description (under SPECS), and the suffix its paths are
# listed without (Zendesk serves /tickets/1 and /tickets/1.json alike).
API_DESCRIPTIONS: Mapping[str, tuple[str, str]] = {
    "zendesk": ("zendesk/zendesk-support-oas.yaml", ".json"),
    "intercom": ("intercom/openapi/2.14/api.intercom.io.yaml", ""),
}


class _SpecLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no type hints
    """PyYAML safe loader without the ``=`` (value) and timestamp implicit resolvers."""


# Zendesk's oas.yaml has `change: =`, which the stock safe loader refuses.
_SpecLoader.yaml_implicit_resolvers = {
    first: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:value", "tag:yaml.org,2002:timestamp")
    ]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}


def _require(relative: str) -> Path:
    path = SPECS / relative
    if not path.is_file():
        pytest.skip(f"vendor API description {relative} not found under {SPECS}")
    return path


@cache
def _load(relative: str) -> OpenAPI:
    path = _require(relative)
    text = path.read_text(encoding="utf-8")
    data: Any = json.loads(text) if path.suffix == ".json" else yaml.load(text, _SpecLoader)
    # Spec validation off: unrelated schema errors in the vendor files would stop loading.
    return OpenAPI.from_dict(data, config=Config(spec_validator_cls=None))


def openapi(relative: str) -> OpenAPI:
    """The OpenAPI description at ``../shared/specs/<relative>``, or skip the test."""
    _require(relative)
    return _load(relative)


def _without_suffix(request: requests.PreparedRequest, suffix: str) -> requests.PreparedRequest:
    # Zendesk serves /tickets/1 and /tickets/1.json alike; its description lists the former.
    if not suffix:
        return request
    copy = request.copy()
    parts = urlsplit(str(copy.url))
    path = parts.path.removesuffix(suffix)
    copy.url = urlunsplit((parts.scheme, parts.netloc, path, parts.query, parts.fragment))
    return copy


def validate_request(
    api: OpenAPI, request: requests.PreparedRequest, *, strip_suffix: str = ""
) -> None:
    """Raise unless the request matches an operation of ``api`` and its body schema."""
    api.validate_request(RequestsOpenAPIRequest(_without_suffix(request, strip_suffix)))


def validate_exchange(
    api: OpenAPI,
    request: requests.PreparedRequest,
    response: requests.Response,
    *,
    strip_suffix: str = "",
) -> None:
    """Raise unless both the request and the faked response match ``api``."""
    prepared = _without_suffix(request, strip_suffix)
    api.validate_request(RequestsOpenAPIRequest(prepared))
    api.validate_response(RequestsOpenAPIRequest(prepared), RequestsOpenAPIResponse(response))


def validate_calls(helpdesk: str, calls: Sequence[responses.Call]) -> None:
    """Raise unless every request, and every faked answer that came, is as the vendor documents.

    A call that got no answer (the transport raised) has its request checked alone.
    """
    if helpdesk == "freshdesk":
        for call in calls:
            answered = isinstance(call.response, requests.Response)
            freshdesk_schemas.validate_call(
                call if answered else responses.Call(call.request, None))
        return
    relative, suffix = API_DESCRIPTIONS[helpdesk]
    api = openapi(relative)
    for call in calls:
        if isinstance(call.response, requests.Response):
            validate_exchange(api, call.request, call.response, strip_suffix=suffix)
        else:
            validate_request(api, call.request, strip_suffix=suffix)


# --- builders ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Fixtures:
    """One vendor's payload files under ``tests/fixtures/<vendor>/``."""

    vendor: str

    def load(self, name: str) -> Any:
        """One fixture file, parsed."""
        return json.loads(self.raw(name).decode("utf-8"))

    def raw(self, name: str) -> bytes:
        """One fixture file as the bytes a webhook would carry."""
        return (FIXTURES / self.vendor / name).read_bytes()


def act(kind: ActionKind, target: str = "helpdesk", **payload: Any) -> Action:
    """A shorthand for actions."""
    return Action(kind=kind, target=target, payload=payload)


_UNSET: Any = object()


@dataclass(frozen=True, kw_only=True)
class Install:
    """How a test tenant (``acme``) configures one helpdesk; changes are per test."""

    helpdesk: str
    base_url: str | None
    credentials: Mapping[str, str]
    webhook_secret: str
    options: Mapping[str, Any] = field(default_factory=dict)
    tenant: str = "acme"

    def config(self, *, base_url: str | None = _UNSET,
               credentials: Mapping[str, str] | None = None, **options: Any) -> HelpdeskConfig:
        """The connection, with ``options`` merged over the install's."""
        return HelpdeskConfig(
            tenant=self.tenant, helpdesk=self.helpdesk,
            base_url=self.base_url if base_url is _UNSET else base_url,
            credentials=dict(credentials or self.credentials),
            webhook_secret=self.webhook_secret, options={**self.options, **options},
        )

    def adapter(self, *, session: requests.Session | None = None, timeout: float = 3.0,
                base_url: str | None = _UNSET, credentials: Mapping[str, str] | None = None,
                **options: Any) -> Any:
        """The registered adapter on a fresh session (``responses`` answers for the vendor)."""
        config = self.config(base_url=base_url, credentials=credentials, **options)
        adapter: HelpdeskAdapter = build_adapter(
            config, session=session if session is not None else requests.Session(),
            timeout=timeout)
        return adapter


def sent(calls: Sequence[responses.Call]) -> list[tuple[str, str, Any]]:
    """(method, path, JSON body) of each request."""
    out = []
    for call in calls:
        body = recorded.sent_json(call.request) if call.request.body else None
        assert call.request.method is not None, f"{call.request.url} sent without a method"
        out.append((call.request.method, call.request.path_url.split("?")[0], body))
    return out


def refuse_sleep(monkeypatch: pytest.MonkeyPatch, target: str = "time.sleep") -> None:
    """Fail the test if anything waits out a rate limit inside a request."""

    def refuse(seconds: float) -> None:
        raise AssertionError(f"slept {seconds}s inside a request")

    monkeypatch.setattr(target, refuse)
