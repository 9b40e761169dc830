"""Response bodies of the REST API, with the examples shown in the OpenAPI schema."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from floodwatch.api.levels import LevelBand
from floodwatch.core.readings import FieldValue
from floodwatch.core.registry import StationKind

EXAMPLE_TS = "2026-11-28T01:00:00Z"


def _in_utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError("a time the API writes must be aware")
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


# A time in a response, in the API's one form (docs/api.md, HTTP conventions): pydantic
# writes an aware UTC datetime as core.readings.format_ts does, "...:00Z" with no
# fraction when it is zero and six digits otherwise; only the offset needs converting.
UtcTime = Annotated[datetime, AfterValidator(_in_utc)]


class LatestReading(BaseModel):
    model_config = ConfigDict(json_schema_extra={
        "examples": [{"ts": EXAMPLE_TS, "values": {"level_m": 3.21, "rain_mm": 4.5}}]})

    ts: UtcTime
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
    ts: UtcTime
    values: dict[str, FieldValue]


class HistoryFlag(BaseModel):
    """A value the alert engine did not believe (InfluxDB ``reading_flag``)."""

    ts: UtcTime
    field: str
    reason: str = Field(description="out_of_range, flatline, max_step or dropout "
                        "(docs/alerts.md, Data quality).")
    value: float


class History(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "station": "fushiguro", "start": "2026-11-27T01:00:00Z", "end": EXAMPLE_TS,
        "bucket_s": 180, "flags": [], "flags_truncated": False,
        "points": [{"ts": EXAMPLE_TS, "values": {"level_m": 3.2}}],
    }]})

    station: str
    start: UtcTime
    end: UtcTime
    bucket_s: int | None = Field(description=(
        "null: `points` are every reading in the range. Otherwise the range held more than "
        "api_max_points readings and each point aggregates one bucket of this many "
        "seconds (mean; sum for rain_mm; last for surface_state), labelled with the "
        "bucket's start, over the whole range: never cut short, newest data included."))
    flags: list[HistoryFlag] = Field(
        default_factory=list, description="Suspect values in the range, oldest first: the "
        "newest api_max_points of them; a bucket's mean includes them.")
    flags_truncated: bool = Field(
        default=False, description="More flags than api_max_points were in the range (the "
        "oldest are left out): ask for a shorter range to see them.")
    points: list[HistoryPoint] = Field(description=(
        "Oldest first. Values rounded to the field's resolution: level_m and battery_v "
        "to 0.01, rain_mm, water_depth_cm and surface_temp_c to 0.1."))


class Health(BaseModel):
    status: Literal["ok", "degraded"]
    broker: bool = Field(description="Subscribed to the bus.")
    influxdb: bool = Field(description="InfluxDB answered /ping.")
