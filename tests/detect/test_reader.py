"""The learned reader: a trigger word live or only mentioned; intents said without the word.

Each case is a contrastive pair: the same trigger word said as a live demand, and only
mentioned. The rules alone fire on both (checked with the reader off), so every pair fails
if the reader is removed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import numpy
import pytest

from integration.detect import Detector
from integration.detect.reader import (
    KIND_WORDS,
    READER_FILE,
    HitReader,
    default_hit_reader,
    hit_features,
)
from integration.detect.text import reader
from integration.detect.training.reader_data import DATA_PATH, generate
from integration.matrix import default_matrix, evaluate
from integration.models import Signals

from .conftest import ticket

MATRIX = default_matrix()


@pytest.fixture(scope="module")
def reading(full: Detector) -> Detector:
    return full


def _ignored(signals: Signals) -> list[str]:
    return [e.text for e in signals.evidence if e.kind == "trigger_ignored"]


# (trigger, live message, the same word only mentioned, the kind the reader names)
PAIRS = [
    ("refund", "I want a refund for the double charge on our card.",
     "We received the refund last Tuesday; how many days until it shows on the statement?",
     "past"),
    ("legal", "If we don't hear back by Monday I will sue.",
     "my manager will sue me 🙈 if this chart is late, how do I change its colours?", "joke"),
    ("legal", "I will file a chargeback with my bank unless this is refunded.",
     "Two shoppers filed chargebacks on us this week; how do we upload proof of delivery?",
     "others"),
    ("outage", "The website is down for every one of our stores right now.",
     # With "if" the rules already know a supposed case; without it only the reader does.
     "Hypothetically, would our data fail over to another region during an outage of your EU "
     "region?", "hypothetical"),
    ("churn", "Please cancel our subscription before the next billing date.",
     "TEST ticket from the new contact form: cancel the subscription.", "test"),
    ("security", "Our admin account was hacked last night, lock it now.",
     "The phishing-awareness course in your LMS won't play for our new hires.", "name"),
    ("security", "We have a data breach: someone is exporting our contacts right now.",
     "For our vendor file: how would you tell us about a data breach on your side?",
     "hypothetical"),
]


@pytest.mark.parametrize(("trigger", "live", "mentioned", "kind"), PAIRS)
def test_live_counts_and_mentioned_does_not(
    reading: Detector, rules_only: Detector, trigger: str, live: str, mentioned: str, kind: str
) -> None:
    assert trigger in reading.detect(ticket(live)).trigger_ids
    assert trigger in rules_only.detect(ticket(mentioned)).trigger_ids, "rules alone fire"
    signals = reading.detect(ticket(mentioned))
    assert trigger not in signals.trigger_ids
    assert any(f"is {KIND_WORDS[kind]}" in text for text in _ignored(signals)), _ignored(signals)
    # The matrix can tell a word only mentioned from a word never written.
    assert trigger in signals.mentioned
    assert trigger not in reading.detect(ticket(live)).mentioned


# Kinds the first examples taught badly: said in words of other trades, with a laugh, about
# someone close, in a log line, or as an add-on dropped by a customer who stays.
@pytest.mark.parametrize(
    ("trigger", "mentioned", "kind"),
    [
        ("legal", "the kids say they'll sue me if the wifi drops during the match 🙈 how do I "
         "add a second router?", "joke"),
        ("legal", "Shoppers keep filing chargebacks on us for parcels they received; how do we "
         "upload proof of delivery?", "others"),
        ("churn", "Please cancel the extra storage add-on from June; we're keeping the team "
         "plan.", "routine"),
        ("churn", "The nightly job stops with 'worker-9 abnormal termination (signal 9)'. How "
         "can I see why?", "quoted"),
    ],
)
def test_the_reader_names_how_a_word_is_only_mentioned(
    reading: Detector, rules_only: Detector, trigger: str, mentioned: str, kind: str
) -> None:
    assert trigger in rules_only.detect(ticket(mentioned)).trigger_ids, "rules alone fire"
    signals = reading.detect(ticket(mentioned))
    assert trigger not in signals.trigger_ids
    assert any(f"is {KIND_WORDS[kind]}" in text for text in _ignored(signals)), _ignored(signals)


def test_a_polite_refund_request_is_still_a_demand(reading: Detector) -> None:
    text = ("I'm so sorry to trouble you, but would it be possible to get a refund for the "
            "lesson the coach missed?")
    assert "refund" in reading.detect(ticket(text)).trigger_ids


@pytest.mark.parametrize(
    ("text", "present", "absent"),
    [
        ("haha I will sue my coffee machine", {"c=joke"}, set()),
        ("The outage is still not resolved.", set(), {"c=settled"}),
        ("The outage last week was resolved, thanks.", {"c=settled"}, set()),
        ("Our log shows ServiceOutageException at 02:00", {"code_near"}, set()),
    ],
)
def test_cue_words_are_grouped_and_negation_aware(
    text: str, present: set[str], absent: set[str]
) -> None:
    doc = reader().read(text)
    key = "legal" if "sue" in text else "outage"
    start = next(i for i, lemma in enumerate(doc.lemmas) if lemma in {"sue", "outage"}
                 or "Outage" in doc.words[i])
    names = set(hit_features(doc, start, start + 1, key))
    assert present <= names and not absent & names, sorted(names)


def test_a_model_without_meaning_weights_still_loads(tmp_path: Path) -> None:
    with numpy.load(READER_FILE, allow_pickle=False) as data:
        arrays = {name: data[name] for name in data.files if name != "hit_e"}
    older = tmp_path / "reader.npz"
    numpy.savez(older, **arrays)
    doc = reader().read("Please refund the duplicate payment today.")
    start = doc.lemmas.index("refund")
    verdict = HitReader(older).read(doc, start, start + 1, "refund")
    assert verdict.kind in KIND_WORDS


def test_a_report_taken_back_in_a_later_message_does_not_count(
    reading: Detector, rules_only: Detector
) -> None:
    report = "The app is down for all of our users since 9am."
    retraction = "Never mind, false alarm - it was our own proxy. All fine now."
    # Taking a report back is read from the words, with or without the learned reader.
    for detector in (reading, rules_only):
        assert "outage" in detector.detect(ticket(report, "Any update on this?")).trigger_ids
        assert "outage" not in detector.detect(ticket(report, retraction)).trigger_ids


def test_a_phrase_the_reader_never_learned_is_left_to_the_rules(reading: Detector) -> None:
    text = "Ahead of our renewal, leadership has asked us to review other vendors in this space."
    assert "churn" in reading.detect(ticket(text)).trigger_ids


def test_a_subject_word_counts_as_the_message_reads_it(reading: Detector) -> None:
    past = "We got the refund last week, thanks. How long until it shows on the card?"
    assert "refund" not in reading.detect(ticket(past, subject="Refund")).trigger_ids
    live = "Please refund the duplicate payment today."
    assert "refund" in reading.detect(ticket(live, subject="Refund")).trigger_ids


@pytest.mark.parametrize(
    ("trigger", "text", "calm"),
    [
        ("churn", "At this renewal price we will have to find another supplier.",
         "We would like a demo of the new reporting features next week."),
        ("security", "An offboarded employee still logged in and exported our customer list.",
         "How do we remove a user who left the company?"),
        ("relationship", "Our CEO would like a call to discuss the future of our partnership.",
         "Our CEO asked for a copy of the signed contract."),
    ],
)
def test_intent_without_the_keyword(
    reading: Detector, rules_only: Detector, trigger: str, text: str, calm: str
) -> None:
    assert trigger not in rules_only.detect(ticket(text)).trigger_ids, "no keyword to match"
    hits = [h for h in reading.detect(ticket(text)).triggers if h.trigger == trigger]
    assert hits and hits[0].match == "" and "without the word" in hits[0].reading
    assert trigger not in reading.detect(ticket(calm)).trigger_ids


def test_an_intent_said_in_one_clause_of_a_long_sentence_is_found(reading: Detector) -> None:
    from integration.detect.reader import clauses

    text = ("We have a demo with another vendor next Thursday who says they can, and our "
            "renewal is in February, so I'd like to know what you offer before then.")
    found = [h for h in reading.detect(ticket(text)).triggers if h.trigger == "churn"]
    assert found and "without the word" in found[0].reading
    # A question that only shares the words is no intent, whole or clause by clause.
    calm = "Quick one: could we have a demo of the new module next week, and which plan has it?"
    assert "churn" not in reading.detect(ticket(calm)).trigger_ids
    doc = reader().read_all([calm])[0]
    # Clauses too short to state anything ("Quick one", "and") are not read on their own.
    assert [doc.span_text(a, b).strip() for a, b in clauses(doc.lower, 0, len(doc.lower))] == [
        "could we have a demo of the new module next week,", "which plan has it?"]


def test_the_decision_reasons_name_the_verdict(reading: Detector) -> None:
    now = datetime(2026, 11, 2, 10, 0, tzinfo=UTC)
    live = ticket("I demand a refund for the unused seats.")
    decision = evaluate(MATRIX, live, reading.detect(live), now=now, with_actions=False)
    assert any("read as live" in r for r in decision.reasons), decision.reasons
    calm = ticket("At this renewal price we will have to find another supplier.")
    decision = evaluate(MATRIX, calm, reading.detect(calm), now=now, with_actions=False)
    assert any("churn intent without the word" in r for r in decision.reasons), decision.reasons


def test_the_mentioned_reason_names_the_kind(reading: Detector) -> None:
    signals = reading.detect(ticket("We got the refund back in June, all good. New question: SSO?"))
    assert any("'refund' is past" in text for text in _ignored(signals)), _ignored(signals)


def test_the_data_file_is_what_the_generator_writes() -> None:
    shipped = DATA_PATH.read_text(encoding="utf-8").splitlines()
    assert [json.loads(line) for line in shipped] == generate()


def test_the_shipped_model_reads_triggers_the_matrix_names() -> None:
    read = default_hit_reader()
    assert {"refund", "churn", "legal", "outage", "security"} <= read.triggers
    assert read.kinds[0] == "live" and set(read.kinds) == set(KIND_WORDS)
    assert 0.0 < read.live_at <= 0.5 and 0.5 <= read.intent_at < 1.0


def test_a_word_only_mentioned_is_no_cue_for_its_category(reading: Detector) -> None:
    # Since the classifier learned from set i as well, it reads this one right without the
    # reader too; the reader still says why the word does not count.
    text = "Thanks for the refund back in June! Where do I download last year's invoices?"
    signals = reading.detect(ticket(text))
    assert signals.category.value != "refund"
    assert any(e.startswith("refund: 'refund' is past") for e in _ignored(signals)), signals


def test_a_word_only_mentioned_sets_no_tone(reading: Detector) -> None:
    # Were "outage" read, this would be a calm report of a problem (mildly negative).
    text = ("After the outage two weeks ago (all sorted, thanks for the write-up) we'd like to "
            "know how to export the audit log.")
    assert reading.detect(ticket(text)).sentiment > 0
