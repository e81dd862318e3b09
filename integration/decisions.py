"""The one writer of decisions: the decision row, the ticket's SLA state and the outbox rows.

Every decision Escalade makes — a ticket read from an event (the pipeline), an SLA step taken
by the sweep, an agent's override — is written here, in the caller's transaction, so that no
decision is stored without its write-backs nor a write-back without its decision. Outbox rows
are keyed ``<tenant>:<cause key>:<target>``: a retried event, a second scheduler or a double
submit queues nothing twice.

The SLA state goes first. ``SlaFields`` (computed when the ticket changed) are stored on the
ticket row with the decision's tier and priority; an ``SlaStep`` moves the row only from the
state the caller read, and when another writer moved it first nothing else of the entry is
written. ``record`` writes one entry at once; a ``DecisionLog`` keeps many and writes their
decisions and outbox rows in one statement each; ``DecisionLog.add_steps`` moves the SLA
state of many entries at once (the sweep acting on a thousand tickets).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from sqlalchemy.orm import Session

from integration import outbox, store
from integration.answer.respond import AnswerRecord
from integration.clocks import SlaFields, clock_for, next_step, timeline_json
from integration.errors import ValidationError
from integration.matrix import Matrix
from integration.matrix.override import OVERRIDE_RULE, override_decision, stored_handoff
from integration.models import Action, Decision, Handoff, Signals, Ticket, Tier
from integration.store.dashboard import Touched, note
from integration.store.people import add_override

__all__ = [
    "DecisionLog",
    "Entry",
    "OverrideResult",
    "Recorded",
    "SlaStep",
    "record",
    "record_override",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True, kw_only=True, slots=True)
class SlaStep:
    """Move a ticket's SLA on from the state the caller read (``store.transition_sla``)."""

    expect_state: str | None
    expect_next_at: datetime | None
    changes: Mapping[str, Any]


@dataclass(frozen=True, kw_only=True, slots=True)
class Entry:
    """One decision about one ticket (or, without one, write-backs only) and what caused it.

    ``cause_key`` names the cause uniquely within the tenant (``event:17``, ``override:5``,
    ``sla:42:breach:<due>``); each outbox row's idempotency key is built from it.
    """

    tenant_id: int
    tenant_slug: str
    ticket_id: int
    ticket_external_id: str | None
    cause_key: str
    decided_at: datetime
    decision: Decision | None = None
    actions: Sequence[Action] = ()
    cause: str = "event"
    previous_tier: Tier | int | None = None
    signals: Signals | Mapping[str, Any] | None = None
    handoff: Handoff | None = None
    event_id: int | None = None
    # The workspace's display zone: the dashboard counts the ticket on its local day.
    zone: tzinfo = UTC
    # What the team's knowledge gave the ticket; its write-backs (``answer_actions``) are
    # queued only when this entry is the one that stores it, so no ticket is answered twice.
    answer: AnswerRecord | None = None
    answer_actions: Sequence[Action] = ()
    # The customer wrote back for more after the automatic answer.
    answer_declined_at: datetime | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class Recorded:
    """What one entry wrote: its decision row (None without a decision) and outbox rows."""

    decision_id: int | None
    outbox_ids: tuple[int, ...]


class DecisionLog:
    """Entries written together: SLA state as each is added, the rest at ``flush``."""

    def __init__(self, s: Session) -> None:
        self._s = s
        self._entries: list[Entry] = []
        self._touched: list[tuple[int, Touched]] = []  # (workspace, ticket)

    def add(
        self,
        entry: Entry,
        *,
        sla: SlaFields | SlaStep | None = None,
        ticket: store.TicketRow | None = None,
    ) -> bool:
        """Write the entry's SLA state now and keep the entry; False when a step was lost.

        ``SlaFields`` need the ``ticket`` row they are stored on.
        """
        if isinstance(sla, SlaStep):
            if not store.transition_sla(self._s, entry.ticket_id, expect_state=sla.expect_state,
                                        expect_next_at=sla.expect_next_at, **sla.changes):
                return False
        elif sla is not None:
            if ticket is None:
                raise ValueError("SLA fields are stored on a ticket row; none was given")
            _save_sla(self._s, ticket, sla, entry.decision)
        self._entries.append(_with_answer(self._s, entry))
        if entry.decision is not None or sla is not None:
            self._touched.append((entry.tenant_id, _touched(entry)))
        return True

    def add_steps(self, steps: Sequence[tuple[Entry, SlaStep]]) -> list[bool]:
        """``add`` for many SLA steps, their rows moved together; False where a step was lost."""
        won = store.transition_many(self._s, [
            store.Transition(ticket_id=entry.ticket_id, expect_state=step.expect_state,
                             expect_next_at=step.expect_next_at, changes=step.changes)
            for entry, step in steps])
        for (entry, _), ok in zip(steps, won, strict=True):
            if ok:
                self._entries.append(_with_answer(self._s, entry))
                self._touched.append((entry.tenant_id, _touched(entry)))
        return won

    def flush(self) -> list[Recorded]:
        """Insert the kept decisions, then the outbox rows that cite them; one per entry."""
        entries, self._entries = self._entries, []
        touched, self._touched = self._touched, []
        decided = [i for i, e in enumerate(entries) if e.decision is not None]
        decision_ids: list[int | None] = [None] * len(entries)
        new_ids = store.add_decisions(self._s, [_decision_values(entries[i]) for i in decided])
        for index, decision_id in zip(decided, new_ids, strict=True):
            decision_ids[index] = decision_id
        rows: list[dict[str, Any]] = []
        owners: list[int] = []
        for index, entry in enumerate(entries):
            for target, actions in outbox.by_target(entry.actions).items():
                rows.append(outbox.outbox_values(
                    tenant_id=entry.tenant_id,
                    target=target,
                    ticket_external_id=entry.ticket_external_id,
                    actions=actions,
                    idempotency_key=f"{entry.tenant_slug}:{entry.cause_key}:{target}",
                    decision_id=decision_ids[index],
                    ticket_id=entry.ticket_id,
                    now=entry.decided_at,
                ))
                owners.append(index)
        queued: list[list[int]] = [[] for _ in entries]
        for index, values, row_id in zip(owners, rows, outbox.enqueue_many(self._s, rows),
                                         strict=True):
            if row_id is None:
                log.info("outbox: duplicate idempotency key %s, nothing queued",
                         values["idempotency_key"])
            else:
                queued[index].append(int(row_id))
        # Noted with the decisions they count; the rollups move when the notes are folded.
        note(self._s, touched)
        return [Recorded(decision_id=decision_ids[i], outbox_ids=tuple(queued[i]))
                for i in range(len(entries))]


def _with_answer(s: Session, entry: Entry) -> Entry:
    """The entry with its answer's write-backs when it is the one that stored the answer."""
    if entry.answer_declined_at is not None:
        store.answers.mark_declined(s, ticket_id=entry.ticket_id, at=entry.answer_declined_at)
    if entry.answer is None:
        return entry
    if not store.answers.save_answer(s, tenant_id=entry.tenant_id, ticket_id=entry.ticket_id,
                                     record=entry.answer):
        log.info("ticket %s already has an answer; this one is not sent", entry.ticket_id)
        return entry
    return replace(entry, actions=[*entry.actions, *entry.answer_actions])


def record(
    s: Session,
    entry: Entry,
    *,
    sla: SlaFields | None = None,
    ticket: store.TicketRow | None = None,
) -> Recorded:
    """Write one decision, its ticket's SLA state and its outbox rows in ``s``'s transaction."""
    decisions = DecisionLog(s)
    decisions.add(entry, sla=sla, ticket=ticket)
    return decisions.flush()[0]


@dataclass(frozen=True, kw_only=True, slots=True)
class OverrideResult:
    """What an override wrote."""

    override_id: int
    decision_id: int
    from_tier: int | None
    to_tier: int
    outbox_ids: tuple[int, ...]


def record_override(
    s: Session,
    *,
    tenant: store.TenantRow,
    ticket: store.TicketRow,
    tier: Tier,
    reason: str,
    agent: str | None,
    matrix: Matrix,
    now: datetime,
    connected: frozenset[str] = frozenset(),
) -> OverrideResult:
    """An agent set the tier: the override row, its decision, SLA clock and write-backs."""
    if ticket.tenant_id != tenant.id:
        raise ValidationError("ticket", "belongs to another tenant")
    from_tier = ticket.tier
    if from_tier == int(tier):
        raise ValidationError("tier", f"the ticket is already tier {from_tier}")
    model = Ticket.from_dict(ticket.data)
    latest = store.decisions_for_ticket(s, ticket.id, limit=10)
    signals = next((d.signals for d in latest if d.signals), {}) or {}
    handoff = stored_handoff(next((d.handoff for d in latest if d.handoff), None))
    decision, actions = override_decision(
        matrix, model, tier=tier, reason=reason, agent=agent, from_tier=from_tier,
        stored_priority=ticket.priority, stored_category=ticket.category, signals=signals,
        handoff=handoff, connected=connected, now=now,
    )
    timeline = timeline_json(ticket.timeline, model, tier, at=now)
    clock = clock_for(matrix, model, timeline, now=now)
    state, next_at = next_step(clock, previous_state=ticket.sla_state,
                               previous_due=ticket.sla_due_at)
    sla = SlaFields(state=state, due_at=clock.due_at, warn_at=clock.warn_at, next_at=next_at,
                    clock=clock.to_dict(), timeline=timeline)
    # The override row comes first: its id names the outbox rows of its write-back.
    override = add_override(
        s, tenant_id=tenant.id, ticket_id=ticket.id, from_tier=from_tier, to_tier=int(tier),
        reason=reason, agent=agent, now=now,
    )
    recorded = record(s, Entry(
        tenant_id=tenant.id, tenant_slug=tenant.slug, ticket_id=ticket.id,
        ticket_external_id=ticket.external_id, cause_key=f"override:{override.id}",
        decided_at=now, decision=replace(decision, sla_due_at=clock.due_at), actions=actions,
        cause=OVERRIDE_RULE, previous_tier=from_tier, signals=signals, handoff=handoff,
        zone=matrix.display_zone,
    ), sla=sla, ticket=ticket)
    assert recorded.decision_id is not None
    override.decision_id = recorded.decision_id
    return OverrideResult(override_id=override.id, decision_id=recorded.decision_id,
                          from_tier=from_tier, to_tier=int(tier), outbox_ids=recorded.outbox_ids)


def _touched(entry: Entry) -> Touched:
    decision = entry.decision
    return Touched(ticket_id=entry.ticket_id, zone=entry.zone,
                   triggers=tuple(decision.triggers) if decision is not None else (),
                   group=decision.route.group if decision is not None else None)


def _save_sla(s: Session, ticket: store.TicketRow, sla: SlaFields,
              decision: Decision | None) -> None:
    if decision is not None:
        # The row shows the tier and priority of its latest decision (the start page filters).
        ticket.tier, ticket.priority = int(decision.tier), decision.priority.value
    store.save_sla(s, ticket, state=sla.state.value, due_at=sla.due_at, warn_at=sla.warn_at,
                   next_at=sla.next_at, clock=sla.clock, timeline=sla.timeline)


def _decision_values(entry: Entry) -> dict[str, Any]:
    assert entry.decision is not None
    return store.decision_values(
        tenant_id=entry.tenant_id, ticket_id=entry.ticket_id, decision=entry.decision,
        decided_at=entry.decided_at, event_id=entry.event_id,
        previous_tier=entry.previous_tier, signals=entry.signals, cause=entry.cause,
        handoff=entry.handoff,
    )
