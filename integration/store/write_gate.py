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
closes. A writer that waits longer than the busy timeout goes on without the gate and meets
SQLite's lock as before, so a leaked turn slows writers down but never stops them.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import weakref
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

__all__ = [
    "GatedConnection",
    "WriteGate",
    "after_execute",
    "before_execute",
    "gate_for",
    "is_write",
    "urgent",
]

_URGENT: ContextVar[bool] = ContextVar("escalade_urgent_write", default=False)
_WRITES = ("insert", "update", "delete", "replace", "begin immediate", "begin exclusive")


class WriteGate:
    """A queue for the write lock of one database file: urgent writers first."""

    def __init__(self, timeout: float) -> None:
        self.timeout = timeout
        self._cond = threading.Condition()
        self._held = False
        self._urgent_waiting = 0

    def enter(self) -> bool:
        """Wait for this thread's turn; False when it waited past the timeout (goes anyway)."""
        urgent = _URGENT.get()
        with self._cond:
            if urgent:
                self._urgent_waiting += 1
            try:
                ready = self._cond.wait_for(
                    lambda: not self._held and (urgent or not self._urgent_waiting),
                    self.timeout)
            finally:
                if urgent:
                    self._urgent_waiting -= 1
            if ready:
                self._held = True
            elif self._urgent_waiting == 0:
                self._cond.notify_all()  # a background writer may go, now no webhook waits
            return ready

    def leave(self) -> None:
        """Give the turn to the next writer."""
        with self._cond:
            self._held = False
            self._cond.notify_all()

    def _reset(self) -> None:
        # In a forked child no other thread exists: whatever the parent held is not held here.
        self._cond = threading.Condition()
        self._held = False
        self._urgent_waiting = 0


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
    holding = False

    def enter_gate(self) -> None:
        """Take this connection's turn before its first write of a transaction."""
        if self.gate is not None and not self.holding:
            self.holding = self.gate.enter()

    def leave_gate(self) -> None:
        """Give the turn back (idempotent)."""
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
    if isinstance(dbapi_connection, GatedConnection) and not dbapi_connection.holding \
            and is_write(statement):
        dbapi_connection.enter_gate()


def after_execute(dbapi_connection: Any) -> None:
    """Leave the gate when no transaction is open after a statement.

    ``ROLLBACK`` sent as SQL, or a write in autocommit mode: the lock is already free.
    """
    if isinstance(dbapi_connection, GatedConnection) and dbapi_connection.holding \
            and not dbapi_connection.in_transaction:
        dbapi_connection.leave_gate()
