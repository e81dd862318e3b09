"""Label against outcome: a topic hiding harder work is flagged, consistent labels are not."""

from __future__ import annotations

import random
from datetime import UTC

from integration.audit.aggregate import Accumulator
from integration.audit.classify import Classified, Reading
from integration.audit.labels import label_checks
from integration.audit.settings import AuditSettings
from tests.audit.helpers import past_ticket

SETTINGS = AuditSettings()
_numbers = iter(range(1, 1_000_000))


def feed(
    acc: Accumulator, *, label: str, category: str, topic: str | None, minutes: float,
    csat: float | None = None, count: int = 1,
) -> None:
    reading = Reading(category=category, confidence=0.9, sentiment=0.0, triggers=(), tier=1,
                      rules=(), alert=False, sla_breached=None)
    for _ in range(count):
        n = next(_numbers)
        ticket = past_ticket(n, f"ticket {n}", csat=csat, agent_category=label,
                             resolution_minutes=minutes, reopens=0, reassignments=0)
        acc.add(Classified(ticket=ticket, readings=(reading,)), topic)


def test_a_slow_badly_rated_topic_inside_how_to_behaves_like_a_bug() -> None:
    acc = Accumulator(SETTINGS, UTC)
    feed(acc, label="question", category="how_to", topic="how_to/1", minutes=30, csat=1.0,
         count=40)
    feed(acc, label="question", category="how_to", topic="how_to/2", minutes=900, csat=0.0,
         count=25)
    feed(acc, label="usage", category="how_to", topic="how_to/1", minutes=30, csat=1.0,
         count=30)
    feed(acc, label="problem", category="bug", topic="bug/1", minutes=1000, csat=0.0,
         count=30)
    checks = {(c.label, c.topic): c for c in label_checks(acc.cells, SETTINGS, {})}

    hidden = checks[("question", "how_to/2")]
    assert hidden.contradicted
    assert hidden.tickets == 25
    assert "longer to resolve" in hidden.evidence and "rated badly" in hidden.evidence
    assert hidden.behaves_like == "bug"
    assert len(hidden.examples) == SETTINGS.examples
    significant = {t.outcome for t in hidden.tests if t.significant and t.meets_effect}
    assert significant == {"resolution_minutes", "bad_rating_rate"}

    assert not checks[("usage", None)].contradicted
    assert not checks[("question", "how_to/1")].contradicted
    assert not checks[("problem", None)].contradicted


def test_small_groups_are_not_tested() -> None:
    acc = Accumulator(SETTINGS, UTC)
    feed(acc, label="question", category="how_to", topic="how_to/1", minutes=30, count=40)
    feed(acc, label="question", category="how_to", topic="how_to/2", minutes=900, count=5)
    checks = label_checks(acc.cells, SETTINGS, {})
    assert not any(c.contradicted for c in checks)
    assert ("question", "how_to/2") not in {(c.label, c.topic) for c in checks}


def test_no_false_flags_among_many_labels_drawn_alike() -> None:
    rng = random.Random(7)
    acc = Accumulator(SETTINGS, UTC)
    for n in range(20):
        for topic in ("how_to/1", "how_to/2"):
            for _ in range(30):
                feed(acc, label=f"label{n}", category="how_to", topic=topic,
                     minutes=rng.lognormvariate(4.0, 1.2),
                     csat=1.0 if rng.random() < 0.8 else 0.0)
    checks = label_checks(acc.cells, SETTINGS, {})
    assert len(checks) == 20 + 40
    assert [c for c in checks if c.contradicted] == []


def test_checks_are_reported_in_the_json_shape() -> None:
    acc = Accumulator(SETTINGS, UTC)
    feed(acc, label="question", category="how_to", topic=None, minutes=30, count=25)
    (check,) = [c for c in label_checks(acc.cells, SETTINGS, {}) if c.label == "question"]
    data = check.to_dict()
    assert {"label", "topic", "tickets", "contradicted", "evidence"} <= set(data)
    assert data["tickets"] == 25 and data["contradicted"] is False


def test_a_whole_label_is_compared_with_the_category_it_names() -> None:
    acc = Accumulator(SETTINGS, UTC)
    # "question" means how-to; these take 20x longer than the other how-to tickets.
    feed(acc, label="question", category="how_to", topic=None, minutes=600, count=30)
    feed(acc, label="usage", category="how_to", topic=None, minutes=30, count=30)
    feed(acc, label="mystery", category="how_to", topic=None, minutes=600, count=30)
    checks = {(c.label, c.topic): c for c in label_checks(acc.cells, SETTINGS, {})}
    question = checks[("question", None)]
    assert question.contradicted
    assert question.norm == "tickets Escalade reads as how_to, other labels"
    assert "longer to resolve" in question.evidence
    # A label the map does not know has no norm to contradict.
    mystery = checks[("mystery", None)]
    assert not mystery.contradicted and mystery.tests == []
