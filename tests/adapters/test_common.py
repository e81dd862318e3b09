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


def test_install_options_are_checked_with_the_vendor_named() -> None:
    from adapters.helpdesk.common import option_id, option_id_map, site_root
    from integration.errors import ConfigurationError

    assert site_root("zendesk", "https://acme.zendesk.com/", "x") == "https://acme.zendesk.com"
    with pytest.raises(ConfigurationError, match="freshdesk: base_url is required"):
        site_root("freshdesk", None, "https://<domain>.freshdesk.com")
    with pytest.raises(ConfigurationError, match="base_url is not a URL"):
        site_root("intercom", "acme.example", "x")
    assert option_id("zendesk", 42, "bot_user_id") == "42" and option_id("x", "", "y") is None
    with pytest.raises(ConfigurationError, match="zendesk: options.bot_user_id must be a numeric"):
        option_id("zendesk", "bot", "bot_user_id")
    assert option_id_map("intercom", {"escalations": 7}, "team_ids") == {"escalations": "7"}
    with pytest.raises(ConfigurationError, match="options.group_ids.vip has no id"):
        option_id_map("freshdesk", {"vip": None}, "group_ids")
    with pytest.raises(ConfigurationError, match="must map names to ids"):
        option_id_map("freshdesk", [1, 2], "group_ids")
