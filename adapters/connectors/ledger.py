"""What a chat connector keeps between calls, asked for through a small port.

A connector never opens the database. The Slack connector remembers which message belongs to
which escalation through an ``AlertLedger`` it is given (the app's is backed by the store; tests
may use an in-memory one), and a connector completing a payload asks a ``TicketFactsLookup``
for what is known around the ticket. Each ledger call is one unit of work of its own, so a
vendor call never runs while one is open.

An alert record with no ``ts`` is a claim: a worker is posting it right now. Claiming before
posting is what makes a post happen effectively once.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from integration.models import OutboxOutcome, TicketFacts

__all__ = [
    "KEEP",
    "AlertLedger",
    "Claim",
    "HeldAlerts",
    "Keep",
    "StoredAlert",
    "TicketFactsLookup",
]

class Keep(enum.Enum):
    """Leave a field as it is (``KEEP``), where None would clear it."""

    KEEP = "keep"


KEEP = Keep.KEEP


# Ticket key ("tenant:helpdesk:id") -> what is known around that ticket.
TicketFactsLookup = Callable[[str], TicketFacts]


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredAlert:
    """A detached copy of one escalation's alert record (``ts`` None: still a claim)."""

    id: int
    dedupe_key: str
    channel: str
    ts: str | None
    thread_ts: str | None
    payload: dict[str, Any]
    state: dict[str, Any]
    delivered: tuple[str, ...] = ()
    snooze_until: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Claim:
    """A reserved alert record: post it at top level, in a held summary's thread, or find it.

    ``find``: an earlier attempt may have posted it since ``since``; look before posting.
    With ``summary_id`` the alert is held by the rate limit and goes in the thread of the
    channel's summary (``summary_key``); ``new_summary`` when that summary is still to be
    posted (``find_summary``: or found, posted by an attempt whose answer was lost).
    """

    id: int
    channel: str
    since: datetime
    find: bool = False
    thread_ts: str | None = None
    summary_id: int | None = None
    summary_key: str | None = None
    new_summary: bool = False
    find_summary: bool = False
    summary_since: datetime | None = None
    frees_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class HeldAlerts:
    """The alerts a posted summary holds (payloads, oldest first) and when a slot frees."""

    payloads: tuple[dict[str, Any], ...]
    frees_at: str | None = None


class AlertLedger(Protocol):
    """One tenant's alert records: which chat message belongs to which escalation.

    Every method is its own unit of work. A method that finds the tenant removed raises
    ``FatalError``.
    """

    def alert(self, dedupe_key: str, *, or_ticket: str | None = None) -> StoredAlert | None:
        """The escalation's record (posted or claimed); with ``or_ticket``, when it has none,
        that ticket's newest posted alert."""

    def claim(
        self, *, dedupe_key: str, ticket_key: str, channel: str, payload: dict[str, Any],
        now: datetime, uncertain: bool, rate_limit: int, rate_window: timedelta,
        stale_after: timedelta,
    ) -> Claim:
        """Reserve the escalation's message before posting it, taking a posting slot of the
        channel in the same unit of work (held in the summary's thread when none is free).

        Raises ``RetriableError`` when another worker is posting it or just posted it. A
        claim left by an attempt whose outcome is unknown (``uncertain``, older than
        ``stale_after``, or marked unsure) is handed back with ``find`` set.
        """

    def mark_posted(self, record_id: int, *, channel: str, ts: str, fingerprint: str,
                    thread_ts: str | None, now: datetime) -> bool:
        """Record the ``ts`` the message got: the claim becomes the escalation's message.

        False when the claim vanished meanwhile.
        """

    def mark_unsure(self, record_id: int, *, since: datetime) -> None:
        """Note that a post of this claim may have landed since ``since``."""

    def release(self, record_ids: tuple[int, ...]) -> None:
        """Drop claims whose post was refused, so a retry can claim again."""

    def set_thread(self, record_id: int, thread_ts: str) -> None:
        """Note the thread a held alert goes to, once its summary is posted."""

    def remember_unsure_reply(self, record_id: int, key: str, *, keep: int) -> None:
        """Note a threaded reply whose post may have landed (the newest ``keep`` are kept)."""

    def save(self, record_id: int, *, state: dict[str, Any], now: datetime,
             payload: dict[str, Any] | None = None, delivered: str | None = None,
             snooze_until: datetime | None | Keep = KEEP) -> None:
        """Record what the message shows now: its state, and its payload, a payload hash
        just shown (``delivered``) and the snooze when given."""

    def held_alerts(self, summary_id: int) -> HeldAlerts | None:
        """What a posted summary of held alerts holds; None while it is not posted."""

    def outbox_outcome(self, idempotency_key: str) -> OutboxOutcome | None:
        """The outcome so far of the write queued under ``idempotency_key``."""
