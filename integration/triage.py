"""``escalade triage``: normalized tickets in (JSONL), decisions out; no server, no database."""

from __future__ import annotations

import json
from collections import defaultdict, deque
from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING

from integration.clocks import SlaFields
from integration.decide import decide
from integration.errors import ValidationError
from integration.matrix import Matrix
from integration.models import Decision, Ticket, account_key, requester_key

if TYPE_CHECKING:
    from integration.detect import Detector, Reading

__all__ = ["HistoryIndex", "LineError", "parse_lines", "sla_state_now", "triage_tickets"]

# Enough earlier tickets per requester / account to count a 3rd contact with room to spare;
# an account with hundreds of tickets must not make every new one compare against all.
HISTORY_PER_KEY = 20


@dataclass(frozen=True, kw_only=True, slots=True)
class LineError:
    """A bad input line: where and what."""

    source: str
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}:{self.line}: {self.field}: {self.message}"


def parse_lines(lines: Iterable[str], *, source: str) -> tuple[list[Ticket], list[LineError]]:
    """Parse every line; collect errors so that nothing is written when any line is bad."""
    tickets: list[Ticket] = []
    errors: list[LineError] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as err:
            errors.append(LineError(source=source, line=number, field="line",
                                    message=f"not valid JSON ({err.msg} at column {err.colno})"))
            continue
        try:
            tickets.append(Ticket.from_dict(data))
        except ValidationError as err:
            errors.append(LineError(source=source, line=number, field=err.field,
                                    message=err.message))
    return tickets, errors


class HistoryIndex:
    """Earlier tickets by requester and account, so repeat contacts count within one input."""

    def __init__(self) -> None:
        self._by_key: dict[str, deque[Ticket]] = defaultdict(lambda: deque(maxlen=HISTORY_PER_KEY))

    @staticmethod
    def _keys(ticket: Ticket) -> list[str]:
        # The same requester / account keys the stored history is looked up by.
        account = account_key(ticket)
        keys = [f"{ticket.tenant}|{requester_key(ticket)}"]
        return keys + [f"{ticket.tenant}|{account}"] if account else keys

    def related(self, ticket: Ticket) -> list[Ticket]:
        """Earlier tickets of the same requester or account, without duplicates."""
        seen: dict[str, Ticket] = {}
        for key in self._keys(ticket):
            for other in self._by_key.get(key, ()):
                if other.key != ticket.key:
                    seen[other.key] = other
        return list(seen.values())

    def add(self, ticket: Ticket) -> None:
        """Remember a ticket for the ones that follow."""
        for key in self._keys(ticket):
            bucket = self._by_key[key]
            for i, other in enumerate(bucket):
                if other.key == ticket.key:
                    del bucket[i]
                    break
            bucket.append(ticket)


def sla_state_now(sla: SlaFields) -> str:
    """Where the clock stands at the time it was computed: ``breached`` past a due time.

    The stored state (``sla.state``) is the step the sweep last acted on, so a ticket
    already past its due time is stored ``ok`` until the sweep acts; a one-off reading has
    no sweep to wait for and says what the clock says.
    """
    state = sla.clock.get("state")
    return str(state) if isinstance(state, str) and state else sla.state.value


def triage_tickets(
    tickets: Sequence[Ticket],
    *,
    matrix: Matrix,
    detector: Detector,
    now: datetime,
    readings: Sequence[Reading | None] | None = None,
    only: Collection[int] | None = None,
) -> list[Decision]:
    """Decide each ticket with the earlier-created ones as history; output in input order.

    ``sla_state`` is the clock's at ``now``: ``warning`` past the warning time, ``breached``
    past the due time. ``readings`` (one per ticket) were made beforehand by
    ``detector.read``; with ``only``, just the tickets at those indexes are decided (all of
    them still count as history).
    """
    history = HistoryIndex()
    order = sorted(range(len(tickets)), key=lambda i: tickets[i].created_at)
    decisions: list[Decision | None] = [None] * len(tickets)
    for i in order:
        ticket = tickets[i]
        if only is None or i in only:
            # The CLI prints no actions, so they are not rendered.
            decided = decide(
                ticket,
                history.related(ticket),
                matrix=matrix,
                detector=detector,
                now=now,
                with_actions=False,
                reading=readings[i] if readings is not None else None,
            )
            decisions[i] = replace(decided.decision, sla_state=sla_state_now(decided.sla))
        history.add(ticket)
    return [d for d in decisions if d is not None]
