"""The monthly review page on the demo workspace: findings, replayed suggestions, applying one."""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Any

import pytest

from integration import store
from integration.demo.seed import seed_demo
from integration.matrix import load_matrix_text
from integration.matrix.loader import DEFAULT_PATH
from tests.admin.test_admin import admin, signed_in  # noqa: F401  (fixtures)


@pytest.fixture
def demo(runtime: Any) -> str:
    """The seeded demo workspace (its agents' overrides included)."""
    seed_demo(runtime, corrections=True)
    return "demo"


def _month(runtime: Any) -> str:
    return str(runtime.now().astimezone(runtime.matrix.display_zone).strftime("%Y-%m"))


def _review(client: Any, runtime: Any) -> str:
    response = client.get(f"/admin/review?tenant=demo&month={_month(runtime)}")
    assert response.status_code == 200, response.text
    return str(response.text)


def _forms(page: str) -> list[dict[str, str]]:
    """Every suggestion's replay form, as its fields."""
    found = []
    for form in re.findall(r'<form method="post" action="/admin/review/change">(.*?)</form>',
                           page, re.S):
        fields = dict(re.findall(r'name="([^"]+)" value="([^"]*)"', form))
        found.append({k: html.unescape(v) for k, v in fields.items()})
    return found


def test_the_review_shows_noisy_rules_missed_escalations_and_agents_reasons(
        signed_in: Any, runtime: Any, demo: str) -> None:  # noqa: F811
    page = _review(signed_in, runtime)

    noisy = re.search(r'<tr data-rule="big_and_frustrated">(.*?)</tr>', page, re.S)
    assert noisy and "<td>2 (" in noisy.group(1)  # the two agents who lowered it
    for ticket in ("1048", "1052"):
        row = re.search(rf'<tr data-ticket="{ticket}" class="missed">(.*?)</tr>', page, re.S)
        assert row and "raised by an agent" in row.group(1) and "Tier 2" in row.group(1)
    assert "escalated by hand" in page
    assert html.escape("Billing corrects a VAT ID the same day") in page
    assert re.search(r"labeled examples?\.\s+The matrix puts \d+ of them", page)


def test_each_suggestion_is_shown_with_its_replay(signed_in: Any, runtime: Any,  # noqa: F811
                                                 demo: str) -> None:  # noqa: F811
    page = _review(signed_in, runtime)

    cards = re.findall(r'<article class="card suggestion".*?</article>', page, re.S)
    assert cards
    for card in cards:
        assert re.search(r"<strong>\d+</strong> tickets? would change tier: \d+ up, \d+ down",
                         card)
        assert "Agreement with agents&#39; corrections" in card or "Agreement with agents'" in card
    assert "Tighten big_and_frustrated: arr_above" in page


def test_an_admin_replays_a_change_then_applies_it_as_a_new_version(
        signed_in: Any, runtime: Any, demo: str) -> None:  # noqa: F811
    form = next(f for f in _forms(_review(signed_in, runtime))
                if json.loads(f["edit"])["kind"] == "set_threshold")
    saved = Path(runtime.config["VAR_DIR"]) / "matrix.yaml"

    shown = signed_in.post("/admin/review/change", data=form)
    assert shown.status_code == 200
    assert 'id="replay-changed"' in shown.text and 'id="diff"' in shown.text
    assert "+    when: {all: [{arr_above: 200000" in html.unescape(shown.text) or \
        "arr_above: 200000" in html.unescape(shown.text)
    assert not saved.exists()

    apply = dict(re.findall(r'name="([^"]+)" value="([^"]*)"',
                            shown.text.split('id="apply-change"')[0].rsplit("<form", 1)[1]))
    done = signed_in.post("/admin/review/change",
                          data={k: html.unescape(v) for k, v in apply.items()})
    assert done.status_code == 200 and "Saved to" in done.text
    text = saved.read_text(encoding="utf-8")
    matrix = load_matrix_text(text, source="matrix.yaml")
    assert matrix.version in done.text
    bump = next(b for b in matrix.bumps if b.id == "big_and_frustrated")
    assert "arr_above 200000" in bump.when.describe()
    # Only that line changed: every comment of the file is still there.
    before = DEFAULT_PATH.read_text(encoding="utf-8").splitlines()
    after = text.splitlines()
    assert len(before) == len(after)
    assert sum(a != b for a, b in zip(before, after, strict=True)) == 1
    kept = list((saved.parent / "matrix-versions").glob("before-*.yaml"))
    assert [p.read_text(encoding="utf-8") for p in kept] == [DEFAULT_PATH.read_text("utf-8")]


def test_nothing_is_saved_unreplayed_stale_or_without_the_form_token(
        signed_in: Any, runtime: Any, demo: str) -> None:  # noqa: F811
    form = _forms(_review(signed_in, runtime))[0]
    saved = Path(runtime.config["VAR_DIR"]) / "matrix.yaml"

    unreplayed = signed_in.post("/admin/review/change", data={**form, "op": "apply"})
    assert unreplayed.status_code == 200 and 'id="replay-changed"' in unreplayed.text
    stale = signed_in.post("/admin/review/change", data={**form, "base": "0" * 16})
    assert stale.status_code == 409 and "The matrix changed since" in stale.text
    no_token = signed_in.post("/admin/review/change",
                              data={k: v for k, v in form.items() if k != "csrf_token"})
    assert no_token.status_code == 400
    bad = signed_in.post("/admin/review/change", data={**form, "edit": "{nope"})
    assert bad.status_code == 422 and "edit" in bad.text
    assert not saved.exists()


def test_a_bad_month_gets_a_clear_error(signed_in: Any, runtime: Any,  # noqa: F811
                                        demo: str) -> None:  # noqa: F811
    response = signed_in.get("/admin/review?tenant=demo&month=2026-13")
    assert response.status_code == 400
    assert "Month: &#39;2026-13&#39; is not a month: use YYYY-MM" in response.text


def test_the_review_needs_a_signed_in_admin(client: Any, runtime: Any) -> None:
    response = client.get("/admin/review")
    assert response.status_code == 302 and "/admin/login" in response.headers["Location"]


def test_calibration_is_checked_by_replay_and_rollback_needs_one_in_force(
        signed_in: Any, runtime: Any, demo: str) -> None:  # noqa: F811
    from tests.admin.test_admin import _post

    page = _post(signed_in, "/admin/review/calibration", {"tenant": "demo", "op": "check"},
                 page="/admin/review?tenant=demo")
    assert page.status_code == 200 and 'id="calibration-tried"' in page.text
    refused = _post(signed_in, "/admin/review/calibration",
                    {"tenant": "demo", "op": "apply", "threshold": "0.99"},
                    page="/admin/review?tenant=demo")
    assert refused.status_code == 303
    back = _post(signed_in, "/admin/review/calibration/rollback", {"tenant": "demo"},
                 page="/admin/review?tenant=demo")
    assert back.status_code == 303
    followed = signed_in.get("/admin/review?tenant=demo").text
    assert "no calibration is in force for this workspace" in followed
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "demo")
        assert tenant is not None and "calibration" not in (tenant.settings or {})


def test_a_calibration_the_replay_supports_is_turned_on_and_rolled_back(
        signed_in: Any, runtime: Any, demo: str) -> None:  # noqa: F811
    from integration.decisions import record_override
    from integration.models import Tier
    from tests.admin.test_admin import _post

    # Agents say the bug reports the reader was unsure of (two demo tickets and the history's
    # copies of them) are questions (Tier 1).
    unsure = ("1026", "1031", "h0025", "h0030", "h0083", "h0088", "h0141", "h0146", "h0199",
              "h0204", "h0257", "h0262", "h0315")
    for ticket_id in unsure:
        with store.session_scope(runtime.sessions) as s:
            tenant = store.get_tenant(s, "demo")
            assert tenant is not None
            row = store.get_ticket(s, tenant.id, "sandbox", ticket_id)
            assert row is not None
            record_override(s, tenant=tenant, ticket=row, tier=Tier(1), agent="agent@x.example",
                            reason="A question about how it works, not a bug",
                            matrix=runtime.matrix_for(tenant), now=runtime.now())
    review = "/admin/review?tenant=demo"

    check = _post(signed_in, "/admin/review/calibration", {"tenant": "demo", "op": "check"},
                  page=review)
    offered = re.search(r'name="threshold" value="([^"]+)"', check.text)
    assert offered, "the replay supports no threshold"
    turned_on = _post(signed_in, "/admin/review/calibration",
                      {"tenant": "demo", "op": "apply", "threshold": offered.group(1)},
                      page=review)
    assert turned_on.status_code == 303

    def version() -> str:
        with store.session_scope(runtime.sessions) as s:
            tenant = store.get_tenant(s, "demo")
            assert tenant is not None
            return str(runtime.matrix_for(tenant).version)

    assert version().endswith("+calibration-1")
    page = signed_in.get(review).text
    assert "In force: version 1" in page and '<tr data-status="active">' in page
    back = _post(signed_in, "/admin/review/calibration/rollback", {"tenant": "demo"},
                 page=review)
    assert back.status_code == 303
    assert version() == runtime.matrix.version
    assert '<tr data-status="rolled_back">' in signed_in.get(review).text
