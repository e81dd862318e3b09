"""Category: the customer's main intent, from weighted lemma and phrase cues.

A first version before a trained classifier: every cue in ``cues.CATEGORY_CUES`` that survives
the same negation and sense checks as the triggers adds its weight; the subject and the first
customer message weigh more than follow-ups; the page the customer wrote from and the triggers
that fired are weak priors.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from integration.detect.cues import CATEGORY_CUES, PAIR_CUES, TRIGGER_CATEGORY
from integration.detect.senses import (
    clause_bounds,
    has_problem,
    is_negated,
    is_question,
    suppression,
)
from integration.detect.text import Parsed, TextReader
from integration.detect.triggers import LemmaMatcher, compile_phrases, read_options, resolved
from integration.models import Category, TriggerHit

__all__ = ["CategoryResult", "CategoryScorer", "PAGE_CATEGORY"]

PAGE_CATEGORY: Mapping[str, Category] = {
    "billing": Category.BILLING,
    "account_access": Category.ACCOUNT_ACCESS,
    "onboarding": Category.ONBOARDING,
    "security": Category.SECURITY,
}
_PAGE_PRIOR = 1.0
_TRIGGER_PRIOR = 1.5
_QUESTION_PRIOR = 0.6
_ERROR_PRIOR = 2.0
# In a question that reports no problem ("Is there a way to require 2FA?", "How do I
# duplicate a dashboard?") these cues name the topic, not the customer's trouble.
_TOPIC_IN_QUESTION = frozenset(
    {Category.BUG, Category.ACCOUNT_ACCESS, Category.SECURITY, Category.ONBOARDING, Category.OUTAGE}
)
_TOPIC_DAMPING = 0.35
# A clear onboarding context makes a failure or a how-to an onboarding matter.
_ONBOARDING_STRONG = 4.0
_ONBOARDING_ABSORBS = frozenset({Category.BUG, Category.ACCOUNT_ACCESS, Category.HOW_TO})
# Intent-bearing categories win ties over generic ones: "refund" beats "billing".
_TIE_ORDER = (
    Category.LEGAL,
    Category.SECURITY,
    Category.OUTAGE,
    Category.REFUND,
    Category.CANCELLATION,
    Category.ACCOUNT_ACCESS,
    Category.BILLING,
    Category.BUG,
    Category.ONBOARDING,
    Category.FEATURE_REQUEST,
    Category.HOW_TO,
    Category.OTHER,
)


_PAIRS_BY_VERB: dict[str, list[tuple[frozenset[str], Category, float]]] = {}
for _verbs, _objects, _category, _weight in PAIR_CUES:
    for _verb in _verbs:
        _PAIRS_BY_VERB.setdefault(_verb, []).append((_objects, _category, _weight))
_PAIR_VERBS = frozenset(_PAIRS_BY_VERB)


@dataclass(frozen=True, kw_only=True, slots=True)
class CategoryResult:
    """The chosen category, its confidence in [0, 1], and the cue text behind it."""

    category: Category
    confidence: float
    cues: tuple[str, ...]
    scores: Mapping[Category, float]


class CategoryScorer:
    """Scores parsed text against the category cue lists."""

    def __init__(self, reader: TextReader) -> None:
        self._matcher = LemmaMatcher()
        self._weights: dict[str, tuple[Category, float]] = {}
        known = read_options(reader, (cue for cues in CATEGORY_CUES.values() for cue in cues))
        for category, cues in CATEGORY_CUES.items():
            for cue, weight in cues.items():
                key = f"{category.value}:{cue}"
                self._weights[key] = (category, weight)
                compile_phrases(reader, self._matcher, key, (cue,), known=known)

    def cue_scores(self, doc: Parsed, weight: float) -> list[tuple[Category, float, str]]:
        """Every counted cue in ``doc`` as (category, weighted score, matched text)."""
        out: list[tuple[Category, float, str]] = []
        seen: set[str] = set()
        for start, end, key in resolved(doc, self._matcher):
            category, cue_weight = self._weights[key]
            if suppression(doc, start, end, incident=category is Category.OUTAGE):
                continue
            # A cue repeated in one text counts once: ten "error"s are one bug cue.
            if key in seen:
                continue
            seen.add(key)
            value = cue_weight * weight
            if (
                category in _TOPIC_IN_QUESTION
                and is_question(doc, start)
                and not has_problem(doc, start)
            ):
                value *= _TOPIC_DAMPING
            out.append((category, value, doc.span_text(start, end)))
        out.extend(self._pairs(doc, weight))
        return out

    @staticmethod
    def _pairs(doc: Parsed, weight: float) -> list[tuple[Category, float, str]]:
        out: list[tuple[Category, float, str]] = []
        if _PAIR_VERBS.isdisjoint(doc.lemma_set):
            return out
        lemmas = doc.lemmas
        for i, lemma in enumerate(lemmas):
            for objects, category, cue_weight in _PAIRS_BY_VERB.get(lemma, ()):
                _, hi = clause_bounds(doc, i, i + 1)
                for j in range(i + 1, min(hi, i + 5)):
                    if lemmas[j] in objects:
                        if not is_negated(doc, i, i + 1):
                            out.append((category, cue_weight * weight, doc.span_text(i, j + 1)))
                        break
        return out

    def score(
        self,
        docs: Sequence[tuple[Parsed, float]],
        *,
        page_hint: str | None = None,
        triggers: Iterable[TriggerHit] = (),
        error_keys: Sequence[str] = (),
    ) -> CategoryResult:
        """Pick a category from weighted docs plus page and trigger priors."""
        totals: dict[Category, float] = {}
        best_cue: dict[Category, tuple[float, str]] = {}
        onboarding = page_hint == "onboarding"
        for doc, weight in docs:
            for category, value, text in self.cue_scores(doc, weight):
                totals[category] = totals.get(category, 0.0) + value
                onboarding = onboarding or (
                    category is Category.ONBOARDING and value >= _ONBOARDING_STRONG
                )
                if value > best_cue.get(category, (0.0, ""))[0]:
                    best_cue[category] = (value, text)
            if "?" in doc.text:
                totals[Category.HOW_TO] = totals.get(Category.HOW_TO, 0.0) + _QUESTION_PRIOR
        if page_hint is not None and page_hint in PAGE_CATEGORY:
            prior = PAGE_CATEGORY[page_hint]
            totals[prior] = totals.get(prior, 0.0) + _PAGE_PRIOR
        for trigger in dict.fromkeys(h.trigger for h in triggers):
            if trigger in TRIGGER_CATEGORY:
                cat = TRIGGER_CATEGORY[trigger]
                totals[cat] = totals.get(cat, 0.0) + _TRIGGER_PRIOR
        if error_keys:
            # An exception name or error code is what a bug report looks like.
            totals[Category.BUG] = totals.get(Category.BUG, 0.0) + _ERROR_PRIOR
        ranked = sorted(totals.items(), key=lambda kv: (-kv[1], _TIE_ORDER.index(kv[0])))
        if not ranked or ranked[0][1] < 1.0:
            return CategoryResult(category=Category.OTHER, confidence=0.3, cues=(), scores=totals)
        top_cat, top = ranked[0]
        if onboarding and top_cat in _ONBOARDING_ABSORBS and Category.ONBOARDING in totals:
            top_cat, top = Category.ONBOARDING, max(top, totals[Category.ONBOARDING])
            ranked = [(top_cat, top), *(kv for kv in ranked if kv[0] is not top_cat)]
        second = ranked[1][1] if len(ranked) > 1 else 0.0
        confidence = (top / (top + second + 1.5)) * (1.0 - 0.5 ** (top / 2.0))
        cues = tuple(text for cat, (_, text) in best_cue.items() if cat is top_cat)
        return CategoryResult(
            category=top_cat,
            confidence=round(min(0.99, confidence + 0.15), 3),
            cues=cues,
            scores=totals,
        )
