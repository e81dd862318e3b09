"""Many tickets at once, as ``escalade answer`` and the training read them: triage, gate, answer.

Each ticket is decided as ``escalade triage`` decides it (the detector and the matrix, earlier
tickets of the same requester or account counting as history), then gated; no I/O.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from integration.answer.answerer import Answerer, customer_text
from integration.answer.gate import gate
from integration.answer.types import Answer
from integration.decide import decide
from integration.detect import Detector
from integration.matrix import Matrix
from integration.models import Ticket
from integration.triage import HistoryIndex

__all__ = ["answer_tickets", "gate_reasons"]


def gate_reasons(tickets: Sequence[Ticket], *, matrix: Matrix, detector: Detector,
                 now: datetime) -> list[str | None]:
    """For each ticket, the reason triage gives to stay silent, or None; in input order."""
    history = HistoryIndex()
    reasons: list[str | None] = [None] * len(tickets)
    for i in sorted(range(len(tickets)), key=lambda n: tickets[n].created_at):
        ticket = tickets[i]
        decided = decide(ticket, history.related(ticket), matrix=matrix, detector=detector,
                         now=now, with_actions=False)
        reasons[i] = gate(tier=decided.decision.tier, signals=decided.signals,
                          account=decided.ticket.account,
                          text=f"{ticket.subject}\n{customer_text(ticket)}")
        history.add(ticket)
    return reasons


def answer_tickets(tickets: Sequence[Ticket], answerer: Answerer, *, matrix: Matrix,
                   detector: Detector, now: datetime) -> list[Answer]:
    """Triage, gate and answer each ticket; in input order."""
    reasons = gate_reasons(tickets, matrix=matrix, detector=detector, now=now)
    return [answerer.answer(t, silence=r) for t, r in zip(tickets, reasons, strict=True)]
