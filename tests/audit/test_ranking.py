"""Ranked triggers: impact by the stated formula, and suggested rules that load."""

from __future__ import annotations

import pytest

from integration.audit.aggregate import GroupStats
from integration.audit.ranking import check_snippet, formula, rank
from integration.audit.settings import AuditSettings, ImpactWeights
from integration.audit.topics import TopicInfo
from integration.matrix import load_matrix_text
from tests.audit.helpers import DEFAULT_YAML


def stats(tickets: int, escalations: int, arr: float, csat_loss: float, hours: float) -> GroupStats:
    g = GroupStats(tickets=tickets, escalations=escalations, csat_loss=csat_loss, hours=hours)
    if arr:
        g.at_risk["acct"] = (arr, "enterprise")
    return g


def test_impact_by_hand_beats_count() -> None:
    groups = {"billing": stats(10, 4, 100_000, 1.0, 10.0), "how_to": stats(90, 0, 0, 0.0, 30.0)}
    ranked = rank(groups, AuditSettings())
    assert [r.key for r in ranked] == ["billing", "how_to"]
    # 0.1*0.1 + 0.4*1 + 0.25*1 + 0.25*0.25 and 0.1*0.9 + 0.25*0.75
    assert ranked[0].impact == pytest.approx(0.7225)
    assert ranked[1].impact == pytest.approx(0.2775)
    assert formula(ImpactWeights()).startswith("impact = 0.10 x share of tickets + 0.40 x")


def test_weights_are_normalized() -> None:
    groups = {"billing": stats(10, 0, 0, 0, 0), "bug": stats(30, 0, 0, 0, 0)}
    settings = AuditSettings(weights=ImpactWeights(tickets=2.0, arr=0, csat=0, hours=0))
    assert [r.impact for r in rank(groups, settings)] == [pytest.approx(0.75),
                                                          pytest.approx(0.25)]


def test_top_entries_suggest_a_rule_that_loads_in_the_matrix() -> None:
    groups = {"billing": stats(10, 4, 100_000, 1.0, 10.0), "how_to": stats(90, 0, 0, 0.0, 30.0),
              "bug": stats(50, 6, 0, 0.0, 5.0)}
    billing, how_to, bug = rank(groups, AuditSettings())
    assert billing.suggestion is not None and billing.suggestion_loads is True
    assert billing.suggested_tier == 3  # 40% escalated
    assert "3:" in billing.suggestion
    assert bug.key == "bug" and bug.suggested_tier == 2  # 12% escalated
    assert how_to.suggestion is None and how_to.suggested_tier is None  # costs nothing
    snippet_rule = load_matrix_text(_merged(billing.suggestion), source="t.yaml")
    assert "audit_billing" in snippet_rule.rule_ids


def test_no_rule_where_the_matrix_already_catches_them() -> None:
    outage = stats(10, 8, 100_000, 1.0, 10.0)
    outage.tiers.update({3: 9, 2: 1})
    (entry,) = rank({"outage": outage}, AuditSettings())
    assert entry.suggested_tier == 3 and entry.already_caught == 0.9
    assert entry.suggestion is None


def test_a_topic_suggests_a_trigger_and_a_rule() -> None:
    info = TopicInfo(id="bug/3", name="export csv timeout", category="bug", tickets=12,
                     words=("export", "csv", "timeout"))
    (entry,) = rank({"bug/3": stats(12, 6, 50_000, 2.0, 20.0)}, AuditSettings(), kind="topic",
                    topics={"bug/3": info})
    assert entry.suggestion is not None and entry.suggestion_loads is True
    assert "lemmas: [export, csv, timeout]" in entry.suggestion
    assert entry.to_dict()["topic"] == "bug/3"


def test_a_snippet_that_would_not_load_is_said_so() -> None:
    bad = "tiers:\n  3:\n    rules:\n    - id: Bad-Id\n      when: {category: [nonsense]}\n"
    assert check_snippet(bad) is False
    assert check_snippet("tiers: [") is False


def _merged(snippet: str) -> str:
    import yaml

    from integration.audit.ranking import _merge

    merged: str = yaml.safe_dump(_merge(yaml.safe_load(DEFAULT_YAML), yaml.safe_load(snippet)))
    return merged


def test_snippets_checked_together_still_say_which_fails() -> None:
    from integration.audit.ranking import check_snippets

    good = "tiers:\n  2:\n    rules:\n    - id: audit_ok\n      when: {category: [bug]}\n"
    bad = "tiers:\n  2:\n    rules:\n    - id: audit_bad\n      when: {category: [nope]}\n"
    assert check_snippets([good, bad, good.replace("audit_ok", "audit_ok2")]) == [
        True, False, True]
    assert check_snippets([good, good.replace("audit_ok", "audit_ok2")]) == [True, True]
