"""Prometheus metrics: what this process counted, and the text format ``/metrics`` serves.

Figures that must agree across a cluster (events waiting, outbox rows pending or failed per
vendor, how late the queues are) are read from the database at each scrape
(``integration.store.metrics``); what only one process sees (webhooks it acknowledged, the SLA
sweeps it ran and how long they took) is counted here, in memory, and starts from zero when
the process does, as Prometheus counters may.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["Family", "ProcessMetrics", "exposition"]


@dataclass(frozen=True, kw_only=True, slots=True)
class Family:
    """One metric: its name, type, help line and samples (labels → value)."""

    name: str
    kind: str  # "counter" or "gauge"
    help: str
    samples: tuple[tuple[Mapping[str, str], float], ...] = ()


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value)) if not float(value).is_integer() else str(int(value))


def exposition(families: Iterable[Family]) -> str:
    """The Prometheus text exposition format (version 0.0.4) of ``families``."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# HELP {family.name} {family.help}")
        lines.append(f"# TYPE {family.name} {family.kind}")
        for labels, value in family.samples:
            inner = ",".join(f'{k}="{_escape(v)}"' for k, v in sorted(labels.items()))
            lines.append(f"{family.name}{{{inner}}} {_number(value)}" if inner
                         else f"{family.name} {_number(value)}")
    return "\n".join(lines) + "\n"


@dataclass
class ProcessMetrics:
    """Counters of one process; thread-safe."""

    webhooks: dict[tuple[str, str], int] = field(default_factory=dict)
    sweeps: int = 0
    sweep_seconds_total: float = 0.0
    last_sweep_seconds: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def webhook(self, helpdesk: str, outcome: str) -> None:
        """Count one webhook answered (accepted, duplicate, ignored, refused)."""
        with self._lock:
            key = (helpdesk, outcome)
            self.webhooks[key] = self.webhooks.get(key, 0) + 1

    def sweep(self, seconds: float) -> None:
        """Count one SLA sweep that took ``seconds``."""
        with self._lock:
            self.sweeps += 1
            self.sweep_seconds_total += seconds
            self.last_sweep_seconds = seconds

    def families(self) -> list[Family]:
        """This process's metrics."""
        with self._lock:
            webhooks = tuple(({"helpdesk": h, "outcome": o}, float(n))
                             for (h, o), n in sorted(self.webhooks.items()))
            return [
                Family(name="escalade_webhooks_total", kind="counter",
                       help="Webhooks this process answered, by helpdesk and outcome.",
                       samples=webhooks),
                Family(name="escalade_sla_sweeps_total", kind="counter",
                       help="SLA sweeps this process ran.", samples=(({}, float(self.sweeps)),)),
                Family(name="escalade_sla_sweep_seconds_total", kind="counter",
                       help="Time this process spent in SLA sweeps.",
                       samples=(({}, self.sweep_seconds_total),)),
                Family(name="escalade_sla_sweep_last_seconds", kind="gauge",
                       help="How long this process's latest SLA sweep took.",
                       samples=(({}, self.last_sweep_seconds),)),
            ]
