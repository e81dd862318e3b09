"""LinearTracker against fake GraphQL responses (``responses``). When ../shared is there, every
document sent is validated against Linear's published schema (with its variables), and every
faked response must be exactly what that schema would produce for the query."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from adapters.connectors.base import ConnectorConfig
from adapters.connectors.linear import (
    ATTACHMENT_CREATE,
    COMMENT_CREATE,
    FIND_ISSUES,
    ISSUE_CREATE,
    ISSUE_UPDATE,
    VIEWER,
    LinearTracker,
    description_markdown,
)
from adapters.connectors.tracker import BUG_REPORT_KIND, BugReport, Tracker
from integration.errors import ConfigurationError, FatalError, RetriableError
from integration.models import Action, ActionKind
from tests.conftest import SHARED
from tests.connectors.test_jira import make_report

URL = "https://linear.test/graphql"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "linear"
SCHEMA = SHARED / "specs" / "linear" / "schema.graphql"
TEAM = "4d5e6f7a-8b9c-4d0e-9f1a-2b3c4d5e6f7a"
NOW = 1795788131.0


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def make_tracker(**settings: Any) -> LinearTracker:
    config = ConnectorConfig(tenant="demo", connector="linear", base_url=URL,
                             credentials={"api_key": "lin_api_test"},
                             settings={"team_id": TEAM, **settings})
    return LinearTracker(config=config, clock=lambda: NOW)


@pytest.fixture(scope="module")
def schema() -> Any:
    if not SCHEMA.is_file():
        return None
    from graphql import build_schema

    return build_schema(SCHEMA.read_text())


def check_exchange(schema: Any, call: Any) -> None:
    """The query and variables are valid; the faked response is what the schema would give."""
    if schema is None:
        return
    from graphql import execute_sync, parse, validate
    from graphql.execution.values import get_variable_values
    from graphql.language import OperationDefinitionNode

    body = json.loads(call.request.body)
    document = parse(body["query"])
    assert validate(schema, document) == []
    operation = document.definitions[0]
    assert isinstance(operation, OperationDefinitionNode)
    coerced = get_variable_values(schema, operation.variable_definitions or (),
                                  body.get("variables") or {})
    assert not isinstance(coerced, list), coerced  # a list of errors when invalid
    fake = json.loads(call.response.content)
    if "data" not in fake:
        return
    result = execute_sync(schema, document, root_value=fake["data"],
                          variable_values=body.get("variables"))
    assert result.errors is None, result.errors
    assert result.data == fake["data"]


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def sent(call: Any) -> Any:
    return json.loads(call.request.body)


def test_documents_are_valid_against_linear_s_schema(schema: Any) -> None:
    if schema is None:
        pytest.skip("../shared/specs/linear is absent (fresh clone): schema checks are skipped")
    from graphql import parse, validate

    for document in (FIND_ISSUES, ISSUE_CREATE, ISSUE_UPDATE, COMMENT_CREATE,
                     ATTACHMENT_CREATE, VIEWER):
        assert validate(schema, parse(document)) == []
    assert validate(schema, parse("{ viewer { nickname } }")) != []  # the check can fail


def attach_calls(mocked: Any, times: int) -> None:
    for _ in range(times):
        mocked.post(URL, json=fixture("attachment_create.json"))


def test_files_a_new_issue(mocked: Any, schema: Any) -> None:
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, json=fixture("issue_create.json"))
    attach_calls(mocked, 3)

    issue = make_tracker(label_ids=["lbl-1"]).file_or_update(make_report())

    assert (issue.key, issue.created, issue.status) == ("ENG-231", True, "Triage")
    assert issue.url.endswith("/issue/ENG-231/csv-export-fails-with-500-on-large-reports")
    by_marker, by_title, create = (sent(c) for c in mocked.calls[:3])
    # Each helpdesk ticket is attached to the new issue.
    attached = [sent(c)["variables"]["input"] for c in mocked.calls[3:]]
    assert [a["url"] for a in attached] == list(make_report().ticket_links)
    assert attached[2] == {"issueId": "9a8b7c6d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
                           "url": "https://globex-support.zendesk.com/agent/tickets/103",
                           "title": "Ticket ZD-103", "subtitle": "Hooli"}
    assert by_marker["variables"]["filter"] == {
        "team": {"id": {"eq": TEAM}},
        "state": {"type": {"nin": ["completed", "canceled"]}},
        "description": {"contains": "esc-3f2a9c1d"},
    }
    assert by_title["variables"]["filter"]["description"] == {"contains": "Filed by Escalade"}
    data = create["variables"]["input"]
    assert data["teamId"] == TEAM and data["priority"] == 1 and data["labelIds"] == ["lbl-1"]
    assert data["title"] == "CSV export fails with 500 on large reports"
    assert mocked.calls[0].request.headers["Authorization"] == "lin_api_test"
    for call in mocked.calls:
        check_exchange(schema, call)


def test_markdown_description_is_complete_and_escaped() -> None:
    text = description_markdown(make_report())
    assert text.startswith("**Severity: critical** · 3 customers affected · 3 tickets")
    assert ("- [Hooli (Enterprise, ARR $250,000, tier 3), ticket ZD-103]"
            "(https://globex-support.zendesk.com/agent/tickets/103)") in text
    assert "3. Click \\*Export\\* → CSV" in text  # customer text never turns into markup
    assert '```\nHTTP 500: {"error": "export_timeout"}\n```' in text
    assert "- 2026-11-27: 2" in text
    assert text.endswith("Filed by Escalade · fingerprint `esc-3f2a9c1d`")
    fenced = description_markdown(make_report(error_text="a ``` b"))
    assert "````\na ``` b\n````" in fenced


def test_open_issue_gets_a_comment_with_only_new_customers(mocked: Any, schema: Any) -> None:
    mocked.post(URL, json=fixture("issues_found.json"))
    mocked.post(URL, json=fixture("comment_create.json"))
    attach_calls(mocked, 1)

    issue = make_tracker().file_or_update(make_report())

    assert (issue.key, issue.created, issue.status, issue.new_customers) == (
        "ENG-214", False, "In Progress", 1)
    comment = sent(mocked.calls[1])["variables"]["input"]
    assert comment["issueId"] == "2f1c4e0a-7b7d-4c55-9a0e-5d2b7c1e9a11"
    assert "**Escalade: 1 more customer affected**" in comment["body"]
    assert "Hooli" in comment["body"] and "Globex" not in comment["body"]
    # Only the ticket not attached yet is attached.
    assert sent(mocked.calls[2])["variables"]["input"]["url"].endswith("/tickets/103")
    for call in mocked.calls:
        check_exchange(schema, call)


def test_the_title_follows_the_count_and_comments_quote_each_customers_steps(
    mocked: Any, schema: Any
) -> None:
    found = fixture("issues_found.json")
    found["data"]["issues"]["nodes"][0]["title"] = "CSV export fails with HTTP 500 (2 accounts)"
    mocked.post(URL, json=found)
    mocked.post(URL, json=fixture("issue_update.json"))
    mocked.post(URL, json=fixture("comment_create.json"))
    attach_calls(mocked, 1)
    customers = list(make_report().customers)
    customers[2] = {**customers[2], "steps": ["Open Reports", "Click *Export*: error 500"]}
    report = make_report(title="CSV export fails with HTTP 500 (3 accounts)",
                         customers=tuple(customers))

    make_tracker().file_or_update(report)

    rename = sent(mocked.calls[1])
    assert rename["variables"] == {"id": "2f1c4e0a-7b7d-4c55-9a0e-5d2b7c1e9a11",
                                   "input": {"title": "CSV export fails with HTTP 500 "
                                                      "(3 accounts)"}}
    body = sent(mocked.calls[2])["variables"]["input"]["body"]
    assert ("Hooli, in their own words (ticket ZD-103):\n> Open Reports\n"
            "> Click \\*Export\\*: error 500") in body
    for call in mocked.calls:
        check_exchange(schema, call)


def test_no_comment_when_nothing_is_new(mocked: Any) -> None:
    mocked.post(URL, json=fixture("issues_found.json"))
    report = make_report(customers=make_report().customers[:2],
                         ticket_links=make_report().ticket_links[:2])
    assert make_tracker().file_or_update(report).new_customers == 0
    assert len(mocked.calls) == 1


def test_similar_title_among_escalade_issues_is_reused(mocked: Any) -> None:
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, json=fixture("issues_found.json"))
    mocked.post(URL, json=fixture("comment_create.json"))
    attach_calls(mocked, 1)
    report = make_report(fingerprint="esc-new", title="CSV export fails with 500 on big reports")
    issue = make_tracker().file_or_update(report)
    assert issue.key == "ENG-214" and not issue.created


def test_a_retry_after_a_timed_out_create_files_nothing_twice(mocked: Any) -> None:
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, body=requests.ReadTimeout("read timed out"))  # created, answer lost
    action = Action(kind=ActionKind.ALERT, target="linear",
                    payload={"kind": BUG_REPORT_KIND, "report": make_report().to_dict()})
    with pytest.raises(RetriableError, match="ReadTimeout"):
        make_tracker().deliver("ZD-103", [action])

    landed = fixture("issues_found.json")  # the fingerprint search now finds it
    node = landed["data"]["issues"]["nodes"][0]
    node["comments"]["nodes"].append({"body": "ZD-103"})
    node["attachments"]["nodes"].append(
        {"url": "https://globex-support.zendesk.com/agent/tickets/103"})
    mocked.post(URL, json=landed)
    result = make_tracker().deliver("ZD-103", [action], uncertain=True)

    assert result.external_ref == "ENG-214"
    creates = [c for c in mocked.calls if "issueCreate" in sent(c)["query"]]
    assert len(creates) == 1  # only the attempt that timed out


def test_rate_limit_error_is_retriable_with_the_reset_hint(mocked: Any) -> None:
    reset_ms = str(int((NOW + 42) * 1000))
    mocked.post(URL, status=400, json=fixture("error_ratelimited.json"),
                headers={"X-RateLimit-Requests-Reset": reset_ms})
    with pytest.raises(RetriableError, match="Rate limit exceeded") as err:
        make_tracker().file_or_update(make_report())
    assert err.value.retry_after == pytest.approx(42.0)


def test_http_429_uses_retry_after(mocked: Any) -> None:
    mocked.post(URL, status=429, body="slow down", headers={"Retry-After": "7"})
    with pytest.raises(RetriableError) as err:
        make_tracker().test_connection()
    assert err.value.retry_after == 7.0


def test_authentication_error_is_fatal(mocked: Any) -> None:
    mocked.post(URL, status=400, json=fixture("error_authentication.json"))
    with pytest.raises(FatalError, match="Authentication required.*API key") as err:
        make_tracker().test_connection()
    assert "lin_api_test" not in str(err.value)


def test_server_error_and_network_failure_are_retriable(mocked: Any) -> None:
    mocked.post(URL, status=502, body="bad gateway")
    mocked.post(URL, body=requests.ConnectionError("reset"))
    with pytest.raises(RetriableError, match="HTTP 502"):
        make_tracker().test_connection()
    with pytest.raises(RetriableError, match="ConnectionError"):
        make_tracker().test_connection()


def test_unsuccessful_mutation_is_fatal(mocked: Any) -> None:
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, json=fixture("issues_empty.json"))
    mocked.post(URL, json={"data": {"issueCreate": {"success": False, "issue": None}}})
    with pytest.raises(FatalError, match="success=false"):
        make_tracker().file_or_update(make_report())


def test_connection_names_the_viewer(mocked: Any, schema: Any) -> None:
    mocked.post(URL, json=fixture("viewer.json"))
    tracker = make_tracker()
    assert isinstance(tracker, Tracker)
    assert tracker.test_connection().message == "Linear: connected as Escalade Bot"
    check_exchange(schema, mocked.calls[0])


def test_oauth_token_is_sent_as_bearer(mocked: Any) -> None:
    mocked.post(URL, json=fixture("viewer.json"))
    config = ConnectorConfig(tenant="demo", connector="linear", base_url=URL,
                             credentials={"access_token": "oauth-1"}, settings={"team_id": TEAM})
    LinearTracker(config=config).test_connection()
    assert mocked.calls[0].request.headers["Authorization"] == "Bearer oauth-1"


def test_default_endpoint_is_linear_s_api() -> None:
    config = ConnectorConfig(tenant="demo", connector="linear",
                             credentials={"api_key": "k"}, settings={"team_id": TEAM})
    assert LinearTracker(config=config).url == "https://api.linear.app/graphql"


@pytest.mark.parametrize(
    ("settings", "credentials", "needle"),
    [
        ({"team_id": TEAM}, {}, "api_key"),
        ({}, {"api_key": "k"}, "team_id"),
        ({"team_id": TEAM, "priorities": {"critical": 9}}, {"api_key": "k"}, "priorities"),
        ({"team_id": TEAM, "label_ids": "lbl"}, {"api_key": "k"}, "label_ids"),
        ({"team_id": TEAM, "timeout_seconds": "fast"}, {"api_key": "k"}, "timeout_seconds"),
    ],
)
def test_configuration_errors_name_the_setting(
    settings: dict[str, Any], credentials: dict[str, str], needle: str
) -> None:
    config = ConnectorConfig(tenant="demo", connector="linear", settings=settings,
                             credentials=credentials)
    with pytest.raises(ConfigurationError, match=needle):
        LinearTracker(config=config)


def test_report_priority_follows_severity() -> None:
    tracker = make_tracker()
    assert [tracker.create_input(make_report(severity=s))["priority"]
            for s in ("critical", "major", "minor")] == [1, 2, 3]
    assert "priority" not in make_tracker(priorities={}).create_input(make_report())
    assert isinstance(make_report(), BugReport)
