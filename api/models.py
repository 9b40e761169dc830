"""Response bodies of the REST API, with the examples shown in the OpenAPI schema."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from floodwatch.api.levels import LevelBand
from floodwatch.core.readings import FieldValue
from floodwatch.core.registry import StationKind

EXAMPLE_TS = "2026-11-28T01:00:00.000000Z"


class LatestReading(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"ts": EXAMPLE_TS, "values": {"level_m": 3.21, "rain_mm": 4.5}}]})

    ts: datetime
    values: dict[str, FieldValue]


class LevelStatus(BaseModel):
    band: LevelBand = Field(description="Reference level band of the latest level_m.")
    rank: int = Field(ge=0, le=5, description="0 below standby, 1..4 MLIT levels, 5 flooding.")


class StationSummary(BaseModel):
    """A station with what officers need at a glance."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "id": "fushiguro", "kind": "river", "name": {"ja": "伏黒", "en": "Fushiguro"},
        "latest": {"ts": EXAMPLE_TS, "values": {"level_m": 3.21}},
        "level": {"band": "standby", "rank": 1}, "stale": False,
    }]})

    id: str
    kind: StationKind
    name: dict[str, str]
    latest: LatestReading | None = Field(description="Newest reading; null if none is known.")
    level: LevelStatus | None = Field(description="Rivers only; null without a level.")
    stale: bool = Field(description="No reading for api_stale_factor x interval_s.")


class StationDetail(StationSummary):
    """A station with its registry data."""

    basin: str
    river: str | None
    route: str | None
    location: dict[str, float]
    interval_s: int
    levels_m: dict[str, float | None] | None


class StationList(BaseModel):
    stations: list[StationSummary]
    source: Literal["influxdb+bus", "bus"] = Field(
        description="'bus' when InfluxDB was unreachable and only live data is shown.")


class HistoryPoint(BaseModel):
    ts: datetime
    values: dict[str, FieldValue]


class HistoryFlag(BaseModel):
    """A value the alert engine did not believe (InfluxDB ``reading_flag``)."""

    ts: datetime
    field: str
    reason: str = Field(description="out_of_range, flatline, max_step or dropout "
                        "(docs/alerts.md, Data quality).")
    value: float


class History(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "station": "fushiguro", "start": "2026-11-27T01:00:00Z", "end": EXAMPLE_TS,
        "bucket_s": 180, "points": [{"ts": EXAMPLE_TS, "values": {"level_m": 3.2}}],
    }]})

    station: str
    start: datetime
    end: datetime
    bucket_s: int | None = Field(description="Averaging bucket in seconds; null for raw.")
    flags: list[HistoryFlag] = Field(
        default_factory=list, description="Suspect values in the range, oldest first (at "
        "most api_max_points); a bucket's mean includes them.")
    points: list[HistoryPoint]


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    broker: bool = Field(description="Subscribed to the bus.")
    influxdb: bool = Field(description="InfluxDB answered /ping.")
