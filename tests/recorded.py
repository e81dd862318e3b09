"""Typed reads of what ``responses`` recorded: the requests our code sent and the answers it got.

requests types a prepared request's body, URL and headers loosely (``bytes | Iterable | None``);
these readers check the recorded value has the shape the test relies on, so a request sent
without a body or URL fails the test with a message rather than a ``TypeError``.
"""

from __future__ import annotations

import json
from typing import Any, cast

import requests
import responses


def body(request: requests.PreparedRequest) -> bytes:
    """The body a recorded request sent, as bytes (empty when it sent none)."""
    sent = request.body
    if sent is None:
        return b""
    if isinstance(sent, str):
        return sent.encode("utf-8")
    assert isinstance(sent, bytes), f"{request.method} {request.url} sent a streamed body"
    return sent


def sent_json(request: requests.PreparedRequest) -> Any:
    """The JSON body a recorded request sent."""
    return json.loads(body(request))


def url(request: requests.PreparedRequest) -> str:
    """The full URL of a recorded request."""
    assert request.url is not None, f"{request.method} request without a URL"
    return request.url


def header(request: requests.PreparedRequest, name: str) -> str:
    """One header of a recorded request, as text."""
    value = request.headers[name]
    assert isinstance(value, str), f"header {name} is {value!r}, not text"
    return value


def answer(call: responses.Call) -> requests.Response:
    """The response ``responses`` gave a recorded call (not an exception it raised)."""
    response = call.response
    assert isinstance(response, requests.Response), f"{call.request.url} got {response!r}"
    return response


def extras(request: requests.PreparedRequest) -> Any:
    """The recorded request with the attributes ``responses`` adds at run time.

    ``responses`` sets ``params`` and ``req_kwargs`` on the prepared request; its stubs do
    not declare them.
    """
    return cast(Any, request)
