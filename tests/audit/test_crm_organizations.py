"""The history audit takes organizations from the CRM: HubSpot faked on 127.0.0.1.

What is proven: plan and ARR segments come from the CRM over what stored tickets carry; one
lookup per organization; the bound; a failing or slow CRM is counted and the audit completes;
an organizations file wins over the CRM; the choice of source; the CLI end to end; the audits
queued from the admin page.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import store
from integration.audit.page import organizations_line
from integration.audit.report import audit_json
from integration.audit.run import audit_csv, audit_tickets
from integration.audit_orgs import (
    CrmOrganizations,
    FileOrganizations,
    TicketOrganizations,
    crm_directory,
)
from integration.audit_runs import run_next_audit
from integration.cli.root import main
from integration.models import Ticket
from integration.runtime import Runtime
from integration.store.audits import request_audit
from integration.store.backfill import import_ticket
from integration.store.history import stored_history
from tests.admin.test_admin import admin, signed_in  # noqa: F401  (fixtures)
from tests.audit.helpers import FIXTURES
from tests.conftest import make_ticket
from tests.connectors.hubspot_server import TOKEN, HubSpotMock
from tests.connectors.test_hubspot import check_exchange
from tests.test_cli import cli_env  # noqa: F401  (fixture)

SEARCH = "/crm/v3/objects/companies/search"
START = datetime.now(UTC) - timedelta(days=10)
# requester e-mail, the organization the stored ticket carries (stale or partial), how many
PEOPLE: list[tuple[str, dict[str, Any] | None, int]] = [
    ("ops@northwind.example", {"id": "c1", "name": "Northwind", "domain": "northwind.example",
                               "plan": "starter", "arr": 1000}, 4),
    ("kim@globex.example", None, 4),
    ("jo@gmail.com", {"id": "c3", "name": "Initech"}, 3),
    ("anon@gmail.com", None, 2),
    ("who@nobody.example", None, 2),
]


@pytest.fixture
def hubspot() -> Iterator[HubSpotMock]:
    """HubSpot with three companies; every exchange is checked against the client's models."""
    with HubSpotMock() as mock:
        mock.add_owner("7001", "ana@ourco.example", "Ana", "Silva")
        mock.add_company("101", name="Northwind", domain="northwind.example",
                         annualrevenue="250000", plan="Enterprise", health_score="0.3",
                         hubspot_owner_id="7001")
        mock.add_company("102", name="Globex", domain="globex.example",
                         annualrevenue="40000", plan="Pro")
        mock.add_company("103", name="Initech", domain="initech.example",
                         annualrevenue="5000", plan="Starter")
        mock.add_company("104", name="Acme", domain="acme.com", annualrevenue="120000",
                         plan="Enterprise")
        mock.add_company("105", name="Beta", domain="beta.io", annualrevenue="20000",
                         plan="Pro")
        yield mock
        for request in mock.requests:
            if request.status:
                check_exchange(request)


def _connect(runtime: Any, hubspot: HubSpotMock, slug: str = "acme", **crm: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug=slug, name=slug.title(), helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": "w" * 32, "crm.access_token": TOKEN},
                         settings={"connectors": ["crm"],
                                   "crm": {"base_url": hubspot.base_url, **crm}},
                         cipher=runtime.cipher)


def _history(runtime: Any, slug: str = "acme") -> int:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        assert tenant is not None
        n = 0
        for email, account, count in PEOPLE:
            for _ in range(count):
                t = make_ticket(id=f"t{n}", requester={"id": email, "email": email},
                                body="We were charged twice, please refund us." if n % 2
                                else "How do I export a report?")
                if account is not None:
                    t["account"] = account
                t["created_at"] = t["updated_at"] = (START + timedelta(hours=5 * n)).isoformat()
                t["messages"][0]["created_at"] = t["created_at"]
                t["tags"] = ["escalated"] if n % 3 == 0 else []
                import_ticket(s, tenant_id=tenant.id, ticket=Ticket.from_dict(t))
                n += 1
        return tenant.id


def _crm(runtime: Any, slug: str = "acme", *, limit: int = 2000) -> CrmOrganizations:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, slug)
        assert tenant is not None
        s.expunge(tenant)
    found = crm_directory(runtime, tenant)
    assert not isinstance(found, str) and found is not None
    return CrmOrganizations(found, limit=limit)


def _audit(runtime: Any, tenant_id: int, organizations: Any) -> dict[str, Any]:
    tickets = stored_history(runtime.sessions, tenant_id=tenant_id,
                             since=START - timedelta(days=1))
    result = audit_tickets(tickets, matrix=runtime.matrix, organizations=organizations,
                           topics=False)
    return audit_json(result)


def _plans(report: dict[str, Any]) -> dict[str, int]:
    return {k: v["tickets"] for k, v in report["escalations"]["by_plan"].items()}


def test_stored_tickets_take_plan_and_arr_from_the_crm_one_lookup_per_organization(
        runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)

    report = _audit(runtime, tenant_id, _crm(runtime))

    # Northwind's stale "starter" is replaced; Globex by the requester's domain; Initech by
    # name (its people write from gmail); nobody.example is unknown to the CRM.
    assert _plans(report) == {"enterprise": 4, "pro": 4, "starter": 3, "unknown": 4}
    assert report["escalations"]["by_arr_band"]
    searches = hubspot.calls("POST", SEARCH, exact=True)
    asked = [r.body["filterGroups"][0]["filters"][0] for r in searches]
    assert sorted((f["propertyName"], f["value"]) for f in asked) == [
        ("domain", "globex.example"), ("domain", "nobody.example"),
        ("domain", "northwind.example"), ("name", "Initech")]
    assert not hubspot.calls("GET", "/crm/v3/owners")  # the audit needs no account owner
    orgs = report["organizations"]
    assert orgs["source"] == "crm"
    assert (orgs["found"], orgs["not_found"], orgs["failed"]) == (3, 1, 0)
    assert orgs["tickets_from_crm"] == 11 and orgs["tickets_without_organization"] == 2
    assert organizations_line(orgs).startswith("CRM lookups: 3 found, 1 not found, 0 failed.")


def test_the_crm_wins_only_where_it_knows_the_organization(
        runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)
    hubspot.objects["companies"]["101"].pop("plan")

    report = _audit(runtime, tenant_id, _crm(runtime))

    # Northwind's plan is not in the CRM: the ticket's own value stays; its ARR is the CRM's.
    assert _plans(report)["starter"] == 4 + 3
    assert report["escalations"]["by_arr_band"]


def test_at_most_n_organizations_are_looked_up_and_the_rest_are_counted(
        runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)

    report = _audit(runtime, tenant_id, _crm(runtime, limit=2))

    assert len(hubspot.calls("POST", SEARCH, exact=True)) == 2
    orgs = report["organizations"]
    assert orgs["looked_up"] == 2 and orgs["not_looked_up"] == 2 and orgs["limit"] == 2
    assert report["tickets"] == 15
    assert "2 organizations not looked up (at most 2 lookups per audit)" in (
        organizations_line(orgs))


def test_a_failing_crm_is_counted_with_its_reason_and_the_audit_completes(
        runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)
    hubspot.fail("POST", SEARCH, 503, times=1)

    report = _audit(runtime, tenant_id, _crm(runtime))

    assert report["tickets"] == 15
    orgs = report["organizations"]
    assert orgs["failed"] == 1 and orgs["failures"] == {"HubSpot error (503)": 1}
    assert orgs["found"] + orgs["not_found"] == 3
    # The failed organization is not asked again in the same run.
    assert len(hubspot.calls("POST", SEARCH, exact=True)) == 4


def test_a_crm_that_times_out_is_reported_as_timeout(runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot, timeout_seconds=0.2)
    tenant_id = _history(runtime)
    hubspot.delay = 1.0

    report = _audit(runtime, tenant_id, _crm(runtime))

    orgs = report["organizations"]
    assert report["tickets"] == 15
    assert (orgs["found"], orgs["failed"], orgs["failures"]) == (0, 4, {"timeout": 4})
    assert organizations_line(orgs).startswith(
        "CRM lookups: 0 found, 0 not found, 4 failed: timeout")
    # Every ticket kept what it carried: Northwind's stored (stale) plan.
    assert _plans(report) == {"starter": 4, "unknown": 11}


def test_a_crm_that_keeps_failing_is_not_asked_again(runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot)
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        assert tenant is not None
        for n in range(30):
            email = f"p{n}@org{n}.example"
            t = make_ticket(id=f"x{n}", requester={"id": email, "email": email})
            t["created_at"] = t["updated_at"] = (START + timedelta(hours=n)).isoformat()
            import_ticket(s, tenant_id=tenant.id, ticket=Ticket.from_dict(t))
        tenant_id = tenant.id
    hubspot.fail("POST", SEARCH, 401, times=100)

    report = _audit(runtime, tenant_id, _crm(runtime))

    orgs = report["organizations"]
    assert len(hubspot.calls("POST", SEARCH, exact=True)) == 10
    assert orgs["failed"] == 10 and orgs["not_looked_up"] == 20 and report["tickets"] == 30
    assert "stopped asking after 10 failures in a row" in organizations_line(orgs)


def test_an_organizations_file_wins_over_the_crm_and_the_tickets(
        runtime: Any, hubspot: HubSpotMock, tmp_path: Path) -> None:
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)
    orgs_csv = tmp_path / "orgs.csv"
    orgs_csv.write_text("Name,Plan,ARR,Domain\nNorthwind,pro,30000,northwind.example\n"
                        "Globex,starter,2000,globex.example\n", encoding="utf-8")
    from integration.audit.exports import ImportLog
    from integration.audit.run import organizations_file

    source = FileOrganizations(organizations_file(orgs_csv, log=ImportLog()), name="orgs.csv")
    report = _audit(runtime, tenant_id, source)

    assert not hubspot.requests
    assert _plans(report) == {"pro": 4, "starter": 4, "unknown": 7}
    assert report["organizations"] == {"source": "csv", "file": "orgs.csv",
                                       "organizations": 2, "tickets_matched": 8}


def test_tickets_or_none_ask_no_crm(runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)

    carried = _audit(runtime, tenant_id, TicketOrganizations())
    nothing = _audit(runtime, tenant_id, TicketOrganizations("none"))

    assert not hubspot.requests
    assert _plans(carried) == {"starter": 4, "unknown": 11}
    assert _plans(nothing) == {"unknown": 15}
    assert carried["organizations"] == {"source": "tickets"}
    assert "not used" in organizations_line(nothing["organizations"])


def test_a_csv_export_with_a_workspace_takes_organizations_from_its_crm(
        runtime: Any, hubspot: HubSpotMock) -> None:
    _connect(runtime, hubspot, free_mail_domains=["freemail.com"])
    from_file = audit_csv(FIXTURES / "zendesk_export.csv", matrix=runtime.matrix, topics=False,
                          organizations=FIXTURES / "organizations.csv")
    from_crm = audit_csv(FIXTURES / "zendesk_export.csv", matrix=runtime.matrix, topics=False,
                         organizations_from=_crm(runtime))

    file_report, crm_report = audit_json(from_file), audit_json(from_crm)
    assert _plans(crm_report) == _plans(file_report) == {"enterprise": 20, "unknown": 16,
                                                         "pro": 12}
    assert len(hubspot.calls("POST", SEARCH, exact=True)) == 2  # acme.com, beta.io
    assert file_report["organizations"]["source"] == "csv"
    assert crm_report["organizations"]["tickets_without_organization"] == 16


def test_escalade_audit_of_a_workspace_asks_its_crm(
        cli_env: dict[str, Any], hubspot: HubSpotMock, tmp_path: Path) -> None:  # noqa: F811
    runtime = Runtime(config={**cli_env})
    try:
        _connect(runtime, hubspot)
        _history(runtime)
    finally:
        runtime.engine.dispose()
    out, page = tmp_path / "audit.json", tmp_path / "audit.html"

    result = CliRunner().invoke(main, ["audit", "--tenant", "acme", "--days", "30",
                                       "--no-topics", "--json", str(out), "--html", str(page)])
    carried = CliRunner().invoke(main, ["audit", "--tenant", "acme", "--days", "30",
                                        "--no-topics", "--organizations-from", "tickets"])

    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["organizations"]["source"] == "crm"
    assert _plans(report)["enterprise"] == 4
    line = "CRM lookups: 3 found, 1 not found, 0 failed."
    assert line in result.stderr
    assert line in page.read_text(encoding="utf-8")
    assert carried.exit_code == 0, carried.output
    assert json.loads(carried.stdout)["organizations"] == {"source": "tickets"}
    assert len(hubspot.calls("POST", SEARCH, exact=True)) == 4


def test_asking_for_a_crm_a_workspace_does_not_have_is_one_line(
        cli_env: dict[str, Any], tmp_path: Path) -> None:  # noqa: F811
    runtime = Runtime(config={**cli_env})
    try:
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(s, slug="plain", name="Plain", helpdesk="sandbox", base_url=None,
                             secrets={"webhook_secret": "w" * 32}, settings={},
                             cipher=runtime.cipher)
    finally:
        runtime.engine.dispose()
    out = tmp_path / "never.json"

    result = CliRunner().invoke(main, ["audit", "--tenant", "plain", "--organizations-from",
                                       "crm", "--json", str(out)])

    assert result.exit_code == 2
    assert result.stderr.strip() == ("Error: --organizations-from: crm: workspace 'plain' has "
                                     "no CRM connected (escalade tenant connect plain crm)")
    assert not out.exists()


def test_a_queued_audit_asks_the_crm_and_the_admin_page_says_so(
        runtime: Any, hubspot: HubSpotMock, signed_in: Any) -> None:  # noqa: F811
    _connect(runtime, hubspot)
    tenant_id = _history(runtime)
    with store.session_scope(runtime.sessions) as s:
        request_audit(s, tenant_id=tenant_id, days=30, requested_by=None, now=runtime.now())

    assert run_next_audit(runtime) is not None

    page = signed_in.get("/admin/audit?tenant=acme").text
    assert "CRM lookups: 3 found, 1 not found, 0 failed." in page
    assert len(hubspot.calls("POST", SEARCH, exact=True)) == 4


def test_a_crm_connected_without_its_token_falls_back_to_the_tickets_unless_asked_for(
        cli_env: dict[str, Any]) -> None:  # noqa: F811
    runtime = Runtime(config={**cli_env})
    try:
        with store.session_scope(runtime.sessions) as s:
            store.add_tenant(s, slug="acme", name="Acme", helpdesk="sandbox", base_url=None,
                             secrets={"webhook_secret": "w" * 32},
                             settings={"connectors": ["crm"], "crm": {}}, cipher=runtime.cipher)
        _history(runtime)
    finally:
        runtime.engine.dispose()

    default = CliRunner().invoke(main, ["audit", "--tenant", "acme", "--days", "30",
                                        "--no-topics"])
    asked = CliRunner().invoke(main, ["audit", "--tenant", "acme", "--days", "30",
                                      "--no-topics", "--organizations-from", "crm"])

    assert default.exit_code == 0, default.output
    orgs = json.loads(default.stdout)["organizations"]
    assert orgs["source"] == "tickets" and "access_token" in orgs["note"]
    assert "the CRM is connected but not usable" in default.stderr
    assert asked.exit_code == 2
    assert asked.stderr.strip().startswith("Error: workspace acme: the CRM is connected but not "
                                           "usable: HubSpot needs credentials.access_token")
    assert len(asked.stderr.strip().splitlines()) == 1
