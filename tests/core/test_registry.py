"""The station registry: the sample file, and clear errors for wrong ones."""

from __future__ import annotations

import pytest

from floodwatch.core.registry import (
    RegistryError,
    StationKind,
    StationRegistry,
    municipality_code_problem,
)

VALID_RIVER = """
  - id: gauge-1
    kind: river
    name: {ja: 観測所, en: Gauge}
    river: abukuma
    basin: abukuma
    location: {lat: 37.5, lon: 140.4}
    interval_s: 600
    levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4}
"""


def test_sample_registry(sample_registry: StationRegistry) -> None:
    kinds = {station.kind for station in sample_registry}
    assert kinds == {StationKind.RIVER, StationKind.ROAD}
    fushiguro = sample_registry.get("fushiguro")
    assert fushiguro is not None
    assert fushiguro.name.ja == "伏黒"
    assert fushiguro.tags == {"basin": "abukuma", "river": "abukuma", "station": "fushiguro"}
    municipality = sample_registry.municipality_name(fushiguro)
    assert municipality is not None
    assert municipality.ja == "伊達市"
    river = sample_registry.river_name(fushiguro)
    assert river is not None
    assert river.ja == "阿武隈川"
    # Every sample station says where it stands, with a real code (check digit right).
    assert all(station.municipality for station in sample_registry)
    road = sample_registry.get("tsuchiyu-pass")
    assert road is not None
    assert road.tags == {"basin": "abukuma", "route": "national-route-115",
                         "station": "tsuchiyu-pass"}


def test_sample_river_network(sample_registry: StationRegistry) -> None:
    # The Abukuma's gauges in order, the tributaries joining where they do.
    upstream = {station.id: [s.id for s in sample_registry.upstream(station.id)]
                for station in sample_registry if station.kind is StationKind.RIVER}
    assert upstream["akutsu"] == ["sukagawa", "shakado-sukagawa", "ouse-koriyama"]
    assert upstream["fushiguro"] == ["nihonmatsu", "arakawa-fukushima"]
    assert upstream["sukagawa"] == []
    iwanuma = sample_registry.get("iwanuma")
    assert iwanuma is not None
    assert iwanuma.downstream is None


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("stations: [", "not valid YAML"),
        ("[]", "expected a mapping with a 'stations' list"),
        ("stations:" + VALID_RIVER + VALID_RIVER, "station 'gauge-1' is listed twice"),
        ("stations:" + VALID_RIVER.replace("gauge-1", "Gauge_1"), "id: String should match"),
        ("stations:" + VALID_RIVER.replace("danger: 4", "danger: 2.5"),
         "reference levels must increase"),
        ("stations:" + VALID_RIVER.replace("basin: abukuma", "basin: \"a\\nb\""),
         "basin: String should match pattern"),
        ("stations:" + VALID_RIVER.replace("    river: abukuma\n", ""),
         "a river station needs 'river' and 'levels_m'"),
        ("stations:" + VALID_RIVER.replace("interval_s: 600", "interval_s: 0"),
         "interval_s: Input should be greater than 0"),
        ("stations:" + VALID_RIVER + "    colour: red\n", "colour: Extra inputs"),
        ("stations:" + VALID_RIVER + "    municipality: \"072079\"\n",
         "municipality '072079' is not in the registry's municipalities"),
        ("municipalities: {\"072078\": {ja: 須賀川市, en: Sukagawa}}\nstations: []",
         "municipality code '072078' has a wrong check digit"),
        ("municipalities: {72079: {ja: 須賀川市, en: Sukagawa}}\nstations: []",
         "key 72079 must be quoted text"),
        ("rivers: {abukuma: {ja: 阿武隈川}}\nstations: []", "rivers: abukuma: en: Field required"),
        ("station: []\nstations: []", "unknown section 'station'"),
        ("stations:" + VALID_RIVER + "    downstream: nowhere\n",
         "station gauge-1: downstream 'nowhere' is not another river station"),
        ("stations:" + VALID_RIVER + "    downstream: gauge-1\n",
         "station gauge-1: downstream 'gauge-1' is not another river station"),
        ("stations:" + VALID_RIVER + "    downstream: gauge-2\n"
         + VALID_RIVER.replace("gauge-1", "gauge-2") + "    downstream: gauge-1\n",
         "station gauge-1: its downstream gauges come back to 'gauge-1' (a loop)"),
        ("stations:\n  - {id: pass, kind: road, name: {ja: 峠, en: Pass}, route: r1, "
         "basin: b, location: {lat: 37, lon: 140}, interval_s: 600, downstream: gauge-1}"
         + VALID_RIVER, "only a river station has a 'downstream' gauge"),
    ],
)
def test_invalid_registries_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(RegistryError) as caught:
        StationRegistry.from_yaml_text(text, source="stations.yaml")
    assert str(caught.value).startswith("stations.yaml: ")
    assert message in str(caught.value)


@pytest.mark.parametrize(("code", "valid"), [
    ("131016", True),   # 千代田区: the Ministry's own example
    ("011002", True),   # 札幌市
    ("042111", True),   # 岩沼市: remainder 0, check digit 1
    ("072010", True),   # 福島市: remainder 1, check digit 0
    ("072079", True),   # 須賀川市
    ("072070", False), ("07207", False), ("07207a", False),
])
def test_municipality_codes_carry_their_check_digit(code: str, valid: bool) -> None:
    assert (municipality_code_problem(code) is None) is valid
