"""Meaning, not keywords: is a matched word negated, a resolved past event, or another sense?

Works on the lemmas of a ``Parsed`` text inside one clause, without a parser: a negator counts only
when the words between it and the match are "bridge" words ("do NOT want to cancel", "not going
to sue", "no need for a refund"), so "why haven't you processed my refund" is still a refund
demand. Inability ("can't cancel") is not negation: the customer wants to and cannot.

A match is also only mentioned when it sits in a question about a supposed case ("if your
region went down, would we fail over?"), belongs to another company or to the customer's own
end user ("our ISP (not you)", "one of our players sent us a GDPR request"), is asked before
buying, is quoted as a label, or is laughed off in its own sentence.
"""

from __future__ import annotations

from collections.abc import Callable

from integration.detect.text import Parsed

__all__ = [
    "CANCEL_LEMMAS",
    "INCIDENT_TRIGGERS",
    "clause_bounds",
    "is_negated",
    "is_other_sense",
    "is_question",
    "has_problem",
    "is_hypothetical",
    "is_joke",
    "is_quoted_name",
    "is_prospective",
    "is_someone_elses",
    "relays_end_user",
    "is_resolved",
    "suppression",
]


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


NEGATORS = frozenset({"not", "no", "never", "without", "nothing", "neither", "nor"})
_ABILITY = frozenset({"can", "could", "be able"})
_LOADING = frozenset({"load", "reach", "open", "connect"})
BRIDGE = _words(
    """want wish plan intend go need have to be will would shall like think expect do the a an
    our my your their any anything this that it really actually currently yet at all right now
    just even ever about consider look try for seem still get any longer intention reason way
    desire interest interested need plan any more anymore"""
)
_CLAUSE_BREAK = _words(""", ; : but however although though because whereas while so — –""")
# Objects that make "cancel" a subscription/contract matter (churn) or an everyday action.
CANCEL_LEMMAS = frozenset(
    {"cancel", "cancellation", "terminate", "termination", "discontinue", "end", "unsubscribe"}
)
_CHURN_OBJECTS = _words(
    """subscription account contract plan service membership license licence renewal
    agreement relationship partnership order purchase everything trial workspace tenant
    organization organisation org deal us product platform tool"""
)
_OTHER_OBJECTS = _words(
    """report export job import invitation invite meeting call demo webinar email newsletter
    notification alert sync run task schedule appointment request ticket upload download
    payment transaction campaign reminder event booking session workflow automation query
    build deployment deploy migration backup operation process reservation message broadcast
    draft edit change update batch script cron integration filter action button transfer
    search print order_item shipment delivery item mailing digest sms invoice charge qbr slot
    leg interview shift class lesson visit viewing standup"""
)
# "cancellation fee", "termination notice": still about ending the contract.
_CANCELLATION_TERMS = _words(
    "fee charge penalty cost clause notice policy term date process period"
)
_COMMUNICATION = frozenset({"newsletter", "email", "notification", "mailing", "digest", "sms"})
# A trigger word used as a modifier of these nouns names a feature, not an event:
# "churn rate dashboard", "refund button", "outage notifications".
_MODIFIED_NOUNS = _words(
    """rate metric report dashboard chart analytics field column widget tab button link page
    template webhook endpoint event flow email notification alert setting option feature
    workflow screen modal form"""
)
# ...but these name the incident itself: a "phishing email" is the attack, not a feature.
_INCIDENT_WORDS = _words("phishing malware ransomware breach hack spam fraud vulnerability exploit")
_RESOLUTION = frozenset({"fix", "resolve", "restore", "solve", "mitigate", "remediate", "settle",
                         "withdraw", "dismiss"})
_RESOLUTION_PHRASES = (("back", "up"), ("back", "online"), ("work", "again"), ("work", "now"))
_PAST_MARKERS = frozenset({"yesterday", "ago", "previous", "earlier", "prior", "past"})
_ONGOING = _words(
    """still again currently now since ongoing continue keep persist today happen
    right"""
)
# Lemmas without which a text has no negation, resolution or past marker at all: the rules
# below return early for the many texts that have none.
_NEGATION_CUES = NEGATORS | {"unnecessary"}
_RESOLUTION_CUES = _RESOLUTION | {first for first, _ in _RESOLUTION_PHRASES}
_PAST_CUES = _PAST_MARKERS | {"last"}
# Triggers about service incidents, where a plainly past event ("the outage last week") is no
# longer a signal. Security incidents and data loss stay signals even when they happened
# yesterday; for them only an explicit fix ("was resolved") discards the match.
INCIDENT_TRIGGERS = frozenset({"outage", "production_blocked", "reset_failed", "performance"})


def clause_bounds(doc: Parsed, start: int, end: int) -> tuple[int, int]:
    """Token range of the clause (inside its sentence) that holds ``doc[start:end]``."""
    lemmas = doc.lemmas
    sent_start, sent_end = doc.sentence(start)
    lo = start
    while lo > sent_start and lemmas[lo - 1] not in _CLAUSE_BREAK:
        lo -= 1
    hi = end
    while hi < sent_end and lemmas[hi] not in _CLAUSE_BREAK:
        hi += 1
    return lo, max(hi, min(end, sent_end))


def is_negated(doc: Parsed, start: int, end: int) -> bool:
    """True when a negator governs the match ("do NOT want to cancel", "refund not needed")."""
    if _NEGATION_CUES.isdisjoint(doc.lemma_set):
        return False
    lemmas = doc.lemmas
    lo, hi = clause_bounds(doc, start, end)
    i, steps = start - 1, 0
    while i >= lo and steps < 7:
        lemma = lemmas[i]
        if lemma in NEGATORS:
            return not (lemma == "not" and i > lo and lemmas[i - 1] in _ABILITY)
        if lemma == "can not" or lemma not in BRIDGE:
            break
        i -= 1
        steps += 1
    # After the match: "refund (is) not needed", "cancellation no longer required".
    after = lemmas[end : min(hi, end + 4)]
    if after[:1] == ["be"]:
        after = after[1:]
    if after[:1] in (["not"], ["no"], ["unnecessary"]):
        rest = after[1:3]
        return after[0] == "unnecessary" or any(
            w in ("need", "necessary", "require", "want", "longer") for w in rest
        )
    return False


def is_resolved(doc: Parsed, start: int, end: int, *, incident: bool) -> bool:
    """True for a fixed or, for incidents, plainly past event ("last month's outage was fixed")."""
    present = doc.lemma_set
    if _RESOLUTION_CUES.isdisjoint(present) and (not incident or _PAST_CUES.isdisjoint(present)):
        return False
    lo, hi = clause_bounds(doc, start, end)
    lemmas = doc.lemmas[lo:hi]
    ongoing = not _ONGOING.isdisjoint(lemmas)
    for j, lemma in enumerate(lemmas):
        pos = lo + j
        if start <= pos < end:
            continue
        if lemma in _RESOLUTION and _is_done(doc, pos, lo):
            return True
        pair = (lemma, lemmas[j + 1]) if j + 1 < len(lemmas) else None
        if pair in _RESOLUTION_PHRASES and not is_negated(doc, pos, pos + 2):
            return True
    if not incident or ongoing:
        return False
    for j, lemma in enumerate(lemmas):
        nxt = lemmas[j + 1] if j + 1 < len(lemmas) else ""
        if lemma in _PAST_MARKERS or (lemma == "last" and nxt in _PERIODS):
            return True
    return False


_UNREALIZED = frozenset({"will", "to", "should", "must", "need", "can", "could", "please", "when"})


def _is_done(doc: Parsed, pos: int, lo: int) -> bool:
    """A resolution word states a done fix ("was fixed"), not a wish ("please fix")."""
    if not doc.lower[pos].endswith(("ed", "wn")) or is_negated(doc, pos, pos + 1):
        return False
    return not any(w in _UNREALIZED for w in doc.lemmas[max(lo, pos - 3) : pos])


_PERIODS = frozenset(
    {
        "week",
        "month",
        "year",
        "time",
        "night",
        "weekend",
        "quarter",
        "friday",
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "saturday",
        "sunday",
    }
)


def is_other_sense(doc: Parsed, start: int, end: int) -> bool:
    """True when the match names a feature or cancels an everyday object, not the account."""
    lemmas = doc.lemmas
    # "we can't load our data" is the customer unable to do something, not a page down.
    if (
        lemmas[start] == "not"
        and start > 0
        and lemmas[start - 1] in _ABILITY
        and end - start > 1
        and lemmas[start + 1] in _LOADING
    ):
        return True
    # "I typed my password wrong too many times": a lockout, not credentials given away.
    if "password" in lemmas[start:end] and not _MISTYPED.isdisjoint(lemmas[end : end + 4]):
        return True
    modifier = (
        end - start == 1
        and end < len(lemmas)
        and lemmas[end] in _MODIFIED_NOUNS
        and lemmas[start] not in _INCIDENT_WORDS
    )
    cancel = lemmas[start] in CANCEL_LEMMAS or lemmas[end - 1] in CANCEL_LEMMAS
    if not modifier and not cancel:
        return False
    lo, hi = clause_bounds(doc, start, end)
    if modifier and end < hi:
        return True
    if not cancel:
        return False
    if end < hi and lemmas[end] in _CANCELLATION_TERMS:
        return False
    forward = lemmas[end : min(hi, end + 6)]
    if any(w in _COMMUNICATION for w in forward):
        return True
    for lemma in forward:
        if lemma in _CHURN_OBJECTS:
            return False
        if lemma in _OTHER_OBJECTS:
            return True
    # Passive: "the scheduled report was cancelled", "our subscription got cancelled".
    for lemma in reversed(lemmas[max(lo, start - 5) : start]):
        if lemma in _CHURN_OBJECTS:
            return False
        if lemma in _OTHER_OBJECTS:
            return True
    return False


_MISTYPED = _words("wrong wrongly incorrect incorrectly too several many")
_INTERROGATIVES = _words("how what which where when why who whom whose")
_AUXILIARIES = _words("do be can could would will should may have any")
_PROBLEM = _words(
    """not fail error broken break stuck crash wrong unable issue problem bug missing
    lose lost never"""
)


def _per_sentence(doc: Parsed, i: int, name: str, check: Callable[[Parsed, int], bool]) -> bool:
    """``check(doc, i)``, worked out once for the sentence of token ``i``."""
    key = (name, doc.sent_index[i])
    found = doc.memo.get(key)
    if found is None:
        found = doc.memo[key] = check(doc, i)
    return found


def is_question(doc: Parsed, i: int) -> bool:
    """True when token ``i`` is in a question: it ends with "?" or opens with a question word."""
    return _per_sentence(doc, i, "question", _is_question)


def _is_question(doc: Parsed, i: int) -> bool:
    start, end = doc.sentence(i)
    words = [w for w in doc.words[start:end] if w.strip()]
    if not words:
        return False
    if words[-1].endswith("?") or "?" in words[-2:]:
        return True
    lemmas = [
        lemma
        for lemma, w in zip(doc.lemmas[start:end], doc.words[start:end], strict=True)
        if w.strip() and w.isalpha()
    ]
    return bool(lemmas) and (
        lemmas[0] in _INTERROGATIVES
        or (
            lemmas[0] in _AUXILIARIES
            and len(lemmas) > 2
            and lemmas[1] in _words("you we i it there this that")
        )
    )


def has_problem(doc: Parsed, i: int) -> bool:
    """True when the sentence of token ``i`` reports something wrong (a failure, an error)."""
    start, end = doc.sentence(i)
    return not _PROBLEM.isdisjoint(doc.lemmas[start:end])


def suppression(
    doc: Parsed, start: int, end: int, *, incident: bool, trigger: str | None = None
) -> str | None:
    """Why a match does not count ("negated", "resolved", "is a joke", ...), or None if it does.

    ``trigger``: the matrix trigger the match is for, when there is one; a claim relayed from
    an end user, a quoted label or a joke are told apart only for the triggers they can be.
    """
    if is_negated(doc, start, end):
        return "negated"
    if is_other_sense(doc, start, end):
        return "other sense"
    if is_resolved(doc, start, end, incident=incident):
        return "resolved"
    if is_hypothetical(doc, start):
        return "is hypothetical"
    if is_someone_elses(doc, start, end, trigger=trigger):
        return "is someone else's"
    if is_prospective(doc, start):
        return "is asked before buying"
    if trigger in _NAMEABLE and is_quoted_name(doc, start, end):
        return "is the name of a thing"
    if trigger in _JOKEABLE and is_joke(doc, start):
        return "is a joke"
    return None


# A condition opens its clause ("If your region went down, ...", "..., and if we ever cancel");
# after a verb of finding out it means "whether" ("can you check if we were hacked?").
_CONDITION_LEADS = _words(", : ; - — – ( and but so or even only just hi hello also")
_WHETHER_VERBS = _words(
    """check see know wonder ask confirm tell verify investigate find sure clarify let look
    test determine understand show"""
)
# Words in the condition that make it the customer's real situation, not a supposition:
# "if the outage is still going on", "if you don't fix it", "if it happened yesterday".
_REAL_CONDITION = _ONGOING | _PAST_MARKERS | _words("already last")
# A negation is real with the vendor or a fix in it ("if you don't fix it"); "if it doesn't work
# out for us" still supposes.
_REAL_NEGATION = _words("you your fix resolve solve sort restore")
# "if possible", "if so", "if needed": a courtesy, not a scenario.
_MIN_CONDITION = 3


def is_hypothetical(doc: Parsed, i: int) -> bool:
    """True when token ``i`` is in a question about a supposed case, not the customer's own.

    "If your EU region went down, would our data fail over?", "what happens to our tickets if
    we ever cancel?", "In case the debit bounces, is there a grace period?". A condition that
    states what is happening ("if it is still down tomorrow", "if you don't fix it") is real.
    """
    return _per_sentence(doc, i, "hypothetical", _is_hypothetical)


def _is_hypothetical(doc: Parsed, i: int) -> bool:
    present = doc.lemma_set
    if "if" not in present and "case" not in present and "suppose" not in present:
        return False
    if not is_question(doc, i):
        return False
    lo, hi = doc.sentence(i)
    lemmas = doc.lemmas
    for p in range(lo, hi):
        opener = _condition_opens(doc, p, lo)
        if opener < 0:
            continue
        clause = [w for w in lemmas[opener:hi] if w.strip()]
        # "EU-West" is one name: a hyphen is no clause break, a dash or comma is.
        stop = next((n for n, w in enumerate(clause) if w in _CLAUSE_BREAK or w == "?"),
                    len(clause))
        condition = clause[:stop]
        if len(condition) < _MIN_CONDITION or not _REAL_CONDITION.isdisjoint(condition):
            return False
        negated = not NEGATORS.isdisjoint(condition)
        return not (negated and not _REAL_NEGATION.isdisjoint(condition))
    return False


def _condition_opens(doc: Parsed, p: int, lo: int) -> int:
    """Where the condition's words start when token ``p`` opens one, else -1."""
    lemmas = doc.lemmas
    lemma = lemmas[p]
    before = lemmas[p - 1] if p > lo else ","
    if lemma in ("suppose", "supposing", "assume", "assuming") and before in _CONDITION_LEADS:
        return p + 1
    if lemma == "case" and before == "in":
        return p + 1
    if lemma != "if":
        return -1
    ever = "ever" in lemmas[p + 1 : p + 5]
    if before in _WHETHER_VERBS and not ever:
        return -1
    if before in _CONDITION_LEADS or before == "what" or ever:
        return p + 1
    # "What happens to our bookings if ...": the question is about the supposed case.
    if "happen" in lemmas[lo:p]:
        return p + 1
    return -1


# Said of another company's system, not ours: "our ISP has an outage", "(not you)", "my
# friend's banking was hacked (different bank)".
_NOT_YOU = (("not", "you"), ("not", "yours"), ("not", "your"), ("their", "problem"),
            ("their", "side"), ("their", "end"), ("their", "fault"))
# ...but "we move to another provider" is churn: these name elsewhere only for an incident.
_ELSEWHERE = (("different", "bank"), ("different", "provider"), ("different", "company"),
              ("another", "site"), ("another", "service"), ("another", "provider"),
              ("another", "company"), ("another", "app"), ("another", "website"))
_OTHER_SYSTEMS = _words(
    """provider supplier isp bank acquirer network carrier operator host hosting internet
    broadband council county government processor wholesaler courier telco utility landlord
    friend neighbour neighbor sister brother mother father mum mom dad wife husband son
    daughter partner"""
)
_OWNERS = _words("our my the a an their his her")
# People of the customer's own business whose request or threat the customer relays.
_THIRD_PARTIES = _words(
    """customer client subscriber tenant patient student parent player member buyer shopper
    guest employee contractor owner user family resident learner pupil attendee donor
    supporter applicant candidate visitor traveller traveler passenger caller driver insurer"""
)
# What can happen to another company's system (an outage, a hack), not a document of theirs.
_INCIDENTS = INCIDENT_TRIGGERS | {"security", "data_loss", "critical_bug", "blocker"}
# Triggers about the customer's own claim on us: relayed from their end user, they are a task.
_CLAIMS = frozenset({"legal", "compliance", "refund"})


# Without one of these lemmas no rule below can hold: most texts are passed over at once.
_SOMEONE_CUES = (frozenset({"you", "yours", "your", "their", "different", "another"})
                 | _OTHER_SYSTEMS | _THIRD_PARTIES)


def end_user_at(doc: Parsed, lo: int, hi: int) -> int:
    """Where, among the first words of ``doc[lo:hi]``, one of the customer's own end users is
    named ("one of our players", "a former patient", "our client"), else -1."""
    lemmas = doc.lemmas
    for i in range(lo, min(hi, lo + 8)):
        if lemmas[i] in _THIRD_PARTIES and (
            (i > lo and lemmas[i - 1] in _OWNERS | {"former", "private", "wholesale"})
            or lemmas[max(lo, i - 3) : i][:3] == ["one", "of", "our"]
        ):
            return i
    return -1


_RELAY_VERBS = _words("ask request send email write make cite demand want submit file invoke")


def relays_end_user(doc: Parsed, start: int, end: int) -> bool:
    """True when the sentence reports what the customer's own end user asked of them.

    "A patient has asked our clinic for a copy of everything we hold about them": context for
    what the customer then asks, not a problem of theirs.
    """
    who = end_user_at(doc, start, end)
    return who >= 0 and not _RELAY_VERBS.isdisjoint(doc.lemmas[who + 1 : min(end, who + 6)])


def is_someone_elses(doc: Parsed, start: int, end: int, *, trigger: str | None = None) -> bool:
    """True when the match is about another company or the customer's own end user.

    "Our card terminal provider (not you) is having an outage", "my friend's banking was
    hacked", "one of our players sent us a GDPR deletion request", "a tenant threatens small
    claims against us". A system of ours named in the clause ("your API") keeps it live.
    """
    if trigger == "refund" and _refunds_own_buyer(doc.lemmas, doc.sentence(start)[0], start,
                                                  end):
        return True
    if doc.lemma_set.isdisjoint(_SOMEONE_CUES):
        return False
    lo, hi = clause_bounds(doc, start, end)
    lemmas, lower = doc.lemmas, doc.lower
    pairs = set(zip(lower[lo:hi], lower[lo + 1 : hi], strict=False))
    if not pairs.isdisjoint(_NOT_YOU):
        return True
    incident = trigger is None or trigger in _INCIDENTS
    if incident and not pairs.isdisjoint(_ELSEWHERE):
        return True
    before = lemmas[lo:start]
    if "your" in before or "you" in before:
        return False
    for i in range(lo, start if incident else lo):
        word = lemmas[i]
        owner = lemmas[i - 1] if i > lo else ""
        possessive = i + 1 < start and lower[i + 1] in ("'s", "’s", "s'")
        if word in _OTHER_SYSTEMS and (owner in _OWNERS or possessive):
            return True
    if trigger not in _CLAIMS:
        return False
    # The end user is the one who asks, threatens or files: "one of our players has sent us".
    who = end_user_at(doc, lo, start)
    if who >= 0:
        return not {"i", "we"} & set(lemmas[who + 1 : start])
    if _from_end_user(lemmas[lo:start]) or _from_end_user(lemmas[end:hi], near=True):
        return True
    # "refund one item to my customer": the customer refunds their own buyer.
    after = lemmas[end : min(hi, end + 10)]
    for i, word in enumerate(after[:-1]):
        if word in ("to", "for") and after[i + 1] in ("my", "our") and any(
            w in _THIRD_PARTIES for w in after[i + 2 : i + 5]
        ):
            return True
    return False


def _from_end_user(words: list[str], *, near: bool = False) -> bool:
    """ "a GDPR request from a former student", "a request from a patient under GDPR": the
    clause names one of the customer's own end users as where the claim comes from."""
    for i, word in enumerate(words[:4] if near else words):
        if word != "from":
            continue
        named = words[i + 1 : i + 5]
        if not {"you", "your"} & set(named) and any(w in _THIRD_PARTIES for w in named):
            return True
    return False


# "How do I refund her", "how can we refund a guest": asked how to refund in the product.
_HOW_TO_OPENERS = (("how", "do", "i"), ("how", "do", "we"), ("how", "can", "i"),
                   ("how", "can", "we"), ("how", "would", "i"), ("how", "should", "i"))


def _refunds_own_buyer(lemmas: list[str], lo: int, start: int, end: int) -> bool:
    """True when "refund" is the customer's own act: asked how to do it, or done to a buyer."""
    before = tuple(lemmas[max(lo, start - 3) : start])
    if before in _HOW_TO_OPENERS or before[-2:] == ("how", "to"):
        return True
    after = lemmas[end : end + 3]
    return bool(after) and (after[0] in ("her", "him", "them") or (
        after[0] in _OWNERS and any(w in _THIRD_PARTIES for w in after[1:])))


# Said before buying: the customer asks what would happen, not about their own contract.
_PROSPECT = (("before", "we", "buy"), ("before", "i", "buy"), ("before", "we", "sign"),
             ("before", "we", "commit"), ("before", "i", "sign"), ("before", "we", "subscribe"),
             ("before", "i", "subscribe"), ("before", "we", "purchase"),
             ("think", "of", "buy"), ("think", "to", "buy"), ("think", "of", "enter"),
             ("consider", "buy"), ("we", "be", "compare"), ("be", "compare", "tool"),
             ("be", "compare", "offer"), ("think", "of", "add"), ("think", "of", "switch"))


# A phrase can only be there if each of its words is: most texts are passed over by that.
_PROSPECT_WORDS = tuple(frozenset(gram) for gram in _PROSPECT)


def _has_prospect(lemmas: list[str]) -> bool:
    present = set(lemmas)
    if not any(map(present.issuperset, _PROSPECT_WORDS)):
        return False
    grams = set(zip(lemmas, lemmas[1:], lemmas[2:], strict=False)) | set(
        zip(lemmas, lemmas[1:], strict=False))
    return not grams.isdisjoint(_PROSPECT)


def is_prospective(doc: Parsed, i: int) -> bool:
    """True when token ``i`` is in a question of someone who has not bought yet, or in the
    sentence that says so ("our attorney is reviewing your terms before we sign up")."""
    key = ("prospective", -1)
    found = doc.memo.get(key)
    if found is None:
        found = doc.memo[key] = _has_prospect(doc.lemmas)
    if not found:
        return False
    lo, hi = doc.sentence(i)
    return is_question(doc, i) or _has_prospect(doc.lemmas[lo:hi])


# A claim or a threat the customer can only mean, not name or laugh off, once it is live.
_NAMEABLE = frozenset({"legal", "compliance", "contract_dispute", "churn", "refund"})
_JOKEABLE = frozenset({"legal", "churn", "security", "contract_dispute"})
_QUOTES = frozenset({'"', "'", "“", "”", "‘", "’", "«", "»"})
# How far a quotation around a name reaches: "'Lawsuit reference'", "'payment disputed'".
_QUOTE_REACH = 4
_LAUGHS = frozenset({"😂", "🤣", "😅", "😆", "😜", "🙃", "😉", "😄", "haha", "hahaha", "lol",
                     "lmao", "jk", "kidding", "joke", "joking"})
_SERIOUS = (("not", "kid"), ("not", "kidding"), ("not", "joke"), ("not", "joking"),
            ("no", "joke"))


def is_quoted_name(doc: Parsed, start: int, end: int) -> bool:
    """True when the match sits inside quotation marks close around it: a label, a field."""
    lo, hi = doc.sentence(start)
    words = doc.words
    before = [i for i in range(max(lo, start - _QUOTE_REACH), start) if words[i] in _QUOTES]
    after = [i for i in range(end, min(hi, end + _QUOTE_REACH)) if words[i] in _QUOTES]
    return bool(before) and bool(after)


def is_joke(doc: Parsed, i: int) -> bool:
    """True when the match's sentence laughs at itself ("my knees will sue you 😂")."""
    lo, hi = doc.sentence(i)
    lemmas = doc.lemmas[lo:hi]
    # By the words as written: "kids" shares its lemma with "kidding".
    if _LAUGHS.isdisjoint(doc.lower[lo:hi]):
        return False
    return not set(zip(lemmas, lemmas[1:], strict=False)) & set(_SERIOUS)
