"""Readings and quality flags written to InfluxDB as ingest and the alert engine write
them, for the open-data and SensorThings tests; and the JST days they fall on."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from floodwatch.alerts.history import flag_line
from floodwatch.alerts.quality import FlaggedReading
from floodwatch.core.influx import InfluxClient
from floodwatch.core.lineprotocol import format_point
from floodwatch.core.quality import Flag, Reason
from floodwatch.core.readings import JST, FieldValue
from floodwatch.core.registry import Station, StationRegistry
from floodwatch.core.settings import Settings

STEP = timedelta(minutes=10)  # the sample stations' interval_s is 600


def jst_today() -> date:
    return datetime.now(JST).date()


def day_start(day: date) -> datetime:
    """00:00 JST of ``day``, in UTC."""
    return datetime.combine(day, time(0), JST).astimezone(UTC)


def ns(moment: datetime) -> int:
    return int(moment.timestamp()) * 1_000_000_000 + moment.microsecond * 1000


def reading(station: Station, at: datetime, values: dict[str, FieldValue]) -> str:
    return format_point(station.kind.value, station.tags, values, ns(at))


def flag(station: Station, at: datetime, field: str, value: float, reason: Reason) -> str:
    return flag_line(FlaggedReading(station.id, at, Flag(field, value, reason),
                                    f"{station.id}/1", None), station)


def station(registry: StationRegistry, station_id: str) -> Station:
    found = registry.get(station_id)
    assert found is not None, station_id
    return found


async def write(settings: Settings, lines: list[str]) -> None:
    async with InfluxClient.from_settings(settings) as influx:
        await influx.create_database()
        await influx.write(lines)


def river_day(gauge: Station, day: date, *, margin: int = 3) -> list[str]:
    """A reading every 10 minutes over ``day`` (144, level 1.00, 1.01, ...) and ``margin``
    readings on each side of it, outside the day."""
    start = day_start(day)
    return [reading(gauge, start + index * STEP,
                    {"level_m": round(1 + index / 100, 2), "rain_mm": 0.5})
            for index in range(-margin, 144 + margin)]
