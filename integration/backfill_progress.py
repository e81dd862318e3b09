"""Showing a history import as it goes: one updating line on a terminal, else a log line.

The runner (``integration.backfill``) hands a ``BackfillProgress`` to whatever display it was
given; ``ProgressDisplay`` draws it and keeps log records off the progress line.
"""

from __future__ import annotations

import logging
import shutil
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import IO

__all__ = [
    "BackfillProgress",
    "Progress",
    "ProgressDisplay",
    "describe",
    "duration_text",
    "plural",
]


@dataclass(frozen=True, kw_only=True, slots=True)
class BackfillProgress:
    """How far this invocation got, for a progress display."""

    helpdesk: str
    pages: int
    tickets_seen: int
    tickets_stored: int
    elapsed: float
    total: int | None = None
    skipped: int = 0
    # Tickets read by earlier invocations of a resumed run.
    before: int = 0
    waiting: float | None = None
    problem: str | None = None

    @property
    def done(self) -> int:
        """Tickets of the whole run handled so far (read or skipped)."""
        return self.before + self.tickets_seen + self.skipped

    @property
    def rate(self) -> float:
        """Tickets per second in this invocation."""
        handled = self.tickets_seen + self.skipped
        return handled / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def eta(self) -> float | None:
        """Seconds left, when the vendor told how many tickets there are."""
        if self.total is None or self.rate <= 0:
            return None
        return max(0.0, (self.total - self.done) / self.rate)



Progress = Callable[[BackfillProgress], None]


class ProgressDisplay:
    """Shows a run's progress: one updating line on a terminal, else a line every few seconds.

    Call it with each ``BackfillProgress``; ``tick()`` refreshes (the elapsed time, the rate,
    a wait's countdown); ``running()`` ticks in the background and routes log records through
    ``log()``, which ends the progress line first, so the two never share a line.
    """

    def __init__(
        self,
        stream: IO[str] | None = None,
        *,
        is_tty: bool | None = None,
        every: float | None = None,
        timer: Callable[[], float] = time.monotonic,
    ) -> None:
        self.stream = stream if stream is not None else sys.stderr
        self.is_tty = self.stream.isatty() if is_tty is None else is_tty
        # A terminal line is redrawn every second; a log gets a line every five.
        self.every = every if every is not None else (1.0 if self.is_tty else 5.0)
        self._timer = timer
        self._lock = threading.RLock()
        self._latest: BackfillProgress | None = None
        self._received = 0.0
        self._width = 0  # characters of the progress line now on the terminal

    def __call__(self, progress: BackfillProgress) -> None:
        """Take the runner's latest progress; a terminal shows it at once."""
        with self._lock:
            self._latest, self._received = progress, self._timer()
            if self.is_tty:
                self._draw(describe(progress))

    def tick(self) -> None:
        """Redraw the terminal line, or write a progress line to the log."""
        with self._lock:
            if self._latest is None:
                return
            line = describe(self._now())
            if self.is_tty:
                self._draw(line)
            else:
                self._write(f"{line}\n")

    def log(self, text: str) -> None:
        """Write a log line on its own line, then bring the progress line back."""
        with self._lock:
            shown = self._width > 0
            if shown:
                self._write(f"\r{' ' * self._width}\r")
                self._width = 0
            self._write(f"{text}\n")
            if shown and self._latest is not None:
                self._draw(describe(self._now()))

    def close(self) -> None:
        """End the progress line so what follows starts on its own."""
        with self._lock:
            if self._width:
                self._write("\n")
                self._width = 0

    @contextmanager
    def running(self, *, level: int | str = logging.INFO) -> Iterator[ProgressDisplay]:
        """Refresh in the background and show log records through ``log()`` until the block ends."""
        handler = _DisplayHandler(self)
        root = logging.getLogger()
        previous = root.level
        root.addHandler(handler)
        root.setLevel(level)
        stop = threading.Event()
        ticker = threading.Thread(target=self._tick_until, args=(stop,), daemon=True,
                                  name="backfill-progress")
        ticker.start()
        try:
            yield self
        finally:
            stop.set()
            ticker.join()
            root.removeHandler(handler)
            root.setLevel(previous)
            self.close()

    def _tick_until(self, stop: threading.Event) -> None:
        while not stop.wait(self.every):
            self.tick()

    def _now(self) -> BackfillProgress:
        """The latest progress moved on to now: elapsed time grows, a wait counts down."""
        assert self._latest is not None
        passed = max(0.0, self._timer() - self._received)
        waiting = self._latest.waiting
        return replace(
            self._latest,
            elapsed=self._latest.elapsed + passed,
            waiting=None if waiting is None else max(0.0, waiting - passed),
        )

    def _draw(self, line: str) -> None:
        # A line wider than the terminal wraps, and "\r" would only rewind its last row.
        line = line[: max(20, shutil.get_terminal_size((120, 24)).columns - 1)]
        pad = max(0, self._width - len(line))
        self._width = len(line)
        self._write(f"\r{line}{' ' * pad}")

    def _write(self, text: str) -> None:
        self.stream.write(text)
        self.stream.flush()


class _DisplayHandler(logging.Handler):
    """Hands log records to a ``ProgressDisplay``, "warning: ..." for warnings and worse."""

    def __init__(self, display: ProgressDisplay) -> None:
        super().__init__()
        self.display = display

    def emit(self, record: logging.LogRecord) -> None:
        try:
            text = self.format(record)
        except Exception:  # logging must never break the import
            self.handleError(record)
            return
        if record.levelno >= logging.WARNING:
            text = f"{record.levelname.lower()}: {text}"
        self.display.log(text)


def describe(progress: BackfillProgress) -> str:
    """The progress line: tickets (of the total when known), time, rate, ETA, or the wait."""
    done = f"{progress.done:,}"
    if progress.total is not None:
        share = min(100, int(100 * progress.done / progress.total)) if progress.total else 100
        done += f" of {progress.total:,} tickets ({share}%)"
    else:
        done += " tickets"
    line = (f"{progress.helpdesk}: {done} in {duration_text(progress.elapsed)}, "
            f"{progress.rate:,.1f}/s")
    if progress.eta is not None:
        line += f", ETA {duration_text(progress.eta)}"
    line += (f"; {progress.pages:,} {plural(progress.pages, 'page')}, "
             f"{progress.tickets_stored:,} stored")
    if progress.skipped:
        line += f", {progress.skipped:,} skipped"
    if progress.waiting is not None:
        problem = progress.problem or "waiting"
        if progress.waiting > 0:
            line += f" - {problem}, retrying in {duration_text(progress.waiting)}"
        else:
            line += f" - {problem}, retrying now"
    return line


def duration_text(seconds: float) -> str:
    """A span as people read it: 42s, 3m05s, 2h10m."""
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


def plural(count: int, one: str, many: str | None = None) -> str:
    """``one`` for a count of one, else ``many`` (by default ``one`` with an s)."""
    return one if count == 1 else (many or f"{one}s")
