"""Is the database there? One answer per process part, one log line per change.

While the store is unavailable (PostgreSQL stopped, a SQLite lock held past the busy
timeout) the web answers 503 with ``Retry-After`` at once instead of tying up a server
thread per request, and workers wait instead of failing events. Every ``probe_every``
seconds one caller is let through to check (``store.ping``); the first success ends the
outage. ``went_down`` and ``came_back`` log exactly once per outage, so a long outage under
load is two log lines, not one traceback per request.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from integration.inbound import loggable

__all__ = ["StoreGate"]

log = logging.getLogger(__name__)


class StoreGate:
    """Tracks whether the database answers, for one part of the process (web, workers)."""

    def __init__(
        self,
        *,
        who: str,
        meanwhile: str,
        probe_every: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.who = who
        self.meanwhile = meanwhile
        self.probe_every = probe_every
        self._clock = clock
        self._lock = threading.Lock()
        self._down_since: float | None = None
        self._last_try = 0.0
        self.outages = 0

    @property
    def down(self) -> bool:
        """True between ``went_down`` and ``came_back``."""
        return self._down_since is not None

    def probe_due(self) -> bool:
        """While down: True for one caller every ``probe_every`` seconds (it should ping)."""
        with self._lock:
            if self._down_since is None:
                return True
            now = self._clock()
            if now - self._last_try < self.probe_every:
                return False
            self._last_try = now
            return True

    def went_down(self, err: BaseException) -> None:
        """The store failed; logs once when this starts an outage."""
        with self._lock:
            self._last_try = self._clock()
            if self._down_since is not None:
                return
            self._down_since = self._clock()
            self.outages += 1
        reason = loggable(str(err).strip().splitlines()[0] if str(err).strip() else repr(err))
        log.error("%s: database unavailable (%s: %s); %s until it is back",
                  self.who, type(err).__name__, reason, self.meanwhile)

    def came_back(self) -> None:
        """The store answered again; logs once when this ends an outage."""
        with self._lock:
            since, self._down_since = self._down_since, None
        if since is not None:
            log.warning("%s: database is back after %.1f s", self.who, self._clock() - since)
