"""The area an alert speaks for (core.alert_area): the codes receivers act on, and the
shape, from the station registry."""

from __future__ import annotations

import pytest

from floodwatch.core.alert_area import (
    GAUGE_CODE,
    MUNICIPALITY_CODE,
    RIVER_CODE,
    STATION_ID,
    alert_area,
)
from floodwatch.core.registry import RegistryError, StationRegistry

REGISTRY = """
municipalities:
  "072079": {ja: 須賀川市, en: Sukagawa City}
  "072036": {ja: 郡山市, en: Koriyama City}
stations:
  - id: sukagawa
    kind: river
    name: {ja: 須賀川, en: Sukagawa}
    municipality: "072079"
    AREA
    river: abukuma
    basin: abukuma
    location: {lat: 37.2867, lon: 140.38}
    interval_s: 600
    levels_m: {standby: 2.5, caution: 3.5, evacuation: 4.6, danger: 5.2}
"""
AT_RISK = """area:
      municipalities: ["072079", "072036"]
      river_code: "8302010001"
      gauge_code: "302041282207010"
      polygon: {type: Polygon, coordinates: [[[140.37, 37.28], [140.39, 37.28],
                                              [140.39, 37.30], [140.37, 37.28]],
                                             [[140.38, 37.285], [140.385, 37.285],
                                              [140.385, 37.29], [140.38, 37.285]]]}"""


def registry(area: str = "") -> StationRegistry:
    return StationRegistry.from_yaml_text(REGISTRY.replace("AREA", area))


def test_a_station_without_an_area_speaks_for_its_own_municipality_and_point() -> None:
    reg = registry()
    station = reg.get("sukagawa")
    assert station is not None
    area = alert_area(station, reg)
    assert area.geocodes == [(MUNICIPALITY_CODE, "072079"), (STATION_ID, "sukagawa")]
    assert area.polygons == []
    assert area.circle == "37.2867,140.38 0"
    assert area.description.ja == "須賀川、須賀川市"


def test_the_area_at_risk_carries_every_code_and_the_outer_ring() -> None:
    reg = registry(AT_RISK)
    station = reg.get("sukagawa")
    assert station is not None
    area = alert_area(station, reg)
    assert area.municipality_codes == ["072079", "072036"]
    assert (RIVER_CODE, "8302010001") in area.geocodes
    assert (GAUGE_CODE, "302041282207010") in area.geocodes
    # CAP order is lat,lon; the hole is not an area of its own.
    assert area.polygons == ["37.28,140.37 37.28,140.39 37.3,140.39 37.28,140.37"]
    assert area.circle is None
    assert area.description.en == "Sukagawa, Sukagawa City, Koriyama City"


@pytest.mark.parametrize(("area", "message"), [
    ('area: {municipalities: ["131016"]}', "municipality '131016' is not in the registry"),
    ("area: {polygon: {type: Polygon, coordinates: [[[140.3, 37.2], [140.4, 37.2], "
     "[140.3, 37.2]]]}}", "4 or more positions"),
    ("area: {polygon: {type: Polygon, coordinates: [[[37.2, 140.3], [37.2, 140.4], "
     "[37.3, 140.4], [37.2, 140.3]]]}}", "[lon, lat]"),
    ('area: {river_code: "abc"}', "river_code: String should match"),
])
def test_a_wrong_area_is_refused_clearly(area: str, message: str) -> None:
    with pytest.raises(RegistryError, match=r".*") as caught:
        registry(area)
    assert message in str(caught.value)
