"""Validate faked vendor traffic against the vendors' own API descriptions in ../shared/specs.

The descriptions are read in place (never copied into the project); every helper skips the
calling test with a reason when the folder is absent, as in a fresh clone.
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
import requests
import yaml
from openapi_core import Config, OpenAPI
from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

__all__ = ["SPECS", "openapi", "validate_exchange", "validate_request"]

SPECS = (Path(__file__).resolve().parents[2] / ".." / "shared" / "specs").resolve()


class _SpecLoader(yaml.SafeLoader):
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
