"""Bodies of the open-data endpoints (``/open-data/v1``), with the examples OpenAPI shows.

Times are strings already in floodwatch's one form (RFC 3339, UTC, ``Z``, no zero
fraction), written by ``core.readings.format_ts``, not datetimes pydantic would
format again its own way.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from floodwatch.core.readings import FieldValue


class Licence(BaseModel):
    name: str = Field(examples=["CC BY 4.0"])
    url: str = Field(examples=["https://creativecommons.org/licenses/by/4.0/"])


class FieldInfo(BaseModel):
    """One column of the day files (a SensorThings Datastream's measure)."""

    name: str = Field(examples=["level_m"])
    title: dict[str, str] = Field(examples=[{"ja": "水位", "en": "Water level"}])
    unit: str | None = Field(description="UCUM code; null for a category (surface_state).",
                             examples=["m"])
    description: str


class StationFiles(BaseModel):
    id: str = Field(examples=["sukagawa"])
    kind: str = Field(examples=["river"])
    name: dict[str, str] = Field(examples=[{"ja": "須賀川", "en": "Sukagawa"}])
    basin: str
    river: dict[str, str] | None = Field(description="Rivers: the river's names.")
    route: str | None = Field(description="Road sensors: the route.")
    municipality: dict[str, str] | None
    location: dict[str, float] = Field(examples=[{"lat": 37.2867, "lon": 140.38}])
    interval_s: int = Field(description="Expected reporting interval.")
    fields: list[FieldInfo]
    csv: str = Field(description="URL template of a day's CSV ({day}: YYYY-MM-DD, JST).")
    json_url: str = Field(alias="json", description="URL template of a day's JSON.")


class StationIndex(BaseModel):
    licence: Licence
    attribution: str = Field(examples=["福島県 / Fukushima Prefecture"])
    timezone: str = Field(description="Days are local days in this zone.",
                          examples=["Asia/Tokyo (+09:00)"])
    first_day: str = Field(description="Oldest day offered (YYYY-MM-DD).")
    last_day: str = Field(description="Newest day offered: today in JST (still growing).")
    stations: list[StationFiles]


class SuspectValue(BaseModel):
    """A value the alert engine's data-quality checks did not believe."""

    field: str = Field(examples=["level_m"])
    reason: str = Field(description="out_of_range, flatline, max_step or dropout "
                        "(docs/alerts.md, Data quality).", examples=["max_step"])


class DayReading(BaseModel):
    time: str = Field(examples=["2026-11-01T00:10:00Z"])
    values: dict[str, FieldValue] = Field(examples=[{"level_m": 3.21, "rain_mm": 0.5}])
    suspect: list[SuspectValue] = Field(
        description="Values of this reading flagged as suspect; empty when none was "
        "(unflagged values are raw measurements, not verified ones).")


class DayFile(BaseModel):
    model_config = {"json_schema_extra": {"examples": [{
        "station": "sukagawa", "day": "2026-11-01", "start": "2026-10-31T15:00:00Z",
        "end": "2026-11-01T15:00:00Z", "complete": True,
        "licence": {"name": "CC BY 4.0",
                    "url": "https://creativecommons.org/licenses/by/4.0/"},
        "attribution": "floodwatch", "fields": [],
        "readings": [{"time": "2026-10-31T15:00:00Z", "values": {"level_m": 3.21},
                      "suspect": []}]}]}}

    station: str
    day: str = Field(description="The local (JST) day, YYYY-MM-DD.")
    start: str = Field(description="The day's start in UTC (inclusive).")
    end: str = Field(description="The day's end in UTC (exclusive).")
    complete: bool = Field(description="False for today: readings are still arriving.")
    licence: Licence
    attribution: str
    fields: list[FieldInfo]
    readings: list[DayReading] = Field(description="Oldest first.")
