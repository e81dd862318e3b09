"""How ``evaluate`` explains itself and what it writes back: reasons, SLA, route, actions."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta

from integration.matrix import Matrix, evaluate, load_matrix_text
from integration.matrix.loader import DEFAULT_PATH
from integration.models import (
    Action,
    ActionKind,
    Category,
    Channel,
    Decision,
    Handoff,
    PreviousTicket,
    Priority,
    Status,
    Tier,
)
from tests.matrix.factories import CREATED, NOW, account, hit, make_ticket, signals

CHURN = hit("churn", "cancel", "We will cancel our contract if this is not fixed by Friday.")


def kinds(decision: Decision) -> list[ActionKind]:
    return [a.kind for a in decision.actions]


def action(decision: Decision, kind: ActionKind) -> Action:
    (found,) = [a for a in decision.actions if a.kind is kind]
    return found


def test_evaluate_is_deterministic_and_cites_known_rule_ids(matrix: Matrix) -> None:
    ticket = make_ticket(account=account(plan="enterprise", arr=180_000, health=0.32))
    sig = signals(Category.BILLING, CHURN, frustrated=True, repeat_contacts=3)
    first = evaluate(matrix, ticket, sig, now=NOW, connected=frozenset({"slack"}))
    second = evaluate(matrix, ticket, sig, now=NOW, connected=frozenset({"slack"}))
    assert first == second
    assert first.rules and all(r.rule_id in matrix.rule_ids for r in first.rules)
    assert first.matrix_version == matrix.version
    assert first.triggers == ("churn",)


def test_reasons_carry_their_evidence(matrix: Matrix) -> None:
    ticket = make_ticket(account=account(plan="enterprise", health=0.32))
    decision = evaluate(matrix, ticket, signals(Category.BILLING, CHURN), now=NOW)
    (churn,) = decision.rules
    assert churn.rule_id == "churn_risk"
    assert (
        """trigger 'churn' matched "cancel" in "We will cancel our contract if this is not """
        'fixed by Friday."'
    ) in churn.reason
    at_risk = evaluate(matrix, ticket, signals(Category.BILLING), now=NOW)
    assert "health 0.32 < 0.4" in at_risk.rules[-1].reason
    assert "plan enterprise" in at_risk.rules[-1].reason


def test_priority_comes_from_the_tier_but_never_goes_down(matrix: Matrix) -> None:
    calm = evaluate(matrix, make_ticket(), signals(Category.HOW_TO), now=NOW)
    assert calm.priority is Priority.NORMAL
    urgent = make_ticket(priority=Priority.URGENT)
    kept = evaluate(matrix, urgent, signals(Category.HOW_TO), now=NOW)
    assert kept.priority is Priority.URGENT
    assert action(kept, ActionKind.SET_PRIORITY).payload == {"priority": "urgent"}
    assert evaluate(matrix, make_ticket(), signals(Category.BUG), now=NOW).priority is (
        Priority.HIGH
    )


def test_sla_due_uses_the_tier_window_and_calendar(matrix: Matrix) -> None:
    # Tier 2: 4h on Berlin business hours (Mon-Fri 08:00-18:00). Friday 17:00 CET plus
    # four open hours is Monday 11:00 CET.
    friday = datetime(2026, 11, 6, 16, 0, tzinfo=UTC)
    ticket = make_ticket(created_at=friday)
    tier_2 = evaluate(matrix, ticket, signals(Category.BILLING), now=friday)
    assert tier_2.sla_due_at == datetime(2026, 11, 9, 10, 0, tzinfo=UTC)
    # Tier 3 runs around the clock: one hour later, weekend or not.
    tier_3 = evaluate(matrix, ticket, signals(Category.OUTAGE), now=friday)
    assert tier_3.sla_due_at == friday + timedelta(hours=1)


def test_route_and_helpdesk_actions_on_first_escalation(matrix: Matrix) -> None:
    ticket = make_ticket(account=account(plan="enterprise", arr=180_000, health=0.35))
    decision = evaluate(matrix, ticket, signals(Category.REFUND), now=NOW)
    assert decision.route.group == "escalations"
    assert "refund_demand" in decision.route.reason
    assert kinds(decision) == [
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.SET_FIELD,
        ActionKind.ASSIGN,
        ActionKind.INTERNAL_NOTE,
        ActionKind.PUBLIC_REPLY,
    ]
    assert all(a.target == "helpdesk" for a in decision.actions)
    assert action(decision, ActionKind.ADD_TAGS).payload == {
        "tags": ["escalade_tier_3", "escalade_refund"]
    }
    assert action(decision, ActionKind.REMOVE_TAGS).payload == {
        "tags": ["escalade_tier_1", "escalade_tier_2"]
    }
    assert action(decision, ActionKind.SET_FIELD).payload == {"field": "tier", "value": 3}
    assert action(decision, ActionKind.ASSIGN).payload == {"group": "escalations"}


def test_alerts_only_for_connected_targets(matrix: Matrix) -> None:
    sig = signals(Category.OUTAGE)
    none = evaluate(matrix, make_ticket(), sig, now=NOW)
    assert ActionKind.ALERT not in kinds(none)
    slack = evaluate(matrix, make_ticket(), sig, now=NOW, connected=frozenset({"slack", "jira"}))
    alerts = [a for a in slack.actions if a.kind is ActionKind.ALERT]
    assert [a.target for a in alerts] == ["slack"]
    payload = alerts[0].payload
    assert payload["tier"] == 3 and payload["rules"] == ["outage"]
    assert payload["dedupe_key"] == "acme:zendesk:4711:tier_3"


def test_rescoring_at_the_same_tier_does_not_repeat_messages(matrix: Matrix) -> None:
    ticket = make_ticket(group="billing_experts")
    again = evaluate(
        matrix,
        ticket,
        signals(Category.OUTAGE),
        now=NOW,
        previous_tier=Tier.THREE,
        connected=frozenset({"slack", "crm"}),
    )
    assert kinds(again) == [
        ActionKind.ADD_TAGS,
        ActionKind.REMOVE_TAGS,
        ActionKind.SET_PRIORITY,
        ActionKind.SET_FIELD,
    ]
    risen = evaluate(
        matrix,
        ticket,
        signals(Category.OUTAGE),
        now=NOW,
        previous_tier=Tier.TWO,
        connected=frozenset({"slack", "crm"}),
    )
    assert {ActionKind.PUBLIC_REPLY, ActionKind.INTERNAL_NOTE, ActionKind.ALERT} <= set(
        kinds(risen)
    )
    assert [a.target for a in risen.actions if a.kind is ActionKind.ALERT] == ["slack", "crm"]


def test_tier_1_gets_no_acknowledgment(matrix: Matrix) -> None:
    decision = evaluate(matrix, make_ticket(), signals(Category.HOW_TO), now=NOW)
    assert ActionKind.PUBLIC_REPLY not in kinds(decision)
    assert action(decision, ActionKind.ASSIGN).payload == {"group": "support"}


def test_stale_category_tags_are_removed(matrix: Matrix) -> None:
    ticket = make_ticket(tags=("escalade_billing", "vip", "escalade_tier_2"))
    decision = evaluate(matrix, ticket, signals(Category.OUTAGE), now=NOW)
    removed = action(decision, ActionKind.REMOVE_TAGS).payload["tags"]
    assert "escalade_billing" in removed and "vip" not in removed
    assert "escalade_tier_2" in removed


def test_handoff_note_tells_the_whole_story(matrix: Matrix) -> None:
    ticket = make_ticket(account=account(plan="enterprise", arr=180_000, health=0.35))
    sig = signals(Category.BILLING, CHURN, sentiment=-0.62, frustrated=True)
    decision = evaluate(matrix, ticket, sig, now=NOW, previous_tier=Tier.TWO)
    note = action(decision, ActionKind.INTERNAL_NOTE).payload["body"]
    assert note.startswith("Escalade: tier 3 (was tier 2), routed to escalations")
    assert "Category: billing · sentiment -0.62, frustrated" in note
    assert "ARR 180,000 · health 0.35 · owner am@ourco.com" in note
    for rule in decision.rules:
        assert f"- [{rule.rule_id}] {rule.reason}" in note
    # Tier 3 is 24/7: due one hour after creation, shown in the workspace's zone like every
    # other due time.
    assert "First response due: Monday 2 November 2026, 11:14 CET" in note
    assert decision.matrix_version in note


def test_acknowledgment_names_the_requester_and_an_honest_due_time(matrix: Matrix) -> None:
    ticket = make_ticket()
    fresh = evaluate(matrix, ticket, signals(Category.BILLING), now=NOW)
    reply = action(fresh, ActionKind.PUBLIC_REPLY).payload["body"]
    assert reply.startswith("Hi Dana,")
    # Created Monday 10:14 Berlin time; tier 2 answers within 4 business hours.
    assert "by Monday 2 November 2026, 14:14 CET at the latest" in reply
    # Escalated two days later, the original due time is past: promise from now instead.
    late_now = CREATED + timedelta(days=2)
    late = evaluate(matrix, ticket, signals(Category.BILLING), now=late_now)
    assert late.sla_due_at == fresh.sla_due_at
    assert (
        "by Wednesday 4 November 2026, 14:14 CET"
        in (action(late, ActionKind.PUBLIC_REPLY).payload["body"])
    )


def test_handoff_context_goes_into_the_note_and_the_alert(matrix: Matrix) -> None:
    previous = PreviousTicket(id="4690", subject="Invoice wrong again", status=Status.SOLVED,
                              created_at=CREATED - timedelta(days=9))
    handoff = Handoff(
        summary="Wants the duplicate charge refunded.",
        wants="Please refund the second charge.",
        customer_words="This is the third time I write about this.",
        tried=("We already removed the old card.",),
        bot_answered=("You can download invoices under Billing.",),
        previous=(previous,),
        facts=("logins at 40% of the previous 30 days",),
        ticket_url="https://acme.zendesk.com/agent/tickets/4711",
    )
    ticket = make_ticket(account=account(plan="enterprise"))
    decision = evaluate(matrix, ticket, signals(Category.REFUND, CHURN), now=NOW,
                        connected=frozenset({"slack"}), handoff=handoff)
    note = action(decision, ActionKind.INTERNAL_NOTE).payload["body"]
    assert 'Customer asks: "Please refund the second charge."' in note
    assert 'In their words: "This is the third time I write about this."' in note
    assert 'Already tried: "We already removed the old card."' in note
    assert 'The bot answered: "You can download invoices under Billing."' in note
    assert "Account: logins at 40% of the previous 30 days" in note
    assert "- #4690 Invoice wrong again (solved, 2026-10-24)" in note
    alert = action(decision, ActionKind.ALERT).payload
    assert alert["summary"] == "Wants the duplicate charge refunded."
    assert alert["ticket_url"] == handoff.ticket_url
    assert alert["previous_tickets"][0]["id"] == "4690"


def test_acknowledgment_only_on_the_channels_the_matrix_names(matrix: Matrix) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    old = "      acknowledge: tier_2\n"
    assert old in text
    quiet = load_matrix_text(text.replace(
        old, old + "      acknowledge_channels: [email, web]\n"))
    email = evaluate(quiet, make_ticket(), signals(Category.BILLING), now=NOW)
    assert ActionKind.PUBLIC_REPLY in kinds(email)
    social = evaluate(quiet, make_ticket(channel=Channel.SOCIAL), signals(Category.BILLING),
                      now=NOW)
    assert ActionKind.PUBLIC_REPLY not in kinds(social)
    assert ActionKind.INTERNAL_NOTE in kinds(social)


def test_thresholds_live_in_the_file_not_the_code(matrix: Matrix) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    stricter = load_matrix_text(text.replace("health_below: 0.4", "health_below: 0.5"))
    ticket = make_ticket(account=account(plan="enterprise", health=0.45))
    assert evaluate(matrix, ticket, signals(Category.BILLING), now=NOW).tier is Tier.TWO
    assert evaluate(stricter, ticket, signals(Category.BILLING), now=NOW).tier is Tier.THREE
    assert stricter.version != matrix.version


def test_a_rule_can_ask_how_sure_the_category_is(matrix: Matrix) -> None:
    text = DEFAULT_PATH.read_text(encoding="utf-8")
    old = "when: {any: [{trigger: [outage]}, {category: [outage]}]}"
    assert old in text
    sure = load_matrix_text(
        text.replace(
            old,
            "when: {any: [{trigger: [outage]}, "
            "{all: [{category: [outage]}, {confidence_at_least: 0.6}]}]}",
        )
    )
    weak = signals(Category.OUTAGE, category_confidence=0.45)
    strong = signals(Category.OUTAGE, category_confidence=0.8)
    assert evaluate(matrix, make_ticket(), weak, now=NOW).tier is Tier.THREE
    assert evaluate(sure, make_ticket(), weak, now=NOW).tier is Tier.TWO
    decision = evaluate(sure, make_ticket(), strong, now=NOW)
    assert decision.tier is Tier.THREE
    assert "category confidence 0.80 ≥ 0.6" in decision.rules[0].reason


def test_matrix_and_sla_import_no_io_libraries() -> None:
    code = (
        "import sys, integration.matrix, integration.sla\n"
        "bad = {'requests', 'flask', 'zenpy', 'apscheduler', 'sqlalchemy'} & set(sys.modules)\n"
        "assert not bad, bad\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
