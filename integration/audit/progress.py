"""How a long audit or replay says where it is: a callback the CLI turns into lines.

The engine calls ``on_progress(Progress(...))`` when a stage starts, every ``every`` tickets
while it reads, and when a stage ends; it never prints or logs by itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["Progress", "ProgressCallback", "Reporter"]

_EVERY = 1000


@dataclass(frozen=True, kw_only=True, slots=True)
class Progress:
    """One step: the stage (``reading``, ``topics``, ``labels``, ``done``), tickets so far."""

    stage: str
    tickets: int
    elapsed_seconds: float
    message: str = ""

    def __str__(self) -> str:
        rate = self.tickets / self.elapsed_seconds if self.elapsed_seconds > 0 else 0.0
        text = f"{self.stage}: {self.tickets} tickets in {self.elapsed_seconds:.1f} s"
        if self.stage == "reading" and rate:
            text += f" ({rate:.0f}/s)"
        return f"{text}; {self.message}" if self.message else text


ProgressCallback = Callable[[Progress], None]


class Reporter:
    """Calls the callback at stage changes and every ``every`` tickets (None: silent)."""

    def __init__(self, callback: ProgressCallback | None, *, every: int = _EVERY) -> None:
        self._callback = callback
        self._every = max(1, every)
        self._start = time.monotonic()
        self.tickets = 0

    def stage(self, name: str, message: str = "") -> None:
        """Announce a stage."""
        if self._callback is not None:
            self._callback(Progress(stage=name, tickets=self.tickets,
                                    elapsed_seconds=time.monotonic() - self._start,
                                    message=message))

    def tick(self) -> None:
        """Count one ticket read."""
        self.tickets += 1
        if self._callback is not None and self.tickets % self._every == 0:
            self.stage("reading")
