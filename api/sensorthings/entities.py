"""The SensorThings entities that come from the station registry (all but Observations):

- Thing ``'sukagawa'``: a station; its properties the registry's (kind, basin, river,
  route, municipality, names in Japanese, reporting interval, reference levels);
- Location ``'sukagawa'``: the station's point (GeoJSON, lon/lat);
- Datastream ``'sukagawa:level_m'``: one per station and measure (api.measures), with
  its UCUM unit;
- Sensor ``'river-gauge'`` / ``'road-sensor'``: the kind of device;
- ObservedProperty ``'level_m'``...: the measure.

Ids are strings; the registry cannot change while the API runs, so the catalogue is
built once per registry.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from floodwatch.api.measures import FIELD_ORDER, MEASURES
from floodwatch.core.registry import Station, StationKind, StationRegistry

# Entity set -> entity type, in the order the service root lists them.
ENTITY_SETS = {"Things": "Thing", "Locations": "Location", "Datastreams": "Datastream",
               "Sensors": "Sensor", "ObservedProperties": "ObservedProperty",
               "Observations": "Observation"}
SET_OF = {entity_type: name for name, entity_type in ENTITY_SETS.items()}
# Each type's navigation properties: name -> (target type, is a collection).
NAVIGATION: dict[str, dict[str, tuple[str, bool]]] = {
    "Thing": {"Locations": ("Location", True), "Datastreams": ("Datastream", True)},
    "Location": {"Things": ("Thing", True)},
    "Datastream": {"Thing": ("Thing", False), "Sensor": ("Sensor", False),
                   "ObservedProperty": ("ObservedProperty", False),
                   "Observations": ("Observation", True)},
    "Sensor": {"Datastreams": ("Datastream", True)},
    "ObservedProperty": {"Datastreams": ("Datastream", True)},
    "Observation": {"Datastream": ("Datastream", False)},
}
SENSOR_OF = {StationKind.RIVER: "river-gauge", StationKind.ROAD: "road-sensor"}
SENSORS = {
    "river-gauge": ("River gauge", "Water level gauge with a rain gauge, reporting "
                    "every interval_s of its station."),
    "road-sensor": ("Road sensor", "Road-surface sensor (water depth, temperature, "
                    "state), reporting every interval_s of its station."),
}


def datastream_id(station: Station, name: str) -> str:
    return f"{station.id}:{name}"


@dataclass(frozen=True)
class Catalogue:
    registry: StationRegistry
    datastreams: dict[str, tuple[Station, str]]

    def ids(self, entity_type: str) -> list[str]:
        if entity_type in ("Thing", "Location"):
            return [station.id for station in self.registry]
        if entity_type == "Datastream":
            return list(self.datastreams)
        if entity_type == "Sensor":
            return list(SENSORS)
        if entity_type == "ObservedProperty":
            return list(MEASURES)
        raise ValueError(entity_type)

    def exists(self, entity_type: str, entity_id: str) -> bool:
        if entity_type in ("Thing", "Location"):
            return entity_id in self.registry
        return entity_id in self.ids(entity_type)

    def related(self, entity_type: str, entity_id: str, navigation: str) -> list[str]:
        """Ids of the entities ``navigation`` leads to (not Observations)."""
        if entity_type == "Thing":
            station = self._station(entity_id)
            if navigation == "Locations":
                return [station.id]
            return [datastream_id(station, name) for name in FIELD_ORDER[station.kind]]
        if entity_type == "Location":
            return [entity_id]
        if entity_type == "Datastream":
            station, name = self.datastreams[entity_id]
            return [{"Thing": station.id, "Sensor": SENSOR_OF[station.kind],
                     "ObservedProperty": name}[navigation]]
        if entity_type == "Sensor":
            return [key for key, (station, _) in self.datastreams.items()
                    if SENSOR_OF[station.kind] == entity_id]
        if entity_type == "ObservedProperty":
            return [key for key, (_, name) in self.datastreams.items() if name == entity_id]
        raise ValueError(entity_type)

    def body(self, entity_type: str, entity_id: str) -> dict[str, Any]:
        if entity_type == "Thing":
            return self._thing(self._station(entity_id))
        if entity_type == "Location":
            station = self._station(entity_id)
            return {"name": station.name.en, "description": f"{station.name.ja} "
                    f"({station.name.en}): where the station stands",
                    "encodingType": "application/geo+json",
                    "location": {"type": "Point", "coordinates": [
                        station.location.lon, station.location.lat]}}
        if entity_type == "Datastream":
            station, name = self.datastreams[entity_id]
            measure = MEASURES[name]
            return {"name": f"{station.name.en} {measure.name.lower()}",
                    "description": f"{station.name.ja} {measure.name_ja}: "
                    f"{measure.description}",
                    "unitOfMeasurement": measure.unit_of_measurement(),
                    "observationType": measure.observation_type,
                    "properties": {"field": name, "interval_s": station.interval_s}}
        if entity_type == "Sensor":
            title, description = SENSORS[entity_id]
            return {"name": title, "description": description,
                    "encodingType": "text/plain", "metadata": description}
        if entity_type == "ObservedProperty":
            measure = MEASURES[entity_id]
            return {"name": measure.name, "definition": measure.definition,
                    "description": measure.description,
                    "properties": {"name_ja": measure.name_ja}}
        raise ValueError(entity_type)

    def _station(self, station_id: str) -> Station:
        station = self.registry.get(station_id)
        if station is None:
            raise KeyError(station_id)
        return station

    def _thing(self, station: Station) -> dict[str, Any]:
        river = self.registry.river_name(station)
        municipality = self.registry.municipality_name(station)
        properties: dict[str, Any] = {
            "kind": station.kind.value, "name_ja": station.name.ja, "basin": station.basin,
            "river": station.river, "river_name": river.en if river else None,
            "river_name_ja": river.ja if river else None, "route": station.route,
            "municipality": station.municipality,
            "municipality_name": municipality.en if municipality else None,
            "municipality_name_ja": municipality.ja if municipality else None,
            "interval_s": station.interval_s,
            "levels_m": station.levels_m.model_dump() if station.levels_m else None}
        return {"name": station.name.en, "description": f"{station.name.ja} "
                f"({station.name.en}), {station.kind.value} station",
                "properties": properties}


@functools.lru_cache(maxsize=4)  # the registry is immutable and hashed by identity
def catalogue(registry: StationRegistry) -> Catalogue:
    return Catalogue(registry, {datastream_id(station, name): (station, name)
                                for station in registry
                                for name in FIELD_ORDER[station.kind]})
