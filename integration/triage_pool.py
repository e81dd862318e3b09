"""``escalade triage`` on several cores: independent customers decided in forked workers.

A ticket's decision depends only on the earlier tickets of the same requester or account
(repeat contacts), so tickets that share neither are independent. ``partition`` groups the
tickets that are linked through a requester or an account and spreads the groups over the
workers; each worker decides its share exactly as one process would (same order, same
history), so the output is the same whatever the number of workers.

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
from typing import TYPE_CHECKING, Any

from integration.matrix import Matrix
from integration.models import Decision, Ticket, account_key, requester_key
from integration.triage import triage_tickets

if TYPE_CHECKING:
    from integration.detect import Detector

__all__ = ["default_workers", "partition", "triage_lines"]

# Below this many tickets a second process costs more than it saves.
MIN_TICKETS_PER_WORKER = 500


def default_workers() -> int:
    """The cores this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - platforms without affinity
        return max(1, os.cpu_count() or 1)


def partition(tickets: Sequence[Ticket], parts: int) -> list[list[int]]:
    """Ticket indexes in ``parts`` shares; tickets linked by requester or account share one.

    Each share keeps input order; linked groups go, largest first, to the lightest share.
    """
    parent: dict[str, str] = {}

    def find(key: str) -> str:
        root = key
        while parent.setdefault(root, root) != root:
            root = parent[root]
        while key != root:
            parent[key], key = root, parent[key]
        return root

    keys: list[str] = []
    for ticket in tickets:
        first = find(f"{ticket.tenant}|{requester_key(ticket)}")
        account = account_key(ticket)
        if account is not None:
            other = find(f"{ticket.tenant}|{account}")
            if other != first:
                parent[other] = first
        keys.append(first)
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(find(key), []).append(index)
    shares: list[list[int]] = [[] for _ in range(max(1, parts))]
    for group in sorted(groups.values(), key=len, reverse=True):
        min(shares, key=len).extend(group)
    return [sorted(share) for share in shares if share]


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
    workers = min(workers, len(tickets) // MIN_TICKETS_PER_WORKER)
    if workers < 2:
        return [_line(d) for d in triage_tickets(tickets, matrix=matrix, detector=detector,
                                                 now=now)]

    def decide_share(share: list[int]) -> list[str]:
        chosen = [tickets[i] for i in share]
        return [_line(d) for d in triage_tickets(chosen, matrix=matrix, detector=detector,
                                                 now=now)]

    shares = partition(tickets, workers)
    lines: list[str] = [""] * len(tickets)
    for share, share_lines in zip(shares, _run_forked(decide_share, shares), strict=True):
        for index, line in zip(share, share_lines, strict=True):
            lines[index] = line
    return lines


def _run_forked(
    work: Callable[[list[int]], list[str]], shares: list[list[int]]
) -> list[list[str]]:
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
    results: list[list[str]] = []
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


def _worker(work: Callable[[list[int]], list[str]], share: list[int], send: Connection) -> None:
    try:
        send.send(("done", work(share)))
    except BaseException:  # noqa: BLE001 - the parent re-raises it with the traceback
        send.send(("error", traceback.format_exc()))
    finally:
        send.close()
