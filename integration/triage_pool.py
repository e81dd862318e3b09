"""``escalade triage`` on several cores, deciding exactly as one process does.

A ticket's decision depends on the earlier tickets of the same requester or account only
through what each of them is about (its issue, for repeat contacts). So the work runs in two
passes over forked workers: first each worker reads its share of the tickets on their own
(everything but repeat contacts, most of the cost); the parent then knows every ticket's
issue, and the second pass decides each share with the whole input as history. The output is
the same whatever the number of workers, in input order.

The workers are forked after the model is loaded: they start in milliseconds and share the
parent's memory instead of loading their own copy.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import traceback
from collections.abc import Callable, Sequence
from datetime import datetime
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any, TypeVar

from integration.heap import settle
from integration.matrix import Matrix
from integration.models import Decision, Ticket
from integration.triage import triage_tickets

if TYPE_CHECKING:
    from integration.detect import Detector, Reading

__all__ = ["default_workers", "shares_of", "triage_lines"]

_T = TypeVar("_T")

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

    def read_share(share: list[int]) -> list[Reading]:
        return [detector.read(tickets[i]) for i in share]

    readings: list[Reading | None] = [None] * len(tickets)
    for share, found in zip(shares, _run_forked(read_share, shares), strict=True):
        for index, reading in zip(share, found, strict=True):
            readings[index] = reading
    ready = [r for r in readings if r is not None]
    # Every ticket's issue is known before any is decided, as one process would have it.
    detector.issue_cache_size = max(detector.issue_cache_size, len(tickets))
    for ticket, reading in sorted(zip(tickets, ready, strict=True),
                                  key=lambda pair: pair[0].created_at):
        detector.remember(ticket, reading.issue)

    def decide_share(share: list[int]) -> list[str]:
        decided = triage_tickets(tickets, matrix=matrix, detector=detector, now=now,
                                 readings=ready, only=frozenset(share))
        return [_line(d) for d in decided]

    lines: list[str] = [""] * len(tickets)
    for share, share_lines in zip(shares, _run_forked(decide_share, shares), strict=True):
        for index, line in zip(share, share_lines, strict=True):
            lines[index] = line
    return lines


def _run_forked(
    work: Callable[[list[int]], list[_T]], shares: list[list[int]]
) -> list[list[_T]]:
    """``work`` applied to each share in its own forked process; a worker's failure raises."""
    context = multiprocessing.get_context("fork")
    running: list[tuple[Any, Connection]] = []
    for number, share in enumerate(shares):
        receive, send = context.Pipe(duplex=False)
        process = context.Process(target=_worker, args=(work, share, send),
                                  name=f"escalade-triage-{number}", daemon=True)
        process.start()
        send.close()
        running.append((process, receive))
    results: list[list[_T]] = []
    try:
        for process, receive in running:
            try:
                kind, payload = receive.recv()
            except EOFError:
                raise RuntimeError(f"{process.name} stopped unexpectedly") from None
            if kind == "error":
                raise RuntimeError(f"{process.name} failed:\n{payload}")
            results.append(payload)
    finally:
        for process, receive in running:
            receive.close()
            process.join(timeout=5)
            if process.is_alive():
                process.terminate()
    return results


def _worker(work: Callable[[list[int]], list[Any]], share: list[int], send: Connection) -> None:
    try:
        send.send(("done", work(share)))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
