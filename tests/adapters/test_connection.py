"""A helpdesk's connection test: who the credentials belong to, then its groups."""

from __future__ import annotations

import pytest
import requests
import responses

from adapters.helpdesk.base import HelpdeskConfig
from adapters.registry import build_adapter
from integration.errors import FatalError, RetriableError

ZENDESK = "https://acme.zendesk.com/api/v2"
CONFIG = HelpdeskConfig(tenant="acme", helpdesk="zendesk", base_url="https://acme.zendesk.com",
                        credentials={"email": "bot@acme.example", "api_token": "t0ken"})
ME = {"user": {"id": 9, "name": "Escalade Bot", "role": "admin"}}


@responses.activate
@pytest.mark.parametrize(("failure", "expected"), [
    ({"status": 503, "json": {"error": "Unavailable"}}, RetriableError),
    ({"body": requests.ConnectionError("connection refused")}, RetriableError),
    ({"status": 403, "json": {"error": "Forbidden"}}, FatalError),
])
def test_listing_groups_failing_after_sign_in_says_both(failure: dict[str, object],
                                                        expected: type[Exception]) -> None:
    responses.get(f"{ZENDESK}/users/me.json", json=ME)
    responses.get(f"{ZENDESK}/groups.json", **failure)
    with pytest.raises(expected, match="signed in as Escalade Bot .*, but listing its groups "
                                       "failed: "):
        build_adapter(CONFIG, session=requests.Session()).test_connection()
