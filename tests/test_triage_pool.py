"""``escalade triage`` on several processes decides exactly as one process does."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from integration import triage_pool
from integration.cli.root import main
from integration.decide import build_detector
from integration.matrix import default_matrix
from integration.models import Ticket
from integration.triage_pool import shares_of, triage_lines
from tests.conftest import make_ticket

NOW = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)


def _ticket(n: int, *, requester: str, account: str | None = None, body: str = "") -> Ticket:
    data = make_ticket(
        id=str(n),
        created_at=f"2026-11-{1 + n % 18:02d}T09:{n % 60:02d}:00Z",
        updated_at=f"2026-11-{1 + n % 18:02d}T09:{n % 60:02d}:00Z",
        requester={"id": requester, "email": f"{requester}@example.com", "name": None},
    )
    data["messages"][0]["created_at"] = data["created_at"]
    if body:
        data["messages"][0]["body"] = body
    if account is not None:
        data["account"] = {"id": account, "name": account, "plan": "enterprise"}
    return Ticket.from_dict(data)


def test_shares_are_dealt_round_robin_and_never_empty() -> None:
    assert shares_of(7, 2) == [[0, 2, 4, 6], [1, 3, 5]]
    assert shares_of(2, 4) == [[0], [1]]
    assert shares_of(0, 2) == []


def _mixed_tickets(count: int) -> list[Ticket]:
    bodies = [
        "The export to CSV fails with error 500 again.",
        "We are cancelling our subscription at the end of the month.",
        "How do I add a user to my workspace?",
        "Your API has been down for an hour, production is blocked.",
    ]
    return [
        _ticket(n, requester=f"r{n % 7}", account=f"a{n % 3}" if n % 2 else None,
                body=bodies[n % len(bodies)])
        for n in range(count)
    ]


@pytest.mark.pure_python
def test_two_workers_write_what_one_process_writes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triage_pool, "MIN_TICKETS_PER_WORKER", 1)
    tickets = _mixed_tickets(60)
    matrix = default_matrix()
    detector = build_detector(matrix)
    one = triage_lines(tickets, matrix=matrix, detector=detector, now=NOW, workers=1)
    fresh = build_detector(matrix)

    def known_only(ticket: Ticket) -> Any:
        # The workers must get every earlier ticket's issue from the first pass: reading one
        # again (more cheaply) could judge a repeat contact differently.
        found = fresh._issues.get((ticket.key, ticket.updated_at))
        assert found is not None, f"ticket {ticket.id} was read again"
        return found

    monkeypatch.setattr(fresh, "_issue_of", known_only)
    two = triage_lines(tickets, matrix=matrix, detector=fresh, now=NOW, workers=2)
    assert two == one
    assert [json.loads(line)["id"] for line in two] == [t.id for t in tickets]
    # Repeat contacts are counted across the whole input, so they must show up here too.
    assert any("Repeat contact" in " ".join(json.loads(line)["reasons"]) for line in two)


def test_a_failing_worker_fails_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(triage_pool, "MIN_TICKETS_PER_WORKER", 1)

    def broken(*_: Any, **__: Any) -> Any:
        raise ValueError("model file unreadable")

    monkeypatch.setattr(triage_pool, "triage_tickets", broken)
    matrix = default_matrix()
    with pytest.raises(RuntimeError, match="model file unreadable"):
        triage_lines(_mixed_tickets(10), matrix=matrix, detector=build_detector(matrix),
                     now=NOW, workers=2)


def test_triage_workers_option_is_checked(tmp_path: Path) -> None:
    path = tmp_path / "t.jsonl"
    path.write_text(json.dumps(make_ticket()) + "\n")
    result = CliRunner().invoke(main, ["triage", "--workers", "0", str(path)])
    assert result.exit_code == 2
    assert "--workers" in result.output
    ok = CliRunner().invoke(main, ["triage", "--workers", "2", str(path)])
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["id"] == "1"
