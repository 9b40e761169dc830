"""The area an alert speaks for, as CAP 1.2 ``<area>`` and the EDXL-DE 1.0 envelope's
``targetArea`` both carry it: codes a receiving system can act on, and the shape.

- geocodes: ``全国地方公共団体コード`` (the 6-digit local government code: JIS X 0402 and
  its check digit) for each municipality at risk -- the station registry's
  ``area.municipalities``, or the station's own ``municipality``; ``河川コード`` and
  ``水文水質データベース観測所記号`` where the registry gives them; and ``floodwatch:station``,
  the station id, always. These valueNames are floodwatch's profile (docs/cap.md): the
  codes are the ones L-Alert and the 公共情報コモンズ exchange, under their Japanese names.
- shape: the registry's ``area.polygon`` (GeoJSON, [lon, lat]) as CAP's "lat,lon ..."
  pairs (its outer ring); without one, the station's point as a circle of radius 0.
"""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.core.registry import Names, Station, StationRegistry

MUNICIPALITY_CODE = "全国地方公共団体コード"
RIVER_CODE = "河川コード"
GAUGE_CODE = "水文水質データベース観測所記号"
STATION_ID = "floodwatch:station"


@dataclass(frozen=True, slots=True)
class AlertArea:
    description: Names  # areaDesc: the station, and the municipalities at risk
    geocodes: list[tuple[str, str]]  # (valueName, value), in the order above
    polygons: list[str]  # CAP polygon texts ("lat,lon lat,lon ..."), possibly none
    circle: str | None  # "lat,lon 0" when there is no polygon

    @property
    def municipality_codes(self) -> list[str]:
        return [value for name, value in self.geocodes if name == MUNICIPALITY_CODE]


def municipality_codes(station: Station) -> list[str]:
    if station.area.municipalities:
        return list(station.area.municipalities)
    return [station.municipality] if station.municipality is not None else []


def alert_area(station: Station, registry: StationRegistry) -> AlertArea:
    codes = municipality_codes(station)
    geocodes = [(MUNICIPALITY_CODE, code) for code in codes]
    if station.area.river_code is not None:
        geocodes.append((RIVER_CODE, station.area.river_code))
    if station.area.gauge_code is not None:
        geocodes.append((GAUGE_CODE, station.area.gauge_code))
    geocodes.append((STATION_ID, station.id))
    towns = [registry.municipalities[code] for code in codes
             if code in registry.municipalities]
    description = Names(
        ja="、".join([station.name.ja, *(town.ja for town in towns)]),
        en=", ".join([station.name.en, *(town.en for town in towns)]))
    polygon = station.area.polygon
    # The outer ring only: CAP has no holes, and a hole as a polygon of its own would
    # put the area it excludes at risk.
    polygons = [] if polygon is None else [
        " ".join(f"{lat},{lon}" for lon, lat in polygon.coordinates[0])]
    circle = None if polygons else f"{station.location.lat},{station.location.lon} 0"
    return AlertArea(description, geocodes, polygons, circle)
