"""``/admin/accounts``: sorted by ARR at risk, reasons that link to their evidence, the account's
timeline, the workspace's threshold (bad input named), and nothing for visitors."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

from integration import store
from integration.models import Ticket
from integration.store.backfill import import_ticket
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    _add_tenant,
    _post,
    _tenant,
    admin,
    signed_in,
)
from tests.conftest import SANDBOX_SECRET, make_ticket
from tests.test_account_watch import _history, _live


def _small_account(runtime: Any, now: datetime) -> None:
    """A calm account with a bigger ARR than BigCo, and one question last week."""
    at = (now - timedelta(days=7)).replace(microsecond=0).isoformat()
    ticket = make_ticket(id="s1", created_at=at, updated_at=at, status="solved",
                         account={"id": "c7", "name": "CalmCo", "arr": 900000},
                         messages=[{"id": "m1", "author": "customer", "public": True,
                                    "body": "How do I export?", "created_at": at}])
    with store.session_scope(runtime.sessions) as s:
        import_ticket(s, tenant_id=1, ticket=Ticket.from_dict(ticket))


def _seeded(runtime: Any, app: Any) -> datetime:
    _add_tenant(runtime, "demo", secrets={"webhook_secret": SANDBOX_SECRET})
    now = datetime.now(UTC)
    _history(runtime, now)
    _live(app, now, renewal=now.date() + timedelta(days=20))
    _small_account(runtime, now)
    return now


def test_the_list_puts_the_most_arr_at_risk_first_and_states_the_formula(
        signed_in: Any, runtime: Any, app: Any) -> None:  # noqa: F811
    _seeded(runtime, app)
    page = signed_in.get("/admin/accounts?tenant=demo")
    assert page.status_code == 200
    text = page.text
    assert "ARR at risk = ARR × score" in text
    # BigCo (ARR 200,000, at risk) before CalmCo (ARR 900,000, nothing against it).
    assert text.index('id="account-c9"') < text.index('id="account-c7"')
    bigco = text[text.index('id="account-c9"'):text.index('id="account-c7"')]
    assert "at risk</span>" in bigco and "Owner am@ourco.example" in bigco
    assert 'href="/admin/accounts/demo/c9#evidence-tier3"' in bigco
    assert "4 Tier 3 tickets open." in bigco
    # Its timeline: 17 weeks, this week's bar holds its four Tier 3 tickets.
    weeks = re.findall(r'<li class="n(\d) t(\d)" title="([^"]+)"', bigco)
    assert len(weeks) == 17
    assert weeks[-1][1] == "3" and "4 tickets, highest Tier 3" in weeks[-1][2]
    calm = text[text.index('id="account-c7"'):]
    assert "Nothing counts against it." in calm


def test_a_reason_leads_to_the_tickets_behind_it_and_each_to_its_timeline(
        signed_in: Any, runtime: Any, app: Any) -> None:  # noqa: F811
    _seeded(runtime, app)
    page = signed_in.get("/admin/accounts/demo/c9")
    assert page.status_code == 200
    text = page.text
    section = text[text.index('id="evidence-tier3"'):]
    section = section[:section.index("</section>")]
    refs = re.findall(r'href="/\?q=(\w+)" class="evidence-ticket">#(\w+)', section)
    assert sorted(r for r, _ in refs) == ["900", "901", "902", "903"]
    renewal = text[text.index('id="evidence-renewal"'):]
    assert "Renews in 20 days" in renewal[:renewal.index("</section>")]
    # What could not be known is said, not guessed.
    assert "No product activity data for this account" in text
    # The timeline holds the imported history too, with its dates.
    assert "#h2 " in text and "not decided" in text
    # Its chart: one dot per ticket; the angry Tier 3s below the zero line, history unread.
    dots = re.findall(r'<circle cx="([\d.]+)" cy="([\d.]+)" r="5" class="dot t(\d)">'
                      r"<title>#(\w+) ", text)
    assert len(dots) == 7
    by_ref = {ref: (float(x), float(y), tier) for x, y, tier, ref in dots}
    assert all(by_ref[f"90{n}"][2] == "3" and by_ref[f"90{n}"][1] > 62 for n in range(4))
    assert {by_ref[f"h{n}"][1] for n in range(3)} == {140.0}
    assert by_ref["h2"][0] < by_ref["h0"][0] < by_ref["900"][0]  # older is further left
    # The evidence link opens the start page on that ticket.
    start = signed_in.get("/?q=900")
    assert start.status_code == 200 and "Export broken again (0)" in start.text


def test_unknown_accounts_and_workspaces_are_not_found(
        signed_in: Any, runtime: Any, app: Any) -> None:  # noqa: F811
    _seeded(runtime, app)
    assert signed_in.get("/admin/accounts/demo/nobody").status_code == 404
    assert signed_in.get("/admin/accounts/other/c9").status_code == 404
    unknown = signed_in.get("/admin/accounts?tenant=nope")
    assert unknown.status_code == 404 and "no workspace named “nope”" in unknown.text


def test_the_threshold_is_set_per_workspace_and_bad_input_is_named(
        signed_in: Any, runtime: Any, app: Any) -> None:  # noqa: F811
    _seeded(runtime, app)
    for bad in ("high", "0", "1.5", ""):
        answer = _post(signed_in, "/admin/accounts/threshold",
                       {"tenant": "demo", "threshold": bad}, page="/admin/accounts?tenant=demo")
        assert answer.status_code == 303
        shown = signed_in.get(answer.headers["Location"]).text
        assert "Threshold: a number above 0 and at most 1" in shown
    assert "account_risk" not in _tenant(runtime, "demo")[0]
    saved = _post(signed_in, "/admin/accounts/threshold", {"tenant": "demo", "threshold": "0.95"},
                  page="/admin/accounts?tenant=demo")
    assert saved.status_code == 303
    assert _tenant(runtime, "demo")[0]["account_risk"] == {"threshold": 0.95}
    page = signed_in.get("/admin/accounts?tenant=demo").text
    assert 'value="0.95"' in page and "at risk</span>" not in page


def test_visitors_are_sent_to_sign_in(client: Any, runtime: Any, app: Any) -> None:
    _seeded(runtime, app)
    for path in ("/admin/accounts", "/admin/accounts/demo/c9"):
        answer = client.get(path)
        assert answer.status_code in (302, 303) and "/admin/login" in answer.headers["Location"]
