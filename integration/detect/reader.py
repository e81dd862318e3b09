"""The learned reader: is a trigger word live or only mentioned; is an intent said without it?

Two small linear models over hashed features, trained by
``python -m integration.detect.training.reader`` and shipped as ``model/reader.npz``:

- the *hit reader* looks at one trigger match — the words just before and after it, its
  sentence, the sentences around it, what later messages say, markers of question, negation,
  condition, past time and quotation, cue words grouped by what they say (a laugh, a third
  party, something settled, a test, a named thing, a log token) and the meaning of its
  sentence (the model2vec vector the category model uses) — and gives the likeliest *kind*:
  ``live`` (the customer's own, current, meant) or how it is only mentioned (``past``,
  ``negated``, ``retracted``, ``hypothetical``, ``name``, ``joke``, ``others``, ``quoted``,
  ``test``, ``question``, ``routine``);
- the *intent finder* reads each sentence (hashed words and word pairs) for an intent said
  without the trigger's keyword: calm churn, a relationship at stake, a security incident,
  data loss, a platform-wide failure.

A forward pass is a gather of a few dozen weight rows and a sum: a few microseconds, no
torch, no sklearn. Every customer sentence goes through the intent finder, so its features
are looked up by lemma (and lemma pair) rather than built as strings each time. The rules
stay the explanation; the reader decides whether a hit counts.
"""

from __future__ import annotations

import json
import math
import os
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy

from integration.detect.embedding import StaticEmbedder, default_embedding_model
from integration.detect.paths import MODEL_DIR
from integration.detect.text import Parsed
from integration.errors import ConfigurationError

__all__ = [
    "INTENT_TRIGGERS",
    "KIND_WORDS",
    "READER_FILE",
    "HitReader",
    "Intent",
    "Verdict",
    "DEEP_BAND",
    "DEEP_DIR",
    "DEEP_MAX_TOKENS",
    "DeepReader",
    "blend",
    "default_deep_reader",
    "DEEP_SETTING",
    "deep_reading_wanted",
    "default_hit_reader",
    "padded",
    "hit_features",
    "hit_text",
    "later_words",
    "pair_text",
    "match_key",
    "sentence_features",
]

READER_FILE = MODEL_DIR / "reader.npz"
# The fine-tuned MiniLM pair classifier (int8 ONNX), its tokenizer and its thresholds.
DEEP_DIR = MODEL_DIR / "reader_minilm"
BUCKETS = 1 << 16
_MASK = BUCKETS - 1
_WINDOW = 5
_LATER_WORDS = 16
# How much of the match's sentence (words each side) and of its neighbours the transformer reads.
_PAIR_SPAN = 24
_PAIR_NEIGHBOUR = 14
DEEP_MAX_TOKENS = 96
# The hashed reader's live probabilities the transformer re-reads (both ends included). Outside
# them the mean of the two crosses the threshold (0.5) only when the transformer is almost
# certain the other way; on the labeled sets this band decided as re-reading every match
# (0.02 to 0.98) did, with a quarter of the transformer's runs.
DEEP_BAND = (0.2, 0.8)
_FEATURE_CACHE = 200_000
# Shorter sentences ("Thanks!", "Hi team,") state no intent.
_MIN_SENTENCE = 4

# What each kind means, in the customer's words, for the decision's reasons.
KIND_WORDS = {
    "live": "live",
    "past": "past",
    "negated": "negated",
    "retracted": "taken back later",
    "hypothetical": "hypothetical",
    "name": "the name of a thing",
    "joke": "a joke",
    "others": "someone else's",
    "quoted": "quoted",
    "test": "a test",
    "question": "a question about policy",
    "routine": "routine paperwork",
}
# Which trigger an intent found without the keyword stands for, first one the matrix has.
INTENT_TRIGGERS: dict[str, tuple[str, ...]] = {
    "churn": ("churn",),
    "relationship": ("relationship", "churn"),
    "security": ("security",),
    "data_loss": ("critical_bug", "data_loss"),
    "platform": ("outage",),
}
_NEGATORS = frozenset({"not", "no", "never", "nothing", "without", "nor", "neither"})
_CONDITIONS = frozenset({"if", "whether", "case", "ever", "hypothetically", "would", "suppose"})
_QUOTES = frozenset({'"', "'", "“", "”", "‘", "’"})
_TIME_PAST = frozenset({"ago", "last", "yesterday", "earlier", "already", "previously", "back"})
# Cue words grouped by what they say about a match, so that one weight carries to wording the
# examples never used: any laughing marker says "joke", any third party says "someone else's".
_CUES: dict[str, frozenset[str]] = {
    "joke": frozenset({"lol", "lmao", "haha", "hahaha", "hehe", "jk", "kidding", "joking",
                       "joke", "😂", "🤣", "😅", "😄", "😆", "😉", "😜", "🙃", "🙈", ":)", ";)",
                       ":d", "xd"}),
    "others": frozenset({"friend", "neighbour", "neighbor", "client", "guest", "member",
                         "employee", "colleague", "provider", "host", "supplier", "partner",
                         "sister", "brother", "mother", "father", "mum", "mom", "dad", "wife",
                         "husband", "son", "daughter", "shopper", "patient", "student",
                         "tenant", "their", "they", "former", "another", "someone"}),
    "settled": frozenset({"sorted", "resolved", "fixed", "settled", "approved", "paid",
                          "received", "thank", "thanks", "withdrawn", "closed", "refunded",
                          "reversed", "completed", "credited", "arrived", "handled", "over"}),
    "test": frozenset({"test", "testing", "ignore", "drill", "dummy", "sample", "demo"}),
    "hypothetical": frozenset({"if", "whether", "case", "hypothetically", "suppose", "would",
                               "could", "might", "ever", "future", "happen", "plan", "before"}),
    "policy": frozenset({"policy", "policies", "terms", "clause", "procedure", "process",
                         "allowed", "eligible", "entitle", "rule", "rules", "register"}),
    "routine": frozenset({"annual", "review", "records", "questionnaire", "audit", "procurement",
                          "template", "form", "signature", "sign", "countersign", "file"}),
    "name": frozenset({"report", "column", "stage", "field", "button", "tab", "summary", "role",
                       "module", "widget", "template", "label", "status", "folder", "filter",
                       "tag", "cover", "email", "dashboard", "screen", "menu", "type", "rate",
                       "setting", "option", "page", "list", "category", "code", "reason"}),
    "taken_back": frozenset({"mind", "false", "alarm", "disregard", "ignore", "found", "works",
                             "working", "fine", "sorted", "fixed", "sorry", "bad", "mistake",
                             "resolved", "scratch", "oops", "nevermind", "back"}),
}
# Each cue word's groups, for one look-up per word.
_CUE_OF: dict[str, tuple[str, ...]] = {
    word: tuple(cue for cue, members in _CUES.items() if word in members)
    for word in frozenset().union(*_CUES.values())
}
_NEGATED = frozenset({"not", "n't", "never", "no", "nothing", "yet"})
_QUESTION_WORDS = frozenset({"how", "what", "which", "where", "when", "can", "could", "do", "does",
                             "is", "are", "will", "would"})


@dataclass(frozen=True, kw_only=True, slots=True)
class Verdict:
    """How the reader takes one trigger match: its kind and the probability it is live."""

    kind: str
    live: float

    @property
    def counts(self) -> bool:
        """True when the match is read as live."""
        return self.kind == "live"


@dataclass(frozen=True, kw_only=True, slots=True)
class Intent:
    """An intent found in a sentence without the trigger's keyword."""

    intent: str
    sentence: str
    probability: float


def _shape(lemma: str) -> str:
    return "0" if lemma[:1].isdigit() else lemma


def match_key(doc: Parsed, start: int, end: int) -> str:
    """A trigger match by its lemmas ("review_other_vendor"), as the reader knows phrases."""
    return "_".join(doc.lemmas[start:end])


def later_words(docs: Sequence[Parsed]) -> list[str]:
    """The first words of the customer's later messages, where a retraction would be."""
    out: list[str] = []
    for doc in docs:
        out.extend(w for w in doc.lemmas[:_LATER_WORDS] if w.isalpha())
        if len(out) >= _LATER_WORDS:
            break
    return out[:_LATER_WORDS]


def hit_text(doc: Parsed, start: int) -> str:
    """What the hit reader reads for meaning: the match's sentence."""
    return doc.sentence_text(start)


def _clip(doc: Parsed, lo: int, hi: int) -> str:
    return " ".join(doc.span_text(lo, hi).split())


def pair_text(
    doc: Parsed, start: int, end: int, key: str, *, later: Sequence[str] = ()
) -> tuple[str, str]:
    """What the transformer reads of one match (shared by training and reading): the trigger,
    the matched words and the later messages' first words; then the match's sentence, the match
    in brackets, with the end of the sentence before and the start of the one after."""
    sent_lo, sent_hi = doc.sentence(start)
    lo, hi = max(sent_lo, start - _PAIR_SPAN), min(sent_hi, end + _PAIR_SPAN)
    parts = [_clip(doc, lo, start), "[", _clip(doc, start, end), "]", _clip(doc, end, hi)]
    index = doc.sent_index[start]
    if index > 0:
        p_lo, p_hi = doc.sents[index - 1]
        parts.insert(0, _clip(doc, max(p_lo, p_hi - _PAIR_NEIGHBOUR), p_hi))
    if index + 1 < len(doc.sents):
        n_lo, n_hi = doc.sents[index + 1]
        parts.append(_clip(doc, n_lo, min(n_hi, n_lo + _PAIR_NEIGHBOUR)))
    first = f"{key.replace('_', ' ')}: {_clip(doc, start, end)}"
    if later:
        first += " | later: " + " ".join(later[:_LATER_WORDS])
    return first, " ".join(p for p in parts if p)


def hit_features(
    doc: Parsed, start: int, end: int, key: str, *, later: Sequence[str] = ()
) -> list[str]:
    """The hashed-feature names of one trigger match (shared by training and reading)."""
    lemmas = doc.lemmas
    sent_start, sent_end = doc.sentence(start)
    match = "_".join(lemmas[start:end])
    out = [f"k={key}", f"m={match}"]
    for n in range(1, _WINDOW + 1):
        if start - n >= sent_start:
            word = _shape(lemmas[start - n])
            out.append(f"b={word}")
            if n <= 2:
                out.append(f"b{n}={word}")
                out.append(f"kb={key}|{word}")
        if end + n - 1 < sent_end:
            word = _shape(lemmas[end + n - 1])
            out.append(f"a={word}")
            if n <= 2:
                out.append(f"a{n}={word}")
                out.append(f"ka={key}|{word}")
    sentence = [_shape(w) for w in lemmas[sent_start:sent_end] if w.strip()]
    out.extend(f"s={w}" for w in sentence)
    out.extend(f"s2={a}_{b}" for a, b in zip(sentence, sentence[1:], strict=False))
    out.extend(_markers(doc, start, sent_start, sent_end, sentence))
    out.extend(_cues(doc, start, end, sent_start, sent_end))
    out.extend(_neighbours(doc, start))
    out.extend(f"L={w}" for w in later[:_LATER_WORDS])
    out.extend(f"Lc={cue}" for cue in _cue_names(later) if cue == "taken_back")
    return out


def _cue_names(words: Iterable[str]) -> set[str]:
    cue_of = _CUE_OF
    return {cue for w in words if w in cue_of for cue in cue_of[w]}


def _looks_like_code(word: str) -> bool:
    """A log or code token: ``refund.created``, ``TERMINATED_BY``, ``SecurityException``."""
    inner = word.strip(".,;:!?()'\"")
    if len(inner) < 4:
        return False
    joined = "_" in inner or ("." in inner[1:-1] and not inner.replace(".", "").isdigit())
    camel = inner[:1].isupper() and any(c.isupper() for c in inner[1:]) and not inner.isupper()
    return joined or camel


def _affirmed(words: Sequence[str]) -> Sequence[str]:
    """The words not under a negation just before them ("not resolved" says nothing settled)."""
    if _NEGATED.isdisjoint(words):
        return words
    return [w for n, w in enumerate(words) if _NEGATED.isdisjoint(words[max(0, n - 2) : n])]


def _cues(doc: Parsed, start: int, end: int, sent_start: int, sent_end: int) -> list[str]:
    """Grouped cues around a match: in its sentence, before it, and how the match looks."""
    lower = doc.lower
    before = lower[sent_start:start]
    after = lower[end:sent_end]
    said = _affirmed(lower[sent_start:sent_end])
    out = [f"c={cue}" for cue in _cue_names(said)]
    out += [f"cb={cue}" for cue in _cue_names(_affirmed(before))]
    words = doc.words
    opened = [w for w in words[sent_start:start] if w in _QUOTES]
    closed = [w for w in words[end:sent_end] if w in _QUOTES]
    if len(opened) % 2 == 1 and closed:
        out.append("in_quotes")
    if start > sent_start and words[start][:1].isupper() and not words[start].isupper():
        out.append("capital_inside")
    if after[:3] and not _CUES["name"].isdisjoint(after[:3]):
        out.append("names_a_thing")
    if "?" in after:
        out.append("q_after")
    if any(_looks_like_code(w) for w in words[max(sent_start, start - 3) : min(sent_end, end + 3)]):
        out.append("code_near")
    if before[:1] and before[0] in _QUESTION_WORDS:
        out.append("question_clause")
    return out


def _markers(
    doc: Parsed, start: int, sent_start: int, sent_end: int, sentence: list[str]
) -> list[str]:
    words = set(sentence)
    out = []
    if "?" in words:
        out.append("q")
    if not _NEGATORS.isdisjoint(doc.lemmas[max(sent_start, start - 6) : start]):
        out.append("neg_before")
    if not _CONDITIONS.isdisjoint(words):
        out.append("cond")
    if not _QUOTES.isdisjoint(doc.words[sent_start:sent_end]):
        out.append("quote")
    if not _TIME_PAST.isdisjoint(words):
        out.append("time_past")
    if any(w.endswith("ed") for w in doc.lower[sent_start:sent_end]):
        out.append("ed")
    position = doc.sent_index[start]
    out.append("first_sent" if position == 0 else "later_sent")
    return out


def _neighbours(doc: Parsed, start: int) -> list[str]:
    # A retraction or a resolution often sits in the next sentence ("Never mind, it works").
    index = doc.sent_index[start]
    out: list[str] = []
    if index + 1 < len(doc.sents):
        lo, hi = doc.sents[index + 1]
        out.extend(f"n={_shape(w)}" for w in doc.lemmas[lo:hi][:12] if w.strip())
    if index > 0:
        lo, hi = doc.sents[index - 1]
        out.extend(f"p={_shape(w)}" for w in doc.lemmas[lo:hi][-8:] if w.strip())
    return out


def sentence_features(lemmas: Sequence[str]) -> list[str]:
    """The hashed-feature names of one sentence for the intent finder."""
    words = [_shape(w) for w in lemmas if w.strip()]
    out = [f"w={w}" for w in words]
    out.extend(f"w2={a}_{b}" for a, b in zip(words, words[1:], strict=False))
    return out


class _Buckets(dict[str, int]):
    """Bucket of a sentence word's feature by lemma, computed on first sight (-1: a space)."""

    def __missing__(self, lemma: str) -> int:
        value = self[lemma] = _bucket(f"w={_shape(lemma)}") if lemma.strip() else -1
        return value


class _PairBuckets(dict[tuple[str, str], int]):
    """Bucket of a sentence word pair's feature by lemma pair, computed on first sight."""

    def __missing__(self, pair: tuple[str, str]) -> int:
        value = self[pair] = _bucket(f"w2={_shape(pair[0])}_{_shape(pair[1])}")
        return value


class _Names(dict[str, int]):
    """Bucket of a feature name, computed on first sight."""

    def __missing__(self, name: str) -> int:
        value = self[name] = _bucket(name)
        return value


class _Hasher:
    """Feature names to bucket ids, remembered (a feature recurs in almost every ticket)."""

    def __init__(self) -> None:
        self._known = _Names()
        self._words = _Buckets()
        self._pairs = _PairBuckets()

    def __call__(self, names: Sequence[str]) -> list[int]:
        known = self._known
        if len(known) > _FEATURE_CACHE:
            known.clear()
        return [known[name] for name in names]

    def sentence(self, lemmas: Sequence[str]) -> list[int]:
        """The buckets of ``sentence_features(lemmas)``, looked up by lemma and lemma pair."""
        words, pairs = self._words, self._pairs
        if len(words) + len(pairs) > _FEATURE_CACHE:
            words.clear()
            pairs.clear()
        kept = [w for w in lemmas if words[w] >= 0]
        out = [words[w] for w in kept]
        out += [pairs[pair] for pair in zip(kept, kept[1:], strict=False)]
        return out


class _Meaning:
    """The dense side of the hit reader: a sentence as model2vec reads it (its tokens' mean,
    scaled to length one).

    The weights are projected onto every token once, so a sentence costs one gather for its
    length and one of a few rows of twelve numbers, instead of a 256-wide product.
    """

    def __init__(self, embedder: StaticEmbedder, weights: numpy.ndarray) -> None:
        self._embedder = embedder
        self._rows = embedder.vectors @ weights

    def logits(self, sentence: str) -> numpy.ndarray | float:
        """What the sentence adds to each kind's logit."""
        ids = self._embedder.token_ids(sentence)
        if not ids:
            return 0.0
        # take + add.reduce: half the time of fancy indexing and .sum on a short list.
        total = numpy.add.reduce(self._embedder.vectors.take(ids, axis=0))
        norm = math.sqrt(float(numpy.dot(total, total)))
        if norm == 0.0:
            return 0.0
        out: numpy.ndarray = numpy.add.reduce(self._rows.take(ids, axis=0)) / norm
        return out


def _bucket(name: str) -> int:
    return zlib.crc32(name.encode("utf-8")) & _MASK


def _softmax(logits: numpy.ndarray) -> numpy.ndarray:
    logits = logits - logits.max()
    exp = numpy.exp(logits)
    out: numpy.ndarray = exp / exp.sum()
    return out


def padded(encoded: Sequence[Any]) -> dict[str, numpy.ndarray]:
    """Tokenized pairs as the model's three inputs, zero-padded to the longest."""
    width = max(len(e.ids) for e in encoded)
    ids = numpy.zeros((len(encoded), width), dtype="int64")
    mask = numpy.zeros_like(ids)
    types = numpy.zeros_like(ids)
    for n, e in enumerate(encoded):
        ids[n, : len(e.ids)] = e.ids
        mask[n, : len(e.ids)] = e.attention_mask
        types[n, : len(e.ids)] = e.type_ids
    return {"input_ids": ids, "attention_mask": mask, "token_type_ids": types}


class DeepReader:
    """The fine-tuned MiniLM pair classifier over match kinds: an int8 ONNX file read by
    onnxruntime (no torch), with its tokenizer and live threshold from ``meta.json``."""

    def __init__(self, folder: Path = DEEP_DIR) -> None:
        # Imported here: a process whose reader never needs the transformer loads neither.
        import onnxruntime
        from tokenizers import Tokenizer

        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
            self.kinds = tuple(str(k) for k in meta["kinds"])
            self.live_at = float(meta["live_at"])
            self._tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
            options = onnxruntime.SessionOptions()
            # One ticket's few pairs are small: one thread each, as the rest of triage runs.
            options.intra_op_num_threads = 1
            options.inter_op_num_threads = 1
            self._session = onnxruntime.InferenceSession(
                str(folder / "model.onnx"), options, providers=["CPUExecutionProvider"]
            )
        # tokenizers and onnxruntime raise their own exception types for a bad file.
        except Exception as err:
            raise ConfigurationError(f"cannot load the reader model at {folder}: {err}") from err
        self._tokenizer.no_padding()
        self._tokenizer.enable_truncation(
            max_length=int(meta.get("max_tokens", DEEP_MAX_TOKENS)), strategy="only_second"
        )
        self._live = self.kinds.index("live")

    def probabilities(self, pairs: Sequence[tuple[str, str]]) -> numpy.ndarray:
        """Each pair's probability of every kind, in one run (rows in ``pairs`` order)."""
        if not pairs:
            return numpy.zeros((0, len(self.kinds)), dtype="float32")
        feed = padded(self._tokenizer.encode_batch(list(pairs)))
        (logits,) = self._session.run(["logits"], feed)
        logits = logits - logits.max(axis=1, keepdims=True)
        exp = numpy.exp(logits)
        out: numpy.ndarray = exp / exp.sum(axis=1, keepdims=True)
        return out

    def verdicts(self, pairs: Sequence[tuple[str, str]]) -> list[Verdict]:
        """The kind of each pair's match: live at the threshold, else its likeliest other kind."""
        out = []
        for row in self.probabilities(pairs).tolist():
            live = row[self._live]
            if live >= self.live_at:
                out.append(Verdict(kind="live", live=live))
                continue
            row[self._live] = -1.0
            out.append(Verdict(kind=self.kinds[row.index(max(row))], live=live))
        return out


def blend(hashed: Verdict, deep: Verdict, live_at: float) -> Verdict:
    """The two readers together: live when their mean live probability reaches ``live_at``;
    otherwise the kind the hashed reader named, or the transformer's if the hashed one said
    live. Either alone missed kinds the other caught on the development tickets."""
    live = (hashed.live + deep.live) / 2
    if live >= live_at:
        return Verdict(kind="live", live=live)
    return Verdict(kind=deep.kind if hashed.counts else hashed.kind, live=live)


@lru_cache(maxsize=1)
def default_deep_reader() -> DeepReader | None:
    """The shipped transformer reader, loaded once per process; None when its files are absent
    (the hashed reader then decides alone)."""
    if not (DEEP_DIR / "model.onnx").exists():
        return None
    return DeepReader(DEEP_DIR)


class HitReader:
    """The shipped hit reader and intent finder, loaded once from ``reader.npz``."""

    def __init__(
        self,
        path: Path = READER_FILE,
        *,
        deep: DeepReader | None | bool = False,
        unsure: tuple[float, float] = DEEP_BAND,
    ) -> None:
        # True: the shipped transformer, loaded on its first match; None/False: this reader
        # alone. ``unsure``: the live probabilities of this reader the transformer re-reads.
        self._deep: DeepReader | None | bool = deep
        self.unsure = unsure
        try:
            with numpy.load(path, allow_pickle=False) as data:
                self.kinds = tuple(str(k) for k in data["kinds"])
                self.intents = tuple(str(k) for k in data["intents"])
                self._hit_w = numpy.asarray(data["hit_w"], dtype="float32")
                self._hit_b = numpy.asarray(data["hit_b"], dtype="float32")
                self._intent_w = numpy.asarray(data["intent_w"], dtype="float32")
                self._intent_b = numpy.asarray(data["intent_b"], dtype="float32")
                self.triggers = frozenset(str(t) for t in data["triggers"])
                self.phrases = frozenset(str(p) for p in data["phrases"])
                self.live_at = float(data["live_at"][0])
                self.intent_at = float(data["intent_at"][0])
                # The meaning of the match's sentence (its model2vec vector): what carries to
                # wording the examples never used. Older models have none.
                hit_e = numpy.asarray(data["hit_e"], dtype="float32") if "hit_e" in data else None
        except (OSError, ValueError, KeyError) as err:
            raise ConfigurationError(f"cannot load the reader model at {path}: {err}") from err
        self._meaning = (
            _Meaning(default_embedding_model().embedder, hit_e) if hit_e is not None else None
        )
        self._hash = _Hasher()
        self._live = self.kinds.index("live")
        self._none = self.intents.index("none")
        # An intent's log-odds against "none" is at most the sum, over a sentence's features,
        # of each feature's best margin over "none" (plus the best bias margin). A sentence
        # whose sum stays below what the threshold needs cannot state an intent.
        margins = numpy.delete(self._intent_w, self._none, axis=1) - self._intent_w[:, [self._none]]
        bias = numpy.delete(self._intent_b, self._none) - self._intent_b[self._none]
        self._gate: list[float] = margins.max(axis=1).tolist()
        self._gate_at = math.log(self.intent_at / (1.0 - self.intent_at)) - float(bias.max())

    def knows(self, doc: Parsed, start: int, end: int, key: str) -> bool:
        """True when the reader was trained on this trigger and phrase; others stay the rules'."""
        return key in self.triggers and match_key(doc, start, end) in self.phrases

    def read(
        self, doc: Parsed, start: int, end: int, key: str, *, later: Sequence[str] = ()
    ) -> Verdict:
        """The kind of one trigger match; ``later`` is ``later_words`` of later messages."""
        verdict = self._cheap(doc, start, end, key, later)
        lo, hi = self.unsure
        if not lo <= verdict.live <= hi:
            return verdict
        deep = self.deep
        if deep is None:
            return verdict
        (other,) = deep.verdicts([pair_text(doc, start, end, key, later=later)])
        return blend(verdict, other, deep.live_at)

    @property
    def deep(self) -> DeepReader | None:
        """The transformer that re-reads unsure matches, loaded on first use; None without it."""
        if self._deep is True:
            self._deep = default_deep_reader()
        return self._deep or None

    def _cheap(
        self, doc: Parsed, start: int, end: int, key: str, later: Sequence[str]
    ) -> Verdict:
        """The hashed reader's verdict alone."""
        ids = self._hash(hit_features(doc, start, end, key, later=later))
        total = numpy.add.reduce(self._hit_w.take(ids, axis=0)) + self._hit_b
        if self._meaning is not None:
            total += self._meaning.logits(hit_text(doc, start))
        logits = total.tolist()
        # Twelve numbers: plain floats are cheaper than four more numpy calls.
        top = max(logits)
        exp = [math.exp(v - top) for v in logits]
        live = exp[self._live] / sum(exp)
        if live >= self.live_at:
            return Verdict(kind="live", live=live)
        exp[self._live] = -1.0
        return Verdict(kind=self.kinds[exp.index(max(exp))], live=live)

    def find_intents(self, doc: Parsed) -> list[Intent]:
        """Intents stated without a keyword, one per sentence at most, likeliest first.

        A sentence that states none as a whole is read clause by clause: "Quick one: we have a
        demo with another vendor next Tuesday" or "... a demo with another vendor next
        Thursday who says they can, and our renewal is in February" says it in one clause,
        and the words around it would outweigh it.
        """
        out = []
        lower = doc.lower
        for lo, hi in doc.sents:
            if hi - lo < _MIN_SENTENCE:
                continue
            found = self._intent_in(doc, lo, hi)
            if found is None and not _CLAUSE_WORDS.isdisjoint(lower[lo:hi]):
                for start, end in clauses(lower, lo, hi):
                    found = self._intent_in(doc, start, end)
                    if found is not None:
                        break
            if found is not None:
                out.append(found)
        out.sort(key=lambda i: -i.probability)
        return out

    def _intent_in(self, doc: Parsed, lo: int, hi: int) -> Intent | None:
        """The intent the words ``lo:hi`` state, if one reaches the threshold."""
        ids = self._hash.sentence(doc.lemmas[lo:hi])
        # Most sentences cannot reach the threshold even at the bound: no numpy for them.
        if sum(map(self._gate.__getitem__, ids)) < self._gate_at:
            return None
        probs = _softmax(numpy.add.reduce(self._intent_w.take(ids, axis=0)) + self._intent_b)
        best = int(probs.argmax())
        if best == self._none or probs[best] < self.intent_at:
            return None
        return Intent(intent=self.intents[best], probability=float(probs[best]),
                      sentence=doc.span_text(lo, hi).strip())


# Where a sentence's clauses meet: a colon or dash, a relative pronoun, and a conjunction
# after a comma.
_CLAUSE_MARKS = frozenset({":", ";", "—", "–"})
_RELATIVES = frozenset({"who", "which", "whereas", "while"})
_AFTER_COMMA = frozenset({"and", "so", "but", "because"})
# A sentence without any of these has one clause.
_CLAUSE_WORDS = _CLAUSE_MARKS | _RELATIVES | _AFTER_COMMA


def clauses(lower: Sequence[str], lo: int, hi: int) -> list[tuple[int, int]]:
    """The clauses of the sentence ``lo:hi`` (token spans), when it has more than one."""
    cuts = [lo]
    for i in range(lo + 1, hi):
        word = lower[i]
        if word in _CLAUSE_MARKS:
            cuts += [i, i + 1]
        elif word in _RELATIVES or (word in _AFTER_COMMA and lower[i - 1] == ","):
            cuts.append(i)
    if len(cuts) == 1:
        return []
    cuts.append(hi)
    return [(a, b) for a, b in zip(cuts, cuts[1:], strict=False) if b - a >= _MIN_SENTENCE]


# The transformer's second look gained 2.5 points of tier accuracy on tickets nothing was tuned
# on, for a few milliseconds on the few matches the hashed reader is unsure of; a deployment
# that wants the hashed reader alone sets ESCALADE_DEEP_READER=off.
DEEP_SETTING = "ESCALADE_DEEP_READER"


def deep_reading_wanted() -> bool:
    """False only when the deployment turned the transformer's second look off."""
    return os.environ.get(DEEP_SETTING, "").strip().lower() not in {"0", "off", "false", "no"}


@lru_cache(maxsize=2)
def _shipped_hit_reader(deep: bool) -> HitReader:
    return HitReader(READER_FILE, deep=deep)


def default_hit_reader() -> HitReader:
    """The reader shipped in the package, loaded once per process (and per setting)."""
    return _shipped_hit_reader(deep_reading_wanted())
