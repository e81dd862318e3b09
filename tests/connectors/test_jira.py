"""JiraTracker against fake Jira Cloud responses (``responses``); every request body and every
faked response is checked against Atlassian's published OpenAPI file when ../shared is there,
and every ADF document against ADF's structural rules always."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import responses

from adapters.connectors.base import ConnectorConfig
from adapters.connectors.jira import adf
from adapters.connectors.jira.client import JiraTracker, escape_jql, text_query
from adapters.connectors.tracker import BUG_REPORT_KIND, BugReport, Tracker
from integration.errors import ConfigurationError, FatalError, RetriableError, ValidationError
from integration.models import Action, ActionKind
from tests.conftest import SHARED

SITE = "https://acme-test.atlassian.net"
API = f"{SITE}/rest/api/3"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "jira"
SPEC = SHARED / "specs" / "jira" / "swagger-v3.v3.json"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def make_report(**overrides: Any) -> BugReport:
    values: dict[str, Any] = {
        "fingerprint": "esc-3f2a9c1d",
        "title": "CSV export fails with 500 on large reports",
        "summary": "Exporting a report with more than 10k rows to CSV fails with an error.",
        "steps": ("Open Reports", "Pick a report with 12,000 rows", "Click *Export* → CSV"),
        "environment": ("Chrome 131 on macOS", "EU region"),
        "error_text": 'HTTP 500: {"error": "export_timeout"}',
        "pages": ("https://app.acme.example/reports/123",),
        "customers": (
            {"name": "Globex", "plan": "Enterprise", "arr": 120000, "tier": 3,
             "ticket_key": "ZD-101",
             "ticket_url": "https://globex-support.zendesk.com/agent/tickets/101"},
            {"name": "Initech", "plan": "Pro", "arr": 30000, "tier": 2, "ticket_key": "ZD-102",
             "ticket_url": "https://globex-support.zendesk.com/agent/tickets/102"},
            {"name": "Hooli", "plan": "Enterprise", "arr": 250000, "tier": 3,
             "ticket_key": "ZD-103",
             "ticket_url": "https://globex-support.zendesk.com/agent/tickets/103"},
        ),
        "frequency": {"2026-11-26": 1, "2026-11-27": 2},
        "severity": "critical",
        "ticket_links": tuple(f"https://globex-support.zendesk.com/agent/tickets/{n}"
                              for n in (101, 102, 103)),
    }
    values.update(overrides)
    return BugReport(**values)


def make_tracker(**settings: Any) -> JiraTracker:
    config = ConnectorConfig(
        tenant="demo", connector="jira", base_url=SITE,
        credentials={"email": "bot@acme.example", "api_token": "tok-123"},
        settings={"project": "PAY", **settings},
    )
    return JiraTracker(config=config)


# --- checkers -------------------------------------------------------------------------------

_INLINE = {"text", "hardBreak"}
_BLOCK_CHILDREN = {
    "doc": {"paragraph", "heading", "bulletList", "orderedList", "codeBlock", "blockquote"},
    "blockquote": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "bulletList": {"listItem"},
    "orderedList": {"listItem"},
    "listItem": {"paragraph", "bulletList", "orderedList", "codeBlock"},
    "paragraph": _INLINE,
    "heading": _INLINE,
    "codeBlock": {"text"},
}


def check_adf(node: Any, parent: str | None = None) -> None:
    """ADF's structural rules (developer.atlassian.com .../apis/document/structure/)."""
    assert isinstance(node, dict), node
    kind = node["type"]
    if parent is None:
        assert kind == "doc" and node["version"] == 1
    else:
        assert kind in _BLOCK_CHILDREN[parent], f"{kind} inside {parent}"
    if kind == "text":
        assert isinstance(node["text"], str) and node["text"], "empty text node"
        for mark in node.get("marks", ()):
            assert parent != "codeBlock", "codeBlock text takes no marks"
            assert mark["type"] in {"strong", "em", "code", "link"}
            if mark["type"] == "link":
                assert mark["attrs"]["href"].startswith("https://")
        return
    if kind == "heading":
        assert 1 <= node["attrs"]["level"] <= 6
    content = node.get("content", [])
    if kind in {"doc", "bulletList", "orderedList", "listItem", "blockquote"}:
        assert content, f"{kind} must not be empty"
    for child in content:
        check_adf(child, kind)


@pytest.fixture(scope="module")
def openapi() -> Any:
    if not SPEC.is_file():
        return None
    from openapi_core import Config, OpenAPI

    spec = json.loads(SPEC.read_text())
    spec["servers"] = [{"url": SITE}]  # the file's server is the literal your-domain URL
    # Jira's timestamps (2021-01-17T12:34:00.000+0000) are not strict RFC 3339.
    config = Config(spec_validator_cls=None,
                    extra_format_validators={"date-time": lambda value: isinstance(value, str)})
    return OpenAPI.from_dict(spec, config=config)


def check_calls(openapi: Any, calls: Any) -> None:
    """Every request and faked response against Jira's OpenAPI description."""
    if openapi is None:
        return
    from openapi_core.contrib.requests import RequestsOpenAPIRequest, RequestsOpenAPIResponse

    for call in calls:
        request = RequestsOpenAPIRequest(call.request)
        openapi.validate_request(request)
        if call.response.status_code == 204:
            continue  # the spec gives 204 an (empty) JSON schema; Jira sends no body
        openapi.validate_response(request, RequestsOpenAPIResponse(call.response))


def sent(call: Any) -> Any:
    return json.loads(call.request.body)


@pytest.fixture
def mocked() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=True) as rsps:
        yield rsps


def test_spec_check_is_live_or_skipped(openapi: Any) -> None:
    if openapi is None:
        pytest.skip("../shared/specs/jira is absent (fresh clone): spec checks are skipped")
    from openapi_core.contrib.requests import RequestsOpenAPIRequest

    bad = requests.Request("POST", f"{API}/search/jql", json={"jql": "x", "expand": None},
                           auth=("a", "b")).prepare()
    with pytest.raises(Exception, match="(?i)not valid|nullable"):
        openapi.validate_request(RequestsOpenAPIRequest(bad))


# --- filing ---------------------------------------------------------------------------------


def link_calls(mocked: Any, key: str, times: int) -> None:
    for _ in range(times):
        mocked.post(f"{API}/issue/{key}/remotelink", json=fixture("remotelink_created.json"),
                    status=201)


def test_files_a_new_issue_with_an_adf_description(mocked: Any, openapi: Any) -> None:
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/issue", json=fixture("issue_created.json"), status=201)
    link_calls(mocked, "PAY-57", 3)

    issue = make_tracker().file_or_update(make_report())

    assert issue.key == "PAY-57" and issue.created
    assert issue.url == f"{SITE}/browse/PAY-57"
    by_label, by_title, create = mocked.calls[:3]
    assert sent(by_label)["jql"] == ('project = "PAY" AND statusCategory != Done AND '
                                     'labels = "esc-3f2a9c1d" ORDER BY created ASC')
    assert 'labels = "escalade"' in sent(by_title)["jql"]
    assert ('AND (summary ~ "reports" OR summary ~ "export" OR summary ~ "fails" OR '
            'summary ~ "large" OR summary ~ "500" OR summary ~ "csv")') in sent(by_title)["jql"]
    fields = sent(create)["fields"]
    assert fields["project"] == {"key": "PAY"} and fields["issuetype"] == {"name": "Bug"}
    assert fields["labels"] == ["escalade", "esc-3f2a9c1d"]
    assert fields["priority"] == {"name": "Highest"}
    description = fields["description"]
    check_adf(description)
    kinds = [block["type"] for block in description["content"]]
    assert kinds.count("bulletList") >= 4 and "orderedList" in kinds and "codeBlock" in kinds
    code = next(b for b in description["content"] if b["type"] == "codeBlock")
    assert code["content"][0]["text"] == 'HTTP 500: {"error": "export_timeout"}'
    steps = next(b for b in description["content"] if b["type"] == "orderedList")
    assert [i["content"][0]["content"][0]["text"] for i in steps["content"]] == list(
        make_report().steps)
    links = json.dumps(description)
    assert "Hooli (Enterprise, ARR $250,000, tier 3), ticket ZD-103" in links
    assert "https://globex-support.zendesk.com/agent/tickets/103" in links
    assert "Escalade fingerprint: esc-3f2a9c1d" in links
    # Every helpdesk ticket is linked on the issue, once per ticket (a stable globalId).
    remote = [sent(c) for c in mocked.calls[3:]]
    assert [r["object"]["url"] for r in remote] == list(make_report().ticket_links)
    assert remote[2]["object"] == {"url": "https://globex-support.zendesk.com/agent/tickets/103",
                                   "title": "Ticket ZD-103", "summary": "Hooli"}
    assert len({r["globalId"] for r in remote}) == 3
    check_calls(openapi, mocked.calls)


def test_open_issue_with_the_fingerprint_gets_a_comment_with_only_new_customers(
    mocked: Any, openapi: Any
) -> None:
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_found.json"))
    mocked.post(f"{API}/issue/PAY-42/comment", json=fixture("comment_created.json"), status=201)
    link_calls(mocked, "PAY-42", 1)

    issue = make_tracker().file_or_update(make_report())

    assert (issue.key, issue.created, issue.status, issue.new_customers) == (
        "PAY-42", False, "In Progress", 1)
    body = sent(mocked.calls[1])["body"]
    check_adf(body)
    text = json.dumps(body)
    assert "1 more customer affected" in text and "3 customers, 3 tickets in total" in text
    assert "Hooli" in text and "Globex" not in text and "Initech" not in text
    # Only the ticket the issue does not mention yet is linked.
    assert sent(mocked.calls[2])["object"]["url"].endswith("/tickets/103")
    check_calls(openapi, mocked.calls)


def test_nothing_is_written_when_every_customer_is_already_mentioned(mocked: Any) -> None:
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_found.json"))
    report = make_report(customers=make_report().customers[:2],
                         ticket_links=make_report().ticket_links[:2])

    issue = make_tracker().file_or_update(report)

    assert issue.key == "PAY-42" and issue.new_customers == 0
    assert len(mocked.calls) == 1


def test_similar_title_match_is_labelled_and_commented(mocked: Any, openapi: Any) -> None:
    found = fixture("search_jql_found.json")
    found["issues"][0]["fields"]["labels"] = ["escalade"]
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/search/jql", json=found)
    mocked.put(f"{API}/issue/PAY-42", status=204)
    mocked.post(f"{API}/issue/PAY-42/comment", json=fixture("comment_created.json"), status=201)
    link_calls(mocked, "PAY-42", 1)

    issue = make_tracker().file_or_update(
        make_report(fingerprint="esc-77aa00bb", title="CSV export fails with 500 on big reports"))

    assert issue.key == "PAY-42" and not issue.created
    assert sent(mocked.calls[2]) == {"update": {"labels": [{"add": "esc-77aa00bb"}]}}
    check_calls(openapi, mocked.calls)


def test_dissimilar_title_is_not_reused(mocked: Any) -> None:
    found = fixture("search_jql_found.json")
    found["issues"][0]["fields"]["summary"] = "Login page reports slow after deploy"
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/search/jql", json=found)
    mocked.post(f"{API}/issue", json=fixture("issue_created.json"), status=201)
    link_calls(mocked, "PAY-57", 3)

    assert make_tracker().file_or_update(make_report(fingerprint="esc-9")).created


def test_empty_priority_map_sends_no_priority(mocked: Any) -> None:
    tracker = make_tracker(priorities={}, labels=["support"], issue_type="Defect")
    fields = tracker.create_fields(make_report(severity="minor"))
    assert "priority" not in fields
    assert fields["labels"] == ["escalade", "support", "esc-3f2a9c1d"]
    assert fields["issuetype"] == {"name": "Defect"}


def test_jql_quoting_keeps_lucene_and_quotes_out() -> None:
    assert escape_jql('say "hi" \\ now') == '"say \\"hi\\" \\\\ now"'
    assert text_query('Export "CSV" fails: (500) \\ error*', terms=3) == (
        '(summary ~ "export" OR summary ~ "error" OR summary ~ "fails")')
    assert text_query("on it, to be") is None


def test_the_title_follows_the_count_and_comments_quote_each_customers_steps(
    mocked: Any, openapi: Any
) -> None:
    found = fixture("search_jql_found.json")
    found["issues"][0]["fields"]["summary"] = (
        "Checkout fails with HTTP 500 'payment provider timeout' (2 accounts)")
    mocked.post(f"{API}/search/jql", json=found)
    mocked.put(f"{API}/issue/PAY-42", status=204)
    mocked.post(f"{API}/issue/PAY-42/comment", json=fixture("comment_created.json"), status=201)
    link_calls(mocked, "PAY-42", 1)
    customers = list(make_report().customers)
    customers[2] = {**customers[2], "steps": ["Add two items to the cart",
                                              "Click Pay: it spins, then error 500"]}
    report = make_report(title="Checkout fails with HTTP 500 'payment provider timeout' "
                               "(3 accounts)", customers=tuple(customers))

    make_tracker().file_or_update(report)

    assert sent(mocked.calls[1]) == {"fields": {
        "summary": "Checkout fails with HTTP 500 'payment provider timeout' (3 accounts)"}}
    comment = sent(mocked.calls[2])["body"]
    check_adf(comment)
    quote = next(b for b in comment["content"] if b["type"] == "blockquote")
    assert [p["content"][0]["text"] for p in quote["content"]] == [
        "Add two items to the cart", "Click Pay: it spins, then error 500"]
    assert "Hooli, in their own words (ticket ZD-103):" in json.dumps(comment)
    check_calls(openapi, mocked.calls)


def test_a_title_someone_edited_is_left_alone(mocked: Any) -> None:
    found = fixture("search_jql_found.json")  # "CSV export fails with 500 on large reports"
    mocked.post(f"{API}/search/jql", json=found)
    report = make_report(title="CSV export fails with HTTP 500 (2 accounts)",
                         customers=make_report().customers[:2],
                         ticket_links=make_report().ticket_links[:2])

    make_tracker().file_or_update(report)

    assert [c.request.method for c in mocked.calls] == ["POST"]  # the search only


def test_a_retry_after_a_timed_out_create_files_nothing_twice(mocked: Any) -> None:
    # The first attempt's create reached Jira, but the answer never came back.
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/issue", body=requests.ReadTimeout("read timed out"))
    action = Action(kind=ActionKind.ALERT, target="jira",
                    payload={"kind": BUG_REPORT_KIND, "report": make_report().to_dict()})
    with pytest.raises(RetriableError, match="ReadTimeout"):
        make_tracker().deliver("ZD-103", [action])

    # The redelivery looks the fingerprint up first and finds the issue that landed.
    landed = fixture("search_jql_found.json")
    landed["issues"][0]["fields"]["comment"]["comments"][0]["body"]["content"].append(
        {"type": "paragraph", "content": [{"type": "text", "text": "ZD-103",
         "marks": [{"type": "link", "attrs": {
             "href": "https://globex-support.zendesk.com/agent/tickets/103"}}]}]})
    mocked.post(f"{API}/search/jql", json=landed)
    result = make_tracker().deliver("ZD-103", [action], uncertain=True)

    assert result.external_ref == "PAY-42"
    creates = [c for c in mocked.calls if c.request.url == f"{API}/issue"]
    assert len(creates) == 1  # only the attempt that timed out


# --- errors ---------------------------------------------------------------------------------


def test_rate_limit_is_retriable_with_jira_s_hint_and_not_retried(mocked: Any) -> None:
    mocked.post(f"{API}/search/jql", status=429, headers={"Retry-After": "30"},
                json={"errorMessages": ["Rate limit exceeded."]})
    with pytest.raises(RetriableError) as err:
        make_tracker().file_or_update(make_report())
    assert err.value.retry_after == 30.0
    assert len(mocked.calls) == 1


@pytest.mark.parametrize("status", [500, 503])
def test_server_errors_are_retriable(mocked: Any, status: int) -> None:
    mocked.post(f"{API}/search/jql", status=status, body="upstream error")
    with pytest.raises(RetriableError, match=f"HTTP {status}"):
        make_tracker().file_or_update(make_report())


def test_validation_error_is_fatal_with_jira_s_messages(mocked: Any) -> None:
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_empty.json"))
    mocked.post(f"{API}/issue", json=fixture("error_create_400.json"), status=400)
    with pytest.raises(FatalError, match="priority: Field 'priority' cannot be set") as err:
        make_tracker().file_or_update(make_report())
    assert "tok-123" not in str(err.value)


def test_refused_credentials_are_fatal(mocked: Any) -> None:
    mocked.get(f"{API}/myself", json=fixture("error_401.json"), status=401)
    with pytest.raises(FatalError, match="You are not authenticated.*API token"):
        make_tracker().test_connection()


def test_network_failure_is_retriable(mocked: Any) -> None:
    mocked.post(f"{API}/search/jql", body=requests.ConnectionError("refused"))
    with pytest.raises(RetriableError, match="ConnectionError"):
        make_tracker().file_or_update(make_report())


# --- the rest of the connector ----------------------------------------------------------------


def test_connection_names_the_user(mocked: Any, openapi: Any) -> None:
    mocked.get(f"{API}/myself", json=fixture("myself.json"))
    tracker = make_tracker()
    assert isinstance(tracker, Tracker)
    assert tracker.test_connection().message == f"Jira {SITE}: connected as Escalade Bot"
    assert mocked.calls[0].request.headers["Authorization"].startswith("Basic ")
    check_calls(openapi, mocked.calls)


def test_deliver_files_bug_report_actions(mocked: Any) -> None:
    mocked.post(f"{API}/search/jql", json=fixture("search_jql_found.json"))
    mocked.post(f"{API}/issue/PAY-42/comment", json=fixture("comment_created.json"), status=201)
    link_calls(mocked, "PAY-42", 1)
    action = Action(kind=ActionKind.ALERT, target="jira",
                    payload={"kind": BUG_REPORT_KIND, "report": make_report().to_dict()})
    result = make_tracker().deliver("ZD-103", [action])
    assert result.applied == (ActionKind.ALERT,) and result.external_ref == "PAY-42"
    with pytest.raises(ValidationError):
        make_tracker().deliver("ZD-1", [Action(kind=ActionKind.ALERT, target="jira")])


@pytest.mark.parametrize(
    ("settings", "credentials", "base_url", "needle"),
    [
        ({}, {"email": "a", "api_token": "b"}, SITE, "settings.project"),
        ({"project": "PAY"}, {"email": "a"}, SITE, "api_token"),
        ({"project": "PAY"}, {"email": "a", "api_token": "b"}, None, "base_url"),
        ({"project": "PAY", "labels": ["has space"]}, {"email": "a", "api_token": "b"}, SITE,
         "labels"),
    ],
)
def test_configuration_errors_name_the_setting(
    settings: dict[str, Any], credentials: dict[str, str], base_url: str | None, needle: str
) -> None:
    config = ConnectorConfig(tenant="demo", connector="jira", settings=settings,
                             credentials=credentials, base_url=base_url)
    with pytest.raises(ConfigurationError, match=needle):
        JiraTracker(config=config)


def test_report_validation_and_round_trip() -> None:
    report = make_report()
    assert BugReport.from_dict(report.to_dict()) == report
    with pytest.raises(ValidationError, match="fingerprint"):
        make_report(fingerprint="has space")
    with pytest.raises(ValidationError, match="severity"):
        make_report(severity="blocker")
    with pytest.raises(ValidationError, match="ticket_total"):
        BugReport.from_dict({**report.to_dict(), "ticket_total": "many"})


def test_a_sampled_report_counts_the_whole_group() -> None:
    # A group of 40 customers sends three of them; the counts and the note say the rest.
    report = make_report(customer_total=40, ticket_total=57)
    assert BugReport.from_dict(report.to_dict()) == report
    assert (report.customer_count, report.ticket_count) == (40, 57)
    text = adf.plain_text(adf.description(report))
    assert "40 customers affected · 57 tickets" in text and "… and 37 more." in text
    comment = adf.plain_text(adf.update_comment(report, report.customers[:1]))
    assert "(40 customers, 57 tickets in total; severity critical)" in comment
    # Without totals (an older payload) the listed ones are the count.
    assert (make_report().customer_count, make_report().ticket_count) == (3, 3)
    assert "and 0 more" not in adf.plain_text(adf.description(make_report()))
