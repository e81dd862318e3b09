"""The few statistics the audit needs, on summaries of fixed size (pure, no SciPy).

Outcomes are kept as binned histograms, not lists of values, so memory stays flat however
long the history: durations in quarter-octave bins (each bin 19% wider than the last, from one
minute to two years), small counts (reopens, reassignments) in one bin per value. The tests
read those bins directly:

- ``mann_whitney_greater``: is one group's outcome stochastically larger than another's?
  Mann-Whitney U with every bin a group of ties (normal approximation, tie and continuity
  corrected); ``cliffs_delta`` is its effect size, P(a > b) - P(a < b).
- ``proportion_greater``: is one group's rate (bad ratings, reopens) higher? One-sided
  two-proportion z-test with the pooled rate.
- ``poisson_upper``: how surprising is a count against a baseline rate? Exact upper tail.
- ``benjamini_hochberg``: which of many p-values survive a false-discovery rate.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "Histogram",
    "TestResult",
    "benjamini_hochberg",
    "cliffs_delta",
    "count_bin",
    "duration_bin",
    "mann_whitney_greater",
    "normal_sf",
    "poisson_upper",
    "proportion_greater",
]

# Quarter-octave bins of minutes: bin 0 is under a minute, bin k covers [2^((k-1)/4), 2^(k/4)).
_BINS_PER_OCTAVE = 4
_LAST_DURATION_BIN = 1 + _BINS_PER_OCTAVE * 20  # 2^20 minutes: about two years
_LAST_COUNT_BIN = 20


def normal_sf(z: float) -> float:
    """P(Z > z) for a standard normal Z."""
    return 0.5 * math.erfc(z / math.sqrt(2.0))


def duration_bin(minutes: float) -> int:
    """The histogram bin of a duration in minutes."""
    if minutes < 1.0:
        return 0
    return min(_LAST_DURATION_BIN, 1 + int(math.floor(_BINS_PER_OCTAVE * math.log2(minutes))))


def count_bin(value: float) -> int:
    """The histogram bin of a small count."""
    return min(_LAST_COUNT_BIN, max(0, int(value)))


def _bin_value(index: int) -> float:
    # The geometric middle of a duration bin, in minutes.
    if index == 0:
        return 0.5
    return float(2.0 ** ((index - 0.5) / _BINS_PER_OCTAVE))


class Histogram:
    """Counts per bin: ``durations()`` for minutes, ``counts()`` for small whole numbers."""

    __slots__ = ("_bins", "kind", "total")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._bins: dict[int, int] = {}
        self.total = 0

    @classmethod
    def durations(cls) -> Histogram:
        """A histogram of durations in minutes (quarter-octave bins)."""
        return cls("minutes")

    @classmethod
    def counts(cls) -> Histogram:
        """A histogram of small counts, one bin per value up to 20."""
        return cls("count")

    def add(self, value: float) -> None:
        """Count one value."""
        self.add_bin(duration_bin(value) if self.kind == "minutes" else count_bin(value))

    def add_bin(self, index: int) -> None:
        """Count one value whose bin (``duration_bin`` or ``count_bin``) is known already."""
        self._bins[index] = self._bins.get(index, 0) + 1
        self.total += 1

    def merge(self, other: Histogram) -> None:
        """Add every count of ``other`` (same kind) to this one."""
        for index, n in other._bins.items():
            self._bins[index] = self._bins.get(index, 0) + n
        self.total += other.total

    def minus(self, other: Histogram) -> Histogram:
        """This histogram without ``other``'s counts (``other`` must be part of it)."""
        out = Histogram(self.kind)
        if any(index not in self._bins for index in other._bins):
            raise ValueError("cannot subtract a histogram that is not part of this one")
        for index, n in self._bins.items():
            left = n - other._bins.get(index, 0)
            if left < 0:
                raise ValueError("cannot subtract a histogram that is not part of this one")
            if left:
                out._bins[index] = left
        out.total = self.total - other.total
        return out

    def items(self) -> list[tuple[int, int]]:
        """(bin, count) pairs in bin order."""
        return sorted(self._bins.items())

    def value(self, index: int) -> float:
        """The value a bin stands for (minutes, or the count itself)."""
        return _bin_value(index) if self.kind == "minutes" else float(index)

    def quantile(self, q: float) -> float | None:
        """The value at quantile ``q`` (the middle of the bin it falls in); None when empty."""
        if not self.total:
            return None
        target = q * self.total
        seen = 0
        for index, n in self.items():
            seen += n
            if seen >= target:
                return self.value(index)
        return self.value(self.items()[-1][0])

    def median(self) -> float | None:
        """The median, to the bin's resolution."""
        return self.quantile(0.5)

    def mean(self) -> float | None:
        """The mean of the bins' values."""
        if not self.total:
            return None
        return sum(self.value(i) * n for i, n in self._bins.items()) / self.total

    def to_dict(self) -> dict[str, int]:
        """Bins as a JSON object (bin index as text)."""
        return {str(i): n for i, n in self.items()}


@dataclass(frozen=True, kw_only=True, slots=True)
class TestResult:
    """A one-sided test: the statistic, its p-value and an effect size."""

    statistic: float
    p_value: float
    effect: float


def _rank_sums(a: Histogram, b: Histogram) -> tuple[float, float]:
    # U of ``a`` over ``b`` (ties count half) and the tie correction sum of t^3 - t.
    below_b = 0
    u = 0.0
    ties = 0.0
    indices = sorted(set(a._bins) | set(b._bins))
    for index in indices:
        na, nb = a._bins.get(index, 0), b._bins.get(index, 0)
        u += na * (below_b + nb / 2.0)
        below_b += nb
        t = na + nb
        ties += t * t * t - t
    return u, ties


def cliffs_delta(a: Histogram, b: Histogram) -> float:
    """P(a > b) - P(a < b) over every pair, ties inside a bin counted as equal."""
    if not a.total or not b.total:
        return 0.0
    u, _ = _rank_sums(a, b)
    return 2.0 * u / (a.total * b.total) - 1.0


def mann_whitney_greater(a: Histogram, b: Histogram) -> TestResult:
    """One-sided Mann-Whitney U: are ``a``'s values larger than ``b``'s?"""
    n1, n2 = a.total, b.total
    if not n1 or not n2:
        return TestResult(statistic=0.0, p_value=1.0, effect=0.0)
    u, ties = _rank_sums(a, b)
    n = n1 + n2
    mean = n1 * n2 / 2.0
    var = n1 * n2 / 12.0 * ((n + 1) - ties / (n * (n - 1))) if n > 1 else 0.0
    effect = 2.0 * u / (n1 * n2) - 1.0
    if var <= 0:
        return TestResult(statistic=0.0, p_value=1.0, effect=effect)
    z = (u - mean - 0.5) / math.sqrt(var)
    return TestResult(statistic=z, p_value=normal_sf(z), effect=effect)


def proportion_greater(hits_a: int, n_a: int, hits_b: int, n_b: int) -> TestResult:
    """One-sided two-proportion z-test: is ``hits_a / n_a`` above ``hits_b / n_b``?"""
    if not n_a or not n_b:
        return TestResult(statistic=0.0, p_value=1.0, effect=0.0)
    p_a, p_b = hits_a / n_a, hits_b / n_b
    pooled = (hits_a + hits_b) / (n_a + n_b)
    spread = pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)
    if spread <= 0:
        return TestResult(statistic=0.0, p_value=1.0, effect=p_a - p_b)
    z = (p_a - p_b) / math.sqrt(spread)
    return TestResult(statistic=z, p_value=normal_sf(z), effect=p_a - p_b)


def poisson_upper(count: int, rate: float) -> float:
    """P(X >= count) for X ~ Poisson(rate), summed exactly from ``count`` upward."""
    if count <= 0:
        return 1.0
    if rate <= 0:
        return 0.0
    if count <= rate:
        # The lower side is the short sum here: 1 - P(X < count).
        term = math.exp(-rate)
        below = term
        for i in range(1, count):
            term *= rate / i
            below += term
        return max(0.0, min(1.0, 1.0 - below))
    log_term = -rate + count * math.log(rate) - math.lgamma(count + 1)
    term = math.exp(log_term)
    total = term
    i = count
    while term > total * 1e-17:
        i += 1
        term *= rate / i
        total += term
    return min(1.0, total)


def benjamini_hochberg(p_values: Sequence[float], q: float) -> list[bool]:
    """Which hypotheses are rejected at false-discovery rate ``q`` (same order as given)."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    cutoff = -1
    for rank, index in enumerate(order, start=1):
        if p_values[index] <= q * rank / m:
            cutoff = rank
    rejected = [False] * m
    for rank, index in enumerate(order, start=1):
        if rank <= cutoff:
            rejected[index] = True
    return rejected

