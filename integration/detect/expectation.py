"""Did something fall short of what the customer expected? The calm complaint.

Complaint corpora count "my internet has been dropping every evening" and "order 5512 still
not here" as complaints although no word in them is negative: a complaint states a breach of
the writer's expectation (Preotiuc-Pietro et al., 2019). A lexicon scores such reports as
neutral, so a message that reports a breach is scored at most slightly negative — enough for
``sentiment < 0``, far from the thresholds that move a tier. A breach the customer reports as
fixed ("works now, thanks") is not one.
"""

from __future__ import annotations

from integration.detect.text import Parsed

__all__ = ["BREACH_SCORE", "breach_in", "breach_sentence"]

# Slightly negative: a complaint, never "frustrated" (the matrix's tone rules start at -0.5).
BREACH_SCORE = -0.15


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Lemmas that report something broken, late, missing or wrong on their own.
_BROKEN = _words(
    """fail failure error broken break crash stuck wrong missing lose lost late delay delayed
    overcharge outage downtime bug glitch freeze frozen lag disconnect disconnected damaged
    defective faulty incorrect unauthorized unauthorised scam spam unusable unreachable
    unresponsive outdated malfunction overdue drop"""
)
# After a negation: "not working", "hasn't arrived", "never received", "no response".
_EXPECTED = _words(
    """work working arrive arrived receive received load loading respond responded reply
    replied answer answered open connect show deliver delivered fix fixed resolve resolved
    refund refunded help helped process processed update updated ship shipped come back
    sync synced send sent charge credit credited get"""
)
_NEGATORS = _words("not never no nobody nothing")
# "no signal", "no internet": a service that should be there is not.
_ABSENT = _words(
    "signal internet service power water connection network response reply answer update "
    "dial tone coverage heating wifi"
)
# "can't log in", "unable to pay": the customer is blocked from an everyday action.
_BLOCKED = _words("log login sign access connect pay use open load make get check book")
_INABILITY = _words("can could unable")


def _blocked(lemma: str, after: list[str]) -> bool:
    if lemma == "unable":
        return any(w in _BLOCKED for w in after)
    return bool(after) and after[0] == "not" and any(w in _BLOCKED for w in after[1:])
# Waiting is a breach when it is long or repeated: "still waiting", "waiting for 3 weeks".
_STILL = _words("still again yet anymore")
_RESOLVED = (
    ("work", "now"), ("working", "now"), ("be", "fix"), ("be", "fixed"), ("be", "resolve"),
    ("be", "resolved"), ("all", "good"), ("sort", "out"),
)
_RESOLVED_SET = frozenset(_RESOLVED)


def _resolved(lemmas: list[str]) -> bool:
    return not _RESOLVED_SET.isdisjoint(zip(lemmas, lemmas[1:], strict=False))


def _breach_in(lemmas: list[str]) -> bool:
    # "How do I fix the import error?" asks for a procedure: the error is its topic.
    if lemmas[:1] == ["how"]:
        return False
    for i, lemma in enumerate(lemmas):
        after = lemmas[i + 1 : i + 4]
        if lemma in _BROKEN and not (lemma == "drop" and after[:1] in (["down"], ["-"])):
            return True
        if lemma in _NEGATORS and after and (
            any(w in _EXPECTED for w in after[:2]) or after[0] in _ABSENT
        ):
            return True
        if lemma in _INABILITY and _blocked(lemma, after):
            return True
        if lemma in _STILL and any(w in ("wait", "waiting", "not", "no") for w in after[:2]):
            return True
    return False


def breach_in(doc: Parsed, start: int, end: int) -> bool:
    """True when the sentence ``start:end`` of ``doc`` reports a breach of expectation."""
    lemmas = [lemma for lemma, w in zip(doc.lemmas[start:end], doc.words[start:end],
                                        strict=True) if w.strip()]
    return bool(lemmas) and _breach_in(lemmas)


def breach_sentence(doc: Parsed) -> str | None:
    """The first sentence that reports a breach of expectation, or None (also when fixed)."""
    found: str | None = None
    for start, end in doc.sents:
        lemmas = [lemma for lemma, w in zip(doc.lemmas[start:end], doc.words[start:end],
                                            strict=True) if w.strip()]
        if _resolved(lemmas):
            return None
        if found is None and _breach_in(lemmas):
            found = doc.sentence_text(start)
    return found
