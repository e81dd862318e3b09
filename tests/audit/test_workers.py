"""Reading in two worker processes gives the same audit and replay as reading in one."""

from __future__ import annotations

import math
import threading
from datetime import timedelta
from typing import Any

import numpy
import pytest

from integration.audit import classify as classify_module
from integration.audit.classify import classify, start_method
from integration.audit.replay import replay, replay_json
from integration.audit.report import audit_json, run_audit
from integration.decide import build_detector
from integration.matrix import default_matrix
from integration.models import Account, Ticket
from tests.audit.helpers import MONDAY, matrix_with_rule, past_ticket

TEXTS = [("Charged twice", "We were charged twice for the invoice."),
         ("Cancel", "We will cancel our subscription."),
         ("How to", "How do I add a seat?"),
         ("Down", "Everything is down, 503 service unavailable.")]


def history() -> list[Ticket]:
    out = []
    for n in range(60):
        subject, body = TEXTS[n % 4]
        account = Account(id=f"org{n % 7}", plan="enterprise" if n % 3 else "pro",
                          arr=1000.0 * n)
        out.append(past_ticket(n, subject, body, at=MONDAY + timedelta(hours=5 * n),
                               escalated=n % 5 == 0, account=account))
    return out


@pytest.mark.parametrize("method", ["fork", "spawn"])
def test_two_workers_read_like_one(method: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(classify_module, "start_method", lambda: method)
    tickets = history()
    current = default_matrix()
    alone = audit_json(run_audit(tickets, matrix=current, topics=True))
    pooled = audit_json(run_audit(tickets, matrix=current, topics=True, workers=2))
    assert pooled == alone
    new = matrix_with_rule("      - id: billing_is_urgent\n        description: Billing\n"
                           "        when: {trigger: [billing_issue]}\n")
    assert replay_json(replay(tickets, new=new, current=current, workers=2)) == \
        replay_json(replay(tickets, new=new, current=current))


def test_workers_fork_only_where_no_other_thread_runs(monkeypatch: pytest.MonkeyPatch) -> None:
    # A server's other threads may hold locks a fork would copy held: spawn there.
    monkeypatch.setattr(threading, "active_count", lambda: 3)
    assert start_method() == "spawn"
    monkeypatch.setattr(threading, "active_count", lambda: 1)
    assert start_method() == "fork"


def _unit(data: bytes) -> numpy.ndarray:
    return numpy.frombuffer(data, dtype="float16").astype("float32")


def test_topics_reuse_the_embedding_the_detector_read() -> None:
    tickets = history()[:4]
    detector = build_detector(default_matrix())
    assert detector.read(tickets[0]).meaning == b""  # kept only when asked
    detector.keep_meaning = True
    read = [item.topic for item in classify(tickets, [default_matrix()], topics=True)]
    assert all(f is not None for f in read)
    for ticket, features in zip(tickets, read, strict=True):
        assert features is not None
        assert features.vector == detector.read(ticket).meaning
        assert math.isclose(float(numpy.linalg.norm(_unit(features.vector))), 1.0, abs_tol=0.01)
    # The same words meet, different ones do not: what topics are grouped by.
    again = next(iter(classify([history()[4]], [default_matrix()], topics=True))).topic
    assert again is not None and read[0] is not None and read[1] is not None
    assert float(_unit(again.vector) @ _unit(read[0].vector)) > 0.99
    assert float(_unit(read[1].vector) @ _unit(read[0].vector)) < 0.9


@pytest.mark.pure_python
def test_a_dense_history_is_not_read_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    # More earlier tickets in the repeat window than a detector remembers by default: each
    # must still be parsed once, not again for every later ticket of its account.
    from integration.detect import detector as detector_module

    monkeypatch.setattr(detector_module, "_ISSUE_CACHE_SIZE", 40)
    monkeypatch.setattr(classify_module, "_PRUNE_EVERY", 25)
    parsed = 0
    real = detector_module.Detector._parse

    def counting(self: Any, *args: Any, **kwargs: Any) -> Any:
        nonlocal parsed
        parsed += 1
        return real(self, *args, **kwargs)

    monkeypatch.setattr(detector_module.Detector, "_parse", counting)
    tickets = [past_ticket(n, *TEXTS[n % 4], at=MONDAY + timedelta(minutes=10 * n),
                           account=Account(id=f"org{n % 3}", plan="pro", arr=5000.0))
               for n in range(300)]
    read = list(classify(tickets, [default_matrix()]))
    assert len(read) == 300
    assert parsed == 300
