from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.api.levels import BAND_RANK, LevelBand, is_stale, level_band, station_band
from floodwatch.core.registry import ReferenceLevels, StationRegistry

LEVELS = ReferenceLevels(standby=1, caution=2, evacuation=3, danger=4, flooding=5)


@pytest.mark.parametrize(
    ("level", "band"),
    [(0.5, LevelBand.NORMAL), (1.0, LevelBand.STANDBY), (1.99, LevelBand.STANDBY),
     (2.0, LevelBand.CAUTION), (3.5, LevelBand.EVACUATION), (4.2, LevelBand.DANGER),
     (5.0, LevelBand.FLOODING), (-1.0, LevelBand.NORMAL)],
)
def test_level_band_reached_at_threshold(level: float, band: LevelBand) -> None:
    assert level_band(LEVELS, level) is band


def test_without_flooding_level_danger_is_the_top() -> None:
    levels = ReferenceLevels(standby=1, caution=2, evacuation=3, danger=4)
    assert level_band(levels, 99.0) is LevelBand.DANGER


def test_ranks_follow_mlit_levels() -> None:
    assert BAND_RANK[LevelBand.NORMAL] == 0
    assert BAND_RANK[LevelBand.DANGER] == 4
    assert BAND_RANK[LevelBand.FLOODING] == 5


def test_roads_have_no_band(sample_registry: StationRegistry) -> None:
    road = next(s for s in sample_registry if s.kind == "road")
    river = next(s for s in sample_registry if s.kind == "river")
    assert station_band(road, {"water_depth_cm": 30.0}) is None
    assert station_band(river, {"rain_mm": 3.0}) is None
    assert station_band(river, {"level_m": 0.0}) is LevelBand.NORMAL


def test_stale_after_factor_intervals(sample_registry: StationRegistry) -> None:
    station = next(iter(sample_registry))
    now = datetime(2026, 11, 28, tzinfo=UTC)
    limit = timedelta(seconds=station.interval_s * 3)
    assert is_stale(station, None, now, 3)
    assert not is_stale(station, now - limit, now, 3)
    assert is_stale(station, now - limit - timedelta(seconds=1), now, 3)
