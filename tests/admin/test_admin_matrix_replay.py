"""The matrix editor replays an edit over the stored history before it can be saved."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from integration import store
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Ticket
from integration.store.backfill import import_ticket
from tests.admin.test_admin import (  # noqa: F401  (fixtures)
    _add_tenant,
    _matrix_post,
    admin,
    signed_in,
)
from tests.admin.test_admin_audit import _history
from tests.conftest import make_ticket

EVERY_HOW_TO = ("tiers:\n  3:\n    rules:\n      - id: every_how_to\n"
                "        description: Every how-to question\n        when: {category: [how_to]}\n")


def _edited() -> str:
    return DEFAULT_PATH.read_text(encoding="utf-8").replace(
        "tiers:\n  3:\n    rules:\n", EVERY_HOW_TO, 1)


def test_validate_shows_what_the_edit_changes_over_the_history(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 10)   # half how-to questions, half refund demands (escalated)

    page = _matrix_post(signed_in, {"matrix": _edited(), "op": "validate"}).text

    assert "Replayed over 10 stored tickets" in page
    changed = re.search(
        r"<strong>(\d+)</strong> tickets? would change tier:\s*(\d+) up, (\d+) down", page)
    assert changed and int(changed.group(1)) == int(changed.group(2)) > 0
    assert changed.group(3) == "0"
    assert page.count(">+every_how_to</code>") == int(changed.group(1))
    assert "Agreement is measured against the 5 escalations" in page


def test_save_shows_the_replay_first_then_saves_the_text_it_showed(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 6)
    saved = Path(runtime.config["VAR_DIR"]) / "matrix.yaml"

    first = _matrix_post(signed_in, {"matrix": _edited(), "op": "save"})
    assert first.status_code == 200 and "review what it would change below" in first.text
    assert not saved.exists()
    digest = re.search(r'name="replayed" value="([^"]+)"', first.text)
    assert digest and digest.group(1)

    # Another text than the one replayed is not saved on that replay's strength.
    other = _edited().replace("Every how-to question", "All how-to questions")
    again = _matrix_post(signed_in, {"matrix": other, "op": "save", "replayed": digest.group(1)})
    assert "review what it would change below" in again.text and not saved.exists()

    done = _matrix_post(signed_in, {"matrix": _edited(), "op": "save",
                                    "replayed": digest.group(1)})
    assert done.status_code == 200 and "Saved to" in done.text
    assert saved.read_text(encoding="utf-8") == _edited()


def test_a_history_without_escalations_says_agreement_cannot_be_measured(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 1)   # one how-to question, not escalated
    page = _matrix_post(signed_in, {"matrix": _edited(), "op": "validate"}).text
    assert 'id="replay-no-escalations"' in page and "Tier 3 precision" not in page


def test_without_history_the_editor_says_so_and_saves(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    response = _matrix_post(signed_in, {"matrix": _edited(), "op": "save"})
    assert response.status_code == 200 and "Saved to" in response.text
    assert "No stored tickets from the last 30 days" in response.text


def test_tickets_older_than_the_window_are_not_replayed(
        signed_in: Any, runtime: Any) -> None:  # noqa: F811
    _add_tenant(runtime, "acme")
    _history(runtime, "acme", 3)
    old = make_ticket(id="old-1", body="How do I export a report?")
    old["created_at"] = old["updated_at"] = (datetime.now(UTC) - timedelta(days=45)).isoformat()
    old["messages"][0]["created_at"] = old["created_at"]
    with store.session_scope(runtime.sessions) as s:
        tenant = store.get_tenant(s, "acme")
        assert tenant is not None
        import_ticket(s, tenant_id=tenant.id, ticket=Ticket.from_dict(old))

    page = _matrix_post(signed_in, {"matrix": _edited(), "op": "validate"}).text

    assert "Replayed over 3 stored tickets" in page and 'data-ticket="old-1"' not in page
