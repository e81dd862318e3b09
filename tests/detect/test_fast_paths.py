"""The shortcuts that make detection fast must never change what it finds.

Each cheap pre-test (substring gates before regular expressions, token offsets read from an
array) is checked against the slow path it replaces, on crafted positives and the demo texts.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest

from integration.detect import impact, sentiment
from integration.detect.text import reader

ROOT = Path(__file__).resolve().parents[2]

SEVERITY = [
    "Our billing run is blocked",
    "the payroll process has been completely halted",
    "Shipment release blocked for all orders",
    "none of our 14 depots can close orders",
    "no lorry can leave the yard",
    "we are turning patients away",
    "Forty trucks queued",
    "0 of 38,206 readings accepted",
    "0 charging sessions since 02:00",
    "backups have been 0 bytes for a week",
    "Zero KB backup files",
    "We have data loss",
    "we lost all of our data",
    "Files have been deleted",
    "deleted all",
    "Production is down",
    "it is blocking our production",
    "we can't go live",
    "all of our users",
    "Nobody can log in",
    "the entire team",
    "the whole company",
    "down for everyone",
    "we cannot process payments",
    "Payments are failing",
    "checkout is broken",
    "a security incident",
    "unauthorised access",
    "we were hacked",
    "a data breach",
    "RANSOMWARE",
    "credentials were leaked",
    "a complete outage",
    "Everything is down",
    "the site is completely down",
    "URGENT",
    "asap please",
    "critical",
    "a blocker",
    "severely",
    "a showstopper",
    "many customers",
    "our revenue",
    "the deadline",
    "page not loading",
    "we cannot work",
    "I can't work",
    "unable to work",
]
ERRORS = [
    "HTTP 500",
    "error 404 not found",
    "Bad Gateway",
    "java.lang.NullPointerException",
    "ERR-1234",
    "error code: ABC123",
    "Service Unavailable",
    "kernel PANIC",
    "a Fault",
    "returned 429",
    "Gateway Time-out",
]
PHRASES = [
    "What a waste of my time",
    "This is simply not good enough.",
    "It isn’t good enough",
    "What exactly are we even paying you for??",
    "This is the third time I am writing",
    "How many more times",
    "I'm fed up",
    "Thanks for nothing",
    "we will take our business elsewhere",
    "we are going to a competitor",
    "never again",
    "Still not working",
    "nobody has responded",
    "Are you kidding me",
    "Seriously?!",
    "what a joke",
    "We are very disappointed",
    "Unacceptable.",
    "I need to escalate this",
    "I want a refund",
    "refund now please",
    "Great, broken again",
    "yeah right",
    "love how nothing works",
    "so helpful, not",
    "WTF is this crap",
    "f*** this",
    "what the hell",
    "this is bullshit",
    "screw this",
]


def _demo_texts() -> list[str]:
    texts: list[str] = []
    for name in ("integration/demo/tickets.jsonl", "tests/fixtures/tickets/tricky.jsonl"):
        path = ROOT / name
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                data = json.loads(line)
                texts += [data.get("subject", ""), *(m["body"] for m in data.get("messages", []))]
    return texts


def _variants(texts: list[str]) -> list[str]:
    return [v for t in texts for v in (t, t.upper(), t.lower(), f"Hi team. {t}! Thanks")]


def test_severity_gates_pass_every_text_their_pattern_matches() -> None:
    matched = 0
    used = set()
    for text in _variants(SEVERITY + _demo_texts()):
        for n, (_, pattern, gate) in enumerate(impact._SEVERITY):
            if pattern.search(text):
                matched += 1
                used.add(n)
                assert any(word in text.lower() for word in gate), (pattern.pattern, text)
    assert matched >= len(SEVERITY) * 4
    assert used == set(range(len(impact._SEVERITY)))  # every pattern is tried on a match


LOSSES = [
    "Since the migration the photos are missing.",
    "After the upgrade three months of notes disappeared.",
    "Since the sync everything before March is gone.",
    "After v2 all records lost their custom fields.",
    "Since the move the history is not there any more.",
    "The older logs are no longer there since version 5.",
    "Every order shows 'attachment unavailable' after the migration.",
    "The 312 documents are not in the vault since the migration.",
    "Backups have been 0 bytes since the upgrade.",
]


def test_loss_gate_passes_every_text_the_loss_pattern_matches() -> None:
    matched = 0
    for text in _variants(LOSSES + _demo_texts()):
        lower = text.lower()
        if impact._LOSS.search(lower):
            matched += 1
            assert any(word in lower for word in impact._LOSS_WORDS), text
    assert matched >= len(LOSSES) * 4


def test_error_gate_passes_every_text_the_patterns_match() -> None:
    matched = 0
    for text in _variants(ERRORS + _demo_texts()):
        if impact._ANY_ERROR.search(text):
            matched += 1
            assert impact._may_have_error(text), text
    assert matched >= len(ERRORS) * 4


def test_phrase_gates_pass_every_text_the_patterns_match() -> None:
    assert len(sentiment._PHRASE_NEEDS) == len(sentiment._PHRASES)
    seen = set()
    for text in _variants(PHRASES + _demo_texts()):
        lower = text.lower()
        allowed = sentiment._phrases_for(lower)
        for k, (pattern, _, _) in enumerate(sentiment._PHRASES):
            if pattern.search(text):
                seen.add(k)
                assert sentiment._PHRASES[k] in allowed, (text, pattern.pattern)
        if sentiment._SARCASM_PHRASES.search(text):
            assert sentiment._has_any(lower, sentiment._SARCASM_PHRASE_NEEDS), text
        if sentiment._SARCASM_OPENERS.search(text):
            assert sentiment._has_any(lower, sentiment._SARCASM_OPENER_NEEDS), text
        if sentiment._PROFANITY_LOWER.search(lower):
            assert sentiment._has_any(lower, sentiment._PROFANITY_NEEDS) or (
                "fu" in lower and "ck" in lower
            ), text
    assert seen == set(range(len(sentiment._PHRASES)))


def test_a_message_without_any_cue_searches_no_phrase() -> None:
    assert sentiment._phrases_for("the export button moved to the left") == ()


@pytest.mark.parametrize("seed", [1, 2])
def test_token_offsets_from_the_array_match_spacy_tokens(seed: int) -> None:
    rng = random.Random(seed)
    alphabet = "ab .!?\n\t'’-\u00a0éЖ😀,:;()\"1"
    texts = ["", "   ", "a  b\n\n c", "Hello!!  World ... (yes) don't\tstop\n", *_demo_texts()]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(0, 40))) for _ in range(500)]
    read = reader()
    for text in texts:
        words, starts = read._tokens(text)
        assert list(zip(words, starts, strict=True)) == [
            (t.text, t.idx) for t in read._tokenizer(text)
        ], text


def _reference_sentences(text: str) -> list[tuple[int, int]]:
    # The rule written plainly over spaCy tokens: a sentence starts after a run of end
    # punctuation, and after every line break.
    from spacy.pipeline.sentencizer import Sentencizer

    punct = set(Sentencizer.default_punct_chars)
    tokens = list(reader()._tokenizer(text))
    if not tokens:
        return []
    starts = {0}
    seen_period = False
    for i, token in enumerate(tokens):
        in_punct = token.text in punct
        if seen_period and not token.is_punct and not in_punct:
            starts.add(i)
            seen_period = False
        elif in_punct:
            seen_period = True
        if token.is_space and i < len(tokens) - 1 and "\n" in token.text:
            starts.add(i + 1)
    ordered = [*sorted(starts), len(tokens)]
    return list(zip(ordered, ordered[1:], strict=False))


def test_sentences_split_after_end_punctuation_and_line_breaks() -> None:
    parsed = reader().read("It broke again!!! Fix it.\nNow please")
    sentences = [parsed.span_text(s, e).strip() for s, e in parsed.sents]
    assert [s for s in sentences if s] == ["It broke again!!!", "Fix it.", "Now please"]
    rng = random.Random(3)
    alphabet = "ab .!?\n'-()\"。"
    texts = [*_demo_texts()]
    texts += ["".join(rng.choice(alphabet) for _ in range(rng.randint(1, 30))) for _ in range(500)]
    for text in texts:
        text = text.strip()
        assert reader().read(text).sents == _reference_sentences(text), text


def _phrase_words() -> list[str]:
    from integration.detect.cues import CATEGORY_CUES, INTENT_CUES
    from integration.matrix import default_matrix

    words = [w for spec in default_matrix().triggers for w in (*spec.lemmas, *spec.phrases)]
    words += [w for cues in INTENT_CUES.values() for w in cues]
    return words + [cue for cues in CATEGORY_CUES.values() for cue in cues]


def test_phrase_words_read_together_lemmatize_as_read_one_by_one() -> None:
    from integration.detect.triggers import read_options

    text_reader = reader()
    together = read_options(text_reader, _phrase_words())
    assert len(together) > 500
    for option, lemmas in together.items():
        parsed = text_reader.read(option)
        alone = [lem for lem, w in zip(parsed.lemmas, parsed.words, strict=True) if w.strip()]
        assert lemmas == alone, option


def test_lemma_table_as_a_plain_dict_gives_spacys_lookups() -> None:
    from spacy.lookups import load_lookups

    from integration.detect.text import _lemma_table

    table = load_lookups("en", ["lemma_lookup"]).get_table("lemma_lookup")
    words = sorted({w.lower() for text in _demo_texts() for w in text.split()})
    words += ["running", "went", "data", "amod", "ADJ", "xyzzy", "webhooks"]
    fast = _lemma_table()
    assert [fast(w) for w in words] == [table.get(w) for w in words]


def test_the_classifier_and_the_reader_share_one_embedding_model() -> None:
    from integration.detect.classifier import default_model
    from integration.detect.embedding import default_embedding_model

    assert default_model().embedding is default_embedding_model()


def test_embedding_rows_gathered_with_take_sum_to_the_indexed_rows() -> None:
    import math

    import numpy

    from integration.detect.embedding import default_embedding_model

    embedder = default_embedding_model().embedder
    texts = _demo_texts()[:40]
    encoded = embedder.encode(texts)
    for text, row in zip(texts, encoded, strict=True):
        ids = embedder.token_ids(text)
        summed = numpy.add.reduce(embedder.vectors[ids], axis=0)
        norm = math.sqrt(float(summed @ summed)) + 1e-32
        expected = summed / norm if embedder.normalize else summed / len(ids)
        assert numpy.array_equal(row, expected), text
