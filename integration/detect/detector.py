"""The detector: one ticket (plus the tenant's other tickets) in, ``Signals`` out.

Only the customer's own words are read: the subject and customer messages, with quoted e-mail
history and signatures removed. The pipeline is loaded once per process; ``detect`` is pure
apart from that and a small cache of what earlier tickets were about.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from functools import lru_cache

from integration.detect.asks import read_ask
from integration.detect.category import CategoryResult, CategoryScorer
from integration.detect.classifier import (
    TextModel,
    blend_category,
    complaint_score,
    default_model,
    features,
    rule_distribution,
)
from integration.detect.context import (
    Issue,
    PageMatcher,
    content_words,
    name_words,
    page_hint,
    persistent_follow_ups,
    repeat_contacts,
    stated_contacts,
)
from integration.detect.cues import DEFAULT_TRIGGERS
from integration.detect.expectation import BREACH_SCORE, breach_sentence
from integration.detect.impact import error_keys, severity_cues
from integration.detect.notices import Notice, only_me, read_notice
from integration.detect.posts import POSTS_FILE, PostReader
from integration.detect.reader import (
    INTENT_TRIGGERS,
    HitReader,
    Intent,
    default_hit_reader,
    later_words,
)
from integration.detect.retraction import TakenBack, taken_back, thin
from integration.detect.sentiment import lexicon, score_doc
from integration.detect.text import Parsed, clean_body, reader
from integration.detect.tiers import TIERS_FILE, TierModel, reads_as_english
from integration.detect.triggers import TriggerMatcher
from integration.errors import ConfigurationError
from integration.models import (
    Category,
    Channel,
    Evidence,
    Message,
    MessageSentiment,
    PageRule,
    Signals,
    Ticket,
    TriggerHit,
    TriggerSpec,
    evolve,
)

__all__ = ["Detector", "Reading", "default_detector", "detect"]

FRUSTRATED_BELOW = -0.4
SPIKE_DROP = 0.5
_SUBJECT_WEIGHT = 1.5
_FIRST_MESSAGE_WEIGHT = 1.2
_ISSUE_CACHE_SIZE = 20_000
# Above this a message is clearly pleased; a breach it mentions is history ("it works now").
_CLEARLY_POSITIVE = 0.35
# Below this overall sentiment a question is not a calm information request any more.
_UPSET = -0.3


@dataclass(frozen=True, kw_only=True, slots=True)
class _Mood:
    """What the customer's tone says: per message, overall, and the evidence for it."""

    sentiments: list[MessageSentiment]
    overall: float
    spike: bool
    frustrated: bool
    inquiry: bool
    # The sentence that asks for something done or reports a problem, if one does.
    request: str
    evidence: list[Evidence]


@lru_cache(maxsize=1)
def _category_scorer() -> CategoryScorer:
    return CategoryScorer(reader())


@dataclass(frozen=True, kw_only=True, slots=True)
class Reading:
    """What a ticket says on its own, before earlier tickets are compared with it.

    ``signals`` has no repeat contacts yet; ``Detector.detect`` adds them from the history.
    A reading can be made in another process and sent back (it is plain data).
    """

    signals: Signals
    issue: Issue
    dropped: tuple[Evidence, ...]
    # The embedding (float16 bytes) of the subject and first message as the category model
    # read it, when the detector was asked to keep it (``keep_meaning``); else empty.
    meaning: bytes = b""

    def __reduce__(self) -> tuple[object, tuple[Signals, Issue, tuple[Evidence, ...], bytes]]:
        # Compiled, a frozen dataclass cannot be unpickled field by field.
        return _reading, (self.signals, self.issue, self.dropped, self.meaning)


def _reading(
    signals: Signals, issue: Issue, dropped: tuple[Evidence, ...], meaning: bytes
) -> Reading:
    return Reading(signals=signals, issue=issue, dropped=dropped, meaning=meaning)


class Detector:
    """Reads a ticket into ``Signals``: triggers, sentiment, category, severity, repeats."""

    def __init__(
        self,
        *,
        triggers: Sequence[TriggerSpec],
        repeat_window_days: int = 14,
        model: TextModel | None | bool = True,
        pages: Sequence[PageRule] | None = None,
        hit_reader: HitReader | None | bool = True,
        tier_model: TierModel | None | bool = True,
        post_reader: PostReader | None | bool = True,
    ) -> None:
        if repeat_window_days < 0:
            raise ConfigurationError(
                f"repeat_window_days must not be negative, got {repeat_window_days}"
            )
        self._reader = reader()
        lexicon()
        self._triggers = TriggerMatcher(self._reader, triggers)
        self._category = _category_scorer()
        # True: the trained classifiers shipped in the package; False/None: rules only.
        self._model: TextModel | None = (
            default_model() if model is True else model if isinstance(model, TextModel) else None
        )
        self.trigger_ids = self._triggers.ids
        self._tiers, self._posts = _learned_models(self._model, tier_model, post_reader)
        # True: the learned reader shipped in the package decides whether a trigger word is
        # live and finds intents said without one; False/None: the rules alone.
        self._hit_reader: HitReader | None = (
            default_hit_reader() if hit_reader is True else hit_reader
            if isinstance(hit_reader, HitReader) else None
        )
        # Which trigger each keyword-less intent raises: the first of its ids the matrix has.
        self._intent_trigger = {
            intent: next((t for t in ids if t in self.trigger_ids), None)
            for intent, ids in INTENT_TRIGGERS.items()
        }
        self.repeat_window_days = repeat_window_days
        # None: the built-in product-page hints; a sequence: the matrix's own page patterns.
        self._pages = PageMatcher(pages) if pages is not None else None
        # What earlier tickets were about, by (ticket key, updated_at): most recently used last.
        self._issues: OrderedDict[tuple[str, datetime], Issue] = OrderedDict()
        # How many earlier tickets' issues are remembered (a triage run may ask for all).
        self.issue_cache_size = _ISSUE_CACHE_SIZE
        # The same, by object identity for the ticket objects seen last: the history of one
        # triage run is the same objects over and over, and building a key costs more than
        # the comparison. The entry keeps its ticket alive, so an id is never reused.
        self._by_object: OrderedDict[int, tuple[Ticket, Issue]] = OrderedDict()
        # Whether a reading carries the text's embedding (a history audit groups topics by it
        # instead of embedding the same text again).
        self.keep_meaning = False

    def _parse(
        self, ticket: Ticket, messages: Sequence[Message] | None = None
    ) -> tuple[Parsed, list[tuple[str, Parsed]], TakenBack | None]:
        """Subject and customer messages parsed, from where the customer last took back
        what they had reported (if they did)."""
        if messages is None:
            messages = ticket.customer_messages
        customer = [m for m in messages if m.body.strip()]
        bodies = [clean_body(m.body) for m in customer]
        subject_text = ticket.subject
        gone = taken_back(bodies)
        if gone is not None:
            # What the customer took back is not the ticket any more: read what follows.
            subject_text = ""
            customer = customer[gone.message:]
            bodies = [bodies[gone.message][gone.start:].lstrip(" ,;:.!-\u2014\u2013"),
                      *bodies[gone.message + 1:]]
        parsed = self._reader.read_all([subject_text, *bodies])
        subject = parsed[0]
        pairs = [(m.id, p) for m, p in zip(customer, parsed[1:], strict=True)]
        return subject, pairs, gone

    def _page_hint(self, url: str | None, page: PageRule | None = None) -> str | None:
        if self._pages is None:
            return page_hint(url)
        page = page or self._pages.match(url)
        return page.category.value if page is not None and page.category is not None else None

    def detect(
        self, ticket: Ticket, history: Sequence[Ticket] = (), *, reading: Reading | None = None
    ) -> Signals:
        """Everything detection reads from ``ticket``; ``history`` is the tenant's other tickets.

        ``reading`` is ``read(ticket)`` made earlier (perhaps in another process).
        """
        if reading is None:
            reading = self.read(ticket)
        else:
            entry = self._by_object.get(id(ticket))
            # Read here just before (as an audit does): already remembered.
            if entry is None or entry[0] is not ticket or entry[1] is not reading.issue:
                self.remember(ticket, reading.issue)
        repeats, message_count, repeat_evidence = self._repeats(
            ticket, history, reading.issue, ticket.customer_messages
        )
        return evolve(
            reading.signals,
            repeat_contacts=repeats,
            customer_message_count=message_count,
            evidence=(*reading.signals.evidence, *repeat_evidence, *reading.dropped),
        )

    def read(self, ticket: Ticket) -> Reading:
        """What ``ticket`` says on its own: every signal but repeat contacts."""
        written = ticket.customer_messages
        subject, messages, gone = self._parse(ticket, written)
        bodies = [m.body for m in written]
        notice, alone = read_notice(ticket.subject, bodies), only_me(bodies)
        hits, dropped, hidden, mentioned = self._find_triggers(subject, messages)
        hits = _quieted(hits, dropped, notice, alone)
        words = self._model_input(subject, messages, hidden)
        # A trigger word read as only mentioned (a joke, a test, a name) sets no tone either.
        topic, topic_messages = _masked(subject, messages, mentioned)
        mood = self._mood(topic, topic_messages, words)
        evidence = list(mood.evidence)
        if gone is not None:
            evidence.append(Evidence(kind="taken_back", text=f"{gone.words!r}: what the customer "
                                     "reported before this is not acted on"))

        page = self._pages.match(ticket.page_url) if self._pages is not None else None
        hint = self._page_hint(ticket.page_url, page)
        if hint:
            evidence.append(Evidence(kind="page", text=f"{hint}: {ticket.page_url}"))
        keys = error_keys([subject.text, *(doc.text for _, doc in messages)])
        # A trigger word read as only mentioned is no cue for its category either.
        category, why = self._categorize(
            topic, topic_messages, words, hint=hint, hits=hits, keys=keys
        )
        if gone is not None and not hint and not hits:
            category, why = _after_taking_back(category, why, mood, messages)
        category, why = _as_noticed(category, why, notice, alone)
        if ticket.channel is Channel.SOCIAL and self._posts is not None:
            mood, evidence = self._post_mood(mood, words, category.category, messages, evidence)
        evidence.append(Evidence(kind="category", text=f"{category.category.value}: {why}"))
        if keys:
            evidence.append(Evidence(kind="error", text=", ".join(keys)))
        severity = ("normal", "") if notice is not None else self._severity(
            subject, messages, hits, keys, category.category, mood.frustrated)
        if severity[1]:
            evidence.append(Evidence(kind="severity", text=f"{severity[0]}: {severity[1]}"))

        mine = self._issue_read(ticket, category.category, keys, subject, messages)
        signals = Signals(
            category=category.category,
            category_confidence=category.confidence,
            sentiment=round(mood.overall, 4),
            message_sentiments=tuple(mood.sentiments),
            sentiment_spike=mood.spike,
            frustrated=mood.frustrated,
            inquiry=mood.inquiry,
            triggers=tuple(hits),
            mentioned=_only_mentioned(mentioned, hits),
            error_keys=keys,
            severity=severity[0],
            page_hint=hint,
            page_rule=page.id if page is not None else None,
            page_urgency=page.urgency if page is not None else None,
            evidence=tuple(evidence),
        )
        return Reading(signals=self._tier_read(ticket, signals, subject, messages, words),
                       issue=mine, dropped=tuple(dropped), meaning=self._meaning(words))

    def _tier_read(
        self, ticket: Ticket, signals: Signals, subject: Parsed,
        messages: list[tuple[str, Parsed]], words: list[list[str]],
    ) -> Signals:
        """The signals with the tier model's reading, for an English text when one is loaded."""
        if (self._tiers is None or self._model is None or not words
                or not reads_as_english([subject.lower, *(doc.lower for _, doc in messages)])):
            return signals
        # The meaning of every customer message together: for a one-message ticket the same
        # text the category model just read, whose embedding is remembered.
        whole = words[0] if len(words) == 1 else [w for part in words for w in part]
        return evolve(signals, tier_reading=self._tiers.read(
            ticket, signals, self._model.meaning(whole)))

    def _post_mood(self, mood: _Mood, words: list[list[str]], category: Category,
                   messages: list[tuple[str, Parsed]],
                   found: list[Evidence]) -> tuple[_Mood, list[Evidence]]:
        """A public post's tone by the complaint convention: the post model says whether each
        message complains; strongly negative words still say how much. ``found``: the
        ticket's evidence so far, whose tone evidence is replaced."""
        posts, model = self._posts, self._model
        if posts is None or model is None or len(words) != len(mood.sentiments):
            return mood, found
        sentiments = []
        evidence = [e for e in mood.evidence if e.kind != "sentiment"]
        for n, (said, part) in enumerate(zip(mood.sentiments, words, strict=True)):
            p = posts.probability(model.meaning(part), said.score, category)
            score, sentence = said.score, said.sentence
            if p >= posts.at and score > BREACH_SCORE:
                score = BREACH_SCORE
                sentence = sentence or _first_sentence(messages[n][1])
                evidence.append(Evidence(kind="sentiment", text=f"a public post read as a "
                                         f"complaint ({p:.0%} sure): {sentence}"))
            elif p < posts.at and 0.0 > score > FRUSTRATED_BELOW and not mood.frustrated:
                # Mildly negative words in a post that complains of nothing ("sad to see the
                # summer menu go, when is it back?") are no complaint.
                score = 0.0
            sentiments.append(replace(said, score=score, sentence=sentence))
        overall = min(s.score for s in sentiments) if sentiments else mood.overall
        worst = min(sentiments, key=lambda s: s.score, default=None)
        if worst is not None and worst.score < 0 and not any(
                e.kind == "sentiment" for e in evidence):
            evidence.append(Evidence(kind="sentiment", text=worst.sentence))
        tone = [e for e in evidence if e.kind == "sentiment"]
        return (replace(mood, sentiments=sentiments, overall=overall, evidence=evidence),
                [e for e in found if e.kind != "sentiment"] + tone)

    def _meaning(self, words: list[list[str]]) -> bytes:
        """The embedding the category model read, as float16 bytes, if it is to be kept."""
        if not self.keep_meaning or self._model is None or not words:
            return b""
        vector = self._model.meaning(words[0])
        return b"" if vector is None else vector.astype("float16").tobytes()

    def _issue_read(
        self, ticket: Ticket, category: Category, keys: tuple[str, ...], subject: Parsed,
        messages: list[tuple[str, Parsed]],
    ) -> Issue:
        """The ticket's issue as read now, remembered for the repeat contacts of later ones."""
        mine = Issue(
            category=category,
            errors=frozenset(keys),
            words=content_words([subject, *self._first(messages)], ignore=name_words(ticket)),
        )
        self.remember(ticket, mine)
        return mine

    def _find_triggers(
        self, subject: Parsed, messages: list[tuple[str, Parsed]]
    ) -> tuple[
        list[TriggerHit], list[Evidence], list[list[tuple[int, int]]],
        list[list[tuple[str, int, int]]],
    ]:
        """Trigger hits, the evidence of what was discarded, and per text (subject first) the
        spans the rules or the reader hid and the matches the reader read as only mentioned."""
        read = self._hit_reader
        docs = [doc for _, doc in messages]
        hidden: list[list[tuple[int, int]]] = [[]]
        mentioned: list[list[tuple[str, int, int]]] = [[]]
        # A subject is a title, not a sentence: the reader takes it as the body does below.
        hits, dropped = self._triggers.find(subject, None, hidden[0])
        body: list[TriggerHit] = []
        for n, (message_id, doc) in enumerate(messages):
            hidden.append([])
            mentioned.append([])
            found, ignored = self._triggers.find(
                doc, message_id, hidden[-1], reader=read, mentioned=mentioned[-1],
                later=later_words(docs[n + 1 :]) if read else (),
            )
            body.extend(found)
            dropped.extend(ignored)
        only_mentioned = {k for spans in mentioned for k, _, _ in spans} - {
            h.trigger for h in body}
        if only_mentioned:
            hits, ignored = _as_body_reads(hits, only_mentioned)
            dropped.extend(ignored)
            mentioned[0] = [(k, lo, hi) for lo, hi, k, _ in self._triggers.candidates(subject)
                            if k in only_mentioned]
        hits.extend(body)
        if read is not None:
            hits.extend(self._intent_hits(read, messages, {h.trigger for h in hits}))
        return hits, dropped, hidden, mentioned

    def _intent_hits(
        self, read: HitReader, messages: list[tuple[str, Parsed]], fired: set[str]
    ) -> list[TriggerHit]:
        """Triggers for intents said without a keyword, when no keyword already raised them."""
        out = []
        for message_id, doc in messages:
            for found in read.find_intents(doc):
                trigger = self._intent_trigger.get(found.intent)
                if trigger is None or trigger in fired:
                    continue
                fired.add(trigger)
                out.append(TriggerHit(trigger=trigger, match="", sentence=found.sentence,
                                      message_id=message_id, reading=_intent_words(found)))
        return out

    def _mood(
        self, subject: Parsed, messages: list[tuple[str, Parsed]], words: list[list[str]]
    ) -> _Mood:
        """How the customer sounds, message by message, and whether they only ask something."""
        complaint = (
            self._model.blended_complaint_probs(words)
            if self._model is not None and messages
            else []
        )
        sentiments, strong = self._sentiments(subject, messages, complaint)
        scores = [s.score for s in sentiments]
        worst = min(sentiments, key=lambda s: s.score, default=None)
        overall = worst.score if worst is not None else score_doc(subject)[0]
        spike = any(a - b >= SPIKE_DROP for a, b in zip(scores, scores[1:], strict=False))
        frustrated = overall <= FRUSTRATED_BELOW or strong
        evidence: list[Evidence] = []
        if worst is not None and (frustrated or worst.score < 0):
            evidence.append(Evidence(kind="sentiment", text=worst.sentence))
        ask = read_ask([doc for _, doc in messages], upset=frustrated or overall < _UPSET)
        if ask.inquiry:
            evidence.append(Evidence(kind="ask", text=ask.sentence))
        return _Mood(
            sentiments=sentiments, overall=overall, spike=spike, frustrated=frustrated,
            inquiry=ask.inquiry, request="" if ask.inquiry else ask.sentence, evidence=evidence,
        )

    def _categorize(
        self,
        subject: Parsed,
        messages: list[tuple[str, Parsed]],
        words: list[list[str]],
        *,
        hint: str | None,
        hits: list[TriggerHit],
        keys: tuple[str, ...],
    ) -> tuple[CategoryResult, str]:
        """The rules' category (subject and first message weigh more), blended with the model's."""
        weighted = [(subject, _SUBJECT_WEIGHT)] + [
            (doc, _FIRST_MESSAGE_WEIGHT if i == 0 else 1.0) for i, (_, doc) in enumerate(messages)
        ]
        rules = self._category.score(weighted, page_hint=hint, triggers=hits, error_keys=keys)
        return self._blend(rules, subject, messages, words)

    def _repeats(
        self, ticket: Ticket, history: Sequence[Ticket], mine: Issue, written: Sequence[Message]
    ) -> tuple[int, int, list[Evidence]]:
        """Contacts about the same issue, the customer's message count, and why they count."""
        by_object = self._by_object

        def same_issue(other: Ticket) -> bool:
            # _issue_of's first step inlined: a long history asks this of every ticket in it.
            entry = by_object.get(id(other))
            if entry is not None and entry[0] is other:
                return mine.same_as(entry[1])
            return mine.same_as(self._issue_of(other))

        repeats, contacts = repeat_contacts(
            ticket, history, window_days=self.repeat_window_days, same_issue=same_issue
        )
        evidence = list(contacts)
        message_count, follow_ups = persistent_follow_ups(ticket, customer_messages=written)
        if follow_ups is not None:
            # Several messages over days without a fix count like a third contact.
            repeats = max(repeats, 3)
            evidence.append(follow_ups)
        said, words = stated_contacts([ticket.subject, *(m.body for m in written)])
        if said > repeats:
            repeats = said
            evidence.append(Evidence(kind="repeat_contact",
                                     text=f"the customer says this is contact {said}: '{words}'"))
        return repeats, message_count, evidence

    @staticmethod
    def _first(messages: list[tuple[str, Parsed]]) -> list[Parsed]:
        return [messages[0][1]] if messages else []

    def _model_input(
        self,
        subject: Parsed,
        messages: list[tuple[str, Parsed]],
        hidden: Sequence[Sequence[tuple[int, int]]] = (),
    ) -> list[list[str]]:
        # One token list per customer message; the subject belongs to the first (as for tone).
        # ``hidden``: per text (subject first), the spans the trigger rules discarded.
        if self._model is None:
            return []
        spans = list(hidden) or [[] for _ in range(len(messages) + 1)]
        if not messages:
            return [features([subject], spans[:1])]
        lists = [features([subject, messages[0][1]], spans[:2])]
        lists.extend(features([doc], [spans[n + 1]]) for n, (_, doc) in
                     enumerate(messages[1:], start=1))
        return lists

    def _sentiments(
        self,
        subject: Parsed,
        messages: list[tuple[str, Parsed]],
        complaint: Sequence[float],
    ) -> tuple[list[MessageSentiment], bool]:
        out: list[MessageSentiment] = []
        any_strong = False
        subject_score, subject_sentence, subject_strong = score_doc(subject)
        for i, (message_id, doc) in enumerate(messages):
            score, sentence, strong = score_doc(doc)
            # The subject belongs to the first message: "URGENT!!! still broken" is its tone.
            if i == 0 and subject_score < min(score, 0.0):
                score, sentence, strong = subject_score, subject_sentence, strong or subject_strong
            if complaint and self._model is not None:
                adjusted = complaint_score(score, strong, complaint[i], self._model.blend)
                if adjusted < 0 <= score:
                    # The model heard a complaint the lexicon did not: name its likeliest
                    # sentence, the message's first unless the subject carried the tone.
                    sentence = sentence or _first_sentence(doc)
                score = adjusted
            if BREACH_SCORE < score < _CLEARLY_POSITIVE:
                # A calm report of something broken, late or missing is still a complaint.
                breach = breach_sentence(doc) or (breach_sentence(subject) if i == 0 else None)
                if breach is not None:
                    score, sentence = BREACH_SCORE, breach
            any_strong = any_strong or strong
            out.append(
                MessageSentiment(message_id=message_id, score=round(score, 4), sentence=sentence)
            )
        if not messages:
            any_strong = subject_strong and subject_score < 0
        return out, any_strong

    def _blend(
        self, rules: CategoryResult, subject: Parsed, messages: list[tuple[str, Parsed]],
        words: Sequence[list[str]] = (),
    ) -> tuple[CategoryResult, str]:
        cue = ", ".join(repr(c) for c in rules.cues) or "no distinctive cue"
        model = self._model
        if model is None:
            return rules, cue
        if not words:
            words = self._model_input(subject, messages[:1])
        view = model.category_view(words[0])
        probs = view.probs
        dist = rule_distribution(rules.category, rules.confidence, rules.scores)
        best, score, _ = blend_category(dist, probs, model.blend.category_weight)
        cues = rules.cues if best is rules.category else ()
        if best is not rules.category:
            strongest = rules.scores.get(best, 0.0)
            cue = f"cues for {rules.category.value}: {cue}" if rules.cues else cue
            cue = f"{cue}; {best.value} cue score {strongest:.1f}" if strongest else cue
        result = CategoryResult(
            category=best, confidence=round(min(0.99, score), 3), cues=cues, scores=rules.scores
        )
        parts = ""
        if view.embedding is not None:
            # Which reading carried the choice: the words themselves or their meaning.
            parts = (
                f" (words {view.bag_of_words.get(best, 0.0):.2f}, "
                f"meaning {view.embedding.get(best, 0.0):.2f})"
            )
        return result, f"model p={probs[best]:.2f}{parts}, strongest cue {cue}"

    @staticmethod
    def _severity(
        subject: Parsed,
        messages: list[tuple[str, Parsed]],
        hits: list[TriggerHit],
        keys: tuple[str, ...],
        category: Category,
        frustrated: bool,
    ) -> tuple[str, str]:
        high = ""
        for doc in (subject, *(d for _, d in messages)):
            level, sentence = severity_cues(doc)
            if level == "critical":
                return "critical", sentence
            if level == "high" and not high:
                high = sentence
        critical_triggers = {"security", "data_loss", "production_blocked"}
        for hit in hits:
            if hit.trigger in critical_triggers:
                return "critical", hit.sentence
        if high:
            return "high", high
        incident = {"outage", "legal"}
        for hit in hits:
            if hit.trigger in incident:
                return "high", hit.sentence
        if keys and category in (Category.BUG, Category.OUTAGE):
            return "high", f"error {keys[0]}"
        if frustrated:
            return "high", "frustrated customer"
        return "normal", ""

    def same_issue_tickets(
        self, ticket: Ticket, history: Sequence[Ticket], *, limit: int = 5
    ) -> list[Ticket]:
        """Earlier tickets of the same account or requester about the same issue, newest first.

        Unlike the repeat-contact count, solved and old tickets count: the agent wants to see
        how the issue went before.
        """
        mine = self._issue_of(ticket)
        account = ticket.account.id if ticket.account is not None else None
        found = [
            other
            for other in history
            if other.created_at <= ticket.created_at
            and not (other.id == ticket.id and other.helpdesk == ticket.helpdesk)
            and (
                (account is not None and other.account is not None
                 and other.account.id == account)
                or other.requester.id == ticket.requester.id
            )
            and mine.same_as(self._issue_of(other))
        ]
        found.sort(key=lambda t: t.created_at, reverse=True)
        return found[:limit]

    def remember(self, ticket: Ticket, issue: Issue) -> None:
        """Keep what ``ticket`` is about, for the tickets that follow it."""
        key = (ticket.key, ticket.updated_at)
        self._issues[key] = issue
        self._issues.move_to_end(key)
        if len(self._issues) > self.issue_cache_size:
            self._issues.popitem(last=False)
        self._by_object[id(ticket)] = (ticket, issue)
        self._by_object.move_to_end(id(ticket))
        if len(self._by_object) > self.issue_cache_size:
            self._by_object.popitem(last=False)

    def _issue_of(self, ticket: Ticket) -> Issue:
        # Tickets this detector has read are remembered; others are read once, more cheaply.
        entry = self._by_object.get(id(ticket))
        if entry is not None and entry[0] is ticket:
            return entry[1]
        found = self._issues.get((ticket.key, ticket.updated_at))
        if found is not None:
            self.remember(ticket, found)
            return found
        subject, messages, _ = self._parse(ticket)
        first = self._first(messages)
        result, _ = self._blend(
            self._category.score(
                [(subject, _SUBJECT_WEIGHT), *((d, _FIRST_MESSAGE_WEIGHT) for d in first)],
                page_hint=self._page_hint(ticket.page_url),
            ),
            subject,
            messages,
        )
        issue = Issue(
            category=result.category,
            errors=frozenset(error_keys([subject.text, *(d.text for d in first)])),
            words=content_words([subject, *first], ignore=name_words(ticket)),
        )
        self.remember(ticket, issue)
        return issue


_INTENT_WORDS = {
    "churn": "churn intent without the word",
    "relationship": "the relationship at stake, said without the words",
    "security": "a security incident without the word",
    "data_loss": "data loss without the words",
    "platform": "a failure for everyone, not one user",
}


# Triggers that say the service is down for everyone: one user's failure is not one.
_PLATFORM_TRIGGERS = frozenset({"outage"})


def _quieted(
    hits: list[TriggerHit], dropped: list[Evidence], notice: Notice | None, alone: str
) -> list[TriggerHit]:
    """The hits left once an automatic reply, an announced test or one user's failure is
    known; each one taken away is explained in ``dropped``."""
    if notice is None and not alone:
        return hits
    kept = []
    for hit in hits:
        if notice is not None:
            why = f"is in {notice.what}"
        elif hit.trigger in _PLATFORM_TRIGGERS:
            why = f"is for one user only ({alone!r})"
        else:
            kept.append(hit)
            continue
        said = repr(hit.match) if hit.match else "(said without the words)"
        dropped.append(Evidence(kind="trigger_ignored", text=f"{hit.trigger}: {said} {why}"))
    return kept


def _as_noticed(
    category: CategoryResult, why: str, notice: Notice | None, alone: str
) -> tuple[CategoryResult, str]:
    """An automatic reply or an announced test is about nothing; one user's outage is a bug."""
    if notice is not None:
        return (CategoryResult(category=Category.OTHER, confidence=0.5, cues=(), scores={}),
                notice.reason)
    if alone and category.category is Category.OUTAGE:
        return (replace(category, category=Category.BUG),
                f"down for one user only ({alone!r}): a problem to troubleshoot")
    return category, why


# Categories that are a report of something wrong, not a topic a question can have.
_PROBLEMS = frozenset({Category.BUG, Category.OUTAGE})


def _after_taking_back(
    category: CategoryResult, why: str, mood: _Mood, messages: list[tuple[str, Parsed]]
) -> tuple[CategoryResult, str]:
    """The category once a report was taken back: what follows, unless it reports a problem."""
    if not thin([d.text for _, d in messages]) and (
        mood.frustrated or any(breach_sentence(doc) for _, doc in messages)
    ):
        return category, why
    if mood.inquiry and category.category in _PROBLEMS:
        return (replace(category, category=Category.HOW_TO),
                "the report was taken back; what is left is a question")
    if not mood.inquiry and not mood.request:
        return (CategoryResult(category=Category.OTHER, confidence=0.5, cues=(), scores={}),
                "nothing is left to act on once the report was taken back")
    return category, why


def _masked(
    subject: Parsed, messages: list[tuple[str, Parsed]], spans: list[list[tuple[str, int, int]]]
) -> tuple[Parsed, list[tuple[str, Parsed]]]:
    """The texts with the words of the given spans (subject's first) read as a plain noun."""
    if not any(spans):
        return subject, messages
    docs = [subject, *(doc for _, doc in messages)]
    out = []
    for doc, hide in zip(docs, spans, strict=True):
        if hide:
            lemmas = list(doc.lemmas)
            for _, lo, hi in hide:
                lemmas[lo:hi] = ["thing"] * (hi - lo)
            doc = Parsed(doc.text, doc.words, lemmas, doc.idx, doc.sents, doc.lower)
        out.append(doc)
    return out[0], [(m, doc) for (m, _), doc in zip(messages, out[1:], strict=True)]


def _only_mentioned(
    mentioned: Sequence[Sequence[tuple[str, int, int]]], hits: Sequence[TriggerHit]
) -> tuple[str, ...]:
    """Triggers whose every match was read as only mentioned, in order of first mention."""
    live = {h.trigger for h in hits}
    return tuple(dict.fromkeys(k for spans in mentioned for k, _, _ in spans if k not in live))


def _as_body_reads(
    hits: list[TriggerHit], mentioned: set[str]
) -> tuple[list[TriggerHit], list[Evidence]]:
    """Subject hits minus those whose trigger the body only mentions, and why each went."""
    kept = [h for h in hits if h.trigger not in mentioned]
    dropped = [
        Evidence(kind="trigger_ignored",
                 text=f"{h.trigger}: {h.match!r} in the subject, only mentioned in the message")
        for h in hits if h.trigger in mentioned
    ]
    return kept, dropped


def _intent_words(found: Intent) -> str:
    return f"{_INTENT_WORDS.get(found.intent, found.intent)}, p={found.probability:.2f}"


def _first_sentence(doc: Parsed) -> str:
    return doc.span_text(*doc.sents[0]).strip() if doc.sents else doc.text


def _learned_models(
    model: TextModel | None, tier_model: TierModel | None | bool,
    post_reader: PostReader | None | bool,
) -> tuple[TierModel | None, PostReader | None]:
    """The tier model and the post model a detector uses.

    True: the one shipped in the package, when the text model reads meanings (their features
    include them); an instance: that one; False/None: none (signals carry no tier reading,
    public posts keep the support convention's tone).
    """
    meaning = model is not None and model.embedding is not None
    tiers = (tier_model if isinstance(tier_model, TierModel)
             else default_tier_model() if tier_model is True and meaning and TIERS_FILE.is_file()
             else None)
    posts = (post_reader if isinstance(post_reader, PostReader)
             else default_post_reader() if post_reader is True and meaning
             and POSTS_FILE.is_file()
             else None)
    return tiers, posts


@lru_cache(maxsize=1)
def default_post_reader() -> PostReader:
    """The post model shipped in the package, loaded once per process."""
    return PostReader(POSTS_FILE)


@lru_cache(maxsize=1)
def default_tier_model() -> TierModel:
    """The tier model shipped in the package, loaded once per process."""
    return TierModel(TIERS_FILE)


@lru_cache(maxsize=8)
def _detector_for(triggers: tuple[TriggerSpec, ...]) -> Detector:
    return Detector(triggers=triggers)


def default_detector() -> Detector:
    """The process-wide detector with the built-in default triggers."""
    return _detector_for(DEFAULT_TRIGGERS)


def detect(
    ticket: Ticket,
    history: Sequence[Ticket] = (),
    *,
    triggers: Sequence[TriggerSpec] | None = None,
) -> Signals:
    """Detect with a cached ``Detector`` for these triggers (the defaults when None)."""
    if triggers is None:
        return default_detector().detect(ticket, history)
    return _detector_for(tuple(triggers)).detect(ticket, history)
