"""The alert payload the matrix hands Slack and HubSpot: what the account manager reads.

Pure: ``integration.matrix.actions`` builds it from the decision, the ticket and its signals;
no I/O. The connectors' own tests render it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from integration.decide import build_detector, decide
from integration.enrich import Context
from integration.matrix import Matrix, default_matrix
from integration.matrix.actions import customer_replies, with_sla_due
from integration.models import Action, ActionKind, Ticket

NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # a Monday, 10:30 in Berlin


@pytest.fixture(scope="module")
def matrix() -> Matrix:
    return default_matrix()


def ticket(body: str, *, subject: str = "Charged twice", **extra: Any) -> Ticket:
    data: dict[str, Any] = {
        "tenant": "acme", "helpdesk": "zendesk", "id": "4711", "subject": subject,
        "status": "open", "priority": "normal", "channel": "email",
        "created_at": "2026-11-02T09:14:00Z", "updated_at": "2026-11-02T09:14:00Z",
        "requester": {"id": "u1", "email": "lee@bigco.com", "name": "Lee"},
        "account": {"id": "c9", "name": "BigCo", "domain": "bigco.com", "plan": "enterprise",
                    "arr": 180000, "health": 0.35, "owner": "am@ourco.com",
                    "renewal_date": "2026-12-01"},
        "messages": [{"id": "m1", "author": "customer", "public": True,
                      "created_at": "2026-11-02T09:14:00Z", "body": body}],
        **extra,
    }
    return Ticket.from_dict(data)


def alert_of(matrix: Matrix, t: Ticket) -> dict[str, Any]:
    decided = decide(t, [], matrix=matrix, detector=build_detector(matrix), now=NOW,
                     connected=frozenset({"slack"}),
                     context=Context(ticket_url="https://acme.zendesk.com/agent/tickets/4711"))
    [alert] = [a for a in decided.decision.actions if a.kind is ActionKind.ALERT]
    return dict(alert.payload)


def test_the_gravest_threat_leads_in_the_customers_own_words(matrix: Matrix) -> None:
    payload = alert_of(matrix, ticket(
        "We were charged twice for November. I want a refund of the second charge today or "
        "we will cancel before renewal.", subject="Charged twice - refund now"))

    assert payload["threat"] == (
        'threatens to cancel before the renewal on 2026-12-01: "I want a refund of the second '
        'charge today or we will cancel before renewal."')
    assert payload["ticket_url"] == "https://acme.zendesk.com/agent/tickets/4711"
    assert payload["account"]["renewal_date"] == "2026-12-01"


def test_why_is_said_in_plain_words_and_the_figures_are_evidence(matrix: Matrix) -> None:
    payload = alert_of(matrix, ticket("Please refund the second charge of November today."))

    assert "Refund demand" in payload["why"]
    assert not any(ch.isdigit() for line in payload["why"] for ch in line)
    evidence = " · ".join(payload["evidence"])
    assert "trigger 'refund' matched" in evidence and "sentiment" in evidence
    # Conditions that only say what is absent are not evidence.
    assert "no refund_granted trigger" not in evidence
    assert payload["reasons"]  # the full reasons stay for the decision log


def test_the_sla_due_is_named_and_shown_in_the_workspace_zone(matrix: Matrix) -> None:
    payload = alert_of(matrix, ticket("Please refund the second charge of November today."))

    assert payload["sla_metric"] == "first_response"
    assert payload["display_zone"] == "Europe/Berlin"
    assert payload["sla_due_text"].endswith(("CET", "CEST"))


def test_an_answered_ticket_alerts_with_the_target_its_clock_runs_against(
    matrix: Matrix,
) -> None:
    alert = Action(kind=ActionKind.ALERT, target="slack",
                   payload={"dedupe_key": "k", "sla_due_at": "2026-11-02T10:14:00Z",
                            "sla_metric": "first_response"})
    clock = {"metrics": [
        {"metric": "first_response", "due_at": None, "met_at": "2026-11-02T09:20:00Z"},
        {"metric": "next_response", "due_at": "2026-11-02T13:00:00Z", "met_at": None},
        {"metric": "resolution", "due_at": "2026-11-02T17:00:00Z", "met_at": None},
    ]}

    [updated] = with_sla_due(matrix, (alert,), clock)

    assert updated.payload["sla_metric"] == "next_response"
    assert updated.payload["sla_due_at"] == "2026-11-02T13:00:00Z"
    assert updated.payload["sla_due_text"] == "Mon 2 Nov 14:00 CET"
    helpdesk = Action(kind=ActionKind.INTERNAL_NOTE, target="helpdesk", payload={"body": "x"})
    assert with_sla_due(matrix, (helpdesk,), clock) == (helpdesk,)


def test_only_new_public_customer_messages_become_thread_replies() -> None:
    first = ticket("We were charged twice.")
    later = ticket("We were charged twice.", messages=[
        {"id": "m1", "author": "customer", "public": True,
         "created_at": "2026-11-02T09:14:00Z", "body": "We were charged twice."},
        {"id": "n1", "author": "agent", "public": False,
         "created_at": "2026-11-02T09:20:00Z", "body": "internal"},
        {"id": "m2", "author": "customer", "public": True,
         "created_at": "2026-11-02T09:40:00Z", "body": "Still charged twice.\n\nWe cancel."},
    ])

    [reply] = customer_replies(later, first.to_dict(), "acme:zendesk:4711:tier_3")

    assert reply.target == "slack" and reply.kind is ActionKind.ALERT
    assert reply.payload["kind"] == "customer_reply"
    assert reply.payload["dedupe_key"] == "acme:zendesk:4711:tier_3"
    assert (reply.payload["author"], reply.payload["body"]) == ("Lee",
                                                                "Still charged twice. We cancel.")
    assert customer_replies(later, first.to_dict(), None) == ()  # no alert: nothing to thread
    assert customer_replies(later, later.to_dict(), "k") == ()  # nothing new
