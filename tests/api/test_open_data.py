"""Open data (/open-data/v1): day files as CSV and JSON from the real InfluxDB, their
licence, JST bounds, quality flags and caching, keyless access with public read off,
and clear problems for days that are not offered."""

from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Callable
from datetime import timedelta

import pytest

from floodwatch.core.quality import Reason
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.open_data_points import (
    STEP,
    day_start,
    flag,
    jst_today,
    reading,
    river_day,
    station,
    write,
)
from tests.api.support import api_client

LICENCE_URL = "https://creativecommons.org/licenses/by/4.0/"
NO_KEY: dict[str, str] = {}


def test_day_files_hold_the_jst_day_with_licence_and_flags(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    # Public read off (the default): the files need no key all the same.
    settings = make_settings(open_data_attribution="福島県 / Fukushima Prefecture")
    gauge = station(sample_registry, "sukagawa")
    day = jst_today() - timedelta(days=3)
    start = day_start(day)

    async def scenario() -> None:
        await write(settings, [*river_day(gauge, day),
                               flag(gauge, start + 2 * STEP, "level_m", 1.02, Reason.MAX_STEP),
                               flag(gauge, start + 2 * STEP, "rain_mm", 0.5, Reason.FLATLINE),
                               # outside the day: not in the file
                               flag(gauge, start - STEP, "level_m", 0.99, Reason.DROPOUT)])
        async with api_client(settings, sample_registry, headers=NO_KEY) as client:
            assert (await client.get("/api/v1/stations")).status_code == 401
            url = f"/open-data/v1/stations/sukagawa/readings/{day}"
            as_json = await client.get(f"{url}.json")
            as_csv = await client.get(f"{url}.csv")
        assert as_json.status_code == 200, as_json.text
        body = as_json.json()
        assert body["day"] == day.isoformat()
        # 00:00 JST is 15:00 UTC the day before.
        assert body["start"] == f"{day - timedelta(days=1)}T15:00:00Z"
        assert body["end"] == f"{day}T15:00:00Z"
        assert body["complete"] is True
        assert body["licence"] == {"name": "CC BY 4.0", "url": LICENCE_URL}
        assert body["attribution"] == "福島県 / Fukushima Prefecture"
        assert [f["name"] for f in body["fields"]] == ["level_m", "rain_mm", "battery_v"]
        assert body["fields"][0]["unit"] == "m"
        readings = body["readings"]
        assert len(readings) == 144
        assert readings[0]["time"] == body["start"]
        assert readings[0]["values"] == {"level_m": 1.0, "rain_mm": 0.5}
        assert readings[-1]["time"] == f"{day}T14:50:00Z"
        assert readings[2]["suspect"] == [{"field": "level_m", "reason": "max_step"},
                                          {"field": "rain_mm", "reason": "flatline"}]
        assert sum(1 for r in readings if r["suspect"]) == 1
        assert f'<{LICENCE_URL}>; rel="license"' in as_json.headers["link"]

        assert as_csv.status_code == 200, as_csv.text
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert f'<{LICENCE_URL}>; rel="license"' in as_csv.headers["link"]
        assert '/open-data/v1/stations>; rel="describedby"' in as_csv.headers["link"]
        rows = list(csv.reader(io.StringIO(as_csv.text)))
        assert rows[0] == ["time", "level_m", "rain_mm", "battery_v", "suspect"]
        assert len(rows) == 145
        assert rows[1] == [body["start"], "1.0", "0.5", "", ""]
        assert rows[3] == [f"{day - timedelta(days=1)}T15:20:00Z", "1.02", "0.5", "",
                           "level_m:max_step rain_mm:flatline"]
        assert as_csv.text.endswith("\r\n")

    asyncio.run(scenario())


def test_caching_follows_how_long_a_day_can_still_change(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    # Ingest accepts readings up to max_age_days late: only older days are immutable.
    settings = make_settings(max_age_days=2)
    today = jst_today()

    async def cache_control(client_day: str) -> str:
        async with api_client(settings, sample_registry, headers=NO_KEY) as client:
            response = await client.get(
                f"/open-data/v1/stations/sukagawa/readings/{client_day}.csv")
            assert response.status_code == 200, response.text
            return response.headers["cache-control"]

    async def scenario() -> None:
        assert await cache_control(str(today)) == "public, max-age=60"
        assert await cache_control(str(today - timedelta(days=1))) == "public, max-age=3600"
        assert await cache_control(str(today - timedelta(days=5))) == (
            "public, max-age=31536000, immutable")

    asyncio.run(scenario())


def test_today_is_incomplete_and_road_files_have_their_own_columns(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings()
    sensor = station(sample_registry, "tsuchiyu-pass")
    today = jst_today()
    start = day_start(today)

    async def scenario() -> None:
        await write(settings, [reading(sensor, start + STEP, {
            "water_depth_cm": 0.0, "surface_temp_c": -1.5, "surface_state": "ice"})])
        async with api_client(settings, sample_registry, headers=NO_KEY) as client:
            url = f"/open-data/v1/stations/tsuchiyu-pass/readings/{today}"
            body = (await client.get(f"{url}.json")).json()
            text = (await client.get(f"{url}.csv")).text
        assert body["complete"] is False
        assert body["readings"][0]["values"] == {
            "water_depth_cm": 0.0, "surface_temp_c": -1.5, "surface_state": "ice"}
        rows = list(csv.reader(io.StringIO(text)))
        assert rows[0] == ["time", "water_depth_cm", "surface_temp_c", "surface_state",
                           "battery_v", "suspect"]
        assert rows[1][1:] == ["0.0", "-1.5", "ice", "", ""]

    asyncio.run(scenario())


def test_index_lists_every_station_with_licence_and_urls(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings(open_data_licence_name="政府標準利用規約（第2.0版）",
                             open_data_licence_url="https://www.digital.go.jp/resources/"
                             "open_data/", open_data_days=30)

    async def scenario() -> None:
        async with api_client(settings, sample_registry, headers=NO_KEY) as client:
            response = await client.get("/open-data/v1/stations")
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["licence"] == {"name": "政府標準利用規約（第2.0版）",
                                   "url": "https://www.digital.go.jp/resources/open_data/"}
        assert body["last_day"] == str(jst_today())
        assert body["first_day"] == str(jst_today() - timedelta(days=29))
        assert [s["id"] for s in body["stations"]] == [s.id for s in sample_registry]
        sukagawa = body["stations"][0]
        assert sukagawa["river"] == {"ja": "阿武隈川", "en": "Abukuma River"}
        assert sukagawa["csv"] == ("http://api.test/open-data/v1/stations/sukagawa/"
                                   "readings/{day}.csv")
        assert sukagawa["json"].endswith("/sukagawa/readings/{day}.json")
        assert "public" in response.headers["cache-control"]

    asyncio.run(scenario())


@pytest.mark.parametrize(("day", "status", "slug"), [
    ("tomorrow", 422, "bad-parameter"),
    ("2026-02-30", 400, "bad-day"),
    ("+1", 400, "bad-day"),  # tomorrow in JST
    ("-10", 400, "bad-day"),  # older than open_data_days
    ("-9", 200, None),  # the oldest day offered
])
def test_days_not_offered_are_problems(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry,
        day: str, status: int, slug: str | None) -> None:
    settings = make_settings(open_data_days=10)
    if day[0] in "+-":
        day = str(jst_today() + timedelta(days=int(day)))

    async def scenario() -> None:
        async with api_client(settings, sample_registry, headers=NO_KEY) as client:
            for suffix in ("csv", "json"):
                response = await client.get(
                    f"/open-data/v1/stations/sukagawa/readings/{day}.{suffix}")
                assert response.status_code == status, response.text
                if slug is not None:
                    assert response.headers["content-type"] == "application/problem+json"
                    assert response.json()["type"].endswith(f"/{slug}")
                    assert response.json()["detail"]

    asyncio.run(scenario())


def test_unknown_station_is_a_problem(make_settings: Callable[..., Settings],
                                      sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry, headers=NO_KEY) as client:
            response = await client.get(
                f"/open-data/v1/stations/nowhere/readings/{jst_today()}.csv")
        assert response.status_code == 404
        assert response.json()["type"].endswith("/unknown-station")

    asyncio.run(scenario())


def test_any_web_page_may_read_open_data_and_its_licence_and_problems(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    # CORS for the keyed API allows one origin; open data is for every page.
    settings = make_settings(api_cors_origins="https://bousai.example.jp")
    origin = {"Origin": "https://map.municipality.example"}

    async def scenario() -> None:
        async with api_client(settings, sample_registry, headers=origin) as client:
            answers = [
                await client.get(f"/open-data/v1/stations/sukagawa/readings/{jst_today()}.csv"),
                await client.get("/open-data/v1/stations/sukagawa/readings/2999-01-01.json"),
                await client.get("/sta/v1.1/Things"),
                await client.get("/sta/v1.1/Things", params={"$select": "name"})]
            keyed = await client.get("/api/v1/stations")
        assert [a.status_code for a in answers] == [200, 400, 200, 400]
        for answer in answers:
            assert answer.headers["access-control-allow-origin"] == "*"
            assert "Link" in answer.headers["access-control-expose-headers"]
            # Every open answer names its licence, SensorThings and problems too.
            assert f'<{LICENCE_URL}>; rel="license"' in answer.headers["link"]
        assert answers[1].json()["type"].endswith("/bad-day")
        assert "access-control-allow-origin" not in keyed.headers

    asyncio.run(scenario())


def test_a_day_file_revalidates_to_304_until_a_late_reading_changes_it(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings()
    gauge = station(sample_registry, "sukagawa")
    day = jst_today() - timedelta(days=1)
    url = f"/open-data/v1/stations/sukagawa/readings/{day}"
    origin = {"Origin": "https://map.municipality.example"}

    async def scenario() -> None:
        await write(settings, river_day(gauge, day, margin=0)[:10])
        async with api_client(settings, sample_registry, headers=origin) as client:
            for suffix in ("csv", "json"):
                first = await client.get(f"{url}.{suffix}")
                assert first.status_code == 200, first.text
                etag = first.headers["etag"]
                again = await client.get(f"{url}.{suffix}", headers={"If-None-Match": etag})
                assert again.status_code == 304, suffix
                assert again.content == b""
                assert again.headers["etag"] == etag
                # The same caching and licence as the 200 it refreshes.
                assert again.headers["cache-control"] == first.headers["cache-control"]
                assert f'<{LICENCE_URL}>; rel="license"' in again.headers["link"]
                assert "ETag" in again.headers["access-control-expose-headers"]
            before = {suffix: (await client.get(f"{url}.{suffix}")).headers["etag"]
                      for suffix in ("csv", "json")}
            # A gauge back from a radio outage sends a reading of that day late.
            await write(settings, [reading(gauge, day_start(day) + 50 * STEP,
                                           {"level_m": 2.5})])
            for suffix in ("csv", "json"):
                changed = await client.get(f"{url}.{suffix}",
                                           headers={"If-None-Match": before[suffix]})
                assert changed.status_code == 200, suffix
                assert changed.headers["etag"] != before[suffix]
                assert "2.5" in changed.text
            index = await client.get("/open-data/v1/stations")
            cached_index = await client.get("/open-data/v1/stations",
                                            headers={"If-None-Match": index.headers["etag"]})
        assert cached_index.status_code == 304
        assert cached_index.headers["cache-control"] == index.headers["cache-control"]

    asyncio.run(scenario())
