"""What the customer asks for: information only ("Do you accept SEPA?") or something done.

A question that only seeks information is Tier-1 work even when its topic is billing, refunds
or security ("Is there a non-profit discount?", "What is your refund policy?", "Is our data
encrypted at rest?"). The same topics become agent work once the customer asks for an action
("please update", "can you send", "I want my money back"), reports a problem, or is upset.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from integration.detect.expectation import breach_in
from integration.detect.senses import is_hypothetical, is_question, relays_end_user
from integration.detect.text import Parsed

__all__ = ["Ask", "read_ask"]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_SELF = _words("i we us")
_YOU = _words("you")
# "can you send", "could you confirm": a request phrased as a question.
_REQUEST_MODALS = _words("can could would will")
# "I need", "we would like", "we demand": the customer wants something done or given.
_WANT = _words("need want like require demand expect request insist")
# In a question about getting something ("Can I get a refund?", "is it possible to receive
# credit?") the customer asks to be given it.
_GET = _words("get receive obtain have")
# Imperatives opening a sentence: the customer tells us to act.
_ACTIONS = _words(
    """send update change cancel refund fix remove delete add give return stop reset unlock
    enable disable upgrade downgrade close credit waive issue process correct adjust extend
    transfer move merge restore reactivate call escalate sign provide share switch terminate
    revert undo investigate check look"""
)
# Beyond senses' failure words: signs that something already went wrong, which no information
# question carries ("who accessed it?", "why is it visible to others?", "since Monday").
_TROUBLE = _words(
    """expose exposed leak leaked visible access accessed unauthorized unauthorised someone
    another stranger concern concerned concerning worry worried unexpected unexpectedly
    suddenly stop stopped down outage empty duplicate twice incorrect strange weird odd
    disappear disappeared delete deleted charge charged overcharge urgent urgently asap
    immediately"""
)
# "Can it be reissued?", "could they be merged?": a request in the passive.
_PASSIVE_SUBJECTS = _words("it this that they these those")
# Done to the account by the vendor, not in the product by the customer: "can we split the
# subscription into two invoices?" asks us to act; "can we export ...?" asks how.
_VENDOR_ACTIONS = _words("split merge combine transfer reissue resend refund credit waive extend")
# Courtesy around a question, not a request of its own.
_COURTESY = (("please", "let"), ("please", "advise"), ("please", "confirm"), ("kindly", "advise"))


# A done outcome: what went wrong has been put right ("was refunded", "is back", "withdrawn").
_SETTLED = _words(
    """refund refunded approve approved withdraw withdrawn settle settled resolve resolved fix
    fixed restore restored credit credited reverse reversed"""
)
_SETTLED_PAIRS = frozenset(
    (("be", "back"), ("come", "through"), ("all", "good"), ("all", "square")))
_STILL = _words("still not n't never nothing no yet again but however")


def _settled(doc: Parsed, start: int, end: int) -> bool:
    """A statement that something was put right, with nothing still wrong in it."""
    lemmas = doc.lemmas[start:end]
    if not _STILL.isdisjoint(lemmas):
        return False
    words = doc.lower[start:end]
    # Most sentences have no such word: one set test before the word-by-word look.
    done = not _SETTLED.isdisjoint(lemmas) and any(
        lemma in _SETTLED and (word.endswith(("ed", "wn")) or lemma != word)
        for lemma, word in zip(lemmas, words, strict=True)
    )
    return done or not _SETTLED_PAIRS.isdisjoint(zip(lemmas, lemmas[1:], strict=False))


@dataclass(frozen=True, kw_only=True, slots=True)
class Ask:
    """Whether the customer only asks for information, with the sentence that decided it."""

    inquiry: bool
    sentence: str = ""


def _asks_us_to_act(after: list[str]) -> bool:
    """After "can" / "could" / "would" / "will": "you send", "it be reissued", "we split"."""
    if not after:
        return False
    if after[0] in _YOU:
        return True
    if after[0] in _PASSIVE_SUBJECTS:
        return after[1:2] == ["be"] and len(after) == 3 and (
            after[2] in _ACTIONS or after[2] in _VENDOR_ACTIONS)
    return after[0] == "we" and len(after) > 1 and after[1] in _VENDOR_ACTIONS


# "We'd like to know", "I need to understand": wanting an answer, not an action.
_LEARN = _words("know understand learn ask")
# "Our accountant asked what happens to our data", "I was wondering whether", "we'd like to
# know if": a question told as a statement, with no question mark.
_ASKING = _words("ask wonder")
_WH = _words("what whether if how when which who why where")


def _to_learn(lemmas: list[str], i: int) -> bool:
    """After the customer at ``i``: a want followed by "to know / understand / learn / ask"."""
    for j in range(i + 1, min(i + 4, len(lemmas) - 2)):
        if lemmas[j] in _WANT:
            return lemmas[j + 1] == "to" and lemmas[j + 2] in _LEARN
    return False


def _indirect_question(doc: Parsed, start: int, end: int) -> bool:
    """A question in a statement: "asked what happens", "wondering whether", "to know if"."""
    lemmas = doc.lemmas[start:end]
    for i, lemma in enumerate(lemmas[:-1]):
        if (lemma in _ASKING or (lemma == "know" and i > 0 and lemmas[i - 1] == "to")) and (
            not _WH.isdisjoint(lemmas[i + 1 : i + 3])
        ):
            return True
    return False


def _request(doc: Parsed, start: int, end: int, question: bool) -> bool:
    words = [
        (w, lemma)
        for w, lemma in zip(doc.lower[start:end], doc.lemmas[start:end], strict=True)
        if w.strip() and w[0].isalpha()
    ]
    lemmas = [lemma for _, lemma in words]
    if not lemmas:
        return False
    if lemmas[0] in _ACTIONS or (
        lemmas[0] in ("please", "kindly")
        and len(lemmas) > 1
        and (lemmas[0], lemmas[1]) not in _COURTESY
    ):
        return True
    for i, lemma in enumerate(lemmas):
        after = lemmas[i + 1 : i + 4]
        if lemma in _REQUEST_MODALS and _asks_us_to_act(after):
            return True
        if lemma in _SELF and any(w in _WANT for w in after) and not _to_learn(lemmas, i):
            return True
        if question and lemma in _SELF and any(w in _GET for w in after[:2]):
            return True
        if lemma == "please" and i > 0 and tuple(lemmas[i : i + 2]) not in _COURTESY:
            return True
    return False


# Capitals on everyday words are shouting ("why is OUR data visible?"); on SEPA or SOC they
# are an acronym.
_SHOUTABLE = _words(
    """our my we you your us me now not never still again why this what all every any asap
    today immediately urgent please help"""
)


def _shouts(doc: Parsed, start: int, end: int) -> bool:
    return any(w.isupper() and w.lower() in _SHOUTABLE for w in doc.words[start:end] if len(w) > 1)


def read_ask(docs: Sequence[Parsed], *, upset: bool) -> Ask:
    """Is every customer sentence an information question or neutral context?

    One request, one problem or an upset customer makes it not an inquiry; so does a ticket
    with no question at all.
    """
    if upset:
        return Ask(inquiry=False)
    asked = ""
    for doc in docs:
        for start, end in doc.sents:
            if start >= end:
                continue
            question = is_question(doc, start) or _indirect_question(doc, start, end)
            if question and is_hypothetical(doc, start):
                # "If your region went down, would we fail over?" asks about a supposed case.
                asked = asked or doc.sentence_text(start)
                continue
            if not question and (_settled(doc, start, end) or relays_end_user(doc, start, end)):
                # "the double charge was refunded on Monday", "a patient asked us for her data":
                # context for what is asked next.
                continue
            # A problem is a breach of expectation ("it fails", "hasn't arrived"), not any
            # "not": "we're not changing anything yet" is context for a question.
            if (
                breach_in(doc, start, end)
                or not _TROUBLE.isdisjoint(doc.lemmas[start:end])
                or _shouts(doc, start, end)
                or _request(doc, start, end, question)
            ):
                return Ask(inquiry=False, sentence=doc.sentence_text(start))
            if question and not asked:
                asked = doc.sentence_text(start)
    return Ask(inquiry=bool(asked), sentence=asked)
