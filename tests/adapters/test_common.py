"""The pieces every helpdesk adapter shares."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import requests

from adapters.helpdesk.common import (
    BOT_MARKER,
    has_marker,
    mappings,
    number,
    retry_after,
    status_error,
    with_marker,
)
from integration.errors import FatalError, RetriableError, ValidationError


def _response(**headers: str) -> requests.Response:
    response = requests.Response()
    response.headers.update(headers)
    return response


@pytest.mark.parametrize(("status", "kind"), [(429, RetriableError), (503, RetriableError),
                                              (408, RetriableError), (409, RetriableError),
                                              (400, FatalError), (404, FatalError),
                                              (422, FatalError)])
def test_status_error(status: int, kind: type) -> None:
    assert isinstance(status_error(status, "x"), kind)


def test_a_vendor_may_narrow_what_is_retriable() -> None:
    assert isinstance(status_error(409, "x", retriable=frozenset({429})), FatalError)
    assert status_error(429, "x", wait=3.0, retriable=frozenset({429})).retry_after == 3.0


def test_retry_after_seconds_and_http_date() -> None:
    assert retry_after(_response(**{"Retry-After": "17"})) == 17.0
    now = datetime(2026, 11, 27, 10, 0, 0, tzinfo=UTC)
    date = _response(**{"Retry-After": "Fri, 27 Nov 2026 10:00:30 GMT"})
    assert retry_after(date, now=now) == 30.0
    assert retry_after(_response(**{"Retry-After": "soon"})) is None
    assert retry_after(_response()) is None


def test_marker_is_added_once_and_recognised() -> None:
    marked = with_marker("Tier 3 because ...  ")
    assert marked.endswith(BOT_MARKER) and with_marker(marked) == marked
    assert has_marker(marked + "\n") and not has_marker("Customer text")


def test_readers_name_the_bad_path() -> None:
    with pytest.raises(ValidationError, match=r"items\[1\]: expected an object"):
        mappings([{}, 3], "items")
    assert number("180,000", "arr") == 180000.0
    with pytest.raises(ValidationError, match="arr"):
        number("lots", "arr")
