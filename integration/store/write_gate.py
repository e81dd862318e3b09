"""One SQLite writer at a time in this process, queued, with webhooks first.

SQLite lets one connection write at a time. A connection that finds the write lock taken
sleeps and tries again (after 1, 2, 5, 10, 15 ms and longer), so a webhook that arrives while
a decision is being written waits out those sleeps after the lock is free, and an unlucky one
loses the lock again to the next background write. In this process, writers queue here
instead: the next goes the moment the last one commits, and a webhook storing its event
(``urgent``) goes before every waiting background write. Writers in other processes (a
separate ``escalade work``) still meet SQLite's own lock, as before.

A connection enters the gate at its first writing statement (that is when SQLite takes the
lock: the driver begins the transaction there) and leaves it when it commits, rolls back or
closes. Webhooks go first, but a background writer that has waited ``BACKGROUND_PATIENCE``
goes before them, so a steady stream of webhooks never starves the decisions. A writer that
waits longer than the busy timeout goes on without the gate for the rest of its transaction
and meets SQLite's lock as before, so a leaked turn slows writers down but never stops them.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading
import time
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "BACKGROUND_PATIENCE",
    "GatedConnection",
    "WriteGate",
    "after_execute",
    "before_execute",
    "gate_for",
    "is_write",
    "urgent",
]

log = logging.getLogger(__name__)

_URGENT: ContextVar[bool] = ContextVar("escalade_urgent_write", default=False)
# How long a background writer waits behind webhooks before it goes first: a steady stream
# of webhooks holds decisions back at most this long per write (a burst is acknowledged
# first, decided after), never starves them.
BACKGROUND_PATIENCE = 2.0
_WRITES = ("insert", "update", "delete", "replace", "begin immediate", "begin exclusive")


class WriteGate:
    """A queue for the write lock of one database file: urgent writers first (mostly).

    Leaving wakes one waiter (an urgent one when there is one), not all of them: under a
    burst, every woken thread needs the interpreter before it can look, and a herd of them
    slows each hand-over. A writer that arrives while the gate is free takes it at once.
    """

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._reset()

    def enter(self) -> bool:
        """Wait for this thread's turn; False when it waited past the timeout (goes anyway)."""
        urgent = _URGENT.get()
        with self._lock:
            if self._free_for(urgent):
                self._take()
                return True
            now = time.monotonic()
            deadline, patient_until = now + self.timeout, now + BACKGROUND_PATIENCE
            overdue = False
            waiting = self._urgent if urgent else self._background
            self._waiting[urgent] += 1
            try:
                while not self._free_for(urgent):
                    now = time.monotonic()
                    if not urgent and not overdue and now >= patient_until:
                        overdue = True  # webhooks now wait for this one
                        self._overdue += 1
                    if now >= deadline:
                        log.warning("waited %.1f s for the database's write lock, held by "
                                    "thread %s for %.1f s; going on without the queue",
                                    self.timeout, self._holder, now - self._since)
                        return False
                    wake_at = deadline if urgent or overdue else min(deadline, patient_until)
                    waiting.wait(wake_at - now)
                self._take()
                return True
            finally:
                self._waiting[urgent] -= 1
                self._overdue -= overdue
                if not self._held:
                    self._wake_one()  # gave up: the turn it may have been woken for passes on

    def leave(self) -> None:
        """Give the turn to the next writer."""
        with self._lock:
            self._held = False
            self._wake_one()

    def _take(self) -> None:
        self._held = True
        self._holder, self._since = threading.current_thread().name, time.monotonic()

    def _free_for(self, urgent: bool) -> bool:
        if self._held:
            return False
        # Webhooks first, except before a background writer that has waited its patience.
        return not self._overdue if urgent else not self._waiting[True] or self._overdue > 0

    def _wake_one(self) -> None:
        if self._waiting[True] and not self._overdue:
            self._urgent.notify()
        elif self._waiting[False]:
            self._background.notify()

    def _reset(self) -> None:
        # Also after a fork: in the child no other thread exists, whatever the parent held.
        self._lock = threading.Lock()
        self._urgent = threading.Condition(self._lock)
        self._background = threading.Condition(self._lock)
        self._held = False
        self._waiting = {True: 0, False: 0}
        self._overdue = 0  # background writers past their patience, waiting
        self._holder, self._since = "", 0.0


_GATES: dict[str, WriteGate] = {}
_GATES_LOCK = threading.Lock()
_ALL: weakref.WeakSet[WriteGate] = weakref.WeakSet()


def gate_for(database: str, timeout: float) -> WriteGate:
    """The gate of a database file (one per file and process, shared by its engines)."""
    key = os.path.realpath(database)
    with _GATES_LOCK:
        gate = _GATES.get(key)
        if gate is None:
            gate = _GATES[key] = WriteGate(timeout)
            _ALL.add(gate)
        return gate


def _reset_after_fork() -> None:
    global _GATES_LOCK
    _GATES_LOCK = threading.Lock()
    for gate in list(_ALL):
        gate._reset()


os.register_at_fork(after_in_child=_reset_after_fork)


@contextmanager
def urgent() -> Iterator[None]:
    """Writes in this block go before waiting background writes (a webhook's store)."""
    token = _URGENT.set(True)
    try:
        yield
    finally:
        _URGENT.reset(token)


def is_write(statement: str) -> bool:
    """True for a statement that takes SQLite's write lock (the driver begins there)."""
    return statement.lstrip()[:16].lower().startswith(_WRITES)


class GatedConnection(sqlite3.Connection):
    """A sqlite3 connection that leaves its gate when its transaction ends."""

    gate: WriteGate | None = None
    # True from the transaction's first write to its end: with the turn (``holding``), or
    # around the gate after waiting too long, when a second write must not queue again
    # behind writers that wait for this transaction's lock.
    writing = False
    holding = False

    def enter_gate(self) -> None:
        """Take this connection's turn before its first write of a transaction."""
        if self.gate is not None and not self.writing:
            self.writing = True
            self.holding = self.gate.enter()

    def leave_gate(self) -> None:
        """Give the turn back when the transaction ends (idempotent)."""
        self.writing = False
        if self.holding:
            self.holding = False
            assert self.gate is not None
            self.gate.leave()

    def commit(self) -> None:
        """Commit, then let the next writer go."""
        try:
            super().commit()
        finally:
            self.leave_gate()

    def rollback(self) -> None:
        """Roll back, then let the next writer go."""
        try:
            super().rollback()
        finally:
            self.leave_gate()

    def close(self) -> None:
        """Close; a turn still held is given back."""
        try:
            super().close()
        finally:
            self.leave_gate()


def before_execute(dbapi_connection: Any, statement: str) -> None:
    """Enter the gate when ``statement`` is the transaction's first write."""
    if isinstance(dbapi_connection, GatedConnection) and not dbapi_connection.writing \
            and is_write(statement):
        dbapi_connection.enter_gate()


def after_execute(dbapi_connection: Any) -> None:
    """Leave the gate when no transaction is open after a statement.

    ``ROLLBACK`` sent as SQL, or a write in autocommit mode: the lock is already free.
    """
    if isinstance(dbapi_connection, GatedConnection) and dbapi_connection.writing \
            and not dbapi_connection.in_transaction:
        dbapi_connection.leave_gate()
