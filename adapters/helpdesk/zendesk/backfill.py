"""Zendesk history import: the cursor-based incremental ticket export, streamed in pages.

``GET /api/v2/incremental/tickets/cursor.json?start_time=<epoch>&include=users,organizations``
then ``?cursor=<after_cursor>`` until ``end_of_stream``
(https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/).
One export page holds up to 1000 tickets; it is handed on in smaller pages (option
``backfill_page_size``, default 100) whose cursor names the export page and the last ticket
done, so a stop mid-way loses at most one small page of work.

Comments: the export carries none. The incremental ticket *event* export with
``include=comment_events`` would avoid one call per ticket, but only has comments made since
``start_time`` (older comments of a ticket that changed recently would be missing) and is
ordered by event time, not by the ticket export's order. So each ticket's comments are read
with ``/tickets/{id}/comments.json``, which the runner's rate-limit handling paces.

Ticket metric events (``/incremental/ticket_metric_events``, time based, chronological) are
merged in as a second stream: read ahead up to the newest ``generated_timestamp`` of the page
and kept on each ticket as ``custom["metric_events"]`` (reply / resolution / pause / breach
history for the audit). A breach recorded after a ticket's last update is not attached.
Turn off with ``backfill_metric_events: false``; an account without access (403) skips them.

Deleted tickets (still in the export) and tickets that cannot be normalized are left out and
named in ``BackfillPage.skipped``. Nothing here sleeps: a 429 is ``RateLimited(retry_after=...)``
from the session hook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from adapters.helpdesk.base import BackfillPage, SkippedTicket, SkipReason
from adapters.helpdesk.common import mapping, mappings
from integration.errors import ConfigurationError, FatalError, ValidationError
from integration.models import Ticket

__all__ = [
    "EXPORT_PATH",
    "METRIC_EVENTS_PATH",
    "ExportPosition",
    "IncrementalExport",
    "compact_metric_event",
    "epoch",
]

log = logging.getLogger(__name__)

EXPORT_PATH = "/incremental/tickets/cursor.json"
METRIC_EVENTS_PATH = "/incremental/ticket_metric_events.json"
SIDELOADS = "users,organizations"
# Time-based exports return at most this many records; a full page means there is more.
TIME_EXPORT_LIMIT = 1000
# Metric events held for tickets the ticket export has not reached yet; past this the oldest
# tickets' events are dropped (logged) so memory stays flat on very large accounts.
MAX_BUFFERED_EVENTS = 200_000
_POSITION_PREFIX = "zd1:"
_METRIC_KEYS = ("id", "metric", "type", "instance_id", "time", "sla", "group_sla", "status",
                "deleted")

GetJson = Callable[[str, Mapping[str, Any] | None], Mapping[str, Any]]
CommentPages = Callable[[str], Iterable[Mapping[str, Any]]]
Normalize = Callable[[Mapping[str, Any]], Ticket]


def epoch(value: datetime) -> int:
    """Whole Unix seconds of an aware datetime, as Zendesk's ``start_time`` wants."""
    return int(value.timestamp())


@dataclass(frozen=True, kw_only=True, slots=True)
class ExportPosition:
    """Where to resume: an export page (None: the start) and the last ticket done on it."""

    cursor: str | None = None
    generated: int | None = None
    ticket_id: int | None = None

    def encode(self) -> str:
        """The opaque cursor string stored by the runner."""
        body = {"c": self.cursor, "g": self.generated, "t": self.ticket_id}
        return _POSITION_PREFIX + json.dumps(body, separators=(",", ":"))

    @classmethod
    def decode(cls, text: str | None) -> ExportPosition:
        """Read a cursor written by ``encode``; None starts at the beginning."""
        if text is None:
            return cls()
        try:
            if not text.startswith(_POSITION_PREFIX):
                raise ValueError("unknown prefix")
            body = json.loads(text[len(_POSITION_PREFIX):])
            position = cls(cursor=body["c"], generated=body["g"], ticket_id=body["t"])
        except (ValueError, KeyError, TypeError) as err:
            raise ValidationError("cursor", f"not a Zendesk backfill cursor: {text!r}") from err
        if (position.generated is None) != (position.ticket_id is None):
            raise ValidationError("cursor", f"incomplete Zendesk backfill cursor: {text!r}")
        return position

    def covers(self, raw: Mapping[str, Any]) -> bool:
        """True when the exported ticket was already handed on from this export page."""
        if self.generated is None or self.ticket_id is None:
            return False
        return (_generated(raw), int(raw["id"])) <= (self.generated, self.ticket_id)


def compact_metric_event(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The fields of a ticket metric event worth keeping for the audit."""
    return {key: raw[key] for key in _METRIC_KEYS if raw.get(key) is not None}


class IncrementalExport:
    """Streams one account's export; keeps read-ahead state across retries of a page."""

    def __init__(
        self,
        *,
        get_json: GetJson,
        api_root: str,
        comment_pages: CommentPages,
        normalize: Normalize,
        options: Mapping[str, Any],
    ) -> None:
        self._get_json = get_json
        self._api_root = api_root
        self._comment_pages = comment_pages
        self._normalize = normalize
        size = options.get("backfill_page_size", 100)
        if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 1000:
            raise ConfigurationError(
                f"zendesk: options.backfill_page_size must be 1-1000, got {size!r}"
            )
        self.page_size = size
        self.metric_events = options.get("backfill_metric_events", True) is not False
        # Kept between calls: after a 429 the runner asks again for the same page, and the
        # metric events read so far must not be fetched again (10 requests a minute).
        self._metrics: _MetricEvents | None = None

    def pages(self, *, since: datetime, cursor: str | None) -> Iterator[BackfillPage]:
        """Pages of normalized tickets changed since ``since``, resuming after ``cursor``."""
        position = ExportPosition.decode(cursor)
        start = epoch(since)
        metrics = self._metric_stream(start) if self.metric_events else None
        url = f"{self._api_root}{EXPORT_PATH}"
        while True:
            params: dict[str, Any] = {"include": SIDELOADS}
            if position.cursor is None:
                params["start_time"] = start
            else:
                params["cursor"] = position.cursor
            export = self._get_json(url, params)
            raw = mappings(export.get("tickets"), "tickets")
            users = {u.get("id"): u for u in mappings(export.get("users"), "users")}
            orgs = {o.get("id"): o for o in mappings(export.get("organizations"), "organizations")}
            after = export.get("after_cursor")
            end = export.get("end_of_stream") is True or not isinstance(after, str) or not after
            pending = [t for t in raw if not position.covers(t)]
            size = self.page_size
            chunks = [pending[i : i + size] for i in range(0, len(pending), size)]
            for index, chunk in enumerate(chunks or [[]]):
                tickets, skipped = self._tickets(chunk, users, orgs, metrics)
                if index < len(chunks) - 1:
                    last = chunk[-1]
                    mark = ExportPosition(
                        cursor=position.cursor,
                        generated=_generated(last),
                        ticket_id=int(last["id"]),
                    )
                    yield BackfillPage(tickets=tickets, cursor=mark.encode(), skipped=skipped)
                else:
                    mark = ExportPosition(cursor=after if isinstance(after, str) and after
                                          else position.cursor)
                    yield BackfillPage(tickets=tickets, cursor=mark.encode(), done=end,
                                       skipped=skipped)
            if end:
                if metrics is not None:
                    metrics.finish()
                return
            position = ExportPosition(cursor=str(after))

    def _metric_stream(self, start: int) -> _MetricEvents:
        if self._metrics is None or self._metrics.start != start:
            self._metrics = _MetricEvents(
                get_json=self._get_json, url=f"{self._api_root}{METRIC_EVENTS_PATH}", start=start
            )
        return self._metrics

    def _tickets(
        self,
        chunk: Sequence[Mapping[str, Any]],
        users: Mapping[Any, Mapping[str, Any]],
        orgs: Mapping[Any, Mapping[str, Any]],
        metrics: _MetricEvents | None,
    ) -> tuple[tuple[Ticket, ...], tuple[SkippedTicket, ...]]:
        # Deleted tickets stay in the export with status "deleted": nothing to import.
        live = [t for t in chunk if t.get("status") != "deleted"]
        skipped = [SkippedTicket(id=str(t.get("id")), reason=SkipReason.DELETED)
                   for t in chunk if t.get("status") == "deleted"]
        if metrics is not None and live:
            metrics.advance_to(max(_generated(t) for t in live))
        out: list[Ticket] = []
        for raw in live:
            ticket_id = str(mapping(raw, "ticket").get("id"))
            comments: list[Mapping[str, Any]] = []
            people = [users[raw["requester_id"]]] if raw.get("requester_id") in users else []
            for page in self._comment_pages(ticket_id):
                found = mappings(page.get("comments"), "comments")
                comments.extend(found)
                people.extend(mappings(page.get("users"), "users"))
                people.extend(users[c["author_id"]] for c in found if c.get("author_id") in users)
            bundle = {
                "ticket": raw,
                "comments": comments,
                "users": people,
                "organization": orgs.get(raw.get("organization_id")),
            }
            try:
                ticket = self._normalize(bundle)
            except ValidationError as err:
                # One malformed ticket must not stop a 60-day import: the runner names it.
                skipped.append(
                    SkippedTicket(id=ticket_id, reason=SkipReason.INVALID, detail=str(err))
                )
                continue
            if metrics is not None and metrics.enabled:
                events = metrics.take(ticket_id)
                ticket = replace(ticket, custom={**ticket.custom, "metric_events": events})
            out.append(ticket)
        return tuple(out), tuple(skipped)


class _MetricEvents:
    """The ticket metric event export read ahead in time order, buffered by ticket id."""

    def __init__(self, *, get_json: GetJson, url: str, start: int) -> None:
        self.start = start
        self.enabled = True
        self._get_json = get_json
        self._url = url
        self._next = start
        self._complete_before = start  # every event earlier than this has been read
        self._exhausted = False
        self._buffer: dict[str, dict[Any, dict[str, Any]]] = {}
        self._size = 0
        self._dropped = 0

    def advance_to(self, until: int) -> None:
        """Read pages until every event at or before ``until`` is buffered."""
        while self.enabled and not self._exhausted and self._complete_before <= until:
            try:
                page = self._get_json(self._url, {"start_time": self._next})
            except FatalError as err:
                log.warning("zendesk backfill: importing without metric events: %s", err)
                self.enabled = False
                self._buffer.clear()
                return
            events = mappings(page.get("ticket_metric_events"), "ticket_metric_events")
            for event in events:
                self._add(event)
            end_time = page.get("end_time")
            if (
                page.get("end_of_stream") is True
                or len(events) < TIME_EXPORT_LIMIT
                or not isinstance(end_time, int)
                or end_time <= self._next  # a full page within one second: cannot advance
            ):
                self._exhausted = True
                return
            # The next page starts at end_time inclusive; events at that second repeat (by id).
            self._next = end_time
            self._complete_before = end_time

    def take(self, ticket_id: str) -> list[dict[str, Any]]:
        """The buffered events of one ticket, oldest first, removed from the buffer."""
        events = self._buffer.pop(ticket_id, {})
        self._size -= len(events)
        return sorted(events.values(), key=lambda e: (str(e.get("time")), e.get("id") or 0))

    def finish(self) -> None:
        """Log what could not be attached once the ticket export is over."""
        left = self._size + self._dropped
        if left:
            log.info("zendesk backfill: %d metric events matched no exported ticket", left)
        self._buffer.clear()
        self._size = 0

    def _add(self, raw: Mapping[str, Any]) -> None:
        ticket_id = str(raw.get("ticket_id"))
        bucket = self._buffer.setdefault(ticket_id, {})
        if raw.get("id") not in bucket:
            self._size += 1
        bucket[raw.get("id")] = compact_metric_event(raw)
        while self._size > MAX_BUFFERED_EVENTS and self._buffer:
            oldest = next(iter(self._buffer))
            dropped = len(self._buffer.pop(oldest))
            self._size -= dropped
            self._dropped += dropped


def _generated(raw: Mapping[str, Any]) -> int:
    value = raw.get("generated_timestamp")
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    raise ValidationError("ticket.generated_timestamp", f"expected an integer, got {value!r}")
