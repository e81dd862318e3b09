"""The review's pure parts: edits keep the file, suggestions follow the counts, calibration
is chosen by replay and applied per workspace, and can be rolled back."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest
import yaml

from integration import store
from integration.analytics.review.calibration import Score, calibrated, calibration_of, choose
from integration.analytics.review.edits import EditError, apply_edit, diff_lines
from integration.analytics.review.findings import Findings, RuleCount
from integration.analytics.review.suggest import suggest
from integration.matrix import default_matrix, load_matrix_text
from integration.matrix.loader import DEFAULT_PATH
from integration.models import Tier
from integration.store.review import add_calibration, calibrations, rollback_calibration

TEXT = DEFAULT_PATH.read_text(encoding="utf-8")
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


def _changed_lines(old: str, new: str) -> list[str]:
    return [line for line in diff_lines(old, new)[2:] if line[:1] in "+-"]


@pytest.mark.parametrize(("edit", "removed", "added"), [
    ({"kind": "drop_word", "trigger": "blocker", "word": "error"},
     ["-    lemmas: [stuck, blocked, blocker, reject, fail, crash, error]"],
     ["+    lemmas: [stuck, blocked, blocker, reject, fail, crash]"]),
    ({"kind": "drop_word", "trigger": "churn", "word": "not renew"},
     ["-      - not renew"], []),
    ({"kind": "set_threshold", "rule": "tone", "condition": "sentiment_below", "value": -0.6},
     ["-    when: {any: [{frustrated: true}, {sentiment_below: -0.5}, {sentiment_spike: true}]}"],
     ["+    when: {any: [{frustrated: true}, {sentiment_below: -0.6}, {sentiment_spike: true}]}"]),
])
def test_an_edit_changes_only_its_lines_and_the_result_loads(
        edit: dict[str, Any], removed: list[str], added: list[str]) -> None:
    edited = apply_edit(TEXT, edit)

    assert not edited.rewritten
    assert _changed_lines(TEXT, edited.text) == removed + added
    load_matrix_text(edited.text, source="matrix.yaml")


def test_moving_a_rule_keeps_its_comment_and_puts_it_first_in_its_new_tier() -> None:
    edited = apply_edit(TEXT, {"kind": "move_rule", "rule": "refund_demand", "to": 2})

    matrix = load_matrix_text(edited.text, source="matrix.yaml")
    assert [r.id for r in matrix.rules[Tier(2)]][0] == "refund_demand"
    assert "refund_demand" not in [r.id for r in matrix.rules[Tier(3)]]
    assert edited.text.count('# "What is your refund policy?" asks for information') == 1
    assert len(edited.text.splitlines()) == len(TEXT.splitlines())


def test_an_added_rule_is_checked_first_in_its_tier() -> None:
    rule = {"id": "review_billing", "description": "From the review",
            "when": {"all": [{"category": ["billing"]}, {"plan": ["enterprise"]}]}}
    edited = apply_edit(TEXT, {"kind": "add_rule", "tier": 3, "rule": rule})

    matrix = load_matrix_text(edited.text, source="matrix.yaml")
    assert matrix.rules[Tier(3)][0].id == "review_billing"
    assert yaml.safe_load(edited.text)["triggers"] == yaml.safe_load(TEXT)["triggers"]


@pytest.mark.parametrize(("edit", "field"), [
    ({"kind": "rename_everything"}, "kind"),
    ({"kind": "move_rule", "rule": "no_such_rule", "to": 2}, "rule"),
    ({"kind": "move_rule", "rule": "outage", "to": 5}, "to"),
    ({"kind": "drop_word", "trigger": "no_such_trigger", "word": "dispute"}, "trigger"),
    ({"kind": "drop_word", "trigger": "churn", "word": "banana"}, "word"),
    ({"kind": "set_threshold", "rule": "outage", "condition": "health_below", "value": 0.3},
     "condition"),
    ({"kind": "add_rule", "tier": 3, "rule": {"id": "outage", "when": {"inquiry": True}}},
     "rule"),
])
def test_an_edit_that_does_not_fit_names_its_field(edit: dict[str, Any], field: str) -> None:
    with pytest.raises(EditError) as err:
        apply_edit(TEXT, edit)
    assert err.value.field == field


def test_a_trigger_keeps_its_last_word() -> None:
    # The default's refund_granted phrases, cut to one.
    text = re.sub(r"(  refund_granted:\n    phrases:)\n(?:      - .*\n)+",
                  r"\1 [refund you processed]\n", TEXT)
    assert "phrases: [refund you processed]\n" in text
    with pytest.raises(EditError, match="only word"):
        apply_edit(text, {"kind": "drop_word", "trigger": "refund_granted",
                          "word": "refund you processed"})


def _findings(lowered: int, fired: int, to: int = 2) -> Findings:
    found = Findings()
    found.rules["refund_demand"] = RuleCount(
        rule="refund_demand", tier=3, fired=fired, lowered=lowered,
        lowered_to=Counter({to: lowered}), lowered_tickets=[f"t{n}" for n in range(lowered)])
    return found


def test_a_rule_agents_lower_often_gets_its_word_dropped_and_a_move_suggested() -> None:
    texts = {f"t{n}": "could i get a refund for the extra seat" for n in range(3)}
    found = suggest(_findings(3, 5), yaml.safe_load(TEXT), texts)

    edits = [s.edit for s in found]
    assert {"kind": "drop_word", "trigger": "refund", "word": "refund"} in edits
    assert {"kind": "move_rule", "rule": "refund_demand", "to": 2} in edits


@pytest.mark.parametrize(("lowered", "fired"), [(1, 2), (2, 40)])
def test_a_rule_lowered_once_or_rarely_gets_no_suggestion(lowered: int, fired: int) -> None:
    assert suggest(_findings(lowered, fired), yaml.safe_load(TEXT), {}) == []


def test_missed_escalations_sharing_a_category_suggest_a_rule_at_the_wanted_tier() -> None:
    found = Findings()
    found.missed = [{"ticket": f"t{n}", "category": "billing", "label_tier": 3,
                     "caught_now": False, "plan": "enterprise", "source": "raised by an agent"}
                    for n in range(3)]

    [suggestion] = suggest(found, yaml.safe_load(TEXT), {})

    assert suggestion.edit["tier"] == 3
    assert suggestion.edit["rule"]["when"] == {
        "all": [{"category": ["billing"]}, {"plan": ["enterprise"]}]}
    load_matrix_text(apply_edit(TEXT, suggestion.edit).text, source="matrix.yaml")


def test_a_calibrated_matrix_needs_the_confidence_for_a_category_but_not_under_a_not() -> None:
    matrix = calibrated(default_matrix(), 0.7, version=4)

    assert matrix.version.endswith("+calibration-4")
    troubleshooting = next(r for r in matrix.rules[Tier(2)] if r.id == "troubleshooting")
    assert "confidence_at_least 0.7" in troubleshooting.when.describe()
    churn = next(r for r in matrix.rules[Tier(3)] if r.id == "churn_risk")
    # Under ``not`` (not mentioned) nothing changes; the category branch needs the confidence.
    assert churn.when.describe().count("confidence_at_least 0.7") == 1


def test_choose_takes_the_best_threshold_that_lowers_neither_agreement() -> None:
    current = Score(labels=10, labels_agree=6, history=100, history_agree=80)
    worse_history = Score(labels=10, labels_agree=9, history=100, history_agree=79)
    better = Score(labels=10, labels_agree=8, history=100, history_agree=80)
    same = Score(labels=10, labels_agree=6, history=100, history_agree=90)

    assert choose(current, [(0.4, worse_history), (0.5, better), (0.6, same)]) == (0.5, better)
    assert choose(current, [(0.4, worse_history), (0.6, same)]) is None


def test_a_calibration_turns_on_for_one_workspace_and_rolls_back(runtime: Any) -> None:
    with store.session_scope(runtime.sessions) as s:
        for slug in ("acme", "globex"):
            store.add_tenant(s, slug=slug, name=slug, helpdesk="sandbox", base_url=None,
                             secrets={"webhook_secret": "w" * 32}, settings={},
                             cipher=runtime.cipher)
    with store.session_scope(runtime.sessions) as s:
        acme = store.get_tenant(s, "acme")
        assert acme is not None
        first = add_calibration(s, tenant=acme, category_confidence=0.6, validation={},
                                created_by="a@b.example", now=NOW).id
        second = add_calibration(s, tenant=acme, category_confidence=0.7, validation={},
                                 created_by="a@b.example", now=NOW).id

    def versions() -> tuple[str, str]:
        with store.session_scope(runtime.sessions) as s:
            acme, globex = store.get_tenant(s, "acme"), store.get_tenant(s, "globex")
            assert acme is not None and globex is not None
            return runtime.matrix_for(acme).version, runtime.matrix_for(globex).version

    assert versions() == (f"{runtime.matrix.version}+calibration-{second}",
                          runtime.matrix.version)
    with store.session_scope(runtime.sessions) as s:
        acme = store.get_tenant(s, "acme")
        assert acme is not None
        back = rollback_calibration(s, tenant=acme, now=NOW)
        assert back is not None and back.id == first
        assert calibration_of(acme.settings) == (first, 0.6)
        assert [r.status for r in calibrations(s, tenant_id=acme.id)] == ["rolled_back",
                                                                           "active"]
    assert versions()[0] == f"{runtime.matrix.version}+calibration-{first}"
    with store.session_scope(runtime.sessions) as s:
        acme = store.get_tenant(s, "acme")
        assert acme is not None
        assert rollback_calibration(s, tenant=acme, now=NOW) is None
    assert versions() == (runtime.matrix.version, runtime.matrix.version)


@dataclass(frozen=True)
class _Mark:
    ticket: Any
    stored_tier: int | None
    in_month: bool = True


def _stored(ticket_id: str, *, tier: int | None, tags: list[str]) -> _Mark:
    from integration.audit.outcomes import with_outcomes
    from integration.audit.settings import AuditSettings
    from integration.models import Ticket
    from tests.conftest import make_ticket

    ticket = Ticket.from_dict(make_ticket(id=ticket_id, tags=tags))
    return _Mark(ticket=with_outcomes(ticket, AuditSettings()), stored_tier=tier)


def test_corrections_become_labeled_examples() -> None:
    from integration.analytics.review.findings import BY_HAND, LOWERED, RAISED, examples
    from integration.store.review import OverrideFact

    def override(ticket_id: str, from_tier: int, to_tier: int) -> OverrideFact:
        return OverrideFact(ticket_id=ticket_id, subject="s", from_tier=from_tier,
                            to_tier=to_tier, reason="why", agent="a", created_at=NOW,
                            rules=("refund_demand",), category="refund")

    stored = [
        _stored("escalated-not-flagged", tier=2, tags=["escalated"]),
        _stored("escalated-never-decided", tier=None, tags=["escalated_billing"]),
        _stored("escalated-and-flagged", tier=3, tags=["escalated"]),
        _stored("quiet", tier=2, tags=[]),
        _stored("overridden", tier=1, tags=["escalated"]),
    ]
    found = examples([override("overridden", 3, 2), override("overridden", 2, 1),
                      override("raised", 1, 3)], stored)

    by_id = {e.ticket_id: (e.tier, e.source) for e in found}
    assert by_id == {
        "overridden": (1, LOWERED),  # the last override of a ticket wins
        "raised": (3, RAISED),
        "escalated-not-flagged": (3, BY_HAND),
        "escalated-never-decided": (3, BY_HAND),
    }
