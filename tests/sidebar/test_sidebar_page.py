"""The agent sidebar: the view model of a demo Tier 3 ticket, the page, and who gets in."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from integration import store
from integration.demo.seed import seed_demo
from integration.matrix import default_matrix
from integration.store.people import TierOverrideRow
from sidebar_ui.auth import SidebarIdentity, issue_sidebar_token
from sidebar_ui.sidebar_view import build_sidebar, format_duration

NOW = datetime(2026, 11, 2, 12, 0, tzinfo=UTC)


@dataclass(frozen=True, kw_only=True)
class Demo:
    """A seeded demo workspace and the Tier 3 ticket the tests look at."""

    ticket_id: str
    account: str
    rule_ids: tuple[str, ...]


def token_for(runtime: Any, *, tenant: str = "demo", ticket_id: str | None = None,
              helpdesk: str = "sandbox", user: str | None = "kim@ourco.example") -> str:
    """A sidebar token as the page would hand out."""
    identity = SidebarIdentity(tenant=tenant, helpdesk=helpdesk, user=user,
                               ticket_id=ticket_id, via="test")
    return issue_sidebar_token(identity, key=runtime.cipher.sign_key("sidebar"),
                               now=runtime.now())


@pytest.fixture
def demo(runtime: Any) -> Demo:
    """The demo workspace; its first Tier 3 ticket with an account and a trigger hit."""
    seed_demo(runtime)
    with store.session_scope(runtime.sessions) as s:
        rows = s.scalars(select(store.TicketRow).where(store.TicketRow.tier == 3)
                         .order_by(store.TicketRow.external_id)).all()
        for row in rows:
            decision = store.decisions_for_ticket(s, row.id, limit=1)[0]
            account = (row.data.get("account") or {}).get("name")
            if account and decision.signals.get("triggers") and decision.handoff:
                rule_ids = tuple(r["rule_id"] for r in decision.rules)
                return Demo(ticket_id=row.external_id, account=account, rule_ids=rule_ids)
    raise AssertionError("the demo workspace has no Tier 3 ticket with an account")


def sidebar_url(ticket_id: str, token: str | None = None, tenant: str = "demo") -> str:
    """The ticket page's URL, with the token in ``?t=`` when given."""
    url = f"/sidebar/sandbox/{tenant}/tickets/{ticket_id}"
    return f"{url}?t={token}" if token else url


# --- the view model -------------------------------------------------------------------------


def test_view_model_of_a_tier_3_demo_ticket(runtime: Any, demo: Demo) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "sandbox", demo.ticket_id)
        assert row is not None
        view = build_sidebar(row, store.decisions_for_ticket(s, row.id), [],
                             matrix=runtime.matrix_for(tenant), now=runtime.now())

    assert view.tier == 3
    assert view.priority == "urgent"
    assert tuple(r.rule_id for r in view.rules) == demo.rule_ids
    assert all(r.reason for r in view.rules)
    triggers = [e for e in view.evidence if e.kind == "trigger"]
    assert triggers and all(e.text and e.sentence for e in triggers)
    assert any(e.kind == "sentiment" and e.sentence for e in view.evidence)
    assert not view.summary.empty
    assert view.summary.wants
    assert view.account is not None and view.account.name == demo.account
    assert view.account.plan and view.account.arr and view.account.health
    assert view.account.health.endswith("%")
    assert view.sla is not None
    assert view.sla.state in {"ok", "warning", "breached", "promoted", "paused", "done"}
    assert view.sla.metric and view.sla.due_local and view.sla.remaining


def _row(**overrides: Any) -> store.TicketRow:
    data = {
        "id": "42", "subject": "Export broken", "status": "open",
        "account": {"id": "org-1", "name": "Acme <Corp>", "plan": "enterprise",
                    "arr": 1234567.0, "health": 0.82, "owner": "ann@ourco.example",
                    "lifecycle": "customer", "renewal_date": "2026-12-02"},
    }
    fields: dict[str, Any] = {
        "id": 1, "tenant_id": 1, "helpdesk": "zendesk", "external_id": "42", "data": data,
        "status": "open", "tier": 2, "priority": "high", "category": "bug",
        "sla_state": "ok", "sla_due_at": NOW + timedelta(hours=2),
        "sla_warn_at": NOW + timedelta(hours=1, minutes=30),
        "sla_clock": {"metrics": [{"metric": "first_response",
                                   "due_at": "2026-11-02T14:00:00Z"}]},
    }
    fields.update(overrides)
    return store.TicketRow(**fields)


def _decision(**overrides: Any) -> store.DecisionRow:
    fields: dict[str, Any] = {
        "id": 7, "ticket_id": 1, "cause": "event", "decided_at": NOW, "tier": 2,
        "matrix_version": "v1-test", "sentiment": -0.4,
        "rules": [{"rule_id": "bug_report", "reason": "Bug report: category bug"}],
        "signals": {"sentiment": -0.4, "error_keys": ["E_EXPORT_500"],
                    "message_sentiments": [{"message_id": "m1", "score": -0.4,
                                            "sentence": "Export fails every time."}]},
        "handoff": {"summary": "Wants: fix the export", "wants": "fix the export",
                    "customer_words": "fix the export", "tried": ["cleared the cache"],
                    "bot_answered": [], "facts": [],
                    "previous": [{"id": "40", "subject": "Export slow", "status": "solved",
                                  "created_at": "2026-10-01T10:00:00Z"}],
                    "ticket_url": "https://acme.zendesk.com/agent/tickets/42"},
    }
    fields.update(overrides)
    return store.DecisionRow(**fields)


def test_view_model_formats_account_and_derives_links() -> None:
    view = build_sidebar(_row(), [_decision()], [], matrix=default_matrix(), now=NOW)

    assert view.account is not None
    assert (view.account.arr, view.account.health, view.account.health_level) == (
        "USD 1,234,567", "82%", "good")
    assert view.account.renewal == "2026-12-02 (in 30 d)"
    # "Wants: fix the export" says nothing "Customer asks" does not.
    assert view.summary.summary is None and view.summary.customer_words is None
    assert view.summary.tried == ("cleared the cache",)
    assert [(p.id, p.url) for p in view.previous] == [
        ("40", "https://acme.zendesk.com/agent/tickets/40")]
    assert [(e.kind, e.text) for e in view.evidence] == [
        ("sentiment", "-0.40"), ("error_keys", "E_EXPORT_500")]
    assert view.evidence[0].sentence == "Export fails every time."
    assert view.bug is None


@pytest.mark.parametrize(("now", "state", "overdue", "remaining"), [
    (NOW, "ok", False, "2 h 00 min"),
    (NOW + timedelta(hours=1, minutes=45), "warning", False, "15 min"),
    (NOW + timedelta(days=1, hours=3), "breached", True, "1 d 1 h"),
])
def test_sla_clock_reads_the_due_time_not_only_the_stored_state(
    now: datetime, state: str, overdue: bool, remaining: str
) -> None:
    view = build_sidebar(_row(), [_decision()], [], matrix=default_matrix(), now=now)

    assert view.sla is not None
    assert (view.sla.state, view.sla.overdue, view.sla.remaining) == (state, overdue, remaining)
    assert view.sla.metric == "first response"
    # Tier 2 counts business hours: the due time is shown in that calendar's zone, not UTC.
    assert view.sla.due_local is not None and not view.sla.due_local.endswith("UTC")


def test_paused_clock_has_no_due_time_and_linked_bug_is_shown() -> None:
    data = {**_row().data, "linked_bug": {"key": "ENG-12", "title": "Export 500",
                                          "url": "javascript:alert(1)"}}
    row = _row(sla_state="paused", data=data)
    override = TierOverrideRow(id=3, tenant_id=1, ticket_id=1, from_tier=3, to_tier=2,
                               reason="not urgent", agent="kim", created_at=NOW)

    view = build_sidebar(row, [_decision()], [override], matrix=default_matrix(), now=NOW)

    assert view.sla is not None and view.sla.state == "paused"
    assert view.sla.due_local is None and view.sla.remaining is None
    assert view.bug is not None and view.bug.key == "ENG-12"
    assert view.bug.url is None  # only http(s) links are rendered
    assert [(o.agent, o.from_tier, o.to_tier, o.reason) for o in view.overrides] == [
        ("kim", 3, 2, "not urgent")]


def test_format_duration() -> None:
    assert format_duration(timedelta(seconds=20)) == "under a minute"
    assert format_duration(timedelta(minutes=-75)) == "1 h 15 min"
    assert format_duration(timedelta(days=2)) == "2 d"


# --- the page -------------------------------------------------------------------------------


def test_page_shows_tier_why_summary_account_and_sla(client: Any, runtime: Any,
                                                      demo: Demo) -> None:
    token = token_for(runtime, ticket_id=demo.ticket_id)

    response = client.get(sidebar_url(demo.ticket_id, token))

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert re.search(r'id="tier-badge"[^>]*>Tier 3<', html)
    for rule_id in demo.rule_ids:
        assert f'data-rule="{rule_id}"' in html
    assert 'id="evidence"' in html and "<q>" in html
    assert 'id="summary"' in html and "Customer asks" in html
    assert demo.account.replace("&", "&amp;") in html
    assert 'id="sla-due"' in html and 'id="sla-metric"' in html
    for element in ('id="override-form"', 'id="override-tier"', 'id="override-reason"',
                    'id="override-submit"', 'id="override-result"'):
        assert element in html
    assert '<meta name="viewport"' in html
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]


def test_a_solved_ticket_says_met_only_when_no_window_ran_out(client: Any,
                                                               runtime: Any) -> None:
    # Every finished ticket said "SLA Met", also those whose first response came hours late.
    from integration.demo.decided import decide_history

    seed_demo(runtime)
    decide_history(runtime)
    with store.session_scope(runtime.sessions) as s:
        done = s.scalars(select(store.TicketRow).where(store.TicketRow.sla_state == "done")
                         .order_by(store.TicketRow.external_id)).all()
        breached = {row.external_id for row in done
                    if any(m.get("breached_at") for m in (row.sla_clock or {}).get("metrics", ()))}
        met = {row.external_id for row in done} - breached
    assert breached and met
    for ticket_id, label in ((min(breached), "Done, breached"), (min(met), "Met")):
        html = client.get(sidebar_url(ticket_id, token_for(runtime))).get_data(as_text=True)
        assert re.search(rf'id="sla-badge">SLA {label}<', html), ticket_id


def test_page_makes_no_request_to_another_host(client: Any, runtime: Any,
                                               demo: Demo) -> None:
    html = client.get(sidebar_url(demo.ticket_id, token_for(runtime))).get_data(as_text=True)

    external = re.findall(r'<(?!a\s)[^>]*(?:src|href|action)\s*=\s*"(?:https?:)?//[^"]*"', html)
    # Only links an agent clicks may point elsewhere: their helpdesk, the help centre.
    assert external == []
    clicked = re.findall(r'<a\s[^>]*href\s*=\s*"((?:https?:)?//[^"]*)"', html)
    assert all("/agent/tickets/" in u or "/articles/" in u for u in clicked), clicked
    assert "@import" not in html and "url(http" not in html


def test_static_assets_make_no_external_request(client: Any) -> None:
    for name in ("sidebar.css", "sidebar.js"):
        response = client.get(f"/sidebar-static/{name}")
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        response.close()
        assert "http://" not in body and "https://" not in body and "//cdn" not in body


def test_header_token_also_works(client: Any, runtime: Any, demo: Demo) -> None:
    response = client.get(sidebar_url(demo.ticket_id),
                          headers={"X-Escalade-Sidebar-Token": token_for(runtime)})

    assert response.status_code == 200


def test_html_is_escaped(client: Any, runtime: Any, demo: Demo) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        row = store.get_ticket(s, tenant.id, "sandbox", demo.ticket_id)
        assert row is not None
        row.data = {**row.data, "subject": "<script>alert(1)</script>"}

    html = client.get(sidebar_url(demo.ticket_id, token_for(runtime))).get_data(as_text=True)

    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html


# --- who gets in ----------------------------------------------------------------------------


def test_no_token_is_401(client: Any, demo: Demo) -> None:
    assert client.get(sidebar_url(demo.ticket_id)).status_code == 401


def test_forged_or_expired_token_is_401(client: Any, runtime: Any, demo: Demo) -> None:
    token = token_for(runtime)
    forged = token[:-2] + ("AA" if not token.endswith("AA") else "BB")
    expired = issue_sidebar_token(
        SidebarIdentity(tenant="demo", helpdesk="sandbox", user=None, ticket_id=None,
                        via="test"),
        key=runtime.cipher.sign_key("sidebar"), now=runtime.now() - timedelta(hours=2))

    assert client.get(sidebar_url(demo.ticket_id, forged)).status_code == 401
    assert client.get(sidebar_url(demo.ticket_id, expired)).status_code == 401


def test_another_tenants_token_is_403(client: Any, runtime: Any, demo: Demo) -> None:
    with store.session_scope(runtime.sessions) as s:
        store.add_tenant(s, slug="rival", name="Rival", helpdesk="sandbox", base_url=None,
                         secrets={"webhook_secret": "x" * 32}, settings={},
                         cipher=runtime.cipher)
    rival = token_for(runtime, tenant="rival")

    response = client.get(sidebar_url(demo.ticket_id, rival))

    assert response.status_code == 403
    assert demo.account not in response.get_data(as_text=True)
    # Posting an override with it is refused just the same, and writes nothing.
    posted = client.post(f"{sidebar_url(demo.ticket_id)}/override",
                         data={"sidebar_token": rival, "tier": "1", "reason": "x"})
    assert posted.status_code == 403


def test_token_for_another_ticket_is_403(client: Any, runtime: Any, demo: Demo) -> None:
    token = token_for(runtime, ticket_id="1001" if demo.ticket_id != "1001" else "1002")

    assert client.get(sidebar_url(demo.ticket_id, token)).status_code == 403


def test_unknown_ticket_is_404_with_a_message(client: Any, runtime: Any, demo: Demo) -> None:
    response = client.get(sidebar_url("999999", token_for(runtime)))

    assert response.status_code == 404
    assert "has not triaged ticket 999999" in response.get_data(as_text=True)


def test_install_secret_bootstrap_redirects_to_the_ticket(
    client: Any, runtime: Any, demo: Demo
) -> None:
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None
        store.update_tenant(s, tenant, cipher=runtime.cipher,
                            secrets={"sidebar_secret": "install-secret-0123456789"})
    headers = {"X-Escalade-Install-Secret": "install-secret-0123456789"}

    response = client.get(f"/sidebar/sandbox/demo?ticket_id={demo.ticket_id}",
                          headers=headers)

    assert response.status_code == 303
    location = response.headers["Location"]
    assert location.startswith(f"/sidebar/sandbox/demo/tickets/{demo.ticket_id}?t=")
    assert client.get(location).status_code == 200
    assert client.get("/sidebar/sandbox/demo",
                      headers={"X-Escalade-Install-Secret": "wrong"}).status_code == 401


def test_bootstrap_without_ticket_id_explains_what_is_missing(
    client: Any, runtime: Any, demo: Demo
) -> None:
    response = client.get(f"/sidebar/sandbox/demo?t={token_for(runtime)}")

    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert 'id="bootstrap"' in html and "could not tell which ticket is open" in html
    assert "/sidebar/sandbox/demo/tickets/__TICKET__?t=" in html
    assert "zaf_sdk" not in html  # no vendored SDK, and never a CDN one


def test_prose_summary_is_shown_but_the_labelled_one_is_not() -> None:
    labelled = _decision()
    assert labelled.handoff is not None
    prose = _decision(handoff={**labelled.handoff, "summary": "Exports fail since Monday."})

    assert build_sidebar(_row(), [labelled], [], matrix=default_matrix(),
                         now=NOW).summary.summary is None
    assert build_sidebar(_row(), [prose], [], matrix=default_matrix(),
                         now=NOW).summary.summary == "Exports fail since Monday."


def test_bootstrap_keeps_the_zendesk_sdk_parameters(client: Any, runtime: Any,
                                                    demo: Demo) -> None:
    response = client.get(
        f"/sidebar/sandbox/demo?t={token_for(runtime)}&ticket_id={demo.ticket_id}"
        "&origin=https%3A%2F%2Facme.zendesk.com&app_guid=abc-123"
    )

    assert response.status_code == 303
    location = response.headers["Location"]
    assert "origin=https%3A%2F%2Facme.zendesk.com" in location and "app_guid=abc-123" in location
