"""GaugeHistory: accepted readings in order, duplicates and late ones refused, look-ups
that never read past ``now``."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.forecast.history import GaugeHistory, Observation

START = datetime(2026, 10, 12, tzinfo=UTC)


def reading(minutes: int, level: float, rain: float | None = 0.0) -> Observation:
    return Observation(START + timedelta(minutes=minutes), level, rain)


def test_duplicates_and_older_readings_are_refused() -> None:
    history = GaugeHistory()
    assert history.add(reading(0, 1.0))
    assert history.add(reading(10, 1.1))
    assert not history.add(reading(10, 9.9))  # the same instant again (a duplicate)
    assert not history.add(reading(5, 9.9))  # older than the newest (a late backfill)
    assert [o.level_m for o in history.observations()] == [1.0, 1.1]
    assert history.newest == reading(10, 1.1)


def test_a_naive_time_is_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        GaugeHistory().add(Observation(datetime(2026, 10, 12), 1.0, None))


def test_old_readings_are_dropped_beyond_keep() -> None:
    history = GaugeHistory(keep_s=3600)
    for minutes in range(0, 600, 10):
        history.add(reading(minutes, minutes / 100))
    kept = history.observations()  # those less than an hour older than the newest
    assert kept[0].at == START + timedelta(minutes=590 - 50)
    assert len(kept) == 6
    assert kept[-1].at == START + timedelta(minutes=590)


def test_levels_interpolate_and_never_read_the_future() -> None:
    history = GaugeHistory.of([reading(0, 1.0), reading(10, 2.0), reading(20, 4.0)])
    at = START.timestamp()
    assert history.level_at(at + 300, now=at + 1200) == pytest.approx(1.5)
    # As of 10 minutes, the reading at 20 is not there yet: the newest stands for now.
    assert history.level_at(at + 900, now=at + 600) == pytest.approx(2.0)
    assert history.level_at(at - 60, now=at + 1200) is None


def test_a_gap_longer_than_half_an_hour_is_no_level() -> None:
    history = GaugeHistory.of([reading(0, 1.0), reading(60, 2.0)])
    at = START.timestamp()
    assert history.level_at(at + 1800, now=at + 3600) is None
    assert history.level_at(at + 3600 + 40 * 60, now=at + 3600 + 40 * 60) is None  # stale


def test_rain_sums_count_each_report_once() -> None:
    history = GaugeHistory.of([reading(0, 1.0, 1.0), reading(10, 1.0, 2.0),
                               reading(20, 1.0, None), reading(30, 1.0, 4.0)])
    at = START.timestamp()
    assert history.rain_between(at, at + 1800) == pytest.approx(6.0)  # (0, 30] min
    assert history.rain_between(at - 1, at + 600) == pytest.approx(3.0)
    assert history.rain_between(at + 1800, at + 3600) == 0.0
