"""The storm the browser tests of the dashboard show: Sukagawa flooding next to Shakado,
akutsu at caution, every other station calm and current, published by its gauges; and a
tile server that never answers, as on a closed network."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from playwright.sync_api import Page, Route

from floodwatch.core.registry import StationRegistry
from tests.api.test_dashboard import iso
from tests.support import mosquitto_pub, mosquitto_pub_lines

# A tile server that never answers: the test aborts every request to it, as a closed
# network would refuse it.
TILES_HOST = "tiles.floodwatch.invalid"
TILES_URL = f"https://{TILES_HOST}/{{z}}/{{x}}/{{y}}.png"
# Sukagawa floods (6.40 m) next to its neighbour Shakado (2 km away: one marker's width
# at the opening zoom); akutsu is at caution; everything else is calm and current.
LEVELS = {"sukagawa": 6.55, "akutsu": 4.10, "fushiguro": 3.20}
WORST = "sukagawa"
# Two readings a minute apart: the engine confirms a level the second reading agrees with.
READING_TIMES = (timedelta(minutes=1), timedelta(0))


def publish_storm(port: int, registry: StationRegistry) -> None:
    """Every station's readings as its device sends them, through mosquitto_pub."""
    now = datetime.now(UTC)
    for station in registry:
        topic = f"sensors/{station.kind.value}/{station.id}"
        if station.kind.value == "river":
            lines = [json.dumps({"ts": iso(now - ago), "level_m": LEVELS.get(station.id, 1.0)})
                     for ago in READING_TIMES]
            mosquitto_pub_lines(port, topic, lines).wait(timeout=20)
        else:
            mosquitto_pub(port, topic, json.dumps({
                "ts": iso(now), "water_depth_cm": 0.0, "surface_temp_c": 7.5,
                "surface_state": "dry"}))


def block_tiles(page: Page) -> list[str]:
    """Refuse the page's every tile request; returns the list the refused URLs go to."""
    refused: list[str] = []

    def abort(route: Route) -> None:
        refused.append(route.request.url)
        route.abort("connectionrefused")

    page.route(f"https://{TILES_HOST}/**", abort)
    return refused
