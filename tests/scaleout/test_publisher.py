"""The web process's task publishing: a request hands over the id and answers; a thread sends
the ids of a burst as one task, and a broker that fails or hangs never reaches the request."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from integration.scaleout.mode import DELIVER_TASK, MAX_BATCH, PROCESS_BATCH_TASK, TaskQueue


class FakeCelery:
    """Records what is published; ``gate`` (when set) holds every publish until opened."""

    def __init__(self, *, fail: bool = False, gate: threading.Event | None = None) -> None:
        self.sent: list[tuple[str, list[Any]]] = []
        self.fail = fail
        self.gate = gate
        self.entered = threading.Event()
        self.closed = False

    def send_task(self, name: str, args: list[Any]) -> None:
        self.entered.set()
        if self.gate is not None:
            self.gate.wait(10)
        if self.fail:
            raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
        self.sent.append((name, args))

    def close(self) -> None:
        self.closed = True


def _ids(sent: list[tuple[str, list[Any]]]) -> list[int]:
    return [i for name, args in sent if name == PROCESS_BATCH_TASK for i in args[0]]


def test_a_burst_of_events_travels_in_few_tasks_and_every_id_once() -> None:
    celery = FakeCelery()
    queue = TaskQueue(celery, linger=0.05)
    for event_id in range(1, 41):
        queue.process_event(event_id)
    assert queue.flush(10)
    assert sorted(_ids(celery.sent)) == list(range(1, 41))
    batches = [args[0] for name, args in celery.sent if name == PROCESS_BATCH_TASK]
    assert all(len(batch) <= MAX_BATCH for batch in batches)
    assert len(batches) < 40 // 2  # one publish per event would be 40
    queue.close()
    assert celery.closed


def test_delivery_requests_made_together_share_one_pass() -> None:
    celery = FakeCelery()
    queue = TaskQueue(celery, linger=0.05)
    for _ in range(10):
        queue.deliver()
    assert queue.flush(10)
    assert [name for name, _ in celery.sent] == [DELIVER_TASK]
    queue.close()


def test_a_request_never_waits_for_a_broker_that_hangs() -> None:
    gate = threading.Event()
    celery = FakeCelery(gate=gate)
    queue = TaskQueue(celery, linger=0.0)
    queue.process_event(1)
    assert celery.entered.wait(10)  # the thread is stuck talking to the broker ...
    queue.process_event(2)  # ... and the next request still hands over its id and returns
    assert queue.pending() and not queue.flush(0.05)
    gate.set()
    assert queue.flush(10)
    assert sorted(_ids(celery.sent)) == [1, 2]
    queue.close()


def test_a_broker_that_refuses_is_logged_and_left_to_the_relay(
        caplog: pytest.LogCaptureFixture) -> None:
    celery = FakeCelery(fail=True)
    queue = TaskQueue(celery, linger=0.0)
    queue.process_event(7)
    assert queue.flush(10)  # given up, not raised: the event is stored, the relay has it
    assert celery.sent == []
    assert "left to the relay" in caplog.text and "ConnectionError" in caplog.text
    queue.close()


def test_close_publishes_what_is_still_held() -> None:
    celery = FakeCelery()
    queue = TaskQueue(celery, linger=0.2)
    queue.process_event(3)
    queue.close()
    assert _ids(celery.sent) == [3]


def test_a_quiet_process_keeps_no_idle_thread_and_starts_one_when_needed(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from integration.scaleout import mode

    monkeypatch.setattr(mode, "IDLE_EXIT_SECONDS", 0.05)
    celery = FakeCelery()
    queue = TaskQueue(celery, linger=0.0)
    before = set(threading.enumerate())  # other tests' queues may still run theirs
    queue.process_event(1)
    # Started by this request; it cannot end before it has published and then idled.
    publishers = [t for t in set(threading.enumerate()) - before
                  if t.name == "escalade-publisher"]
    assert len(publishers) == 1
    assert queue.flush(10)
    for thread in publishers:
        thread.join(10)  # each ends once it has been idle
    assert not any(t.is_alive() for t in publishers)
    queue.process_event(2)  # a new request starts a new thread
    assert queue.flush(10)
    assert _ids(celery.sent) == [1, 2]
    queue.close()
