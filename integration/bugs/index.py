"""A capped inverted index: term or error key to the groups that most recently used it."""

from __future__ import annotations

__all__ = ["Index"]


class Index:
    """Posting lists of group numbers per (tenant, term), each capped to the most recent.

    A posting is an insertion-ordered dict used as an ordered set: touching a group moves it
    to the end, and past the cap the least recently touched group drops out, so a lookup
    costs at most ``cap`` however many groups share a common term.
    """

    __slots__ = ("_cap", "_postings")

    def __init__(self, *, cap: int) -> None:
        if cap < 1:
            raise ValueError("cap must be at least 1")
        self._cap = cap
        self._postings: dict[tuple[str, str], dict[int, None]] = {}

    def get(self, tenant: str, term: str) -> tuple[int, ...]:
        """The groups of a term, least recently touched first (at most ``cap``)."""
        found = self._postings.get((tenant, term))
        return tuple(found) if found else ()

    def count(self, tenant: str, term: str) -> int:
        """How many groups the posting holds (at most ``cap``)."""
        found = self._postings.get((tenant, term))
        return len(found) if found else 0

    def touch(self, tenant: str, term: str, group: int) -> None:
        """Record that ``group`` uses ``term`` now."""
        posting = self._postings.get((tenant, term))
        if posting is None:
            self._postings[(tenant, term)] = {group: None}
            return
        if group in posting:
            del posting[group]
        posting[group] = None
        if len(posting) > self._cap:
            del posting[next(iter(posting))]

    def __len__(self) -> int:
        return len(self._postings)
