"""History import: Zendesk's incremental export faked with responses, resumed, rate limited."""

from __future__ import annotations

import io
import json
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import responses
from responses import matchers
from sqlalchemy import func, select, update

from adapters.helpdesk.base import HelpdeskConfig
from adapters.helpdesk.sandbox import SandboxAdapter
from adapters.helpdesk.zendesk import ZendeskAdapter
from adapters.helpdesk.zendesk.backfill import ExportPosition, epoch
from integration import store
from integration.backfill import BackfillReport, Trouble, WindowChanged, run_backfill
from integration.backfill_progress import BackfillProgress, ProgressDisplay, describe
from integration.errors import FatalError, ValidationError
from integration.models import Ticket
from tests import recorded
from tests.adapters import kit
from tests.conftest import make_ticket, post_sandbox, sandbox_body
from tests.store.helpers import BACKENDS, Store, backend_store, new_tenant

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "zendesk"
API = "https://acme.zendesk.com/api/v2"
EXPORT = f"{API}/incremental/tickets/cursor.json"
METRICS = f"{API}/incremental/ticket_metric_events.json"
SPEC = "zendesk/zendesk-support-oas.yaml"
NOW = datetime(2026, 11, 20, tzinfo=UTC)
SINCE = NOW - timedelta(days=60)
PAGE2_CURSOR = "MTc5MTQ2MDgwMC4wfHwxMDN8"
COMMENT_AUTHORS = {"101": 1001, "102": 1003, "103": 1001, "105": 1003}


def load(name: str) -> Any:
    """One fixture file, parsed."""
    return json.loads((FIXTURES / name).read_text(encoding="utf-8"))


@pytest.fixture(params=BACKENDS)
def db(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    """A migrated database on every configured backend."""
    with backend_store(request.param, tmp_path) as opened:
        yield opened


@pytest.fixture
def tenant_id(db: Store) -> int:
    """The Zendesk tenant ``acme``."""
    return new_tenant(db)


def zendesk(**options: Any) -> ZendeskAdapter:
    """A Zendesk adapter handing on pages of two tickets."""
    config = HelpdeskConfig(
        tenant="acme", helpdesk="zendesk", base_url="https://acme.zendesk.com",
        credentials={"email": "bot@acme.example", "api_token": "t0ken"},
        options={"backfill_page_size": 2, **options},
    )
    return ZendeskAdapter(config=config, session=requests.Session(), timeout=3.0)


def comments(ticket_id: str) -> dict[str, Any]:
    """One page of a ticket's comments, as /tickets/{id}/comments.json returns it."""
    return {
        "comments": [{
            "id": int(ticket_id) * 10, "type": "Comment", "author_id": COMMENT_AUTHORS[ticket_id],
            "body": f"First message of ticket {ticket_id}.", "public": True, "attachments": [],
            "audit_id": int(ticket_id) * 100, "via": {"channel": "email"},
            "created_at": "2026-10-01T08:00:00Z",
        }],
        "users": [],
        "meta": {"has_more": False, "after_cursor": None, "before_cursor": None},
        "links": {"next": None, "prev": None},
    }


def mock_export(*, page2: list[dict[str, Any]] | None = None, metrics_status: int = 200,
                comment_status: dict[str, int] | None = None) -> None:
    """Register the two export pages, the metric events and every ticket's comments."""
    responses.get(EXPORT, json=load("incremental_tickets_page1.json"), match=[
        matchers.query_param_matcher({"start_time": str(epoch(SINCE)),
                                      "include": "users,organizations"})])
    for extra in page2 or []:
        responses.get(EXPORT, **extra, match=[matchers.query_param_matcher(
            {"cursor": PAGE2_CURSOR, "include": "users,organizations"})])
    responses.get(EXPORT, json=load("incremental_tickets_page2.json"), match=[
        matchers.query_param_matcher({"cursor": PAGE2_CURSOR, "include": "users,organizations"})])
    metric_body = load("incremental_ticket_metric_events.json") if metrics_status == 200 else {
        "error": "Forbidden", "description": "You do not have access to this page."}
    responses.get(METRICS, json=metric_body, status=metrics_status,
                  match=[matchers.query_param_matcher({"start_time": str(epoch(SINCE))})])
    for ticket_id in COMMENT_AUTHORS:
        status = (comment_status or {}).get(ticket_id, 200)
        body = comments(ticket_id) if status == 200 else {"error": "RecordNotFound",
                                                          "description": "Not found"}
        responses.get(f"{API}/tickets/{ticket_id}/comments.json", json=body, status=status)


def run(db: Store, tenant_id: int, adapter: Any, **kwargs: Any) -> BackfillReport:
    """The runner with a frozen clock and a sleep that must be injected."""
    kwargs.setdefault("sleep", _no_sleep)
    kwargs.setdefault("days", 60)
    return run_backfill(db.factory, adapter, tenant_id=tenant_id, clock=lambda: NOW, **kwargs)


def _no_sleep(seconds: float) -> None:
    raise AssertionError(f"unexpected sleep of {seconds}s")


def stored(db: Store) -> dict[str, Ticket]:
    """Every stored ticket by helpdesk id."""
    with store.session_scope(db.factory) as s:
        rows = list(s.scalars(select(store.TicketRow)))
        return {row.external_id: Ticket.from_dict(row.data) for row in rows}


def count(db: Store, table: Any) -> int:
    """Rows in a table."""
    with store.session_scope(db.factory) as s:
        return s.scalar(select(func.count()).select_from(table)) or 0


def latest_run(db: Store, tenant_id: int, helpdesk: str = "zendesk") -> store.BackfillRunRow:
    """The tenant's newest run row."""
    with store.session_scope(db.factory) as s:
        row = store.latest_backfill_run(s, tenant_id=tenant_id, helpdesk=helpdesk)
        assert row is not None
        s.expunge(row)
        return row


def queries(path_suffix: str) -> list[dict[str, str]]:
    """The query strings of the calls made to one URL, in order."""
    return [dict(recorded.extras(call.request).params) for call in responses.calls
            if recorded.url(call.request).split("?")[0].endswith(path_suffix)]


# --- a whole import -----------------------------------------------------------------------


@responses.activate
def test_a_multi_page_export_is_imported_once_with_comments_and_metric_events(
    db: Store, tenant_id: int
) -> None:
    mock_export()
    report = run(db, tenant_id, zendesk())

    assert report.status is store.BackfillStatus.DONE and not report.resumed
    assert (report.pages, report.tickets_seen, report.tickets_stored) == (3, 4, 4)
    tickets = stored(db)
    assert sorted(tickets) == ["101", "102", "103", "105"]  # 104 was deleted
    assert tickets["101"].messages[0].body == "First message of ticket 101."
    assert tickets["101"].account is not None and tickets["101"].account.health == 0.35
    breach = [e["type"] for e in tickets["101"].custom["metric_events"]]
    assert breach == ["activate", "apply_sla", "breach", "fulfill"]
    assert tickets["102"].custom["metric_events"] == []
    assert tickets["105"].custom["metric_events"][0]["metric"] == "requester_wait_time"
    run_row = latest_run(db, tenant_id)
    assert run_row.status == "done" and run_row.since == SINCE
    assert ExportPosition.decode(run_row.cursor).cursor == "MTc5MTgyODAwMC4wfHwxMDV8"
    # History only: nothing decided, nothing queued, nothing written to the helpdesk.
    assert count(db, store.DecisionRow) == count(db, store.OutboxRow) == 0
    assert count(db, store.InboundEventRow) == 0
    assert {call.request.method for call in responses.calls} == {"GET"}
    with store.session_scope(db.factory) as s:
        row = store.get_ticket(s, tenant_id, "zendesk", "103")
        assert row is not None
        assert (row.tier, row.sla_due_at, row.input_fingerprint) == (None, None, None)


@responses.activate
def test_the_exchanges_match_zendesk_s_api_description(db: Store, tenant_id: int) -> None:
    mock_export()
    run(db, tenant_id, zendesk())
    api = kit.openapi(SPEC)
    for call in responses.calls:
        kit.validate_exchange(api, call.request, _without_deleted(recorded.answer(call)),
                                strip_suffix=".json")


def _without_deleted(response: requests.Response) -> requests.Response:
    # The description's status enum lacks "deleted", which the export does return for
    # deleted tickets (developer.zendesk.com, "Using the Incremental Exports API").
    data = response.json()
    if not isinstance(data, dict) or "tickets" not in data:
        return response
    copy = requests.Response()
    copy.__dict__.update(response.__dict__)
    data["tickets"] = [t for t in data["tickets"] if t.get("status") != "deleted"]
    copy._content = json.dumps(data).encode()
    return copy


@responses.activate
def test_a_second_run_adds_nothing(db: Store, tenant_id: int) -> None:
    mock_export()
    run(db, tenant_id, zendesk())
    before = stored(db)
    again = run(db, tenant_id, zendesk())
    assert again.status is store.BackfillStatus.DONE and not again.resumed
    assert (again.added_seen, again.added_stored) == (4, 0)
    assert stored(db) == before and count(db, store.TicketRow) == 4


@responses.activate
def test_without_access_to_metric_events_the_tickets_still_come(
    db: Store, tenant_id: int
) -> None:
    mock_export(metrics_status=403)
    report = run(db, tenant_id, zendesk())
    assert report.status is store.BackfillStatus.DONE
    assert all("metric_events" not in t.custom for t in stored(db).values())
    assert len(stored(db)) == 4


# --- interruption and resume ----------------------------------------------------------------


@responses.activate
def test_an_adapter_error_after_page_one_resumes_at_the_next_ticket(
    db: Store, tenant_id: int
) -> None:
    mock_export(comment_status={"103": 404})
    with pytest.raises(FatalError, match="404"):
        run(db, tenant_id, zendesk())
    failed = latest_run(db, tenant_id)
    assert failed.status == "failed" and "FatalError" in (failed.last_error or "")
    assert (failed.pages, failed.tickets_stored) == (1, 2)
    assert sorted(stored(db)) == ["101", "102"]

    responses.reset()
    mock_export()
    resumed = run(db, tenant_id, zendesk())
    assert resumed.resumed and resumed.run_id == failed.id
    assert resumed.status is store.BackfillStatus.DONE
    assert sorted(stored(db)) == ["101", "102", "103", "105"]
    # The first export page is read again, but 101 and 102 are not fetched again.
    assert queries("/cursor.json")[0] == {"start_time": str(epoch(SINCE)),
                                          "include": "users,organizations"}
    urls = [recorded.url(c.request) for c in responses.calls]
    fetched = [url for url in urls if "/comments.json" in url]
    assert not any("/tickets/101/" in url or "/tickets/102/" in url for url in fetched)
    assert latest_run(db, tenant_id).tickets_stored == 4


@responses.activate
def test_a_killed_process_resumes_with_the_saved_cursor(db: Store, tenant_id: int) -> None:
    mock_export()
    seen: list[BackfillProgress] = []

    def kill_after_two_pages(progress: BackfillProgress) -> None:
        seen.append(progress)
        if progress.pages == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(db, tenant_id, zendesk(), progress=kill_after_two_pages)
    # SIGKILL leaves no chance to mark the run: it stays "running" and still resumes.
    with store.session_scope(db.factory) as s:
        s.execute(update(store.BackfillRunRow).values(status="running"))
    assert sorted(stored(db)) == ["101", "102", "103"]

    responses.reset()
    mock_export()
    report = run(db, tenant_id, zendesk())
    assert report.resumed and report.status is store.BackfillStatus.DONE
    assert queries("/cursor.json") == [{"cursor": PAGE2_CURSOR, "include": "users,organizations"}]
    assert (report.added_pages, report.added_seen) == (1, 1)
    assert sorted(stored(db)) == ["101", "102", "103", "105"]
    assert count(db, store.TicketRow) == 4


@responses.activate
def test_restart_starts_over_from_the_first_page(db: Store, tenant_id: int) -> None:
    mock_export(comment_status={"103": 404})
    with pytest.raises(FatalError):
        run(db, tenant_id, zendesk())
    first = latest_run(db, tenant_id)
    responses.reset()
    mock_export()
    report = run(db, tenant_id, zendesk(), restart=True)
    assert not report.resumed and report.run_id != first.id
    assert report.added_seen == 4 and report.added_stored == 2  # 101, 102 already there
    with store.session_scope(db.factory) as s:
        old = s.get(store.BackfillRunRow, first.id)
        assert old is not None and old.status == "failed"
        assert old.last_error == "abandoned: restarted"


# --- rate limits ------------------------------------------------------------------------------


@responses.activate
def test_a_429_is_waited_out_for_retry_after_then_the_same_page_continues(
    db: Store, tenant_id: int
) -> None:
    mock_export(page2=[{"status": 429, "json": {"error": "APIRateLimitExceeded"},
                        "headers": {"Retry-After": "7"}}])
    sleeps: list[float] = []
    report = run(db, tenant_id, zendesk(), sleep=sleeps.append)
    assert sleeps == [7.0]
    assert report.status is store.BackfillStatus.DONE and report.retries == 1
    assert report.retried == {Trouble.RATE_LIMITED: 1}
    assert sorted(stored(db)) == ["101", "102", "103", "105"]
    assert queries("/cursor.json")[1:] == [
        {"cursor": PAGE2_CURSOR, "include": "users,organizations"}] * 2
    # The metric events read before the 429 were kept, not fetched again.
    assert len(queries("/ticket_metric_events.json")) == 1


@responses.activate
def test_giving_up_marks_the_run_failed_and_resumable(db: Store, tenant_id: int) -> None:
    limited = {"status": 429, "json": {"error": "APIRateLimitExceeded"},
               "headers": {"Retry-After": "30"}}
    mock_export(page2=[limited] * 3)
    sleeps: list[float] = []
    report = run(db, tenant_id, zendesk(), sleep=sleeps.append, max_tries=3)
    assert report.status is store.BackfillStatus.FAILED and sleeps == [30.0, 30.0]
    assert report.last_error == "rate limited by Zendesk (HTTP 429): gave up after 3 tries in 0s"
    failed = latest_run(db, tenant_id)
    assert failed.status == "failed" and failed.pages == 2
    assert ExportPosition.decode(failed.cursor).cursor == PAGE2_CURSOR

    responses.reset()
    mock_export()
    done = run(db, tenant_id, zendesk())
    assert done.resumed and done.status is store.BackfillStatus.DONE
    assert sorted(stored(db)) == ["101", "102", "103", "105"]


# --- what an import may and may not change ----------------------------------------------------


def _live(db: Store, tenant_id: int, ticket: Ticket) -> None:
    with store.session_scope(db.factory) as s:
        store.upsert_ticket(s, tenant_id=tenant_id, ticket=ticket, tier=3, priority="urgent",
                            category="refund", sla_due_at=NOW, input_fingerprint="f" * 64)


def _snapshot(updated_at: str, subject: str) -> Ticket:
    return Ticket.from_dict(make_ticket(tenant="acme", helpdesk="zendesk", id="9",
                                        subject=subject, updated_at=updated_at))


def test_an_older_snapshot_never_overwrites_a_newer_live_row(db: Store, tenant_id: int) -> None:
    _live(db, tenant_id, _snapshot("2026-11-05T10:00:00Z", "live"))
    with store.session_scope(db.factory) as s:
        assert not store.import_ticket(s, tenant_id=tenant_id,
                                       ticket=_snapshot("2026-11-03T10:00:00Z", "old"))
        assert not store.import_ticket(s, tenant_id=tenant_id,
                                       ticket=_snapshot("2026-11-05T10:00:00Z", "same time"))
    assert stored(db)["9"].subject == "live"

    with store.session_scope(db.factory) as s:
        assert store.import_ticket(s, tenant_id=tenant_id,
                                   ticket=_snapshot("2026-11-06T10:00:00Z", "newer"))
    with store.session_scope(db.factory) as s:
        row = store.get_ticket(s, tenant_id, "zendesk", "9")
        assert row is not None and row.data["subject"] == "newer"
        # What live decisions wrote is kept.
        assert (row.tier, row.priority, row.category) == (3, "urgent", "refund")
        assert row.sla_due_at == NOW and row.input_fingerprint == "f" * 64


def test_pages_from_another_tenant_are_refused(db: Store, tenant_id: int) -> None:
    foreign = Ticket.from_dict(make_ticket(tenant="other", helpdesk="sandbox"))
    adapter = SandboxAdapter(config=HelpdeskConfig(tenant="acme", helpdesk="sandbox"))
    adapter._tickets["1"] = foreign  # an adapter bug, simulated
    with pytest.raises(ValidationError, match="does not belong"):
        run(db, tenant_id, adapter)
    assert count(db, store.TicketRow) == 0
    assert latest_run(db, tenant_id, "sandbox").status == "failed"


def test_a_cursor_from_elsewhere_is_refused() -> None:
    with pytest.raises(ValidationError, match="cursor"):
        ExportPosition.decode("MTc5MTQ2MDgwMC4wfHwxMDN8")
    position = ExportPosition(cursor="abc", generated=5, ticket_id=7)
    assert ExportPosition.decode(position.encode()) == position


# --- imported history feeds repeat-contact detection -----------------------------------------


CSV_BUG = "Exporting the usage report to CSV fails with error E4021 every time."


def _history(number: int, days_before: int) -> Ticket:
    when = (datetime(2026, 11, 10, 9, 0, tzinfo=UTC) - timedelta(days=days_before))
    stamp = when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return Ticket.from_dict(make_ticket(
        id=f"h{number}", subject="CSV export fails", status="open", created_at=stamp,
        updated_at=stamp, messages=[{"id": f"hm{number}", "author": "customer", "public": True,
                                     "body": CSV_BUG, "created_at": stamp}]))


@pytest.mark.parametrize(("imported", "expected"), [(False, 1), (True, 3)])
def test_imported_history_raises_a_new_ticket_s_repeat_contact_count(
    client: Any, runtime: Any, sandbox_tenant: str, imported: bool, expected: int
) -> None:
    from integration.worker import drain

    if imported:
        adapter = SandboxAdapter(config=HelpdeskConfig(tenant="demo", helpdesk="sandbox"),
                                 tickets=[_history(1, 6), _history(2, 3)])
        with store.session_scope(runtime.sessions) as s:
            tenant = store.get_tenant(s, sandbox_tenant)
            assert tenant is not None
            tid = tenant.id
        report = run_backfill(runtime.sessions, adapter, tenant_id=tid, days=60,
                              clock=lambda: datetime(2026, 11, 10, 12, tzinfo=UTC))
        assert report.added_stored == 2
    live = make_ticket(id="77", subject="CSV export broken again",
                       created_at="2026-11-10T09:00:00Z", updated_at="2026-11-10T09:00:00Z",
                       messages=[{"id": "m1", "author": "customer", "public": True,
                                  "body": CSV_BUG, "created_at": "2026-11-10T09:00:00Z"}])
    assert post_sandbox(client, sandbox_body(live, delivery_id="live-77")).status_code == 202
    assert drain(runtime).decided == 1
    with store.session_scope(runtime.sessions) as s:
        (decision,) = s.scalars(select(store.DecisionRow))
        assert decision.signals["repeat_contacts"] == expected
        # Only the live ticket was decided; the imported ones stay undecided history.
        assert s.scalar(select(func.count()).select_from(store.DecisionRow)) == 1


# --- the command ------------------------------------------------------------------------------


@pytest.fixture
def cli_env(app_config: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """Point the CLI at a throwaway, migrated database."""
    store.upgrade(app_config["DATABASE_URL"])
    monkeypatch.setenv("ESCALADE_DATABASE_URL", app_config["DATABASE_URL"])
    monkeypatch.setenv("ESCALADE_VAR_DIR", str(app_config["VAR_DIR"]))
    monkeypatch.setenv("ESCALADE_SECRET_KEY", app_config["SECRET_KEY"])
    return app_config


def test_the_command_prints_a_summary_and_restart_starts_over(cli_env: dict[str, Any]) -> None:
    from click.testing import CliRunner

    from integration.cli.root import main

    runner = CliRunner()
    added = runner.invoke(main, ["tenant", "add", "demo", "--helpdesk", "sandbox",
                                 "--option", "preload_demo=true",
                                 "--option", "backfill_page_size=5"])
    assert added.exit_code == 0, added.output
    first = runner.invoke(main, ["backfill", "--tenant", "demo", "--days", "3650"])
    assert first.exit_code == 0, first.output
    lines = first.stdout.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("demo/sandbox: history import done: ")
    again = runner.invoke(main, ["backfill", "--tenant", "demo", "--days", "3650"])
    assert "(0 new or updated)" in again.stdout
    restarted = runner.invoke(main, ["backfill", "--tenant", "demo", "--restart"])
    assert restarted.exit_code == 0 and "from the last 60 days" in restarted.stdout
    missing = runner.invoke(main, ["backfill", "--tenant", "nobody"])
    assert missing.exit_code == 2 and "no workspace 'nobody'" in missing.output


def test_describe_names_done_total_rate_eta_and_the_wait() -> None:
    progress = BackfillProgress(helpdesk="zendesk", pages=3, tickets_seen=300,
                                tickets_stored=290, elapsed=10.0, total=1200)
    assert describe(progress) == (
        "zendesk: 300 of 1,200 tickets (25%) in 10s, 30.0/s, ETA 30s; 3 pages, 290 stored")
    waiting = replace(progress, total=None, skipped=2, waiting=90,
                      problem="rate limited by Zendesk (HTTP 429)")
    assert describe(waiting) == (
        "zendesk: 302 tickets in 10s, 30.2/s; 3 pages, 290 stored, 2 skipped"
        " - rate limited by Zendesk (HTTP 429), retrying in 1m30s")
    resumed = replace(progress, before=600)
    assert describe(resumed).startswith(
        "zendesk: 900 of 1,200 tickets (75%) in 10s, 30.0/s, ETA 10s")


@responses.activate
def test_removing_the_tenant_removes_its_imports_and_runs(db: Store, tenant_id: int) -> None:
    mock_export()
    run(db, tenant_id, zendesk())
    with store.session_scope(db.factory) as s:
        assert store.remove_tenant(s, "acme")
    assert count(db, store.TicketRow) == 0
    assert count(db, store.BackfillRunRow) == 0


# --- the same runner over the other helpdesks --------------------------------------------


def test_freshdesk_history_goes_through_the_runner_once(db: Store) -> None:
    from tests.adapters import test_freshdesk as fd

    tenant = new_tenant(db, helpdesk="freshdesk", base_url=fd.BASE)
    since = (NOW - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{fd.API}/companies/501", json=fd.load("company.json"))
        fd.mock_listing(rsps, since, 1, [fd.listed(1, "2026-10-02T00:00:00Z"),
                                         fd.listed(2, "2026-10-03T00:00:00Z")], True)
        fd.mock_listing(rsps, since, 2, [fd.listed(3, "2026-10-04T00:00:00Z")], False)
        report = run(db, tenant, fd.adapter())
        again = run(db, tenant, fd.adapter())
    assert report.status is store.BackfillStatus.DONE
    assert sorted(stored(db)) == ["1", "2", "3"]
    assert again.added_stored == 0 and count(db, store.TicketRow) == 3
    assert count(db, store.OutboxRow) == 0 and count(db, store.DecisionRow) == 0


def test_intercom_history_goes_through_the_runner_once(db: Store) -> None:
    from tests.adapters import test_intercom as ic

    tenant = new_tenant(db, helpdesk="intercom", base_url=None)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{ic.API}/conversations/search", json=ic.load("search_page1.json"))
        page2 = ic.load("search_page2.json")
        page2["conversations"] = []
        rsps.post(f"{ic.API}/conversations/search", json=page2)
        ic.mock_fetch(rsps)
        report = run(db, tenant, ic.adapter())
    assert report.status is store.BackfillStatus.DONE
    assert list(stored(db)) == [ic.CONV]
    assert count(db, store.OutboxRow) == 0


# --- what went wrong, named: rate limit, the vendor's server error, no connection at all -------


class FakeTime:
    """A monotonic clock that only moves when the runner sleeps (nothing really waits)."""

    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        """Wait, instantly."""
        self.slept.append(seconds)
        self.now += seconds

    def timer(self) -> float:
        """Seconds on this clock."""
        return self.now


def real_failure(monkeypatch: pytest.MonkeyPatch, how: str) -> requests.RequestException:
    """What requests really raises when Zendesk cannot be reached; the socket layer is faked."""
    def no_such_name(*args: Any, **kwargs: Any) -> Any:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def an_address(host: str, port: int, *args: Any, **kwargs: Any) -> Any:
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("192.0.2.10", port))]

    def refuse(self: socket.socket, address: Any) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    def hang(self: socket.socket, address: Any) -> None:
        raise TimeoutError("timed out")

    with monkeypatch.context() as patch:
        if how == "dns":
            patch.setattr(socket, "getaddrinfo", no_such_name)
        else:
            patch.setattr(socket, "getaddrinfo", an_address)
            patch.setattr(socket.socket, "connect", refuse if how == "refused" else hang)
        with pytest.raises(requests.RequestException) as info:
            requests.get(f"{API}/incremental/tickets/cursor.json", timeout=1)
    return info.value


@pytest.fixture
def dns_failure(monkeypatch: pytest.MonkeyPatch) -> requests.RequestException:
    """acme.zendesk.com does not resolve."""
    return real_failure(monkeypatch, "dns")


def _zendesk_export(rsps: responses.RequestsMock) -> None:
    rsps.get(EXPORT, json=load("incremental_tickets_page1.json"))


def _freshdesk_listing(rsps: responses.RequestsMock) -> None:
    from tests.adapters import test_freshdesk as fd

    rsps.get(f"{fd.API}/tickets", json=[])


def _intercom_search(rsps: responses.RequestsMock) -> None:
    from tests.adapters import test_intercom as ic

    rsps.post(f"{ic.API}/conversations/search", json={})


def _adapters() -> dict[str, tuple[Any, str, str]]:
    from tests.adapters import test_freshdesk as fd
    from tests.adapters import test_intercom as ic

    return {
        "zendesk": (zendesk, "GET", EXPORT),
        "freshdesk": (fd.adapter, "GET", f"{fd.API}/tickets"),
        "intercom": (ic.adapter, "POST", f"{ic.API}/conversations/search"),
    }


@pytest.mark.parametrize("vendor", ["zendesk", "freshdesk", "intercom"])
@pytest.mark.parametrize(("how", "reason"), [("dns", "name does not resolve"),
                                             ("refused", "connection refused"),
                                             ("timeout", "timed out")])
def test_a_helpdesk_that_cannot_be_reached_is_named_by_host_and_reason(
    monkeypatch: pytest.MonkeyPatch, vendor: str, how: str, reason: str
) -> None:
    from integration.errors import Unreachable

    failure = real_failure(monkeypatch, how)
    build, method, url = _adapters()[vendor]
    host = url.split("/")[2]
    with responses.RequestsMock() as rsps:
        rsps.add(method, url, body=failure)
        with pytest.raises(Unreachable) as info:
            next(build().backfill(since=SINCE))
    assert str(info.value) == f"cannot reach {host}: {reason}"
    assert info.value.retry_after is None


@responses.activate
def test_an_unreachable_helpdesk_is_retried_with_its_own_backoff_then_stops_resumably(
    db: Store, tenant_id: int, dns_failure: requests.RequestException,
    caplog: pytest.LogCaptureFixture,
) -> None:
    mock_export(page2=[{"body": dns_failure}] * 6)
    fake = FakeTime()
    with caplog.at_level(logging.INFO, logger="integration.backfill"):
        report = run(db, tenant_id, zendesk(), sleep=fake.sleep, timer=fake.timer)
    assert fake.slept == [5.0, 10.0, 20.0, 40.0, 60.0]
    assert report.status is store.BackfillStatus.FAILED
    assert report.retried == {Trouble.UNREACHABLE: 5}
    assert report.last_error == (
        "cannot reach acme.zendesk.com: name does not resolve: gave up after 6 tries in 2m15s")
    assert report.failure() == (
        "acme/zendesk: history import stopped: cannot reach acme.zendesk.com: name does not "
        "resolve: gave up after 6 tries in 2m15s; the 3 tickets read so far are saved and the "
        "same command resumes after them")
    assert caplog.messages[0] == ("zendesk: cannot reach acme.zendesk.com: name does not "
                                  "resolve; retry 1 of 5 in 5s")
    assert "rate limit" not in caplog.text
    failed = latest_run(db, tenant_id)
    assert failed.status == "failed" and failed.last_error == report.last_error
    assert ExportPosition.decode(failed.cursor).cursor == PAGE2_CURSOR

    responses.reset()
    mock_export()
    done = run(db, tenant_id, zendesk())
    assert done.resumed and done.status is store.BackfillStatus.DONE
    assert queries("/cursor.json") == [{"cursor": PAGE2_CURSOR, "include": "users,organizations"}]
    assert sorted(stored(db)) == ["101", "102", "103", "105"]


@responses.activate
def test_a_server_error_is_named_as_zendesk_s_and_retried_not_called_a_rate_limit(
    db: Store, tenant_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    mock_export(page2=[{"status": 503, "json": {"error": "ServiceUnavailable"}},
                       {"status": 502, "body": "<html>bad gateway</html>"}])
    fake = FakeTime()
    with caplog.at_level(logging.WARNING, logger="integration.backfill"):
        report = run(db, tenant_id, zendesk(), sleep=fake.sleep, timer=fake.timer)
    assert report.status is store.BackfillStatus.DONE and fake.slept == [5.0, 10.0]
    assert report.retried == {Trouble.SERVER_ERROR: 2}
    assert caplog.messages == [
        "zendesk: Zendesk server error (HTTP 503); retry 1 of 4 in 5s",
        "zendesk: Zendesk server error (HTTP 502); retry 2 of 4 in 10s",
    ]
    assert "; 2 retries (2 server error)." in report.summary()


@responses.activate
def test_a_rate_limit_waits_as_retry_after_asks_or_backs_off_without_it(
    db: Store, tenant_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    limited = {"status": 429, "json": {"error": "APIRateLimitExceeded"}}
    mock_export(page2=[{**limited, "headers": {"Retry-After": "45"}}, limited, limited])
    fake = FakeTime()
    with caplog.at_level(logging.WARNING, logger="integration.backfill"):
        report = run(db, tenant_id, zendesk(), sleep=fake.sleep, timer=fake.timer)
    assert report.status is store.BackfillStatus.DONE and fake.slept == [45.0, 4.0, 8.0]
    assert caplog.messages[0] == ("zendesk: rate limited by Zendesk (HTTP 429); retry 1 of 4 in "
                                  "45s (as Retry-After asks)")


# --- a resumed run keeps its window ----------------------------------------------------------


@responses.activate
def test_resuming_with_other_days_is_refused_and_says_so(db: Store, tenant_id: int) -> None:
    mock_export(comment_status={"103": 404})
    with pytest.raises(FatalError):
        run(db, tenant_id, zendesk(), days=60)
    before = latest_run(db, tenant_id)
    responses.reset()

    with pytest.raises(WindowChanged) as info:
        run(db, tenant_id, zendesk(), days=30)
    assert (info.value.requested, info.value.window) == (30, 60)
    assert (info.value.run_id, info.value.since, info.value.tickets) == (before.id, SINCE, 2)
    assert len(responses.calls) == 0
    after = latest_run(db, tenant_id)
    assert (after.status, after.cursor, after.updated_at) == (
        before.status, before.cursor, before.updated_at)

    mock_export()
    resumed = run(db, tenant_id, zendesk(), days=None)  # no --days: the run's own window
    assert resumed.resumed and resumed.run_id == before.id
    assert (resumed.days, resumed.since) == (60, SINCE)
    assert resumed.status is store.BackfillStatus.DONE


def _unfinished_run(cli_env: dict[str, Any], slug: str, days: int) -> None:
    engine = store.make_engine(cli_env["DATABASE_URL"])
    try:
        with store.session_scope(store.make_session_factory(engine)) as s:
            tenant = store.get_tenant(s, slug)
            assert tenant is not None
            now = datetime.now(UTC)
            store.start_backfill_run(s, tenant_id=tenant.id, helpdesk=tenant.helpdesk,
                                     since=now - timedelta(days=days), now=now)
    finally:
        engine.dispose()


def test_the_command_says_how_to_restart_when_days_differ_from_the_unfinished_run(
    cli_env: dict[str, Any],
) -> None:
    from click.testing import CliRunner

    from integration.cli.root import main

    runner = CliRunner()
    added = runner.invoke(main, ["tenant", "add", "demo", "--helpdesk", "sandbox",
                                 "--option", "preload_demo=true"])
    assert added.exit_code == 0, added.output
    _unfinished_run(cli_env, "demo", days=60)

    refused = runner.invoke(main, ["backfill", "--tenant", "demo", "--days", "30"])
    assert refused.exit_code == 1 and refused.stdout == ""
    (line,) = refused.stderr.splitlines()
    assert line.startswith("Error: --days 30 does not match the unfinished import of the last "
                           "60 days (run #1, since ")
    assert line.endswith(" UTC, 0 tickets so far): to resume it, run without --days; to start "
                         "over with 30 days, add --restart")

    restarted = runner.invoke(main, ["backfill", "--tenant", "demo", "--days", "30", "--restart"])
    assert restarted.exit_code == 0, restarted.output
    assert "history import done: " in restarted.stdout
    assert "from the last 30 days" in restarted.stdout


# --- the summary --------------------------------------------------------------------------------


@responses.activate
def test_the_summary_says_what_was_imported_skipped_and_why_and_where_it_is_used(
    db: Store, tenant_id: int, caplog: pytest.LogCaptureFixture
) -> None:
    page2 = load("incremental_tickets_page2.json")
    page2["tickets"][1]["created_at"] = "last tuesday"  # ticket 105
    mock_export(page2=[{"json": page2}])
    fake = FakeTime()
    with caplog.at_level(logging.WARNING, logger="integration.backfill"):
        report = run(db, tenant_id, zendesk(), timer=fake.timer,
                     progress=lambda p: fake.sleep(1.0 if p.pages else 0.0))  # a second a page
    assert sorted(stored(db)) == ["101", "102", "103"]
    assert report.summary() == (
        "acme/zendesk: history import done: 3 tickets from the last 60 days (3 new or updated) "
        "in 3 pages, 3.0s, 1.7 tickets/s; 2 skipped: 1 deleted in Zendesk, 1 invalid (ticket "
        "105: ticket.created_at: not an ISO 8601 timestamp: 'last tuesday'). New tickets from "
        "the same requester or account now count these as earlier contacts (repeat contacts, "
        "previous tickets in the handoff note).")
    assert caplog.messages == ["zendesk: skipped ticket 105 (invalid): ticket.created_at: not an "
                               "ISO 8601 timestamp: 'last tuesday'"]


def test_a_resumed_run_s_summary_says_so_with_the_whole_run_s_count(
    db: Store, tenant_id: int
) -> None:
    adapter = SandboxAdapter(
        config=HelpdeskConfig(tenant="acme", helpdesk="sandbox",
                              options={"backfill_page_size": 1}),
        tickets=[Ticket.from_dict(make_ticket(tenant="acme", id=str(n),
                                              updated_at=f"2026-11-0{n}T10:00:00Z"))
                 for n in (1, 2, 3)])

    def stop_after_one(progress: BackfillProgress) -> None:
        if progress.pages == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(db, tenant_id, adapter, progress=stop_after_one)
    report = run(db, tenant_id, adapter)
    assert report.summary().startswith(
        f"acme/sandbox: history import done (resumed run #{report.run_id}: 3 tickets in all): "
        "2 more tickets from the last 60 days (2 new or updated) in 2 pages, ")


def test_a_freshdesk_ticket_that_cannot_be_read_is_skipped_not_fatal(db: Store) -> None:
    from adapters.helpdesk.base import SkipReason
    from tests.adapters import test_freshdesk as fd

    tenant = new_tenant(db, helpdesk="freshdesk", base_url=fd.BASE)
    since = (NOW - timedelta(days=60)).strftime("%Y-%m-%dT%H:%M:%SZ")
    broken = {**fd.listed(2, "2026-10-03T00:00:00Z"), "created_at": "yesterday"}
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{fd.API}/companies/501", json=fd.load("company.json"))
        fd.mock_listing(rsps, since, 1, [fd.listed(1, "2026-10-02T00:00:00Z"), broken,
                                         fd.listed(3, "2026-10-04T00:00:00Z")], False)
        report = run(db, tenant, fd.adapter())
    assert report.status is store.BackfillStatus.DONE
    assert sorted(stored(db)) == ["1", "3"]
    assert report.skipped == {SkipReason.INVALID: 1} and report.invalid[0].id == "2"
    assert "1 invalid (ticket 2: ticket.created_at: " in report.summary()


def test_intercom_gives_a_total_and_a_vanished_conversation_counts_as_deleted(db: Store) -> None:
    from adapters.helpdesk.base import SkipReason
    from tests.adapters import test_intercom as ic

    tenant = new_tenant(db, helpdesk="intercom", base_url=None)
    seen: list[BackfillProgress] = []
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.post(f"{ic.API}/conversations/search", json=ic.load("search_page1.json"))
        rsps.post(f"{ic.API}/conversations/search", json=ic.load("search_page2.json"))
        ic.mock_fetch(rsps)
        rsps.get(f"{ic.API}/conversations/215470900158799", status=404,
                 json=ic.load("error_not_found.json"))
        report = run(db, tenant, ic.adapter(), progress=seen.append)
    assert [(p.done, p.total) for p in seen] == [(0, None), (1, 2), (2, 2)]
    assert report.skipped == {SkipReason.DELETED: 1}
    assert "1 skipped: 1 deleted in Intercom" in report.summary()


# --- progress on a terminal and in a log ------------------------------------------------------


def render(written: str) -> list[str]:
    """What a terminal shows for ``written``: "\\r" goes back to the start of the line."""
    rows: list[list[str]] = [[]]
    column = 0
    for char in written:
        if char == "\r":
            column = 0
        elif char == "\n":
            rows.append([])
            column = 0
        else:
            row = rows[-1]
            if column < len(row):
                row[column] = char
            else:
                row.append(char)
            column += 1
    return [text for text in ("".join(row).rstrip() for row in rows) if text]


PROGRESS = BackfillProgress(helpdesk="intercom", pages=1, tickets_seen=150, tickets_stored=150,
                            elapsed=10.0, total=600)


def test_off_a_terminal_a_progress_line_is_written_every_few_seconds() -> None:
    clock = FakeTime()
    out = io.StringIO()
    display = ProgressDisplay(out, is_tty=False, timer=clock.timer)
    assert display.every == 5.0
    display(PROGRESS)
    assert out.getvalue() == ""  # a page alone writes nothing: lines come at a steady pace
    clock.now += 5
    display.tick()
    display(replace(PROGRESS, elapsed=15.0, waiting=30.0,
                    problem="cannot reach api.intercom.io: timed out"))
    clock.now += 5
    display.tick()
    display.close()
    assert out.getvalue().splitlines() == [
        "intercom: 150 of 600 tickets (25%) in 15s, 10.0/s, ETA 45s; 1 page, 150 stored",
        "intercom: 150 of 600 tickets (25%) in 20s, 7.5/s, ETA 1m00s; 1 page, 150 stored"
        " - cannot reach api.intercom.io: timed out, retrying in 25s",
    ]


def test_the_background_ticker_writes_while_a_page_takes_long() -> None:
    written = threading.Event()

    class Log(io.StringIO):
        def write(self, text: str) -> int:
            written.set()
            return super().write(text)

    out = Log()
    with ProgressDisplay(out, is_tty=False, every=0.01).running() as display:
        display(PROGRESS)
        assert written.wait(10), "no progress line was written"
    assert out.getvalue().startswith("intercom: 150 of 600 tickets (25%) in ")


def test_on_a_terminal_a_log_line_never_shares_the_progress_line() -> None:
    out = io.StringIO()
    later = replace(PROGRESS, pages=2, tickets_seen=300, tickets_stored=299, elapsed=20.0)
    display = ProgressDisplay(out, is_tty=True, every=3600)
    with display.running():
        display(PROGRESS)
        logging.getLogger("integration.backfill").warning("intercom: rate limited; waiting 7s")
        display(later)
        logging.getLogger("adapters.helpdesk.intercom").info("conversation 9 vanished")
    assert render(out.getvalue()) == [
        "warning: intercom: rate limited; waiting 7s",
        "conversation 9 vanished",
        describe(later),
    ]
    assert out.getvalue().endswith("\n")  # what follows starts on its own line


def test_the_command_stops_with_one_clear_line_when_the_helpdesk_cannot_be_reached(
    cli_env: dict[str, Any], monkeypatch: pytest.MonkeyPatch,
    dns_failure: requests.RequestException,
) -> None:
    from click.testing import CliRunner

    from integration import backfill
    from integration.cli.root import main

    monkeypatch.setattr(backfill, "BACKOFF", {kind: backfill.Backoff(first=0.0, cap=0.0)
                                              for kind in Trouble})
    runner = CliRunner()
    added = runner.invoke(main, ["tenant", "add", "acme", "--helpdesk", "zendesk", "--base-url",
                                 "https://acme.zendesk.com", "--email", "bot@acme.example",
                                 "--api-token", "t0ken", "--option", "backfill_page_size=2",
                                 "--no-check"])
    assert added.exit_code == 0, added.output

    def export(fail: bool) -> Any:
        def answer(request: requests.PreparedRequest) -> Any:
            if "cursor=" not in (request.url or ""):
                return 200, {}, json.dumps(load("incremental_tickets_page1.json"))
            if fail:
                return dns_failure
            return 200, {}, json.dumps(load("incremental_tickets_page2.json"))
        return answer

    def mock(rsps: responses.RequestsMock, *, fail: bool) -> None:
        rsps.add_callback(responses.GET, EXPORT, callback=export(fail))
        rsps.get(METRICS, json=load("incremental_ticket_metric_events.json"))
        for ticket_id in COMMENT_AUTHORS:
            rsps.get(f"{API}/tickets/{ticket_id}/comments.json", json=comments(ticket_id))

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock(rsps, fail=True)
        stopped = runner.invoke(main, ["backfill", "--tenant", "acme"])
    assert stopped.exit_code == 1 and stopped.stdout == ""
    *warnings, error = stopped.stderr.splitlines()
    assert error == (
        "Error: acme/zendesk: history import stopped: cannot reach acme.zendesk.com: name does "
        "not resolve: gave up after 6 tries in 0s; the 3 tickets read so far are saved and the "
        "same command resumes after them")
    assert warnings == [
        "warning: zendesk: cannot reach acme.zendesk.com: name does not resolve; retry "
        f"{n} of 5 in 0s" for n in range(1, 6)]

    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        mock(rsps, fail=False)
        resumed = runner.invoke(main, ["backfill", "--tenant", "acme"])
    assert resumed.exit_code == 0, resumed.output
    assert resumed.stdout.startswith(
        "acme/zendesk: history import done (resumed run #1: 4 tickets in all): 1 more ticket ")
