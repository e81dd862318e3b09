"""SQLite writers of one process queue at one gate per file, webhooks first."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import Engine, text

from integration.store.db import make_engine
from integration.store.write_gate import (
    GatedConnection,
    WriteGate,
    gate_for,
    is_write,
    urgent,
)


def _engine(tmp_path: Path) -> Engine:
    engine = make_engine(f"sqlite:///{tmp_path}/gate.db", timeout=2)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (n INTEGER)"))
    return engine


def _gate(tmp_path: Path) -> WriteGate:
    return gate_for(str(tmp_path / "gate.db"), 2)


def test_the_first_write_takes_the_turn_and_the_commit_gives_it_back(tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    gate = _gate(tmp_path)
    with engine.connect() as c:
        c.execute(text("SELECT count(*) FROM t"))
        assert not gate._held  # reading takes no turn
        c.execute(text("INSERT INTO t VALUES (1)"))
        assert gate._held
        c.execute(text("INSERT INTO t VALUES (2)"))  # the same transaction: the same turn
        c.commit()
        assert not gate._held
        c.execute(text("UPDATE t SET n = 3"))
        assert gate._held
        c.rollback()
        assert not gate._held
    engine.dispose()


def test_a_rollback_sent_as_sql_or_an_autocommit_write_gives_the_turn_back(
        tmp_path: Path) -> None:
    engine = _engine(tmp_path)
    gate = _gate(tmp_path)
    with engine.connect() as c:
        c.exec_driver_sql("BEGIN IMMEDIATE")
        assert gate._held
        c.exec_driver_sql("ROLLBACK")
        assert not gate._held
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as c:
        c.execute(text("INSERT INTO t VALUES (1)"))
        assert not gate._held
    engine.dispose()


def test_engines_on_one_file_share_its_gate(tmp_path: Path) -> None:
    first, second = _engine(tmp_path), make_engine(f"sqlite:///{tmp_path}/gate.db", timeout=2)
    with first.connect() as c:
        c.execute(text("INSERT INTO t VALUES (1)"))
        with second.connect() as raw:
            assert isinstance(raw.connection.dbapi_connection, GatedConnection)
            assert raw.connection.dbapi_connection.gate is _gate(tmp_path)
        c.commit()
    first.dispose()
    second.dispose()


def test_a_waiting_webhook_goes_before_waiting_background_writes() -> None:
    gate = WriteGate(timeout=5)
    assert gate.enter()
    order: list[str] = []

    def background() -> None:
        assert gate.enter()
        order.append("background")
        gate.leave()

    def webhook() -> None:
        with urgent():
            assert gate.enter()
        order.append("webhook")
        gate.leave()

    first = threading.Thread(target=background)
    first.start()
    time.sleep(0.1)  # the background writer is waiting first
    second = threading.Thread(target=webhook)
    second.start()
    time.sleep(0.1)
    gate.leave()
    first.join(5)
    second.join(5)
    assert order == ["webhook", "background"]


def test_a_background_writer_goes_once_it_has_waited_its_patience(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("integration.store.write_gate.BACKGROUND_PATIENCE", 0.2)
    gate = WriteGate(timeout=5)
    order: list[str] = []
    stop = threading.Event()

    def webhooks() -> None:
        # Always one webhook waiting: without patience, the background writer would starve.
        with urgent():
            while not stop.is_set():
                assert gate.enter()
                order.append("webhook")
                time.sleep(0.01)
                gate.leave()

    def background() -> None:
        assert gate.enter()
        order.append("background")
        gate.leave()

    streams = [threading.Thread(target=webhooks) for _ in range(3)]
    for stream in streams:
        stream.start()
    time.sleep(0.05)
    began = time.monotonic()
    writer = threading.Thread(target=background)
    writer.start()
    writer.join(5)
    waited = time.monotonic() - began
    stop.set()
    for stream in streams:
        stream.join(5)
    assert "background" in order
    assert 0.15 <= waited < 1.0  # it waited its patience behind the webhooks, then went


def test_a_transaction_that_went_around_the_gate_does_not_queue_again(
        tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path}/gate.db", timeout=0.3)
    with engine.begin() as c:
        c.execute(text("CREATE TABLE t (n INTEGER)"))
    gate = gate_for(str(tmp_path / "gate.db"), 0.3)
    assert gate.enter()  # a turn nobody gives back (another thread's, stuck)
    try:
        with engine.connect() as c:
            began = time.monotonic()
            c.execute(text("INSERT INTO t VALUES (1)"))  # waits 0.3 s, then goes around
            c.execute(text("INSERT INTO t VALUES (2)"))  # the same transaction: no wait
            c.commit()
            assert time.monotonic() - began < 0.55
            raw = c.connection.dbapi_connection
            assert isinstance(raw, GatedConnection)
            assert not raw.writing and not raw.holding
    finally:
        gate.leave()
    engine.dispose()


def test_a_writer_waiting_past_the_timeout_goes_on_without_the_gate() -> None:
    gate = WriteGate(timeout=0.2)
    assert gate.enter()
    began = time.monotonic()
    assert gate.enter() is False  # SQLite's own lock decides from here
    assert time.monotonic() - began >= 0.2
    gate.leave()


def test_an_urgent_writer_that_gave_up_lets_the_background_go() -> None:
    gate = WriteGate(timeout=0.3)
    assert gate.enter()
    results: list[bool] = []

    def webhook() -> None:
        with urgent():
            results.append(gate.enter())

    waiting = threading.Thread(target=webhook)
    waiting.start()
    waiting.join(5)
    assert results == [False]
    gate.leave()
    assert gate.enter()  # nobody urgent waits any more
    gate.leave()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_inherit_a_held_turn(tmp_path: Path) -> None:
    gate = WriteGate(timeout=0.5)
    from integration.store import write_gate

    write_gate._ALL.add(gate)
    assert gate.enter()
    pid = os.fork()
    if pid == 0:  # the child: its gate is free
        os._exit(0 if gate.enter() else 1)
    _, status = os.waitpid(pid, 0)
    gate.leave()
    assert os.waitstatus_to_exitcode(status) == 0


@pytest.mark.parametrize(("statement", "writes"), [
    ("INSERT INTO t VALUES (1)", True), ("  update t set n = 1", True),
    ("DELETE FROM t", True), ("REPLACE INTO t VALUES (1)", True),
    ("BEGIN IMMEDIATE", True), ("SELECT 1", False), ("PRAGMA busy_timeout=5", False),
    ("BEGIN", False), ("CREATE TABLE x (n INTEGER)", False),
])
def test_which_statements_take_the_write_lock(statement: str, writes: bool) -> None:
    assert is_write(statement) is writes
