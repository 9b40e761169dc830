"""What a reading means for officers: which reference level band a river is in, and
whether a station has gone quiet (stale) -- Home Assistant's ``expire_after`` idea."""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum

from floodwatch.core.registry import ReferenceLevels, Station


class LevelBand(StrEnum):
    """Bands between MLIT reference levels, ordered from calm to flooding."""

    NORMAL = "normal"
    STANDBY = "standby"
    CAUTION = "caution"
    EVACUATION = "evacuation"
    DANGER = "danger"
    FLOODING = "flooding"


# The rank is the MLIT level number (0 = below standby): clients colour by it.
BAND_RANK: dict[LevelBand, int] = {band: rank for rank, band in enumerate(LevelBand)}


def level_band(levels: ReferenceLevels, level_m: float) -> LevelBand:
    """The highest reference level reached; a level equal to a threshold has reached it."""
    thresholds: list[tuple[float | None, LevelBand]] = [
        (levels.flooding, LevelBand.FLOODING),
        (levels.danger, LevelBand.DANGER),
        (levels.evacuation, LevelBand.EVACUATION),
        (levels.caution, LevelBand.CAUTION),
        (levels.standby, LevelBand.STANDBY),
    ]
    for threshold, band in thresholds:
        if threshold is not None and level_m >= threshold:
            return band
    return LevelBand.NORMAL


def station_band(station: Station, values: dict[str, float | str]) -> LevelBand | None:
    """The band of a river station's latest level; None for roads or without a level."""
    level = values.get("level_m")
    if station.levels_m is None or not isinstance(level, float):
        return None
    return level_band(station.levels_m, level)


def is_stale(station: Station, last_ts: datetime | None, now: datetime, factor: float) -> bool:
    """No reading at all, or none for ``factor`` reporting intervals."""
    if last_ts is None:
        return True
    return now - last_ts > timedelta(seconds=station.interval_s * factor)
