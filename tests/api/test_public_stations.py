"""GET /public/stations: the residents' page, from real retained engine statuses and bus
readings, through a running API with public read off and no key."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from floodwatch.core.readings import JST
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import retain_status
from tests.api.support import api_server, eventually
from tests.support import mosquitto_pub

REGISTRY = """
municipalities:
  "072079": {ja: 須賀川市, en: Sukagawa City}
  "072010": {ja: 福島市, en: Fukushima City}
rivers:
  abukuma: {ja: 阿武隈川, en: Abukuma River}
stations:
  - {id: high, kind: river, name: {ja: "<script>alert(1)</script>高", en: "High & <b>"},
     municipality: "072079", river: abukuma, basin: abukuma,
     location: {lat: 37.3, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4, flooding: 5}}
  - {id: middle, kind: river, name: {ja: 中, en: Middle}, municipality: "072010",
     river: abukuma, basin: abukuma, location: {lat: 37.7, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4}}
  - {id: spike, kind: river, name: {ja: 急, en: Spike}, municipality: "072010",
     river: abukuma, basin: abukuma, location: {lat: 37.7, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4}}
  - {id: climbing, kind: river, name: {ja: 昇, en: Climbing}, municipality: "072010",
     river: abukuma, basin: abukuma, location: {lat: 37.7, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4}}
  - {id: doubted, kind: river, name: {ja: 疑, en: Doubted}, municipality: "072010",
     river: abukuma, basin: abukuma, location: {lat: 37.7, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4}}
  - {id: silent, kind: river, name: {ja: 黙, en: Silent}, municipality: "072010",
     river: abukuma, basin: abukuma, location: {lat: 37.7, lon: 140.5}, interval_s: 600,
     levels_m: {standby: 1, caution: 2, evacuation: 3, danger: 4}}
  - {id: underpass, kind: road, name: {ja: 地下道, en: Underpass}, municipality: "072010",
     route: r4, basin: abukuma, location: {lat: 37.7, lon: 140.5}, interval_s: 300}
"""
LEVEL_NAMES = {2: "caution", 3: "evacuation", 4: "danger"}


def _river(station: str, level: int, *, confirmed: bool = True) -> dict[str, Any]:
    return {"alert_id": f"{station}/1", "alert_type": "river_level", "level": level,
            "level_name": LEVEL_NAMES[level], "label": {"ja": f"水位{level}", "en": f"L{level}"},
            "official": {"ja": f"警戒レベル{level}相当", "en": f"Alert level {level} equivalent"},
            "alert_level": level, "raised_at": "2026-11-28T01:00:00Z",
            "acknowledged": False, "confirmed": confirmed}


CLOSED = {"alert_id": "underpass/1", "alert_type": "road_flooding", "level": 2,
          "level_name": "closed", "label": {"ja": "冠水通行止め", "en": "Flooded - close the road"},
          "official": None, "alert_level": None, "raised_at": "2026-11-28T01:00:00Z",
          "acknowledged": False, "confirmed": True}


def _reading(port: int, station: str, kind: str, values: dict[str, float],
             ts: datetime) -> None:
    stamp = ts.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    mosquitto_pub(port, f"floodwatch/readings/{kind}/{station}", json.dumps(
        {"station": station, "kind": kind, "ts": stamp, "ts_source": "device",
         "received_at": stamp, "values": values}))


def _stations(page: str, css_class: str) -> list[str]:
    section = page.split(f'<ol class="{css_class}">', 1)[1].split("</ol>", 1)[0]
    return re.findall(r'data-station="([^"]+)"', section)


def test_residents_see_confirmed_alerts_and_no_data_never_as_safe(
        make_settings: Callable[..., Settings], mosquitto: MosquittoServer) -> None:
    registry = StationRegistry.from_yaml_text(REGISTRY)
    now = datetime.now(UTC).replace(microsecond=0)
    retain_status(mosquitto.port, "high", [_river("high", 4)])
    retain_status(mosquitto.port, "middle", [_river("middle", 3)])
    retain_status(mosquitto.port, "spike", [_river("spike", 4, confirmed=False)])
    # Told of 3; 4 on a single reading waits for its confirmation: listed at 3.
    told_three = {key: value for key, value in _river("climbing", 3).items()
                  if key in ("level", "level_name", "label", "official", "alert_level")}
    retain_status(mosquitto.port, "climbing",
                  [{**_river("climbing", 4, confirmed=False), "public": told_three}])
    # Told of 3, and the engine doubts its newest reading (a spike): the alert stays,
    # the value is not shown.
    retain_status(mosquitto.port, "doubted", [_river("doubted", 3), {
        **_river("doubted", 3), "alert_id": "doubted/2", "alert_type": "data_quality",
        "level": 1, "level_name": "suspect"}])
    retain_status(mosquitto.port, "silent", [], offline=True)
    retain_status(mosquitto.port, "underpass", [CLOSED], kind="road")


    def readings() -> None:  # not retained: sent once the API listens
        _reading(mosquitto.port, "doubted", "river", {"level_m": 9.99}, now)  # first
        for station in ("high", "middle", "spike", "climbing"):
            _reading(mosquitto.port, station, "river", {"level_m": 4.25}, now)
        _reading(mosquitto.port, "silent", "river", {"level_m": 1.0}, now - timedelta(hours=5))
        _reading(mosquitto.port, "underpass", "road", {"water_depth_cm": 24.0}, now)

    async def scenario() -> None:
        async with (api_server(make_settings(), registry) as url,
                    httpx.AsyncClient(base_url=url) as anonymous):
            assert (await anonymous.get("/api/v1/alerts/open")).status_code == 401
            await asyncio.to_thread(readings)

            async def page(**params: str) -> str:
                response = await anonymous.get("/public/stations", params=params)
                assert response.status_code == 200
                assert response.headers["content-type"].startswith("text/html")
                assert response.headers["cache-control"] == "public, max-age=30"
                return response.text

            async def complete() -> str | None:  # the API has every status and reading
                text = await page()
                arrived = (text.count("水位 4.25 m") == 3 and "冠水 24 cm" in text
                           and "最後の観測 なし" not in text)
                return text if arrived else None

            everything = await eventually(complete, "the statuses and readings")
            assert _stations(everything, "alerts") == ["high", "middle", "climbing",
                                                        "doubted", "underpass"]
            assert "9.99" not in everything
            assert everything.count("観測値を確認中") == 1
            assert _stations(everything, "nodata-list") == ["silent"]
            silent_at = (now - timedelta(hours=5)).astimezone(JST).strftime("%Y-%m-%d %H:%M")
            assert f"最後の観測 {silent_at}" in everything
            assert "spike" not in everything  # one reading: residents were not told
            assert "<script>alert" not in everything
            assert "&lt;script&gt;alert(1)&lt;/script&gt;高" in everything
            assert "High &amp; &lt;b&gt;" in everything
            assert "警戒レベル4相当" in everything
            assert "阿武隈川" in everything
            assert "須賀川市" in everything
            jst = now.astimezone(JST).strftime("%Y-%m-%d %H:%M")
            assert f"水位 4.25 m {jst}" in everything

            level4 = await page(alert_type="river_level", level="4")
            assert _stations(level4, "alerts") == ["high"]  # climbing's 4: unconfirmed
            assert _stations(level4, "nodata-list") == ["silent"]
            assert "underpass" not in level4

            roads = await page(alert_type="road_flooding", level="2")
            assert _stations(roads, "alerts") == ["underpass"]
            assert "冠水 24 cm" in roads
            assert "silent" not in roads  # a river station: not asked for

            bad = await anonymous.get("/public/stations", params={"alert_type": "offline"})
            assert bad.status_code == 422  # staff-only types are not on the public page

    asyncio.run(scenario())

