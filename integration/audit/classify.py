"""Read every past ticket as Escalade would have: detection, then each matrix's decision.

``classify`` streams ``Classified`` records in the order the tickets came, for one or more
matrices. Detection depends only on what a matrix gives the detector (its triggers, page
patterns and repeat window), so it runs once per distinct set and every matrix sharing it is
evaluated on the same signals. A ticket is decided as it arrived: ``now`` is its creation time,
with no earlier tier, no write-back.

Repeat contacts need the requester's and account's earlier tickets: each reader keeps the
recent ones per requester, e-mail and account (within the matrix's repeat window, at most
``_PER_KEY`` per key), so memory follows the window, not the history's length.

With ``workers`` > 0 the reading runs in that many processes. Where the calling process runs
no other thread (the command line), they are forked after the models are loaded here, so they
start at once and share those pages; otherwise (a server's threads could hold locks a fork
would copy held) they are spawned and each loads its own. Tickets go to a worker by account
(else requester), so a worker sees every earlier ticket repeat detection needs; results come
back in the original order, so the audit is the same whatever the number of workers.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import queue
import re
import threading
import time
import traceback
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from integration.audit.outcomes import outcome_of
from integration.calendars import add_business_time
from integration.heap import settle
from integration.matrix import Matrix, evaluate
from integration.models import Signals, Ticket, Tier, quick_pickle

__all__ = [
    "Classified",
    "Reading",
    "TopicFeatures",
    "classify",
    "detection_key",
    "start_method",
]

log = logging.getLogger(__name__)

_PER_KEY = 20
_PRUNE_EVERY = 5000
_BATCH = 200
_IN_FLIGHT_ROUNDS = 3
_WORKER_START_SECONDS = 300.0
_TOPIC_TEXT_CHARS = 400
_TOPIC_WORDS_KNOWN = 100_000
_WORD = re.compile(r"[a-z][a-z0-9']+")


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class Reading:
    """What one matrix made of one ticket."""

    category: str
    confidence: float
    sentiment: float
    triggers: tuple[str, ...]
    tier: int
    rules: tuple[str, ...]
    # The tier's actions alert someone (Slack, CRM, a manager).
    alert: bool
    # Replies and resolution measured against this tier's SLA targets; None: not measurable.
    sla_breached: bool | None


@quick_pickle
@dataclass(frozen=True, kw_only=True, slots=True)
class TopicFeatures:
    """What topic clustering reads: the text's embedding (float16 bytes) and its lemmas."""

    vector: bytes
    words: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class Classified:
    """A ticket with one reading per matrix (same order) and, if asked, its topic features."""

    ticket: Ticket
    readings: tuple[Reading, ...]
    topic: TopicFeatures | None = None


def detection_key(matrix: Matrix) -> tuple[Any, ...]:
    """What the detector built for ``matrix`` depends on; equal keys share one detection."""
    return (matrix.triggers, matrix.pages, matrix.repeat_window_days)


def classify(
    tickets: Iterable[Ticket],
    matrices: Sequence[Matrix],
    *,
    topics: bool = False,
    sla: bool = True,
    workers: int = 0,
    on_detection_sets: Callable[[int], None] | None = None,
) -> Iterator[Classified]:
    """``Classified`` records for ``tickets``, in order, read with every matrix.

    ``sla=False`` skips measuring replies and resolution against each tier's targets (a
    replay compares tiers only).
    """
    if not matrices:
        raise ValueError("classify() needs at least one matrix")
    if on_detection_sets is not None:
        on_detection_sets(len({detection_key(m) for m in matrices}))
    if workers <= 0:
        reader = _Reader(tuple(matrices), topics=topics, sla=sla)
        for ticket in tickets:
            readings, features = reader.read(ticket)
            yield Classified(ticket=ticket, readings=readings, topic=features)
        return
    yield from _pooled(tickets, tuple(matrices), topics=topics, sla=sla, workers=workers)


# --- one reader (in this process or in a worker) ------------------------------------------


class _History:
    """Recent tickets by requester, e-mail and account, pruned to the repeat window."""

    def __init__(self, window_days: int) -> None:
        self.window = timedelta(days=window_days)
        self._by_key: dict[str, deque[Ticket]] = {}
        self._latest: datetime | None = None
        self._seen = 0
        # Distinct tickets the buckets held at the last pruning: what a detector reading this
        # history must remember the issues of.
        self.held = 0

    @staticmethod
    def keys(ticket: Ticket) -> list[str]:
        out = [f"r:{ticket.requester.id}"]
        if ticket.requester.email:
            out.append(f"e:{ticket.requester.email.strip().lower()}")
        if ticket.account is not None:
            out.append(f"a:{ticket.account.id}")
        return out

    def before(self, ticket: Ticket) -> list[Ticket]:
        found: dict[int, Ticket] = {}
        for key in self.keys(ticket):
            for other in self._by_key.get(key, ()):
                found[id(other)] = other
        return list(found.values())

    def add(self, ticket: Ticket) -> None:
        for key in self.keys(ticket):
            bucket = self._by_key.get(key)
            if bucket is None:
                bucket = self._by_key[key] = deque(maxlen=_PER_KEY)
            bucket.append(ticket)
        if self._latest is None or ticket.created_at > self._latest:
            self._latest = ticket.created_at
        self._seen += 1
        if self._seen % _PRUNE_EVERY == 0:
            self._prune()

    def _prune(self) -> None:
        # Earlier tickets outside the window stop counting (unless still open, which the
        # detector checks); drop them so memory follows the window.
        assert self._latest is not None
        cutoff = self._latest - self.window
        for key in list(self._by_key):
            bucket = self._by_key[key]
            while bucket and bucket[0].created_at < cutoff and not bucket[0].status.is_open:
                bucket.popleft()
            if not bucket:
                del self._by_key[key]
        self.held = len({id(t) for bucket in self._by_key.values() for t in bucket})


class _Reader:
    """Detectors (one per distinct detection key), histories and the matrices to evaluate."""

    def __init__(self, matrices: tuple[Matrix, ...], *, topics: bool, sla: bool = True) -> None:
        from integration.decide import build_detector

        self.matrices = matrices
        self._sla = sla
        keys = [detection_key(m) for m in matrices]
        distinct = list(dict.fromkeys(keys))
        self._group_of = [distinct.index(k) for k in keys]
        first = [keys.index(k) for k in distinct]
        self._detectors = [build_detector(matrices[i]) for i in first]
        for detector in self._detectors:
            detector.keep_meaning = topics
        self._histories = [_History(matrices[i].repeat_window_days) for i in first]
        self._embedder = None
        self._lemma: Callable[[str], str] | None = None
        self._stop: frozenset[str] = frozenset()
        # What each token gives a topic (its lemma, or None): words repeat across tickets.
        self._topic_words: dict[str, str | None] = {}
        if topics:
            from spacy.lang.en.stop_words import STOP_WORDS

            from integration.detect.embedding import default_embedding_model
            from integration.detect.text import lemma_of

            self._embedder = default_embedding_model().embedder
            self._lemma = lemma_of
            self._stop = frozenset(STOP_WORDS)

    def read(self, ticket: Ticket) -> tuple[tuple[Reading, ...], TopicFeatures | None]:
        signals: list[Signals] = []
        meaning = b""
        for detector, history in zip(self._detectors, self._histories, strict=True):
            reading = detector.read(ticket)
            meaning = meaning or reading.meaning
            signals.append(detector.detect(ticket, history.before(ticket), reading=reading))
            history.add(ticket)
            # A dense history holds more earlier tickets than the detector remembers by
            # default; one it forgot would be read again for every later ticket that asks.
            if 2 * history.held > detector.issue_cache_size:
                detector.issue_cache_size = 2 * history.held
        readings = tuple(
            _decide(matrix, ticket, signals[self._group_of[n]], sla=self._sla)
            for n, matrix in enumerate(self.matrices)
        )
        return readings, self._features(ticket, meaning) if self._embedder is not None else None

    def _features(self, ticket: Ticket, meaning: bytes = b"") -> TopicFeatures:
        assert self._embedder is not None and self._lemma is not None
        first = ticket.customer_messages[0].body if ticket.customer_messages else ""
        text = f"{ticket.subject}\n{first}"[:_TOPIC_TEXT_CHARS]
        # The detector's own embedding of the same text, when it kept it.
        vector = meaning or self._embedder.encode([text])[0].astype("float16").tobytes()
        known = self._topic_words
        if len(known) > _TOPIC_WORDS_KNOWN:
            known.clear()  # a bound on memory
        words = []
        for token in _WORD.findall(text.lower()):
            word = known.get(token, "")
            if word == "":
                word = known[token] = self._topic_word(token)
            if word is not None:
                words.append(word)
        return TopicFeatures(vector=vector, words=tuple(dict.fromkeys(words))[:24])

    def _topic_word(self, token: str) -> str | None:
        """The lemma a topic is named by, or None for a stop word or a short or odd one."""
        assert self._lemma is not None
        if token in self._stop:
            return None
        word = self._lemma(token)
        return word if len(word) > 2 and word not in self._stop and word.isalpha() else None


def _decide(matrix: Matrix, ticket: Ticket, signals: Signals, *, sla: bool) -> Reading:
    decision = evaluate(matrix, ticket, signals, now=ticket.created_at, with_actions=False)
    settings = matrix.tier_settings(decision.tier)
    return Reading(
        category=signals.category.value,
        confidence=signals.category_confidence,
        sentiment=signals.sentiment,
        triggers=signals.trigger_ids,
        tier=int(decision.tier),
        rules=tuple(r.rule_id for r in decision.rules),
        alert=bool(settings.actions.alert),
        sla_breached=sla_breach(matrix, ticket, decision.tier, first_due=decision.sla_due_at)
        if sla else None,
    )


def sla_breach(
    matrix: Matrix, ticket: Ticket, tier: Tier, *, first_due: datetime | None = None
) -> bool | None:
    """First reply or resolution later than ``tier``'s targets allow; None if not measured.

    Measured from creation on the tier's calendar; pauses while waiting on the customer
    are not in an export, so a ticket that waited can read as late (the helpdesk's own SLA
    events, where the history has them, are preferred over this). ``first_due`` is the first
    reply's due time when the caller has it already (the decision's).
    """
    outcome = outcome_of(ticket)
    sla = matrix.tier_settings(tier).sla
    checks = (
        (sla.first_response, outcome.first_reply_minutes, first_due),
        (sla.resolution, outcome.resolution_minutes, None),
    )
    measured = False
    for target, minutes, known in checks:
        if target is None or minutes is None:
            continue
        measured = True
        due = known or add_business_time(ticket.created_at, target, sla.calendar)
        if ticket.created_at + timedelta(minutes=minutes) > due:
            return True
    return False if measured else None


# --- the process pool ---------------------------------------------------------------------


def _route(ticket: Ticket, workers: int) -> int:
    key = ticket.account.id if ticket.account is not None else ticket.requester.id
    return zlib.crc32(key.encode("utf-8", "replace")) % workers


def _worker_main(
    make_reader: Callable[[], _Reader], inbox: Any, outbox: Any, number: int
) -> None:
    try:
        reader = make_reader()
        # A worker is ours alone: what it has loaded lives as long as it does.
        settle()
        outbox.put(("ready", number, None))
        while True:
            job = inbox.get()
            if job is None:
                return
            batch_id, items = job
            out = [(seq, *reader.read(ticket)) for seq, ticket in items]
            outbox.put(("done", batch_id, out))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        outbox.put(("error", number, traceback.format_exc()))


def start_method() -> str:
    """``fork`` when this process runs no other thread and the platform forks, else ``spawn``."""
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return "fork"
    return "spawn"


class _Built:
    """The reader built in the parent before forking: each forked worker starts from it."""

    def __init__(self, reader: _Reader) -> None:
        self.reader = reader

    def __call__(self) -> _Reader:
        return self.reader


class _Pool:
    def __init__(
        self, matrices: tuple[Matrix, ...], *, topics: bool, sla: bool, workers: int
    ) -> None:
        self.method = start_method()
        context: Any = multiprocessing.get_context(self.method)
        make_reader: Callable[[], _Reader]
        if self.method == "fork":
            # Loaded once here; the workers share these pages until they write to them.
            make_reader = _Built(_Reader(matrices, topics=topics, sla=sla))
            # Out of the collector's sight before the fork, so no worker's collection walks
            # (and copies) the pages the loaded models share.
            settle()
        else:
            make_reader = partial(_Reader, matrices, topics=topics, sla=sla)
        self.results: Any = context.Queue()
        self.inboxes = [context.Queue() for _ in range(workers)]
        self.processes = [
            context.Process(target=_worker_main,
                            args=(make_reader, inbox, self.results, n),
                            daemon=True, name=f"escalade-audit-{n}")
            for n, inbox in enumerate(self.inboxes)
        ]
        for process in self.processes:
            process.start()

    def wait_ready(self) -> None:
        ready = 0
        while ready < len(self.processes):
            kind, _, payload = self._get(_WORKER_START_SECONDS)
            if kind == "error":
                raise RuntimeError(f"an audit worker failed to start:\n{payload}")
            ready += 1

    def _get(self, timeout: float) -> tuple[str, Any, Any]:
        deadline = time.monotonic() + timeout
        while True:
            try:
                item: tuple[str, Any, Any] = self.results.get(timeout=1.0)
                return item
            except queue.Empty:
                if any(not p.is_alive() for p in self.processes):
                    raise RuntimeError("an audit worker stopped unexpectedly") from None
                if time.monotonic() > deadline:
                    raise RuntimeError("the audit workers did not answer in time") from None

    def result(self) -> list[tuple[int, tuple[Reading, ...], TopicFeatures | None]]:
        kind, _, payload = self._get(_WORKER_START_SECONDS)
        if kind == "error":
            raise RuntimeError(f"an audit worker failed:\n{payload}")
        out: list[tuple[int, tuple[Reading, ...], TopicFeatures | None]] = payload
        return out

    def close(self) -> None:
        for inbox in self.inboxes:
            with contextlib.suppress(OSError, ValueError):
                inbox.put(None)
        for process in self.processes:
            process.join(timeout=10)
            if process.is_alive():
                process.terminate()
                process.join(timeout=5)
        for q in (*self.inboxes, self.results):
            q.close()
            q.join_thread()


def _pooled(
    tickets: Iterable[Ticket], matrices: tuple[Matrix, ...], *, topics: bool, sla: bool,
    workers: int,
) -> Iterator[Classified]:
    pool = _Pool(matrices, topics=topics, sla=sla, workers=workers)
    try:
        pool.wait_ready()
        waiting: dict[int, Ticket] = {}
        done: dict[int, tuple[tuple[Reading, ...], TopicFeatures | None]] = {}
        next_out = 0
        sent_batches = 0
        received_batches = 0
        round_size = _BATCH * workers
        source = iter(tickets)
        seq = 0
        finished = False
        while not finished or received_batches < sent_batches:
            if not finished and sent_batches - received_batches < _IN_FLIGHT_ROUNDS * workers:
                # Read one round, route it, send every worker its part (even a small one), so
                # no ticket waits behind a batch that never fills.
                parts: list[list[tuple[int, Ticket]]] = [[] for _ in range(workers)]
                for _ in range(round_size):
                    ticket = next(source, None)
                    if ticket is None:
                        finished = True
                        break
                    waiting[seq] = ticket
                    parts[_route(ticket, workers)].append((seq, ticket))
                    seq += 1
                for n, part in enumerate(parts):
                    if part:
                        pool.inboxes[n].put((sent_batches, part))
                        sent_batches += 1
                continue
            for item_seq, readings, features in pool.result():
                done[item_seq] = (readings, features)
            received_batches += 1
            while next_out in done:
                readings, features = done.pop(next_out)
                yield Classified(ticket=waiting.pop(next_out), readings=readings, topic=features)
                next_out += 1
    finally:
        pool.close()
