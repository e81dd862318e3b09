"""``escalade triage`` says where each SLA clock stands now: past its due time is breached."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from integration.cli.root import main
from integration.decide import build_detector
from integration.matrix import default_matrix
from integration.models import Ticket
from integration.triage import triage_tickets
from tests.conftest import make_ticket

# Monday 2 November 2026, 09:14 UTC (10:14 in Berlin, inside business hours).
CREATED = datetime(2026, 11, 2, 9, 14, tzinfo=UTC)
BILLING = ("Our invoice INV-2291 charged 19% VAT although we gave you our EU VAT ID. "
           "Please correct it and send a new invoice.")


def billing_ticket(created: datetime = CREATED) -> Ticket:
    stamp = created.isoformat()
    return Ticket.from_dict(make_ticket(
        id="20", subject="Wrong VAT on invoice", created_at=stamp, updated_at=stamp,
        messages=[{"id": "m1", "author": "customer", "public": True, "body": BILLING,
                   "created_at": stamp}]))


@pytest.mark.parametrize(("after", "state"), [
    (timedelta(minutes=1), "ok"),
    # Tier 2: first response within 4 business hours (13:14 UTC), warned 30 minutes before.
    (timedelta(hours=3, minutes=31), "warning"),
    (timedelta(hours=4, minutes=1), "breached"),
    (timedelta(days=30), "breached"),
])
def test_sla_state_is_read_at_the_time_of_triage(after: timedelta, state: str) -> None:
    matrix = default_matrix()

    (decision,) = triage_tickets([billing_ticket()], matrix=matrix,
                                 detector=build_detector(matrix), now=CREATED + after)

    assert decision.tier == 2
    assert decision.sla_state == state
    assert decision.sla_due_at == CREATED + timedelta(hours=4)


def test_the_command_reports_an_old_open_ticket_as_breached() -> None:
    now = datetime.now(UTC)
    old, fresh = billing_ticket(now - timedelta(days=30)), billing_ticket(now)
    lines = "".join(json.dumps({**t.to_dict(), "id": i}) + "\n"
                    for i, t in (("old", old), ("fresh", fresh)))

    result = CliRunner().invoke(main, ["triage"], input=lines)

    assert result.exit_code == 0, result.output
    states = {d["id"]: d["sla_state"] for d in map(json.loads, result.stdout.splitlines())}
    assert states == {"old": "breached", "fresh": "ok"}
