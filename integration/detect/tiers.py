"""A learned second opinion on the tier, from the whole ticket and the rules' choice together.

The escalation rules decide from one signal at a time (a trigger, a category, a tone), so a
ticket whose tier depends on how those add up is where they go wrong: a merge of two
accounts reads as a routine "other" question, a calm refund question as a refund demand.
This model is a multinomial logistic regression over what detection already computed (the
category, the live triggers, the tone, the account's plan and health, the embedding of the
text the category model read) plus the tier the rules chose. It is trained on the labeled
development tickets by ``integration.detect.training.tiers``; the matrix decides whether and
how it may change a tier (``detection: learned_tier``).

A linear model splits into what the ticket contributes and what the rules' tier adds, so
detection, which runs before the matrix, can give the matrix the probabilities for each tier
the rules might choose (``TierReading``) without knowing which one they will.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

import numpy
from spacy.lang.en.stop_words import STOP_WORDS

from integration.detect.context import stated_contacts
from integration.detect.embedding import softmax
from integration.errors import ConfigurationError
from integration.models import Category, Signals, Ticket, TierReading

__all__ = ["CONTACTS", "PLANS", "TIERS_FILE", "TONE", "TierModel", "features", "head_size",
           "reads_as_english"]

TIERS_FILE = Path(__file__).resolve().parent / "model" / "tiers.npz"
# Plans the account context reads (anything else counts as "no plan").
PLANS = ("free", "starter", "pro", "business", "enterprise")
# The tone flags the model reads, in the order of ``_tone``.
TONE = ("frustrated", "inquiry", "sentiment_spike")
# What the ticket itself says of earlier contacts, in the order of ``_contacts``: three or more
# customer messages over a day or more, or the customer saying this is the third contact. The
# policy steps such a ticket up; without these the model took the step back.
CONTACTS = ("messages_over_days", "stated_third_contact")


# English prose is a third to a half "the", "and", "we", "is"...; a ticket in German or
# Portuguese has almost none. Its meaning is then read from English sub-words and the model,
# trained on English tickets, is not asked.
_ENGLISH_SHARE = 0.12
_A_DAY = timedelta(days=1)
_ENOUGH_WORDS = 8


def reads_as_english(words: Sequence[Sequence[str]]) -> bool:
    """Whether lower-cased texts read as English: common English words among their words."""
    plain = [w for text in words for w in text if w.isalpha()]
    if len(plain) < _ENOUGH_WORDS:
        return True
    return sum(w in STOP_WORDS for w in plain) >= _ENGLISH_SHARE * len(plain)


def features(
    ticket: Ticket,
    signals: Signals,
    vector: numpy.ndarray | None,
    *,
    triggers: Sequence[str],
    dim: int,
) -> numpy.ndarray:
    """The ticket's features, in the order the model was trained on (the rules' tier apart)."""
    live = set(signals.trigger_ids)
    mentioned = set(signals.mentioned)
    account = ticket.account
    plan = account.plan if account is not None else None
    health = account.health if account is not None and account.health is not None else 1.0
    head = [float(signals.category is c) for c in Category]
    head += [float(t in live) for t in triggers]
    head += [float(t in mentioned) for t in triggers]
    head += [signals.sentiment, float(plan not in PLANS)]
    head += [float(plan == p) for p in PLANS]
    head.append(float(health))
    head += [float(flag) for flag in _tone(signals)]
    head += [float(flag) for flag in _contacts(ticket)]
    if vector is None:
        meaning = numpy.zeros(dim)
    else:
        # Trained on the float16 copy a reading keeps: the same rounding here.
        meaning = numpy.asarray(vector, dtype="float16").astype("float64")
    return numpy.concatenate([numpy.asarray(head), meaning])


def _tone(signals: Signals) -> tuple[bool, bool, bool]:
    """Frustrated, only asking, and a sudden turn for the worse mid-conversation."""
    return signals.frustrated, signals.inquiry, signals.sentiment_spike


def _contacts(ticket: Ticket) -> tuple[bool, bool]:
    """Three customer messages a day apart or more; the customer says it is contact three."""
    written = [m for m in ticket.customer_messages if m.body.strip()]
    over_days = len(written) >= 3 and (
        written[-1].created_at - written[0].created_at >= _A_DAY)
    said, _ = stated_contacts([ticket.subject, *(m.body for m in written)])
    return over_days, said >= 3


def head_size(triggers: Sequence[str]) -> int:
    """How many features come before the embedding, for a trigger vocabulary."""
    return (len(Category) + 2 * len(triggers) + 2 + len(PLANS) + 1 + len(TONE)
            + len(CONTACTS))


def _probabilities(logits: list[float]) -> tuple[float, float, float]:
    one, two, three = softmax(logits)
    return (one, two, three)


class TierModel:
    """The trained weights: ticket features → per-tier logits, plus rows for the rules' tier
    (one per tier, and one per category and tier: a how-to the rules put at tier 3 is not a
    bug they put there)."""

    def __init__(self, path: Path = TIERS_FILE) -> None:
        try:
            with numpy.load(path, allow_pickle=False) as data:
                self.weights = numpy.asarray(data["weights"], dtype="float64")
                self.by_rules_tier = numpy.asarray(data["by_rules_tier"], dtype="float64")
                self.by_category_and_rules_tier = numpy.asarray(
                    data["by_category_and_rules_tier"], dtype="float64")
                self.bias = numpy.asarray(data["bias"], dtype="float64")
                self.triggers = tuple(str(t) for t in data["triggers"])
                self.rules = frozenset(str(r) for r in data["rules"])
                self.dim = int(data["dim"])
        except (OSError, KeyError, ValueError) as err:
            raise ConfigurationError(f"cannot load the tier model at {path}: {err}") from err
        expected = head_size(self.triggers) + self.dim
        pairs = (len(Category) * 3, 3)
        if (self.weights.shape != (expected, 3) or self.by_rules_tier.shape != (3, 3)
                or self.by_category_and_rules_tier.shape != pairs):
            raise ConfigurationError(
                f"the tier model at {path} has weights of shape {self.weights.shape}, "
                f"expected ({expected}, 3), and rules' tier rows of shape "
                f"{self.by_category_and_rules_tier.shape}, expected {pairs}"
            )
        # ``features(...) @ weights`` without building the feature vector: a row per
        # category, trigger and plan, added up (the same sums; a test checks both agree).
        head = self.weights.tolist()
        self._category = {c: head[n] for n, c in enumerate(Category)}
        start = len(Category)
        self._trigger = {t: head[start + n] for n, t in enumerate(self.triggers)}
        start += len(self.triggers)
        self._mentioned = {t: head[start + n] for n, t in enumerate(self.triggers)}
        start += len(self.triggers)
        self._sentiment, self._no_plan = head[start], head[start + 1]
        self._plan = {p: head[start + 2 + n] for n, p in enumerate(PLANS)}
        self._health = head[start + 2 + len(PLANS)]
        start += 3 + len(PLANS)
        self._tone = head[start:start + len(TONE)]
        start += len(TONE)
        self._contacts = head[start:start + len(CONTACTS)]
        self._meaning = self.weights[start + len(CONTACTS):]
        self._bias = self.bias.tolist()
        self._rows = self.by_rules_tier.tolist()
        pair_rows = self.by_category_and_rules_tier.tolist()
        self._pairs = {c: pair_rows[3 * n:3 * n + 3] for n, c in enumerate(Category)}

    def logits(self, ticket: Ticket, signals: Signals,
               vector: numpy.ndarray | None) -> list[float]:
        """The ticket's part of the per-tier logits (bias included, the rules' tier apart)."""
        out = list(self._bias)
        rows = [self._category[signals.category]]
        rows += [self._trigger[t] for t in dict.fromkeys(signals.trigger_ids)
                 if t in self._trigger]
        rows += [self._mentioned[t] for t in dict.fromkeys(signals.mentioned)
                 if t in self._mentioned]
        rows += [row for row, flag in zip(self._tone, _tone(signals), strict=True) if flag]
        rows += [row for row, flag in zip(self._contacts, _contacts(ticket), strict=True) if flag]
        account = ticket.account
        plan = account.plan if account is not None else None
        rows.append(self._plan.get(plan or "", self._no_plan))
        for row in rows:
            out = [a + b for a, b in zip(out, row, strict=True)]
        health = account.health if account is not None and account.health is not None else 1.0
        scaled = [(signals.sentiment, self._sentiment), (float(health), self._health)]
        for value, row in scaled:
            out = [a + value * b for a, b in zip(out, row, strict=True)]
        if vector is not None:
            meaning = numpy.asarray(vector, dtype="float16").astype("float64") @ self._meaning
            out = [a + b for a, b in zip(out, meaning.tolist(), strict=True)]
        return out

    def read(self, ticket: Ticket, signals: Signals, vector: numpy.ndarray | None) -> TierReading:
        """The tier probabilities for each tier the rules might choose."""
        base = self.logits(ticket, signals, vector)
        pairs = self._pairs[signals.category]
        return TierReading(given=tuple(
            _probabilities([b + r + q for b, r, q in zip(base, row, pair, strict=True)])
            for row, pair in zip(self._rows, pairs, strict=True)
        ), knows=self.rules)
