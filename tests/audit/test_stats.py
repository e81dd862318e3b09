"""The statistics on binned summaries, against values computed by hand."""

from __future__ import annotations

import math

import pytest

from integration.audit.stats import (
    Histogram,
    benjamini_hochberg,
    cliffs_delta,
    duration_bin,
    mann_whitney_greater,
    poisson_upper,
    proportion_greater,
)


def durations(*values: float) -> Histogram:
    h = Histogram.durations()
    for v in values:
        h.add(v)
    return h


def test_duration_bins_are_quarter_octaves() -> None:
    assert duration_bin(0.5) == 0
    assert duration_bin(1.0) == 1
    assert duration_bin(2.0) == 5  # one octave = four bins
    assert duration_bin(1.1) == duration_bin(1.18) == 1


def test_median_falls_in_the_middle_values_bin() -> None:
    h = durations(10, 20, 30, 600, 700)
    median = h.median()
    assert median is not None and duration_bin(median) == duration_bin(30)


def test_poisson_upper_tail_by_hand() -> None:
    # P(X >= 2 | mean 1) = 1 - e^-1 - e^-1 = 1 - 2/e
    assert poisson_upper(2, 1.0) == pytest.approx(1 - 2 / math.e)
    # P(X >= 5 | mean 1) = 1 - e^-1 (1 + 1 + 1/2 + 1/6 + 1/24)
    assert poisson_upper(5, 1.0) == pytest.approx(1 - math.exp(-1) * (1 + 1 + 0.5 + 1 / 6 + 1 / 24))
    assert poisson_upper(0, 3.0) == 1.0


def test_benjamini_hochberg_by_hand() -> None:
    # m = 4, q = 0.05: thresholds 0.0125, 0.025, 0.0375, 0.05. Sorted p: 0.01, 0.02, 0.04, 0.5:
    # the largest rank under its threshold is 2, so the first two are rejected.
    assert benjamini_hochberg([0.5, 0.02, 0.01, 0.04], 0.05) == [False, True, True, False]
    assert benjamini_hochberg([], 0.05) == []


def test_proportion_test_by_hand() -> None:
    # 30/50 against 10/50: pooled 0.4, se = sqrt(0.4*0.6*(2/50)) = 0.09798, z = 0.4/0.09798
    result = proportion_greater(30, 50, 10, 50)
    assert result.statistic == pytest.approx(0.4 / math.sqrt(0.24 * 0.04))
    assert result.effect == pytest.approx(0.4)
    assert result.p_value < 0.001
    assert proportion_greater(10, 50, 30, 50).p_value > 0.99


def test_mann_whitney_and_cliffs_delta() -> None:
    slow = durations(*([600.0] * 20))
    fast = durations(*([30.0] * 20))
    assert cliffs_delta(slow, fast) == 1.0
    assert cliffs_delta(fast, slow) == -1.0
    assert mann_whitney_greater(slow, fast).p_value < 1e-6
    same = mann_whitney_greater(durations(*([30.0] * 20)), fast)
    assert same.effect == 0.0 and same.p_value == 1.0


def test_histogram_minus_refuses_what_is_not_part() -> None:
    whole = durations(10, 20)
    assert whole.minus(durations(10)).total == 1
    with pytest.raises(ValueError):
        whole.minus(durations(5000))
