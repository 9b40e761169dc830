"""What each stored field measures, for readers outside floodwatch: the open-data files
and the SensorThings view describe a field with the same name, unit and definition.

Units are UCUM codes (https://ucum.org), as SensorThings' ``unitOfMeasurement`` asks;
``surface_state`` is a category (dry, wet, slush, snow, ice) and has no unit.
"""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.core.readings import FIELDS_BY_KIND, SURFACE_STATES, FieldValue
from floodwatch.core.registry import StationKind

UCUM_DEFINITION = "https://ucum.org/ucum"
MEASUREMENT_TYPE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_Measurement"
CATEGORY_TYPE = "http://www.opengis.net/def/observationType/OGC-OM/2.0/OM_CategoryObservation"
PROPERTY_BASE = "https://floodwatch.example/properties/"


@dataclass(frozen=True, slots=True)
class Measure:
    field: str  # the InfluxDB field, also the open-data column and Datastream id suffix
    name: str  # the observed property's name
    name_ja: str
    description: str
    unit_name: str | None
    unit_symbol: str | None  # UCUM code

    @property
    def is_category(self) -> bool:
        return self.unit_symbol is None

    @property
    def observation_type(self) -> str:
        return CATEGORY_TYPE if self.is_category else MEASUREMENT_TYPE

    @property
    def definition(self) -> str:
        return PROPERTY_BASE + self.field

    def unit_of_measurement(self) -> dict[str, str | None]:
        # SensorThings 1.1: a category observation's unit has null members.
        return {"name": self.unit_name, "symbol": self.unit_symbol,
                "definition": None if self.is_category else UCUM_DEFINITION}


MEASURES: dict[str, Measure] = {measure.field: measure for measure in (
    Measure("level_m", "Water level", "水位",
            "River water level above the gauge datum (MLIT reference levels use the same "
            "datum).", "metre", "m"),
    Measure("rain_mm", "Rainfall", "雨量",
            "Rain since the station's previous report.", "millimetre", "mm"),
    Measure("battery_v", "Battery voltage", "電池電圧",
            "Supply voltage of the station's device.", "volt", "V"),
    Measure("water_depth_cm", "Water depth on the road", "冠水深",
            "Depth of water standing on the road surface.", "centimetre", "cm"),
    Measure("surface_temp_c", "Road surface temperature", "路面温度",
            "Temperature of the road surface.", "degree Celsius", "Cel"),
    Measure("surface_state", "Road surface state", "路面状態",
            "One of " + ", ".join(sorted(SURFACE_STATES)) + ".", None, None),
)}

# Every stored field is described (checked at import, not per request).
if set().union(*FIELDS_BY_KIND.values()) != set(MEASURES):
    raise RuntimeError("api.measures.MEASURES must describe every field of FIELDS_BY_KIND")

# A kind's fields in a fixed order: the main measure first, battery last.
FIELD_ORDER: dict[StationKind, tuple[str, ...]] = {
    StationKind.RIVER: ("level_m", "rain_mm", "battery_v"),
    StationKind.ROAD: ("water_depth_cm", "surface_temp_c", "surface_state", "battery_v"),
}
if any(set(order) != FIELDS_BY_KIND[kind] for kind, order in FIELD_ORDER.items()):
    raise RuntimeError("api.measures.FIELD_ORDER must list each kind's fields once")


def stored_value(field: str, value: object) -> FieldValue | None:
    """A field's value as InfluxDB's JSON answers it, as a reading's value: a category's
    text, a number as float (1.x writes 88.0 as 88); None when absent or of another type
    (left out rather than failing the answer)."""
    if MEASURES[field].is_category:
        return value if isinstance(value, str) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    return None
