"""``escalade triage`` on several cores, deciding exactly as one process does.

A ticket's decision depends on the earlier tickets of the same requester or account only
through what each of them is about (its issue, for repeat contacts). So each forked worker
reads its share of the tickets on their own (everything but repeat contacts, most of the
cost) and sends the parent only what each is about; the parent hands every worker the whole
input's issues, and each decides its share with the whole input as history. The readings
stay in the worker that made them. The output is the same whatever the number of workers,
in input order.

The workers are forked after the model is loaded: they start in milliseconds and share the
parent's memory instead of loading their own copy.
"""

from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import traceback
from collections.abc import Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from integration.heap import settle
from integration.matrix import Matrix
from integration.models import Decision, Ticket
from integration.triage import triage_tickets

if TYPE_CHECKING:
    from integration.detect import Detector, Reading
    from integration.detect.context import Issue

__all__ = ["default_workers", "shares_of", "triage_lines"]

# Below this many tickets a second process costs more than it saves.
MIN_TICKETS_PER_WORKER = 500


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def shares_of(count: int, parts: int) -> list[list[int]]:
    """Indexes ``0..count-1`` dealt round-robin into at most ``parts`` non-empty shares."""
    return [list(range(k, count, parts)) for k in range(min(parts, count))]


def _line(decision: Decision) -> str:
    return json.dumps(decision.to_dict(), ensure_ascii=False)


class _Job:
    """One forked worker's share: read it, trade issues with the parent, decide it."""

    def __init__(self, tickets: Sequence[Ticket], *, matrix: Matrix, detector: Detector,
                 now: datetime) -> None:
        self.tickets = tickets
        self.matrix = matrix
        self.detector = detector
        self.now = now

    def run(self, share: list[int], channel: Connection) -> None:
        """Send the share's issues, receive everyone's, send the share's decision lines."""
        readings: list[Reading | None] = [None] * len(self.tickets)
        for i in share:
            readings[i] = self.detector.read(self.tickets[i])
        channel.send(("issues", [reading.issue for reading in readings if reading is not None]))
        issues: list[Issue] = channel.recv()
        # Every ticket's issue is known before any is decided, as one process would have it.
        self.detector.issue_cache_size = max(self.detector.issue_cache_size, len(self.tickets))
        for i in sorted(range(len(self.tickets)), key=lambda i: self.tickets[i].created_at):
            self.detector.remember(self.tickets[i], issues[i])
        decided = triage_tickets(self.tickets, matrix=self.matrix, detector=self.detector,
                                 now=self.now, readings=readings, only=frozenset(share))
        channel.send(("done", [_line(d) for d in decided]))


def triage_lines(
    tickets: Sequence[Ticket],
    *,
    matrix: Matrix,
    detector: Detector,
    now: datetime,
    workers: int,
) -> list[str]:
    """One JSON decision per ticket, in input order, decided on up to ``workers`` processes."""
    # The command's own process: its loaded models live as long as it does (and forked
    # workers then share their pages instead of copying them).
    settle()
    workers = min(workers, len(tickets) // MIN_TICKETS_PER_WORKER)
    if workers < 2:
        return [_line(d) for d in triage_tickets(tickets, matrix=matrix, detector=detector,
                                                 now=now)]
    shares = shares_of(len(tickets), workers)
    job = _Job(tickets, matrix=matrix, detector=detector, now=now)
    context = multiprocessing.get_context("fork")
    running: list[tuple[Any, Connection]] = []
    try:
        for number, share in enumerate(shares):
            parent_end, child_end = context.Pipe(duplex=True)
            process = context.Process(target=_worker, args=(job, share, child_end),
                                      name=f"escalade-triage-{number}", daemon=True)
            process.start()
            child_end.close()
            running.append((process, parent_end))
        issues: list[Issue | None] = [None] * len(tickets)
        for share, (process, channel) in zip(shares, running, strict=True):
            for index, issue in zip(share, _receive(process, channel), strict=True):
                issues[index] = issue
        for _, channel in running:
            channel.send(issues)
        lines: list[str] = [""] * len(tickets)
        for share, (process, channel) in zip(shares, running, strict=True):
            for index, line in zip(share, _receive(process, channel), strict=True):
                lines[index] = line
        return lines
    finally:
        for process, channel in running:
            channel.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()


def _receive(process: Any, channel: Connection) -> list[Any]:
    """The worker's next message; its failure or death raises with what it said."""
    try:
        kind, payload = channel.recv()
    except EOFError:
        raise RuntimeError(f"{process.name} stopped unexpectedly") from None
    if kind == "error":
        raise RuntimeError(f"{process.name} failed:\n{payload}")
    return list(payload)


def _worker(job: _Job, share: list[int], channel: Connection) -> None:
    try:
        job.run(share, channel)
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        # A parent that already stopped (another worker failed) closed the channel.
        with contextlib.suppress(OSError):
            channel.send(("error", traceback.format_exc()))
    finally:
        channel.close()
