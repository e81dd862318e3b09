"""The alert ledger the chat connectors are given, kept in the store.

``StoreAlertLedger`` answers and records, for one tenant, which Slack message belongs to which
escalation (the ``alert_messages`` rows) and takes the channel's posting slots
(``alert_rate_slots``). Each method is one transaction and returns detached copies, so the
connector makes its vendor calls with no transaction open. ``ticket_facts`` is the lookup a
connector completes an alert payload with (the ticket's link, summary and tracker issue).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from adapters.connectors.ledger import (
    KEEP,
    Claim,
    HeldAlerts,
    Keep,
    StoredAlert,
)
from integration.errors import FatalError, RetriableError
from integration.models import OutboxOutcome, TicketFacts, format_time, parse_time
from integration.store import alerts
from integration.store.db import session_scope

__all__ = ["StoreAlertLedger", "ticket_facts"]


def ticket_facts(sessions: sessionmaker[Session], tenant: str, ticket_key: str) -> TicketFacts:
    """What the store knows around ``tenant``'s ticket: link, summary (latest handoff), bug."""
    with session_scope(sessions) as s:
        tenant_id = alerts.tenant_id_for(s, tenant)
        if tenant_id is None:
            return TicketFacts()
        return alerts.ticket_facts(s, tenant_id=tenant_id, ticket_key=ticket_key)


class StoreAlertLedger:
    """One tenant's alert records in the store (an ``AlertLedger``)."""

    def __init__(self, *, sessions: sessionmaker[Session], tenant: str) -> None:
        self.sessions = sessions
        self.tenant = tenant

    def alert(self, dedupe_key: str, *, or_ticket: str | None = None) -> StoredAlert | None:
        """The escalation's record; with ``or_ticket``, else that ticket's newest posted one."""
        with session_scope(self.sessions) as s:
            tenant_id = self._tenant_id(s)
            row = alerts.get_alert(s, tenant_id=tenant_id, dedupe_key=dedupe_key)
            if row is None and or_ticket is not None:
                row = alerts.latest_for_ticket(s, tenant_id=tenant_id, ticket_key=or_ticket)
            return _stored(row) if row is not None else None

    def claim(
        self, *, dedupe_key: str, ticket_key: str, channel: str, payload: dict[str, Any],
        now: datetime, uncertain: bool, rate_limit: int, rate_window: timedelta,
        stale_after: timedelta,
    ) -> Claim:
        """Reserve the escalation's message (and a posting slot) before it is posted."""
        with session_scope(self.sessions) as s:
            tenant_id = self._tenant_id(s)
            existing = alerts.get_alert(s, tenant_id=tenant_id, dedupe_key=dedupe_key)
            if existing is not None and existing.ts is not None:
                raise RetriableError("slack: another worker just posted this alert",
                                     retry_after=1)
            if existing is not None and (existing.state or {}).get("held") and not (
                    existing.state or {}).get("thread_ts"):
                # Held, but its summary never got a ts: it cannot have been posted; start over.
                alerts.forget_alert(s, existing)
                existing = None
            if existing is not None:
                return _reclaim(s, existing, payload, now=now, uncertain=uncertain,
                                stale_after=stale_after)
            # The slot first: a claim that loses its race rolls back, and the slot with it.
            frees = alerts.take_rate_slot(s, tenant_id=tenant_id, channel=channel,
                                          limit=rate_limit, window=rate_window, now=now)
            row = alerts.claim_alert(
                s, tenant_id=tenant_id, dedupe_key=dedupe_key, ticket_key=ticket_key,
                channel=channel, payload=payload, now=now, stale_after=stale_after,
            )
            if row is None:
                raise RetriableError("slack: another worker is posting this alert",
                                     retry_after=5)
            if frees is None:
                row.state = {"since": format_time(now)}
                return Claim(id=row.id, channel=channel, since=now)
            return _hold(s, row, tenant_id, channel, frees, now, window=rate_window,
                         stale_after=stale_after)

    def mark_posted(self, record_id: int, *, channel: str, ts: str, fingerprint: str,
                    thread_ts: str | None, now: datetime) -> bool:
        """Record the message's ``ts``; False when the claim vanished meanwhile."""
        with session_scope(self.sessions) as s:
            row = alerts.alert_by_id(s, record_id)
            if row is None:
                return False
            row.state = {k: v for k, v in (row.state or {}).items()
                         if k not in ("unsure", "since")}
            alerts.mark_posted(s, row, channel=channel, ts=ts, fingerprint=fingerprint,
                               now=now, thread_ts=thread_ts)
            return True

    def mark_unsure(self, record_id: int, *, since: datetime) -> None:
        """Note that a post of this claim may have landed since ``since``."""
        with session_scope(self.sessions) as s:
            row = alerts.alert_by_id(s, record_id)
            if row is not None and row.ts is None:
                row.state = {**(row.state or {}), "unsure": True, "since": format_time(since)}

    def release(self, record_ids: tuple[int, ...]) -> None:
        """Drop claims whose post was refused."""
        with session_scope(self.sessions) as s:
            for record_id in record_ids:
                alerts.release_claim(s, row_id=record_id)

    def set_thread(self, record_id: int, thread_ts: str) -> None:
        """Note the thread a held alert goes to."""
        with session_scope(self.sessions) as s:
            row = alerts.alert_by_id(s, record_id)
            if row is not None:
                row.state = {**(row.state or {}), "thread_ts": thread_ts}

    def remember_unsure_reply(self, record_id: int, key: str, *, keep: int) -> None:
        """Note a threaded reply whose post may have landed."""
        with session_scope(self.sessions) as s:
            row = alerts.alert_by_id(s, record_id)
            if row is not None:
                state = dict(row.state or {})
                state["unsure_replies"] = [*state.get("unsure_replies", ()), key][-keep:]
                row.state = state

    def save(self, record_id: int, *, state: dict[str, Any], now: datetime,
             payload: dict[str, Any] | None = None, delivered: str | None = None,
             snooze_until: datetime | None | Keep = KEEP) -> None:
        """Record what the message shows now."""
        with session_scope(self.sessions) as s:
            row = alerts.alert_by_id(s, record_id)
            if row is None:
                return
            row.state = state
            if payload is not None:
                row.payload = payload
            if delivered is not None:
                row.delivered = [*row.delivered, delivered]
            if not isinstance(snooze_until, Keep):
                row.snooze_until = snooze_until
            row.updated_at = now

    def held_alerts(self, summary_id: int) -> HeldAlerts | None:
        """What a posted summary holds (from the store, so concurrent holds all show)."""
        with session_scope(self.sessions) as s:
            summary = alerts.alert_by_id(s, summary_id)
            if summary is None or summary.ts is None:
                return None
            held = alerts.held_in(s, tenant_id=summary.tenant_id, channel=summary.channel,
                                  thread_ts=summary.ts)
            frees = summary.payload.get("frees_at")
            return HeldAlerts(payloads=tuple(dict(r.payload) for r in held),
                              frees_at=str(frees) if frees else None)

    def outbox_outcome(self, idempotency_key: str) -> OutboxOutcome | None:
        """The outcome so far of the write queued under ``idempotency_key``."""
        with session_scope(self.sessions) as s:
            return alerts.outbox_outcome(s, idempotency_key=idempotency_key)

    def _tenant_id(self, s: Session) -> int:
        tenant_id = alerts.tenant_id_for(s, self.tenant)
        if tenant_id is None:
            raise FatalError(f"slack: tenant {self.tenant!r} was removed")
        return tenant_id


def _stored(row: alerts.AlertMessageRow) -> StoredAlert:
    return StoredAlert(id=row.id, dedupe_key=row.dedupe_key, channel=row.channel, ts=row.ts,
                       thread_ts=row.thread_ts, payload=dict(row.payload),
                       state=dict(row.state or {}), delivered=tuple(row.delivered or ()),
                       snooze_until=row.snooze_until)


def _reclaim(s: Session, existing: alerts.AlertMessageRow, payload: dict[str, Any], *,
             now: datetime, uncertain: bool, stale_after: timedelta) -> Claim:
    """Take over a claim left by an attempt whose outcome is unknown: find its post, or redo it."""
    state = dict(existing.state or {})
    stale = existing.updated_at <= now - stale_after
    if not (uncertain or stale or state.get("unsure")):
        raise RetriableError("slack: another worker is posting this alert", retry_after=5)
    since = parse_time(state["since"], "since") if state.get("since") else existing.posted_at
    existing.payload = payload
    existing.updated_at = now
    s.flush()
    return Claim(id=existing.id, channel=existing.channel, since=since, find=True,
                 thread_ts=state.get("thread_ts"))


def _hold(s: Session, row: alerts.AlertMessageRow, tenant_id: int, channel: str,
          frees: datetime, now: datetime, *, window: timedelta, stale_after: timedelta) -> Claim:
    """Put the alert in the channel's summary of held alerts (its thread)."""
    summary = alerts.live_summary(s, tenant_id=tenant_id, channel=channel, since=now - window)
    new = summary is None
    if summary is None:
        # One key per window, so two workers holding alerts at once share one summary.
        bucket = int(now.timestamp() // window.total_seconds())
        summary = alerts.claim_alert(
            s, tenant_id=tenant_id, dedupe_key=f"{alerts.HELD_SUMMARY}:{channel}:{bucket}",
            ticket_key=None, channel=channel, now=now, stale_after=stale_after,
            payload={"kind": alerts.HELD_SUMMARY, "frees_at": format_time(frees)},
        )
        if summary is None:
            raise RetriableError("slack: another worker is opening the summary of held "
                                 "alerts", retry_after=2)
        summary.state = {"since": format_time(now)}
    elif summary.ts is None:
        unsure = (summary.state or {}).get("unsure")
        if not unsure and summary.updated_at > now - stale_after:
            raise RetriableError("slack: the summary of held alerts is being posted",
                                 retry_after=2)
        # Its post may have landed: look for it before posting it again.
        summary.updated_at = now
        row.state = {"since": format_time(now), "held": True}
        s.flush()
        since = (summary.state or {}).get("since")
        return Claim(id=row.id, channel=channel, since=now, summary_id=summary.id,
                     summary_key=summary.dedupe_key, new_summary=True, find_summary=True,
                     frees_at=frees,
                     summary_since=parse_time(since, "since") if since else now)
    else:
        summary.payload = {**summary.payload, "frees_at": format_time(frees)}
    row.state = {"since": format_time(now), "held": True, "thread_ts": summary.ts}
    s.flush()
    return Claim(id=row.id, channel=channel, since=now, thread_ts=summary.ts,
                 summary_id=summary.id, summary_key=summary.dedupe_key, new_summary=new,
                 frees_at=frees)
