"""HubSpot connector against a mock HubSpot on 127.0.0.1, through the real hubspot-api-client."""

from __future__ import annotations

import logging
import re
import socket
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

import hubspot.crm.associations.v4 as hs_associations
import hubspot.crm.companies as hs_companies
import hubspot.crm.contacts as hs_contacts
import hubspot.crm.objects.notes as hs_notes
import hubspot.crm.objects.tasks as hs_tasks
import hubspot.crm.owners as hs_owners
import pytest

from adapters.connectors.base import ConnectorConfig
from adapters.connectors.hubspot import HubSpotConnector
from adapters.connectors.hubspot.errors import delivery_error
from adapters.connectors.hubspot.format import dedupe_marker, parse_amount, parse_health
from integration.errors import ConfigurationError, FatalError, RetriableError
from integration.models import Action, ActionKind, TicketFacts
from tests.connectors.hubspot_server import TOKEN, HubSpotMock, Recorded, parse_model

NOW = datetime(2024, 5, 2, 12, 0, tzinfo=UTC)
COMPANIES_SEARCH = "/crm/v3/objects/companies/search"
CONTACTS_SEARCH = "/crm/v3/objects/contacts/search"
# What each request body the client sends must be, in the client's own models.
REQUEST_MODELS = {
    COMPANIES_SEARCH: (hs_companies, "PublicObjectSearchRequest"),
    CONTACTS_SEARCH: (hs_contacts, "PublicObjectSearchRequest"),
    "/crm/v3/objects/notes/search": (hs_notes, "PublicObjectSearchRequest"),
    "/crm/v3/objects/tasks/search": (hs_tasks, "PublicObjectSearchRequest"),
    "/crm/v3/objects/notes": (hs_notes, "SimplePublicObjectInputForCreate"),
    "/crm/v3/objects/tasks": (hs_tasks, "SimplePublicObjectInputForCreate"),
}
_SEARCH_PAGE = "CollectionResponseWithTotalSimplePublicObjectForwardPaging"
# What each answer of the mock must be, in the models the client reads it with.
RESPONSE_MODELS: list[tuple[str, str, Any, str]] = [
    ("POST", COMPANIES_SEARCH, hs_companies, _SEARCH_PAGE),
    ("POST", CONTACTS_SEARCH, hs_contacts, _SEARCH_PAGE),
    ("POST", r"/crm/v3/objects/notes/search", hs_notes, _SEARCH_PAGE),
    ("POST", r"/crm/v3/objects/tasks/search", hs_tasks, _SEARCH_PAGE),
    ("POST", r"/crm/v3/objects/notes", hs_notes, "SimplePublicObject"),
    ("POST", r"/crm/v3/objects/tasks", hs_tasks, "SimplePublicObject"),
    ("GET", r"/crm/v3/objects/companies/\d+", hs_companies, "SimplePublicObjectWithAssociations"),
    ("GET", r"/crm/v4/objects/contacts/\d+/associations/companies", hs_associations,
     "CollectionResponseMultiAssociatedObjectWithLabelForwardPaging"),
    ("GET", r"/crm/v3/owners/\d+", hs_owners, "PublicOwner"),
    ("GET", r"/crm/v3/owners/", hs_owners, "CollectionResponsePublicOwnerForwardPaging"),
]


def check_exchange(request: Recorded) -> None:
    """The request body parses as the client's input model, the answer as its output model."""
    if request.method == "POST" and request.path in REQUEST_MODELS:
        package, model = REQUEST_MODELS[request.path]
        parse_model(package, model, request.body)
    for method, pattern, package, model in RESPONSE_MODELS:
        if method == request.method and re.fullmatch(pattern, request.path):
            name = model if 200 <= request.status < 300 else "Error"
            parse_model(package, name, request.response, exact=False)
            return
    raise AssertionError(f"the connector called an unexpected route {request.path}")


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.value = 1000.0

    def __call__(self) -> float:
        return self.value


@pytest.fixture
def hubspot_mock() -> Iterator[HubSpotMock]:
    """A seeded mock HubSpot; on teardown every body the client sent must parse as its model."""
    with HubSpotMock() as mock:
        mock.add_owner("7001", "ana@vendor.io", "Ana", "Silva")
        mock.add_owner("7002", "raj@vendor.io", "Raj", "Patel")
        mock.add_company("101", name="Acme Corp", domain="acme.com", annualrevenue="120000.00",
                         plan="Enterprise", lifecyclestage="customer", health_score="35",
                         renewal_date="2025-03-01", hubspot_owner_id="7001")
        mock.add_company("102", name="Acme Labs", domain="acmelabs.io", hubspot_owner_id="7002")
        mock.add_company("666", name="Wrong match", domain="gmail.com")
        mock.add_contact("201", "dana@acme-mail.net", companies=("101", "102"))
        mock.add_contact("202", "kim@gmail.com", companies=("102",))
        mock.add_contact("203", "jo@acme.com", companies=("101",))
        yield mock
        for request in mock.requests:
            if request.status:  # 0: the client timed out before the answer
                check_exchange(request)


@pytest.fixture
def clock() -> Clock:
    """The connector's cache clock."""
    return Clock()


@pytest.fixture
def make_connector(
    hubspot_mock: HubSpotMock, clock: Clock
) -> Iterator[Callable[..., HubSpotConnector]]:
    """Build connectors on the mock (or ``base_url``); closes their connection pools after."""
    built: list[HubSpotConnector] = []

    def make(base_url: str | None = None, token: str = TOKEN, **settings: Any) -> HubSpotConnector:
        config = ConnectorConfig(tenant="acme-support", connector="crm",
                                 credentials={"access_token": token}, settings=settings,
                                 base_url=base_url or hubspot_mock.base_url)
        connector = HubSpotConnector(config=config, clock=clock, now=lambda: NOW)
        built.append(connector)
        return connector

    yield make
    for connector in built:
        connector.close()


def _alert(**overrides: Any) -> Action:
    payload: dict[str, Any] = {
        "dedupe_key": "acme-support:zendesk:4321:tier_3",
        "ticket_key": "acme-support:zendesk:4321",
        "ticket_id": "4321",
        "tenant": "acme-support",
        "helpdesk": "zendesk",
        "subject": "Checkout down for all our users",
        "requester": {"id": "9", "email": "jo@acme.com", "name": "Jo Park"},
        "account": {"id": "101", "name": "Acme Corp", "domain": "acme.com"},
        "tier": 3,
        "previous_tier": 2,
        "priority": "urgent",
        "category": "outage",
        "reasons": ["Outage reported by an enterprise account", "Customer <angry> & waiting"],
        "sla_due_at": "2024-05-02T20:00:00Z",
        "summary": "Checkout fails with error 502 since 09:00; cache clear did not help.",
        "ticket_url": "https://acme.zendesk.com/agent/tickets/4321",
    }
    payload.update(overrides)
    return Action(kind=ActionKind.ALERT, target="crm", payload=payload)


def _filters(body: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for group in body["filterGroups"] for f in group["filters"]]


# --- enrichment ------------------------------------------------------------------------


def test_lookup_by_email_domain_reads_properties_and_owner(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    found = make_connector().lookup_company(email="Jo@ACME.com", domain=None)

    assert found is not None
    account = found.account
    assert (account.id, account.name, account.domain) == ("101", "Acme Corp", "acme.com")
    assert (account.arr, account.health, account.plan) == (120000.0, 0.35, "enterprise")
    assert (account.lifecycle, account.renewal_date) == ("customer", date(2025, 3, 1))
    assert account.owner == "ana@vendor.io"
    assert (found.owner_id, found.owner_name) == ("7001", "Ana Silva")
    (search,) = hubspot_mock.calls("POST", COMPANIES_SEARCH)
    assert _filters(search.body) == [
        {"propertyName": "domain", "operator": "EQ", "value": "acme.com"}
    ]
    assert search.headers["Authorization"] == f"Bearer {TOKEN}"
    assert hubspot_mock.calls("POST", CONTACTS_SEARCH) == []


def test_explicit_domain_wins_over_the_email_domain(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    account = make_connector().lookup_account(email="jo@acme.com", domain="www.AcmeLabs.io")

    assert account is not None and account.id == "102"
    assert account.owner == "raj@vendor.io"


def test_contact_fallback_uses_the_primary_company(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    found = make_connector().lookup_company(email="dana@acme-mail.net", domain=None)

    assert found is not None
    assert (found.account.id, found.contact_id) == ("101", "201")
    assert found.account.arr == 120000.0
    (contact_search,) = hubspot_mock.calls("POST", CONTACTS_SEARCH)
    assert _filters(contact_search.body)[0]["value"] == "dana@acme-mail.net"
    assert hubspot_mock.calls("GET", "/crm/v4/objects/contacts/201/associations/companies")
    (get,) = hubspot_mock.calls("GET", "/crm/v3/objects/companies/101")
    assert "annualrevenue" in get.query["properties"]


def test_free_mail_domain_never_matches_a_company(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    connector = make_connector()

    found = connector.lookup_account(email="kim@gmail.com", domain=None)
    unknown = connector.lookup_account(email="nobody@outlook.com", domain="outlook.com")

    assert found is not None and found.id == "102"  # through the contact, not "gmail.com"
    assert unknown is None
    assert hubspot_mock.calls("POST", COMPANIES_SEARCH) == []


def test_tenant_free_mail_list_extends_the_default(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    connector = make_connector(free_mail_domains=["acme.com"])

    assert connector.lookup_account(email="jo@acme.com", domain=None) is not None
    assert hubspot_mock.calls("POST", COMPANIES_SEARCH) == []


def test_property_names_are_configurable_per_tenant(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    hubspot_mock.add_company("103", name="Globex", domain="globex.com", annualrevenue="1",
                             arr_usd="$2,400,000", customer_health="0.8", tier_name="Growth")
    connector = make_connector(
        properties={"arr": "arr_usd", "health": "customer_health", "plan": "tier_name"}
    )

    account = connector.lookup_account(email="it@globex.com", domain=None)

    assert account is not None
    assert (account.arr, account.health, account.plan) == (2_400_000.0, 0.8, "growth")
    (search,) = hubspot_mock.calls("POST", COMPANIES_SEARCH)
    assert {"arr_usd", "customer_health", "tier_name", "lifecyclestage"} <= set(
        search.body["properties"]
    )
    assert "annualrevenue" not in search.body["properties"]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("0.35", 0.35), ("35", 0.35), ("35%", 0.35), (" 100 ", 1.0), ("1", 1.0), ("0", 0.0),
     (72, 0.72), ("250", None), ("-3", None), ("n/a", None), ("", None), (None, None)],
)
def test_health_rule_fraction_up_to_one_percent_above(raw: Any, expected: float | None) -> None:
    assert parse_health(raw) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("120000.00", 120000.0), ("$1,200,000", 1_200_000.0), ("1 200 000 €", 1_200_000.0),
     (5000, 5000.0), ("-10", None), ("unknown", None), ("nan", None), (None, None)],
)
def test_amounts_parse_robustly(raw: Any, expected: float | None) -> None:
    assert parse_amount(raw) == expected


def test_lookups_are_cached_until_the_ttl_passes(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector], clock: Clock
) -> None:
    connector = make_connector(cache_seconds=60)

    first = connector.lookup_account(email="jo@acme.com", domain=None)
    missing = connector.lookup_account(email="x@unknown.example", domain=None)
    clock.value += 59
    again = connector.lookup_account(email="jo@acme.com", domain=None)
    assert connector.lookup_account(email="x@unknown.example", domain=None) is missing is None
    searches_before_expiry = len(hubspot_mock.calls("POST", COMPANIES_SEARCH))
    clock.value += 2
    connector.lookup_account(email="jo@acme.com", domain=None)

    assert again == first
    assert searches_before_expiry == 2  # one for acme.com, one for unknown.example
    assert len(hubspot_mock.calls("POST", COMPANIES_SEARCH)) == 3
    assert len(hubspot_mock.calls("GET", "/crm/v3/owners/7001")) == 2


def test_server_error_degrades_to_unknown_account_and_is_not_cached(
    hubspot_mock: HubSpotMock,
    make_connector: Callable[..., HubSpotConnector],
    caplog: pytest.LogCaptureFixture,
) -> None:
    hubspot_mock.fail("POST", COMPANIES_SEARCH, 500)
    connector = make_connector()

    with caplog.at_level(logging.WARNING, logger="adapters.connectors.hubspot.client"):
        assert connector.lookup_account(email="jo@acme.com", domain=None) is None

    assert "account unknown" in caplog.text and "500" in caplog.text
    assert connector.lookup_account(email="jo@acme.com", domain=None) is not None


def test_server_down_degrades_to_unknown_account(
    make_connector: Callable[..., HubSpotConnector],
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    connector = make_connector(base_url=f"http://127.0.0.1:{port}")

    assert connector.lookup_account(email="jo@acme.com", domain=None) is None


def test_slow_hubspot_times_out_to_unknown_account(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    hubspot_mock.delay = 5.0
    connector = make_connector(timeout_seconds=0.2)

    assert connector.lookup_account(email="jo@acme.com", domain=None) is None


def test_rejected_token_is_logged_as_a_configuration_problem(
    make_connector: Callable[..., HubSpotConnector], caplog: pytest.LogCaptureFixture
) -> None:
    connector = make_connector(token="pat-revoked")

    with caplog.at_level(logging.WARNING, logger="adapters.connectors.hubspot.client"):
        assert connector.lookup_account(email="jo@acme.com", domain=None) is None

    (record,) = caplog.records
    assert record.levelno == logging.ERROR
    assert "configuration problem" in record.getMessage()
    assert "pat-revoked" not in caplog.text


# --- write-back ------------------------------------------------------------------------


def test_tier3_alert_writes_a_note_and_a_task_for_the_owner(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    result = make_connector().deliver("acme-support:zendesk:4321", [_alert()])

    (note_post,) = hubspot_mock.calls("POST", "/crm/v3/objects/notes", exact=True)
    note = parse_model(hs_notes, "SimplePublicObjectInputForCreate", note_post.body)
    assert {(a.to.id, a.types[0].association_type_id) for a in note.associations} == {
        ("101", 190), ("203", 202)
    }
    body = note.properties["hs_note_body"]
    assert "Checkout down for all our users" in body and "Tier 3" in body
    assert "Customer &lt;angry&gt; &amp; waiting" in body
    assert "Checkout fails with error 502" in body
    assert 'href="https://acme.zendesk.com/agent/tickets/4321"' in body
    assert "<strong>SLA due:</strong> Thu 2 May 20:00 UTC" in body
    assert note.properties["hs_timestamp"] == str(int(NOW.timestamp() * 1000))

    (task_post,) = hubspot_mock.calls("POST", "/crm/v3/objects/tasks", exact=True)
    task = parse_model(hs_tasks, "SimplePublicObjectInputForCreate", task_post.body)
    assert [(a.to.id, a.types[0].association_type_id) for a in task.associations] == [
        ("101", 192)
    ]
    props = task.properties
    assert props["hs_task_subject"] == "Tier 3 escalation: Checkout down for all our users"
    assert props["hs_task_priority"] == "HIGH"
    assert props["hubspot_owner_id"] == "7001"
    assert props["hs_timestamp"] == str(int((NOW + timedelta(hours=4)).timestamp() * 1000))

    note_id = next(iter(hubspot_mock.objects["notes"]))
    task_id = next(iter(hubspot_mock.objects["tasks"]))
    assert result.applied == (ActionKind.ALERT,)
    assert result.external_ref == note_id
    assert result.detail["written"][0].startswith(f"HubSpot note {note_id}")
    assert result.detail["written"][1].startswith(f"HubSpot task {task_id} for ana@vendor.io")
    # What it created comes back for the outbox to keep; the connector stores nothing.
    assert (result.detail["notes"], result.detail["tasks"]) == ([note_id], [task_id])


def test_the_note_reads_like_the_slack_alert(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    make_connector().deliver("acme-support:zendesk:4321", [_alert(
        display_zone="Europe/Berlin", sla_metric="first_response",
        account={"id": "101", "name": "Acme Corp", "domain": "acme.com",
                 "renewal_date": "2024-06-30"},
        threat='threatens to cancel before the renewal on 2024-06-30: "We will cancel."',
        why=["Churn risk (wants to cancel or is evaluating competitors)"],
        evidence=["trigger 'churn' matched \"cancel\"", "sentiment -0.62"],
        tracker_issue={"key": "PAY-12", "url": "https://acme.atlassian.net/browse/PAY-12"})])

    (note,) = hubspot_mock.objects["notes"].values()
    body = note["hs_note_body"]
    # Due times in the workspace's zone, the rule every note and message follows.
    assert "<strong>First response due:</strong> Thu 2 May 22:00 CEST" in body
    assert "<strong>Renewal:</strong> 2024-06-30" in body
    assert "threatens to cancel before the renewal" in body
    assert "<li>Churn risk (wants to cancel or is evaluating competitors)</li>" in body
    assert "Evidence:</em> trigger &#x27;churn&#x27; matched" in body
    assert "sentiment -0.62" in body and "<li>sentiment" not in body
    assert '<a href="https://acme.atlassian.net/browse/PAY-12">PAY-12</a>' in body


def test_task_is_due_at_the_sla_time_when_sooner(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    make_connector(task_due_hours=8).deliver(
        "acme-support:zendesk:4321", [_alert(sla_due_at="2024-05-02T13:30:00Z")]
    )

    (task,) = hubspot_mock.objects["tasks"].values()
    due = datetime(2024, 5, 2, 13, 30, tzinfo=UTC)
    assert task["hs_timestamp"] == str(int(due.timestamp() * 1000))


def test_retry_after_a_server_error_creates_no_duplicate(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    connector = make_connector()
    hubspot_mock.fail("POST", "/crm/v3/objects/tasks", 503, exact=True)

    with pytest.raises(RetriableError):
        connector.deliver("acme-support:zendesk:4321", [_alert()])
    assert len(hubspot_mock.objects["notes"]) == 1
    second = connector.deliver("acme-support:zendesk:4321", [_alert()])
    third = connector.deliver("acme-support:zendesk:4321", [_alert()])

    assert len(hubspot_mock.objects["notes"]) == 1
    assert len(hubspot_mock.objects["tasks"]) == 1
    marker = dedupe_marker("acme-support:zendesk:4321:tier_3")
    (note,) = hubspot_mock.objects["notes"].values()
    (task,) = hubspot_mock.objects["tasks"].values()
    assert marker in note["hs_note_body"] and marker in task["hs_task_body"]
    assert "(already there)" in second.detail["written"][0]
    assert "(already there)" not in second.detail["written"][1]
    assert all("(already there)" in line for line in third.detail["written"])
    assert second.external_ref == third.external_ref == next(iter(hubspot_mock.objects["notes"]))
    assert third.detail["tasks"] == second.detail["tasks"] == list(hubspot_mock.objects["tasks"])


def test_another_escalation_of_the_same_company_gets_its_own_note(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    connector = make_connector()
    connector.deliver("acme-support:zendesk:4321", [_alert()])
    connector.deliver("acme-support:zendesk:4400", [_alert(
        dedupe_key="acme-support:zendesk:4400:tier_3", ticket_key="acme-support:zendesk:4400"
    )])

    assert len(hubspot_mock.objects["notes"]) == 2
    assert len(hubspot_mock.objects["tasks"]) == 2


def test_rate_limit_is_retriable_with_hubspots_delay(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    hubspot_mock.fail(
        "POST", "/crm/v3/objects/notes", 429,
        body={"status": "error", "message": "You have reached your ten_secondly_rolling limit.",
              "errorType": "RATE_LIMIT", "correlationId": "c0ffee", "category": "RATE_LIMITS",
              "policyName": "TEN_SECONDLY_ROLLING"},
        headers={"Retry-After": "7", "X-HubSpot-RateLimit-Interval-Milliseconds": "10000"},
        exact=True,
    )

    with pytest.raises(RetriableError) as caught:
        make_connector().deliver("acme-support:zendesk:4321", [_alert()])

    assert caught.value.retry_after == 7.0
    assert "ten_secondly_rolling" in str(caught.value)
    assert hubspot_mock.objects["notes"] == {}


@pytest.mark.parametrize(
    ("headers", "expected"),
    [({"Retry-After": "3"}, 3.0), ({"X-HubSpot-RateLimit-Interval-Milliseconds": "10000"}, 10.0),
     ({"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}, None), ({}, None)],
)
def test_rate_limit_delay_falls_back_to_hubspots_window(
    headers: dict[str, str], expected: float | None
) -> None:
    err = hs_notes.ApiException(status=429, reason="Too Many Requests")
    err.headers = headers

    result = delivery_error(err)

    assert isinstance(result, RetriableError) and result.retry_after == expected


def test_bad_request_is_fatal_with_hubspots_message(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    message = "Property values were not valid: hs_task_priority 'HIGH' is not a valid option"
    hubspot_mock.fail("POST", "/crm/v3/objects/tasks", 400, exact=True, body={
        "status": "error", "message": message, "correlationId": "c0ffee",
        "category": "VALIDATION_ERROR",
    })

    with pytest.raises(FatalError) as caught:
        make_connector().deliver("acme-support:zendesk:4321", [_alert()])

    assert message in str(caught.value) and "400" in str(caught.value)


def test_unknown_company_is_a_fatal_delivery_not_a_silent_skip(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    action = _alert(requester={"id": "1", "email": "x@unknown.example"}, account=None)

    with pytest.raises(FatalError, match="no company for unknown.example"):
        make_connector().deliver("acme-support:zendesk:4321", [action])
    assert hubspot_mock.objects["notes"] == {}


def test_only_tier3_escalations_are_recorded(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    result = make_connector().deliver("acme-support:zendesk:4321", [
        _alert(tier=2),
        _alert(kind="sla_warning"),
        Action(kind=ActionKind.INTERNAL_NOTE, target="crm", payload={"body": "x"}),
    ])

    assert result.applied == ()
    assert result.external_ref is None
    assert len(result.detail["skipped"]) == 3
    assert hubspot_mock.requests == []


def test_sla_breach_on_tier3_adds_a_note_but_no_second_task(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    result = make_connector().deliver("acme-support:zendesk:4321", [_alert(
        kind="sla_breach", dedupe_key="acme-support:zendesk:4321:sla_breach:first_reply:1714"
    )])

    (note,) = hubspot_mock.objects["notes"].values()
    assert "SLA breached" in note["hs_note_body"]
    assert hubspot_mock.objects["tasks"] == {}
    assert result.applied == (ActionKind.ALERT,)
    assert result.detail["tasks"] == []


def test_a_promotion_note_gets_the_link_summary_and_bug_from_the_lookups_it_is_given(
    hubspot_mock: HubSpotMock, clock: Clock
) -> None:
    asked: list[str] = []

    def facts(ticket_key: str) -> TicketFacts:
        asked.append(ticket_key)
        return TicketFacts(ticket_url="https://stale.example/4321",
                           summary="Checkout fails with error 502 since 09:00.",
                           tracker_key="PAY-12",
                           tracker_url="https://acme.atlassian.net/browse/PAY-12")

    config = ConnectorConfig(tenant="acme-support", connector="crm",
                             credentials={"access_token": TOKEN},
                             base_url=hubspot_mock.base_url)
    connector = HubSpotConnector(
        config=config, clock=clock, now=lambda: NOW, ticket_facts=facts,
        ticket_links=lambda ticket_id: f"https://acme.zendesk.com/agent/tickets/{ticket_id}")
    try:
        connector.deliver("acme-support:zendesk:4321",
                          [_alert(ticket_url=None, summary=None, kind="sla_breach")])
    finally:
        connector.close()

    assert asked == ["acme-support:zendesk:4321"]
    (note,) = hubspot_mock.objects["notes"].values()
    body = note["hs_note_body"]
    # The helpdesk's link wins over the one recorded with the decision.
    assert 'href="https://acme.zendesk.com/agent/tickets/4321"' in body
    assert "Checkout fails with error 502 since 09:00." in body
    assert "PAY-12" in body


def test_request_check_rejects_bodies_the_client_models_do_not_describe() -> None:
    good = {"properties": {"hs_timestamp": "1714651200000"}, "associations": [
        {"to": {"id": "101"},
         "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 190}]}
    ]}
    parse_model(hs_notes, "SimplePublicObjectInputForCreate", good)

    with pytest.raises(AssertionError, match="round-trip"):
        parse_model(hs_notes, "SimplePublicObjectInputForCreate", {**good, "asociations": []})
    with pytest.raises(ValueError, match="association_category"):
        parse_model(hs_notes, "SimplePublicObjectInputForCreate", {**good, "associations": [
            {"to": {"id": "101"}, "types": [{"associationTypeId": 190}]}
        ]})


# --- connection and configuration -------------------------------------------------------


def test_connection_check_counts_owners(
    make_connector: Callable[..., HubSpotConnector],
) -> None:
    assert make_connector().test_connection().message == "HubSpot: 2 owners visible"


def test_connection_check_names_a_rejected_token(
    make_connector: Callable[..., HubSpotConnector],
) -> None:
    with pytest.raises(FatalError, match="rejected the access token \\(401\\)"):
        make_connector(token="pat-wrong").test_connection()


def test_connection_check_turns_an_outage_into_a_fatal_reason(
    hubspot_mock: HubSpotMock, make_connector: Callable[..., HubSpotConnector]
) -> None:
    hubspot_mock.fail("GET", "/crm/v3/owners", 502)

    with pytest.raises(FatalError, match="502"):
        make_connector().test_connection()


@pytest.mark.parametrize(
    ("credentials", "settings", "message"),
    [
        ({}, {}, "access_token"),
        ({"access_token": TOKEN}, {"properties": {"mrr": "mrr"}}, "unknown field"),
        ({"access_token": TOKEN}, {"properties": {"arr": ""}}, "properties.arr"),
        ({"access_token": TOKEN}, {"cache_seconds": "ten"}, "cache_seconds"),
    ],
)
def test_bad_configuration_is_refused(
    credentials: dict[str, str], settings: dict[str, Any], message: str
) -> None:
    config = ConnectorConfig(tenant="t", connector="crm", credentials=credentials,
                             settings=settings)
    with pytest.raises(ConfigurationError, match=message):
        HubSpotConnector(config=config)
