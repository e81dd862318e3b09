"""Each helpdesk lists its groups (Intercom: teams), validated against the vendor's API.

The requests and the faked answers are checked against the published descriptions in
``../shared/specs`` (Zendesk, Intercom) or the small schemas written from Freshdesk's docs.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers

from adapters.helpdesk.base import HelpdeskConfig, HelpdeskGroup
from adapters.helpdesk.freshdesk import FreshdeskAdapter
from adapters.helpdesk.intercom import IntercomAdapter
from adapters.helpdesk.sandbox import DEMO_GROUPS, SandboxAdapter
from adapters.helpdesk.zendesk import ZendeskAdapter
from adapters.registry import adapter_class
from integration.errors import FatalError, RetriableError
from integration.matrix import default_matrix
from tests import recorded
from tests.adapters import freshdesk_schemas, kit

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


def load(path: str) -> Any:
    return json.loads((FIXTURES / path).read_text(encoding="utf-8"))


def _config(helpdesk: str, base_url: str | None, **credentials: str) -> HelpdeskConfig:
    return HelpdeskConfig(tenant="acme", helpdesk=helpdesk, base_url=base_url,
                          credentials=credentials, webhook_secret="w" * 32)


@responses.activate
def test_zendesk_lists_groups_across_cursor_pages_without_deleted_ones() -> None:
    api = "https://acme.zendesk.com/api/v2"
    responses.get(f"{api}/groups.json", json=load("zendesk/groups_page1.json"),
                  match=[matchers.query_param_matcher({"page[size]": "100",
                                                       "exclude_deleted": "true"})])
    responses.get(f"{api}/groups.json", json=load("zendesk/groups_page2.json"),
                  match=[matchers.query_param_matcher({"page[after]": "g2", "page[size]": "100",
                                                       "exclude_deleted": "true"})])
    adapter = ZendeskAdapter(config=_config("zendesk", "https://acme.zendesk.com",
                                            email="bot@acme.example", api_token="t0ken"),
                             session=requests.Session())

    groups = adapter.list_groups()

    assert groups == [HelpdeskGroup(id="360001", name="Support"),
                      HelpdeskGroup(id="360002", name="Support Tier 2"),
                      HelpdeskGroup(id="360003", name="Escalations")]
    for call in responses.calls:
        _validate_zendesk_groups(call)


def _validate_zendesk_groups(call: responses.Call) -> None:
    # openapi-core cannot read this operation's `page` parameter (a deepObject over oneOf)
    # at all, so the query's names are checked against the declared ones and the answer
    # against the response schema in full.
    from urllib.parse import parse_qsl, urlsplit

    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    oas = kit.openapi("zendesk/zendesk-support-oas.yaml")
    declared = set()
    for parameter in oas.spec / "paths" / "/api/v2/groups" / "get" / "parameters":
        with parameter.open() as found:
            declared.add(found["name"])
    url = urlsplit(str(call.request.url))
    assert url.path == "/api/v2/groups.json" and call.request.method == "GET"
    sent = {name.split("[")[0] for name, _ in parse_qsl(url.query)}
    assert sent <= declared, sent - declared
    request = call.request.copy()
    request.url = str(call.request.url).replace("/groups.json", "/groups")
    oas.validate_response(RequestsOpenAPIRequest(request),
                          RequestsOpenAPIResponse(recorded.answer(call)))


@responses.activate
def test_freshdesk_lists_groups_following_the_link_header() -> None:
    api = "https://acme.freshdesk.com/api/v2"
    responses.get(f"{api}/groups", json=load("freshdesk/groups.json"),
                  headers={"Link": f'<{api}/groups?per_page=100&page=2>; rel="next"'},
                  match=[matchers.query_param_matcher({"per_page": "100", "page": "1"})])
    responses.get(f"{api}/groups", json=load("freshdesk/groups_page2.json"),
                  match=[matchers.query_param_matcher({"per_page": "100", "page": "2"})])
    adapter = FreshdeskAdapter(config=_config("freshdesk", "https://acme.freshdesk.com",
                                              api_key="fd-key"), session=requests.Session())

    groups = adapter.list_groups()

    assert [(g.id, g.name) for g in groups] == [
        ("5001", "Support"), ("5002", "Support Tier 2"), ("5003", "Escalations")]
    assert recorded.header(responses.calls[0].request, "Authorization").startswith("Basic ")
    for call in responses.calls:
        freshdesk_schemas.validate_call(call)


@responses.activate
def test_intercom_lists_teams() -> None:
    responses.get("https://api.intercom.io/teams", json=load("intercom/teams.json"))
    adapter = IntercomAdapter(config=_config("intercom", None, access_token="ic-token"),
                              session=requests.Session())

    groups = adapter.list_groups()

    assert groups == [HelpdeskGroup(id="814865", name="Support"),
                      HelpdeskGroup(id="814866", name="Escalations")]
    sent = responses.calls[0].request
    assert sent.headers["Authorization"] == "Bearer ic-token"
    assert sent.headers["Intercom-Version"] == "2.14"
    oas = kit.openapi("intercom/openapi/2.14/api.intercom.io.yaml")
    kit.validate_exchange(oas, sent, recorded.answer(responses.calls[0]))


@responses.activate
@pytest.mark.parametrize(("status", "error"), [(401, FatalError), (503, RetriableError)])
def test_a_refused_listing_is_a_typed_error(status: int, error: type[Exception]) -> None:
    responses.get("https://api.intercom.io/teams", status=status, json={
        "type": "error.list", "errors": [{"code": "unauthorized",
                                          "message": "Access Token Invalid"}]})
    adapter = IntercomAdapter(config=_config("intercom", None, access_token="bad"),
                              session=requests.Session())
    with pytest.raises(error):
        adapter.list_groups()


def test_sandbox_has_fixed_demo_groups_covering_the_default_matrix() -> None:
    adapter = SandboxAdapter(config=_config("sandbox", None))
    names = {g.name for g in adapter.list_groups()}
    matrix = default_matrix()
    used = {matrix.tier_settings(t).actions.group for t in matrix.settings} - {None}
    assert used and used <= names
    assert adapter.list_groups() == list(DEMO_GROUPS)


def test_each_helpdesk_names_the_option_that_maps_its_groups() -> None:
    assert [adapter_class(h).group_option for h in ("zendesk", "freshdesk", "intercom",
                                                     "sandbox")] == [
        "group_ids", "group_ids", "team_ids", None]
    assert adapter_class("intercom").group_noun == "team"
