"""What happened to a stored past ticket: metric events, Freshdesk stats, configured evidence."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from integration.audit.outcomes import escalation_reason, outcome_of, with_outcomes
from integration.audit.settings import (
    AuditSettings,
    EscalationEvidence,
    parse_escalation,
    parse_label,
)
from integration.models import Author, Message, Priority, Status, Ticket
from tests.audit.helpers import MONDAY, past_ticket


def stored(**custom: object) -> Ticket:
    ticket = past_ticket(1, "Export fails", "It fails.")
    return replace(ticket, custom=dict(custom))


def iso(minutes: int) -> str:
    return (MONDAY + timedelta(minutes=minutes)).isoformat()


def test_zendesk_metric_events_give_reply_resolution_reopens_and_breach() -> None:
    events = [
        {"metric": "reply_time", "type": "apply_sla", "time": iso(0)},
        {"metric": "reply_time", "type": "breach", "time": iso(60)},
        {"metric": "reply_time", "type": "fulfill", "time": iso(90)},
        {"metric": "resolution_time", "type": "activate", "time": iso(0)},
        {"metric": "resolution_time", "type": "fulfill", "time": iso(300)},
        {"metric": "resolution_time", "type": "activate", "time": iso(400)},
        {"metric": "resolution_time", "type": "fulfill", "time": iso(600)},
    ]
    outcome = outcome_of(with_outcomes(stored(metric_events=events), AuditSettings()))
    assert outcome.first_reply_minutes == 90
    assert outcome.resolution_minutes == 600
    assert outcome.reopens == 1
    assert outcome.sla_breached is True


def test_a_withdrawn_breach_is_no_breach() -> None:
    events = [{"metric": "reply_time", "type": "apply_sla", "time": iso(0)},
              {"metric": "reply_time", "type": "breach", "time": iso(60), "deleted": True}]
    assert outcome_of(with_outcomes(stored(metric_events=events), AuditSettings())) \
        .sla_breached is False


def test_freshdesk_stats() -> None:
    stats = {"first_responded_at": iso(15), "resolved_at": iso(120), "reopened_at": iso(100)}
    outcome = outcome_of(with_outcomes(stored(stats=stats), AuditSettings()))
    assert (outcome.first_reply_minutes, outcome.resolution_minutes, outcome.reopens) == (
        15, 120, 1)


def test_messages_when_nothing_else() -> None:
    ticket = past_ticket(1, "Hi", "Hello")
    reply = Message(id="r", author=Author.AGENT, body="Hi!", created_at=MONDAY + timedelta(
        minutes=42))
    ticket = replace(ticket, messages=(*ticket.messages, reply), custom={})
    outcome = outcome_of(with_outcomes(ticket, AuditSettings()))
    assert outcome.first_reply_minutes == 42
    assert outcome.resolution_minutes == 60  # solved: its last change bounds the resolution
    assert outcome.escalated is False


def test_escalation_evidence_in_each_configured_place() -> None:
    base = past_ticket(1, "x")
    tags = EscalationEvidence()
    assert escalation_reason(replace(base, tags=("escalated_legal_threat",)), tags) == \
        "legal threat"
    assert escalation_reason(replace(base, tags=("escalated",)), tags) == "tag escalated"
    assert escalation_reason(replace(base, tags=("vip",)), tags) is None
    by_field = parse_escalation(field_name="Escalation reason")
    assert escalation_reason(
        replace(base, custom={"fields": {"Escalation reason": "Churn risk"}}), by_field
    ) == "Churn risk"
    assert escalation_reason(replace(base, custom={"fields": {"Escalation reason": "-"}}),
                             by_field) is None
    by_group = parse_escalation(groups="Escalations, Tier 3")
    assert escalation_reason(replace(base, group="Escalations"), by_group) == \
        "moved to group Escalations"
    raised = replace(base, priority=Priority.URGENT, custom={"initial_priority": "normal"})
    assert escalation_reason(raised, tags) == "priority raised from normal to urgent"
    assert escalation_reason(raised, parse_escalation(priority_raised=False)) is None


def test_agent_label_from_type_field_or_tag() -> None:
    base = replace(past_ticket(1, "x"), status=Status.SOLVED,
                   tags=("vip", "cat_how-to"),
                   custom={"zendesk_type": "Question", "fields": {"Category": "Billing"}})
    def label(text: str) -> str | None:
        settings = AuditSettings(label=parse_label(text))
        return outcome_of(with_outcomes(base, settings)).agent_category
    assert label("type") == "question"
    assert label("field:Category") == "billing"
    assert label("tag:cat_") == "how-to"
    assert label("tags:vip,urgent") == "vip"
