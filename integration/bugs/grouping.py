"""Incremental grouping: each ticket joins the group of the same underlying problem, or starts one.

A ticket is compared only with the groups an inverted index names for its rarest terms and
its error keys (``integration.bugs.index``); every posting list and the candidate list are
capped, so an assignment costs about the same at the hundred-thousandth ticket as at the
tenth. Nothing is ever re-clustered: a group's representative is a running sum of its members'
term weights, pruned to its most distinctive terms.

How a ticket scores against a group:

* text: cosine of rarity-weighted (TF-IDF) term vectors, the ticket against the group's sum;
  rarity is counted among the tenant's own tickets, so a word every report of one product
  uses is common there however rare it is elsewhere;
* a shared *distinctive* error key (a stack frame, an error code, an uncommon exception,
  seen in few groups so far) adds ``key_bonus`` when the texts are not unrelated;
* a shared common key (HTTP 500, NullPointerException) adds a little;
* both sides naming errors, none in common, means two different failures that happen to be
  described alike ("urgent: error on the dashboard"): the text score is discounted;
* meaning: with ``use_embeddings``, the cosine of the ticket's sentence vector with the
  group's mean or closest recent member (``integration.bugs.semantic``), both measured from
  the tenant's mean vector and counted only above ``semantic_floor``, lifts the text score
  for paraphrases that share few words ("Remove S3Guard" / "Decommission S3Guard");
* the bigger a group, the higher the bar for a text-only match (``growth``);
* naming the same kind of failure as the group ("shown twice", "never arrives") adds
  ``failure_bonus``: reports that agree on the failure, not only on the feature, need fewer
  shared words.

Before a ticket joins its best group it is confirmed against the group's representatives
(its first member and the latest few): it must not contradict any of them on a specific anchor
(another error code or endpoint, another platform, another kind of failure; see
``integration.bugs.anchors``), and a match that rests on a shared error code must hold without
the code's own words, because one code is often raised by different causes. A match resting
on two or three shared words (the name of a feature: "mileage claims") needs the meanings to
agree or the words to be close, because another failure of that feature shares those words
too. A refused group leaves the next best to try; with none left the ticket starts a group and
says what set it apart from the closest one. A missed merge costs a duplicate bug; a wrong one
hides a problem.

Candidates come from the inverted indexes and, with embeddings, from LSH buckets of the
members' vectors; both are capped.

Groups never span tenants; they do span the tenant's helpdesks.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Set
from dataclasses import dataclass, replace

import numpy

from integration.bugs.anchors import FAILURE_WORDS, Anchors, conflict
from integration.bugs.index import Index
from integration.bugs.semantic import Encoder, LshIndex, best_cosines, default_encoder
from integration.bugs.signature import Signature, signature, terms_of
from integration.models import Ticket

__all__ = ["Assignment", "BugGrouper", "GrouperStats", "GroupingSettings"]

# Tickets of a tenant seen before their mean vector is trusted for centring.
_CENTRE_AFTER = 50


def _terms(words: Set[str]) -> frozenset[str]:
    """The terms the grouper reads from ``words``."""
    found: dict[str, float] = {}
    terms_of(" ".join(sorted(words)), 1.0, found)
    return frozenset(found)


# The terms of the words that name a kind of failure ("missing" -> "miss"): shared, they say
# how something fails, not what fails.
_FAILURE_TERMS = _terms(FAILURE_WORDS)

# Exceptions and statuses so common that sharing one says little about which bug it is.
_COMMON_KEYS = frozenset(
    "exc:" + name
    for name in (
        "nullpointerexception", "illegalargumentexception", "illegalstateexception",
        "ioexception", "runtimeexception", "timeoutexception", "interruptedexception",
        "unsupportedoperationexception", "filenotfoundexception", "classcastexception",
        "indexoutofboundsexception", "arrayindexoutofboundsexception", "assertionerror",
        "typeerror", "valueerror", "keyerror", "attributeerror", "socketexception",
        "connectexception", "sockettimeoutexception", "outofmemoryerror",
        "classnotfoundexception", "noclassdeffounderror", "executionexception",
        "accesscontrolexception", "securityexception", "remoteexception",
    )
)


@dataclass(frozen=True, kw_only=True, slots=True)
class GroupingSettings:
    """Thresholds and caps; defaults chosen on the development fixtures and gitbugs train."""

    # A ticket joins its best group at or above this score, else starts a new one.
    threshold: float = 0.42
    # With a shared distinctive error key, the texts must still overlap this much.
    key_min_text: float = 0.05
    key_bonus: float = 0.45
    common_key_bonus: float = 0.05
    conflict_factor: float = 0.6
    # A key already seen in more groups than this is no longer distinctive.
    key_groups: int = 3
    # Rarest terms of a ticket looked up in the index, and terms it adds to the index.
    query_terms: int = 12
    index_terms: int = 16
    # Groups remembered per term or key (most recently touched), and groups scored per ticket.
    posting_cap: int = 32
    max_candidates: int = 20
    # Terms of a ticket that take part in scoring, and terms kept per group representative.
    ticket_terms: int = 60
    group_terms: int = 64
    # The text score mixes similarity to the group's summed terms with similarity to its
    # closest recent member (``exemplar_mix`` of it): the sum alone drifts towards a topic
    # ("upgrade a dependency") and then absorbs every ticket about that topic.
    exemplars: int = 4
    exemplar_terms: int = 24
    exemplar_mix: float = 0.5
    # Each doubling of a group raises the bar to join it by this much (up to ``max_threshold``)
    # for text-only matches: a wrong merge into a big group costs many wrong pairs.
    growth: float = 0.1
    max_threshold: float = 0.6
    # Sentence embeddings: a cosine (from the tenant's mean) at ``semantic_floor`` counts 0, at
    # 1.0 counts 1; the text score becomes the higher of itself and its mix with that
    # (``semantic_weight`` of it), so meaning can lift a match but never sink one.
    use_embeddings: bool = True
    semantic_floor: float = 0.5
    semantic_weight: float = 0.5
    # Latest members' vectors kept per group besides their mean (memory: 1 KB each).
    semantic_exemplars: int = 2
    # LSH: tables of ``lsh_bits`` hyperplanes, each bucket holding its ``lsh_bucket_cap`` most
    # recent groups; ``lsh_candidates`` groups taken from them per ticket, on top of the
    # ``max_candidates`` from the inverted indexes. Few bits: a paraphrase is not that close.
    lsh_tables: int = 8
    lsh_bits: int = 8
    lsh_bucket_cap: int = 8
    lsh_candidates: int = 5
    # Confirmation: a ticket joins a group only if it contradicts none of the group's
    # ``representatives`` (its first member and latest ones) on a specific anchor: another
    # error code or endpoint, another platform, another kind of failure
    # (``integration.bugs.anchors``). A refused group leaves the next best one to try.
    confirm: bool = True
    representatives: int = 4
    # A match that shares an error code must still reach the threshold without the code's own
    # terms, and the rest of its words must score at least ``code_min_rest``.
    code_min_rest: float = 0.45
    # Added to a text match when the ticket names the same kind of failure (a crash, a
    # duplicate, something missing) as one of the group's representatives.
    failure_bonus: float = 0.1
    # A thin match: the ticket shares at most ``thin_terms`` words with the group (an error
    # code's own words not counted). Two or three shared words are usually the feature's name
    # ("mileage claims", "intake form"), which a different failure of that feature shares too;
    # such a match needs the same kind of failure named on both sides, its meaning to agree
    # (``thin_meaning``) or its words to be very close (``thin_words``; short reports sharing
    # three words reach 0.6 easily).
    thin_terms: int = 3
    thin_meaning: float = 0.4
    thin_words: float = 0.7


@dataclass(frozen=True, kw_only=True, slots=True)
class Assignment:
    """Where a ticket went: the group, whether it is new, the score and why."""

    group_id: str
    is_new: bool
    score: float
    matched_on: str


@dataclass(frozen=True, kw_only=True, slots=True)
class GrouperStats:
    """Counters for benchmarks and tests: how much work assignments did."""

    tickets: int
    groups: int
    candidates_examined: int
    max_candidates_per_add: int
    last_candidates: int
    # Of those, the most that came from the LSH buckets alone for one ticket.
    max_nearest_per_add: int = 0


class _Group:
    """One group's running representative."""

    __slots__ = ("anchors", "centroid", "errors", "exemplars", "id", "members", "norm", "tenant",
                 "terms", "vectors")

    def __init__(self, group_id: str, tenant: str) -> None:
        self.id = group_id
        self.tenant = tenant
        self.terms: dict[str, float] = {}
        self.errors: dict[str, int] = {}
        self.members: list[str] = []
        self.norm = 0.0
        # The latest few members' rarity-weighted vectors with their norms.
        self.exemplars: list[tuple[dict[str, float], float]] = []
        # Sum of the members' sentence vectors; the mean and latest members' vectors as the
        # rows of one matrix, with their squared lengths (None without embeddings).
        self.centroid: numpy.ndarray | None = None
        self.vectors: tuple[numpy.ndarray, numpy.ndarray] | None = None
        # The anchors of the first member and the latest few, which a newcomer must not
        # contradict.
        self.anchors: list[Anchors] = []


@dataclass(frozen=True, kw_only=True, slots=True)
class _Sense:
    raw: numpy.ndarray
    unit: numpy.ndarray
    mean: numpy.ndarray
    codes: tuple[str, ...]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Ticket:
    """What confirmation needs of the ticket being assigned."""

    vector: dict[str, float]
    norm: float
    tidf: dict[str, float]
    anchors: Anchors
    # Its terms that spell an error code ("bnk-417", "bnk").
    codes: frozenset[str]


@dataclass(frozen=True, kw_only=True, slots=True)
class _Scored:
    score: float
    text: float
    key: str | None
    strong: bool
    shared: Set[str]
    # The text score before meaning lifted it, and the rescaled cosine that did.
    words: float = 0.0
    meaning: float = 0.0
    # Whether the ticket names the same kind of failure as one of the group's members.
    failure: bool = False


class BugGrouper:
    """Assigns tickets to problem groups one at a time, in arrival order (mutable, in memory)."""

    def __init__(
        self, settings: GroupingSettings | None = None, *, encoder: Encoder | None = None
    ) -> None:
        self.settings = settings or GroupingSettings()
        s = self.settings
        # The shipped model unless a test or caller injects another text -> unit vector.
        self._encode: Encoder | None = None
        self._lsh: LshIndex | None = None
        self._means: dict[str, tuple[numpy.ndarray | None, int]] = {}
        if s.use_embeddings:
            self._encode = encoder or default_encoder()
            dim = int(self._encode("").shape[0])
            self._lsh = LshIndex(dim=dim, tables=s.lsh_tables, bits=s.lsh_bits,
                                 cap=s.lsh_bucket_cap)
        self._groups: list[_Group] = []
        self._by_ticket: dict[str, Assignment] = {}
        # Per tenant: how many of its tickets name each term, and its tickets. A word every
        # report of one product uses ("driver", "rota") is common there however rare it is in
        # the other tenants' reports.
        self._df: dict[str, dict[str, int]] = {}
        self._tenant_docs: dict[str, int] = {}
        self._docs = 0
        self._terms = Index(cap=self.settings.posting_cap)
        self._keys = Index(cap=self.settings.posting_cap)
        self._examined = 0
        self._max_examined = 0
        self._last_examined = 0
        self._max_nearest = 0

    # --- public ------------------------------------------------------------------------

    def add(self, ticket: Ticket) -> Assignment:
        """Assign one ticket; a ticket seen before keeps its group."""
        seen = self._by_ticket.get(ticket.key)
        if seen is not None:
            return Assignment(group_id=seen.group_id, is_new=False, score=seen.score,
                              matched_on="already grouped")
        return self.add_signature(ticket.key, ticket.tenant, signature(ticket))

    def add_signature(self, key: str, tenant: str, sig: Signature) -> Assignment:
        """Assign a ticket already read into a ``Signature`` (``key`` unique per ticket)."""
        s = self.settings
        idf = self._idf(tenant)
        weighted = sorted(
            ((t, w * idf(t)) for t, w in sig.terms.items()), key=lambda kv: (-kv[1], kv[0])
        )[: s.ticket_terms]
        vector = dict(weighted)
        tidf = {t: idf(t) for t in vector}
        norm = math.sqrt(sum(v * v for v in vector.values())) or 1.0
        meaning = self._meaning(tenant, sig.text)
        candidates = self._candidates(tenant, sig, weighted,
                                      meaning.codes if meaning is not None else ())
        self._last_examined = len(candidates)
        self._examined += len(candidates)
        self._max_examined = max(self._max_examined, len(candidates))
        cosines = self._cosines(meaning, candidates)
        ranked = sorted(
            ((self._agreed(self._score(vector, norm, tidf, sig.errors, group, cosine),
                           sig.anchors, group), group)
             for group, cosine in zip(candidates, cosines, strict=True)),
            # Best score first; among equals the older group.
            key=lambda pair: (-pair[0].score, int(pair[1].id[1:])),
        )
        found, refused = self._confirmed(ranked, _Ticket(
            vector=vector, norm=norm, tidf=tidf, anchors=sig.anchors,
            codes=_code_terms(sig.anchors, vector)))
        if found is not None:
            scored, group = found
            assignment = Assignment(group_id=group.id, is_new=False,
                                    score=round(scored.score, 3),
                                    matched_on=self._reason(scored, vector))
        else:
            group = _Group(f"g{len(self._groups) + 1}", tenant)
            self._groups.append(group)
            best = ranked[0][0].score if ranked else None
            assignment = Assignment(group_id=group.id, is_new=True,
                                    score=round(best, 3) if best is not None else 0.0,
                                    matched_on=_new_reason(best, refused))
        self._join(group, key, sig, weighted, meaning)
        self._by_ticket[key] = assignment
        return assignment

    def group_of(self, ticket_key: str) -> str | None:
        """The group id of a ticket (by ``Ticket.key``), or None if it was never added."""
        found = self._by_ticket.get(ticket_key)
        return found.group_id if found is not None else None

    def members(self, group_id: str) -> tuple[str, ...]:
        """Ticket keys of a group, in arrival order."""
        index = int(group_id[1:]) - 1
        if not group_id.startswith("g") or not 0 <= index < len(self._groups):
            raise KeyError(group_id)
        return tuple(self._groups[index].members)

    def groups(self) -> dict[str, tuple[str, ...]]:
        """Every group id with its ticket keys, in creation order."""
        return {g.id: tuple(g.members) for g in self._groups}

    @property
    def stats(self) -> GrouperStats:
        """Tickets and groups so far, and how many candidate groups assignments scored."""
        return GrouperStats(
            tickets=self._docs,
            groups=len(self._groups),
            candidates_examined=self._examined,
            max_candidates_per_add=self._max_examined,
            last_candidates=self._last_examined,
            max_nearest_per_add=self._max_nearest,
        )

    # --- internals -----------------------------------------------------------------------

    def _idf(self, tenant: str) -> Callable[[str], float]:
        """Rarity of a term among the tenant's tickets so far."""
        docs = self._tenant_docs.get(tenant, 0) + 1
        df = self._df.get(tenant, {})
        return lambda term: math.log(docs / (df.get(term, 0) + 1)) + 1.0

    def _meaning(self, tenant: str, text: str) -> _Sense | None:
        """The ticket's sentence vector, centred on the tenant's mean, and its LSH codes."""
        if self._encode is None or self._lsh is None or not text:
            return None
        raw = self._encode(text)
        total, count = self._means.get(tenant, (None, 0))
        # Every report of one product sits in the same narrow cone; measured from the
        # product's mean, the cosine tells its reports apart better.
        if total is not None and count >= _CENTRE_AFTER:
            mean = total / count
        else:
            mean = numpy.zeros_like(raw)
        centred = raw - mean
        length = float(numpy.linalg.norm(centred))
        if not length > 0.0:
            return None
        unit = centred / length
        return _Sense(raw=raw, unit=unit, mean=mean, codes=self._lsh.codes(unit))

    def _cosines(self, meaning: _Sense | None, groups: list[_Group]) -> list[float | None]:
        """Per group, the best cosine of the ticket with its mean or recent members."""
        out: list[float | None] = [None] * len(groups)
        held = [(n, g.vectors) for n, g in enumerate(groups) if g.vectors is not None]
        if meaning is None or not held:
            return out
        found = best_cosines([v for _, v in held], unit=meaning.unit, mean=meaning.mean)
        for (n, _), value in zip(held, found, strict=True):
            out[n] = value
        return out

    def _candidates(
        self, tenant: str, sig: Signature, weighted: list[tuple[str, float]],
        codes: tuple[str, ...] = (),
    ) -> list[_Group]:
        s = self.settings
        votes: dict[int, float] = {}
        for error in sig.errors:
            for gid in self._keys.get(tenant, error):
                votes[gid] = votes.get(gid, 0.0) + 10.0
        for term, weight in weighted[: s.query_terms]:
            for gid in self._terms.get(tenant, term):
                votes[gid] = votes.get(gid, 0.0) + weight
        # Most votes first; among equals the most recent group, which is likeliest still live.
        ranked = sorted(votes.items(), key=lambda kv: (-kv[1], -kv[0]))[: s.max_candidates]
        chosen = [gid for gid, _ in ranked]
        if codes and self._lsh is not None:
            taken = set(chosen)
            near = self._lsh.lookup(tenant, codes, s.lsh_candidates + len(taken))
            extra = [gid for gid in near if gid not in taken][: s.lsh_candidates]
            self._max_nearest = max(self._max_nearest, len(extra))
            chosen.extend(extra)
        return [self._groups[gid] for gid in chosen]

    def _score(
        self,
        vector: dict[str, float],
        norm: float,
        tidf: dict[str, float],
        errors: tuple[str, ...],
        group: _Group,
        cosine: float | None = None,
    ) -> _Scored:
        s = self.settings
        shared = vector.keys() & group.terms.keys()
        text = self._words(vector, norm, tidf, group, shared)
        words, lifted = text, 0.0
        if cosine is not None:
            lifted = max(0.0, (cosine - s.semantic_floor) / (1.0 - s.semantic_floor))
            # Only ever raises the score: words that match are evidence enough on their own.
            text = max(text, (1.0 - s.semantic_weight) * text + s.semantic_weight * lifted)
        common = [k for k in errors if k in group.errors]
        strong = [k for k in common if self._distinctive(k, group.tenant)]
        if strong and text >= s.key_min_text:
            return _Scored(score=min(1.0, text + s.key_bonus), text=text, key=strong[0],
                           strong=True, shared=shared, words=words,
                           meaning=lifted)
        score = text
        if s.growth > 0.0 and len(group.members) > 1:
            bar = min(s.max_threshold, s.threshold + s.growth * math.log2(len(group.members)))
            score -= bar - s.threshold
        if common:
            score += s.common_key_bonus
        elif errors and group.errors:
            score *= s.conflict_factor
        return _Scored(score=min(1.0, max(0.0, score)), text=text,
                       key=common[0] if common else None, strong=False, shared=shared,
                       words=words, meaning=lifted)

    def _words(
        self, vector: dict[str, float], norm: float, tidf: dict[str, float], group: _Group,
        shared: Set[str], skip: Set[str] = frozenset(),
    ) -> float:
        """Word similarity of the ticket with the group's sum and its closest recent member."""
        s = self.settings
        terms = group.terms
        # Intersecting key views runs in C; only shared terms reach the Python loop.
        dot = sum(vector[t] * terms[t] * tidf[t] for t in (shared - skip if skip else shared))
        text = dot / (norm * group.norm) if group.norm else 0.0
        if s.exemplar_mix > 0.0 and group.exemplars:
            near = 0.0
            for ex, ex_norm in group.exemplars:
                both = vector.keys() & ex.keys()
                if skip:
                    both -= skip
                if both:
                    near = max(near, sum(vector[t] * ex[t] for t in both) / (norm * ex_norm))
            text = (1.0 - s.exemplar_mix) * text + s.exemplar_mix * near
        return text

    def _agreed(self, scored: _Scored, anchors: Anchors, group: _Group) -> _Scored:
        """The score raised when the ticket names the same kind of failure as the group."""
        bonus = self.settings.failure_bonus
        if not bonus or not anchors.symptoms or scored.strong:
            return scored
        if not any(anchors.symptoms & other.symptoms for other in group.anchors):
            return scored
        return replace(scored, score=min(1.0, scored.score + bonus), failure=True)

    def _confirmed(self, ranked: list[tuple[_Scored, _Group]], ticket: _Ticket
                   ) -> tuple[tuple[_Scored, _Group] | None, str | None]:
        """The best group above the threshold that the ticket does not contradict, and why not."""
        refused: str | None = None
        for scored, group in ranked:
            if scored.score < self.settings.threshold:
                break
            why = self._contradiction(ticket, scored, group) if self.settings.confirm else None
            if why is None:
                return (scored, group), refused
            refused = refused or why
        return None, refused

    def _contradiction(self, ticket: _Ticket, scored: _Scored, group: _Group) -> str | None:
        for other in group.anchors:
            why = conflict(ticket.anchors, other)
            if why is not None:
                return why
        codes = ticket.codes & scored.shared
        thin = self._thin(ticket, scored, group, codes)
        if thin is not None:
            return thin
        if not codes:
            return None
        # The same code is not the same cause ("ERR_IMPORT_113" for new SKUs and for SKUs
        # that lost their leading zeros): what the reports say besides it must match too.
        s = self.settings
        rest = self._words(ticket.vector, ticket.norm, ticket.tidf, group, scored.shared, codes)
        if scored.meaning:
            rest = max(rest, (1.0 - s.semantic_weight) * rest + s.semantic_weight * scored.meaning)
        # Nor does naming the same kind of failure count here: a code names one already.
        plain = scored.score - (s.failure_bonus if scored.failure else 0.0)
        if plain - (scored.text - rest) >= s.threshold and rest >= s.code_min_rest:
            return None
        return f"shares only the code {max(sorted(codes), key=len)} (rest {rest:.2f})"

    def _thin(self, ticket: _Ticket, scored: _Scored, group: _Group, codes: Set[str]
              ) -> str | None:
        """Why a match resting on a few shared words is not enough (None: it is)."""
        s = self.settings
        words = scored.shared - codes if codes else scored.shared
        if len(words) > s.thin_terms or scored.meaning >= s.thin_meaning:
            return None
        # The feature's name and the kind of failure both agree: what a duplicate looks like.
        if scored.failure and len(words - _FAILURE_TERMS) >= 2:
            return None
        close = scored.words
        if codes:
            close = self._words(ticket.vector, ticket.norm, ticket.tidf, group, scored.shared,
                                codes)
        if close >= s.thin_words:
            return None
        listed = ", ".join(sorted(words, key=lambda t: (-ticket.vector[t], t))) or "nothing"
        return f"shares only a few words ({listed})"

    def _reason(self, scored: _Scored, vector: dict[str, float]) -> str:
        if scored.strong:
            return f"error key {scored.key} (text {scored.text:.2f})"
        top = sorted(scored.shared, key=lambda t: (-vector[t], t))[:3]
        key_note = f"; error key {scored.key}" if scored.key else ""
        # Meaning is named only when the words alone would not have been enough.
        if scored.text > scored.words and scored.words < self.settings.threshold:
            listed = f": words {', '.join(top)}" if top else ""
            return (f"similar meaning ({scored.meaning:.2f}; text {scored.words:.2f}{listed})"
                    f"{key_note}")
        return f"similar text: words {', '.join(top)} ({scored.text:.2f}){key_note}"

    def _distinctive(self, key: str, tenant: str) -> bool:
        if key in _COMMON_KEYS or key.startswith("http_"):
            return False
        return self._keys.count(tenant, key) <= self.settings.key_groups

    def _join(
        self,
        group: _Group,
        key: str,
        sig: Signature,
        weighted: list[tuple[str, float]],
        meaning: _Sense | None = None,
    ) -> None:
        s = self.settings
        gid = int(group.id[1:]) - 1
        group.members.append(key)
        self._docs += 1
        self._tenant_docs[group.tenant] = self._tenant_docs.get(group.tenant, 0) + 1
        df = self._df.setdefault(group.tenant, {})
        for term in sig.terms:
            df[term] = df.get(term, 0) + 1
        terms = group.terms
        # Only the terms that took part in scoring: a one-ticket group then scores its own
        # ticket at 1.0.
        for term, _ in weighted:
            terms[term] = terms.get(term, 0.0) + sig.terms[term]
        idf = self._idf(group.tenant)
        if len(terms) > 2 * s.group_terms:
            kept = sorted(terms.items(), key=lambda kv: (-kv[1] * idf(kv[0]), kv[0]))
            group.terms = terms = dict(kept[: s.group_terms])
        group.norm = math.sqrt(sum((w * idf(t)) ** 2 for t, w in terms.items()))
        if s.exemplars > 0:
            ex = dict(weighted[: s.exemplar_terms])
            group.exemplars.append((ex, math.sqrt(sum(v * v for v in ex.values())) or 1.0))
            if len(group.exemplars) > s.exemplars:
                del group.exemplars[0]
        if s.representatives > 0:
            group.anchors.append(sig.anchors)
            if len(group.anchors) > s.representatives:
                del group.anchors[1]
        for error in sig.errors:
            group.errors[error] = group.errors.get(error, 0) + 1
            self._keys.touch(group.tenant, error, gid)
        for term, _ in weighted[: s.index_terms]:
            self._terms.touch(group.tenant, term, gid)
        if meaning is not None and self._lsh is not None:
            self._join_meaning(group, meaning)
            self._lsh.add(group.tenant, meaning.codes, gid)

    def _join_meaning(self, group: _Group, meaning: _Sense) -> None:
        raw = meaning.raw
        total, count = self._means.get(group.tenant, (None, 0))
        self._means[group.tenant] = (raw.copy() if total is None else total + raw, count + 1)
        # Raw vectors are kept and centred when scored: the tenant's mean still moves.
        centroid = raw.copy() if group.centroid is None else group.centroid + raw
        group.centroid = centroid
        recent = [] if group.vectors is None else list(group.vectors[0][1:])
        recent = [*recent, raw][-max(1, self.settings.semantic_exemplars):]
        rows = numpy.stack([centroid / len(group.members), *recent])
        group.vectors = (rows, numpy.einsum("ij,ij->i", rows, rows))


def _new_reason(best: float | None, refused: str | None) -> str:
    if refused is not None:
        return f"new group: the closest group differs: {refused}"
    near = f" (best {best:.2f})" if best is not None else ""
    return f"new group: nothing similar enough{near}"


def _code_terms(anchors: Anchors, vector: dict[str, float]) -> frozenset[str]:
    """The ticket's terms that spell one of its error codes: the whole code and its prefix."""
    out: set[str] = set()
    for code in anchors.codes:
        kind, _, body = code.partition(":")
        if kind != "code":
            continue
        for term in (body, body.replace("-", "_"), body.replace("_", "-"),
                     body.replace("-", "_").split("_")[0]):
            if term in vector:
                out.add(term)
    return frozenset(out)
