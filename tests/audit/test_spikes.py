"""Spikes: a day far above its own baseline, under a stated test; quiet series are left alone."""

from __future__ import annotations

from datetime import date, timedelta

from integration.audit.settings import AuditSettings
from integration.audit.spikes import find_spikes

START = date(2026, 10, 1)


def series(name: str, counts: list[int]) -> dict[tuple[str, date], int]:
    return {(name, START + timedelta(days=n)): c for n, c in enumerate(counts) if c}


def test_a_day_far_above_its_baseline_is_a_spike() -> None:
    counts = series("billing", [2] * 14 + [12] + [2] * 5)
    (spike,) = find_spikes(counts, AuditSettings())
    assert spike.day == START + timedelta(days=14)
    assert spike.series == "billing" and spike.tickets == 12
    assert spike.baseline == 2.0
    assert spike.to_dict()["category"] == "billing"


def test_steady_and_small_series_have_no_spikes() -> None:
    steady = series("how_to", [10, 12, 9, 11, 10, 13, 9, 10, 12, 11, 10, 9, 12, 14, 11])
    # From nothing to 4: far above, but under the minimum count of 5.
    small = series("legal", [0] * 10 + [4])
    assert find_spikes({**steady, **small}, AuditSettings()) == []


def test_the_first_days_are_not_tested_without_history() -> None:
    counts = series("outage", [30] + [1] * 10)
    assert find_spikes(counts, AuditSettings()) == []


def test_many_series_are_corrected_together() -> None:
    # One borderline day (7 against a baseline of 2): alone it passes at this rate; among 200
    # busy flat series (6 a day: every day a test) it does not.
    borderline = [2] * 14 + [7]
    alone = find_spikes(series("bug", borderline), AuditSettings(spike_fdr=0.05))
    many: dict[tuple[str, date], int] = series("bug", borderline)
    for n in range(200):
        many.update(series(f"s{n}", [6] * 15))
    crowded = find_spikes(many, AuditSettings(spike_fdr=0.05))
    assert [s.series for s in alone] == ["bug"]
    assert crowded == []


def test_an_hour_is_tested_against_the_same_hour_of_earlier_days() -> None:
    from datetime import UTC, datetime

    counts: dict[tuple[str, datetime], int] = {}
    first = datetime(2026, 10, 1, 0, tzinfo=UTC)
    for d in range(15):
        for h in (9, 10, 11, 14):  # office hours: 4 a day at 9-11 and 14
            counts[("bug", first + timedelta(days=d, hours=h))] = 4
    counts[("bug", first + timedelta(days=14, hours=3))] = 9  # 03:00, never busy before
    counts[("bug", first + timedelta(days=14, hours=10))] = 6  # busy hour, a bit busier
    (spike,) = find_spikes(counts, AuditSettings(), hourly=True, first=first)
    assert spike.day == first + timedelta(days=14, hours=3)
    assert spike.to_dict()["granularity"] == "hour"
