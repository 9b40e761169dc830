"""The station registry: the sample file, and clear errors for wrong ones."""

from __future__ import annotations

import pytest

from floodwatch.core.registry import RegistryError, StationKind, StationRegistry

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
    road = sample_registry.get("tsuchiyu-pass")
    assert road is not None
    assert road.tags == {"basin": "abukuma", "route": "national-route-115",
                         "station": "tsuchiyu-pass"}


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
    ],
)
def test_invalid_registries_are_refused_clearly(text: str, message: str) -> None:
    with pytest.raises(RegistryError) as caught:
        StationRegistry.from_yaml_text(text, source="stations.yaml")
    assert str(caught.value).startswith("stations.yaml: ")
    assert message in str(caught.value)
