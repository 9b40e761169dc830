"""The map's shipped outline (dashboard/app/geo): well-formed GeoJSON that puts every
sample station inside the basin's prefectures, served by the API, with its licence and
its generator beside it. No browser: the drawing is tests/api/test_dashboard_map_phone.py."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from itertools import pairwise
from typing import Any

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.support import api_client
from tests.support import REPO_ROOT

GEO = REPO_ROOT / "dashboard" / "app" / "geo"
FUKUSHIMA, MIYAGI = 7, 4


def outline() -> dict[str, Any]:
    collection: dict[str, Any] = json.loads((GEO / "outline.geojson").read_text("utf-8"))
    return collection


def inside(ring: list[list[float]], lon: float, lat: float) -> bool:
    """Even-odd ray casting: enough for simple polygons of a hundred points."""
    hit = False
    for (x1, y1), (x2, y2) in pairwise(ring):
        if (y1 > lat) != (y2 > lat) and lon < x1 + (lat - y1) * (x2 - x1) / (y2 - y1):
            hit = not hit
    return hit


def test_every_sample_station_lies_in_fukushima_or_miyagi(
        sample_registry: StationRegistry) -> None:
    rings = {feature["properties"]["code"]: feature["geometry"]["coordinates"][0]
             for feature in outline()["features"]}
    for ring in rings.values():
        assert ring[0] == ring[-1]
        assert all(len(point) == 2 for point in ring)
    for station in sample_registry:
        lon, lat = station.location.lon, station.location.lat
        found = [code for code, ring in rings.items() if inside(ring, lon, lat)]
        assert found in ([FUKUSHIMA], [MIYAGI]), (station.id, found)
    assert inside(rings[FUKUSHIMA], 140.47, 37.76)  # Fukushima City
    assert not inside(rings[FUKUSHIMA], 140.87, 38.27)  # Sendai, in Miyagi
    assert inside(rings[MIYAGI], 140.87, 38.27)


def test_licence_attribution_and_generator_ship_with_it() -> None:
    assert "Apache License" in (GEO / "LICENSE-japanmap.txt").read_text("utf-8")
    notes = (GEO / "README.md").read_text("utf-8")
    assert "japanmap" in notes
    assert "dashboard/geo_outline.py" in notes
    assert "japanmap==0.6.0" in outline()["source"]
    assert (REPO_ROOT / "dashboard" / "geo_outline.py").exists()
    assert "japanmap (Apache-2.0)" in (REPO_ROOT / "dashboard" / "app" / "map_base.js"
                                      ).read_text("utf-8")


def test_the_api_serves_it_but_not_its_generator(
    make_settings: Callable[..., Settings], sample_registry: StationRegistry,
) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry, headers={}) as client:
            answer = await client.get("/dashboard/app/geo/outline.geojson")
            assert answer.status_code == 200
            assert answer.json()["features"] == outline()["features"]
            assert (await client.get("/dashboard/geo_outline.py")).status_code == 404

    asyncio.run(scenario())
