"""The SensorThings API 1.1 view (/sta/v1.1) against the real InfluxDB: the conformance
cases of the OGC standard's abstract test suite that this read-only subset can express
(A.2 read: entity sets listed, entities and their self and navigation links resolve;
A.3 request data: $top, $skip, $orderby, $count, $filter on time, $expand), quality
flags, keyless access with public read off, and a clear 400 for what is not served."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from floodwatch.alerts.quality import Reason
from floodwatch.api.sensorthings.query import MAX_PAGE, parse_options
from floodwatch.api.sensorthings.resolve import next_link
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
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

ROOT = "http://api.test/sta/v1.1"
DAY = jst_today() - timedelta(days=2)
START = day_start(DAY)
LEVELS = f"{ROOT}/Datastreams('sukagawa:level_m')/Observations"


def run(make_settings: Callable[..., Settings], registry: StationRegistry,
        check: Callable[[httpx.AsyncClient], Any]) -> None:
    """``check`` with a keyless client (public read off) over 150 readings of sukagawa
    (DAY and 3 on each side), one of motomiya and one road reading; the 3rd of DAY's
    level flagged as suspect."""
    settings = make_settings()
    sukagawa, motomiya = station(registry, "sukagawa"), station(registry, "motomiya")
    road = station(registry, "tsuchiyu-pass")

    async def scenario() -> None:
        await write(settings, [
            *river_day(sukagawa, DAY),
            reading(motomiya, START, {"level_m": 4.0}),
            reading(road, START, {"surface_temp_c": -2.0, "surface_state": "ice"}),
            flag(sukagawa, START + 2 * STEP, "level_m", 1.02, Reason.MAX_STEP)])
        async with api_client(settings, registry, headers={}) as client:
            assert (await client.get("/api/v1/stations")).status_code == 401
            await check(client)

    asyncio.run(scenario())


async def ok(client: httpx.AsyncClient, url: str, **params: str) -> Any:
    # No params at all, not empty ones: httpx would drop the query of a nextLink.
    response = await client.get(url, params=params or None)
    assert response.status_code == 200, (url, params, response.text)
    assert response.headers["content-type"] == "application/json"
    return response.json()


def test_root_lists_entity_sets_that_resolve(make_settings: Callable[..., Settings],
                                             sample_registry: StationRegistry) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        root = await ok(client, ROOT)
        assert [entry["name"] for entry in root["value"]] == [
            "Things", "Locations", "Datastreams", "Sensors", "ObservedProperties",
            "Observations"]
        assert ("http://www.opengis.net/spec/iot_sensing/1.1/req/datamodel"
                in root["serverSettings"]["conformance"])
        assert root["licence"]["name"] == "CC BY 4.0"
        for entry in root["value"]:
            assert (await ok(client, entry["url"]))["value"], entry
        things = await ok(client, f"{ROOT}/Things", **{"$count": "true"})
        assert things["@iot.count"] == len(sample_registry)
        datastreams = await ok(client, f"{ROOT}/Datastreams", **{"$count": "true"})
        assert datastreams["@iot.count"] == 10 * 3 + 4 * 4  # river and road measures

    run(make_settings, sample_registry, check)


def test_self_and_navigation_links_resolve(make_settings: Callable[..., Settings],
                                           sample_registry: StationRegistry) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        for entity_set in ("Things", "Locations", "Datastreams", "Sensors",
                           "ObservedProperties", "Observations"):
            page = await ok(client, f"{ROOT}/{entity_set}", **{"$top": "3"})
            for entity in page["value"]:
                assert isinstance(entity["@iot.id"], str)
                again = await ok(client, entity["@iot.selfLink"])
                assert again == entity
                links = {k: v for k, v in entity.items() if k.endswith("@iot.navigationLink")}
                assert links, entity
                for name, link in links.items():
                    target = await ok(client, link)
                    assert "value" in target or "@iot.id" in target, (name, target)
        thing = await ok(client, f"{ROOT}/Datastreams('tsuchiyu-pass:surface_state')/Thing")
        assert thing["@iot.id"] == "tsuchiyu-pass"
        assert thing["properties"]["route"] == "national-route-115"
        unit = (await ok(client, f"{ROOT}/Datastreams('sukagawa:level_m')"))[
            "unitOfMeasurement"]
        assert unit == {"name": "metre", "symbol": "m", "definition": "https://ucum.org/ucum"}
        location = await ok(client, f"{ROOT}/Things('sukagawa')/Locations")
        assert location["value"][0]["location"] == {"type": "Point",
                                                    "coordinates": [140.38, 37.2867]}

    run(make_settings, sample_registry, check)


def test_top_skip_orderby_count_and_next_link(make_settings: Callable[..., Settings],
                                              sample_registry: StationRegistry) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        every: list[dict[str, Any]] = []
        url: str | None = LEVELS
        while url is not None:  # server-driven paging: 100, then 50
            page = await ok(client, url)
            every += page["value"]
            url = page.get("@iot.nextLink")
        times = [o["phenomenonTime"] for o in every]
        assert len(every) == 150
        assert times == sorted(times)
        assert len({o["@iot.id"] for o in every}) == 150

        counted = await ok(client, LEVELS, **{"$count": "true", "$top": "10", "$skip": "5"})
        assert counted["@iot.count"] == 150
        assert [o["@iot.id"] for o in counted["value"]] == [o["@iot.id"] for o in every[5:15]]
        assert "@iot.nextLink" not in counted  # $top=10 asked for ten

        newest = await ok(client, LEVELS, **{"$orderby": "phenomenonTime desc", "$top": "2"})
        assert [o["result"] for o in newest["value"]] == [2.46, 2.45]

        everything = await ok(client, LEVELS, **{"$top": "1200"})
        assert len(everything["value"]) == 150
        assert "@iot.nextLink" not in everything

        things = await ok(client, f"{ROOT}/Things", **{"$skip": "12", "$count": "true"})
        assert [t["@iot.id"] for t in things["value"]] == [
            s.id for s in list(sample_registry)[12:]]

    run(make_settings, sample_registry, check)


def test_filter_on_phenomenon_time(make_settings: Callable[..., Settings],
                                   sample_registry: StationRegistry) -> None:
    first_hour = f"{DAY - timedelta(days=1)}T15"

    async def times(client: httpx.AsyncClient, expression: str, url: str = LEVELS) -> list[str]:
        page = await ok(client, url, **{"$filter": expression})
        return [o["phenomenonTime"] for o in page["value"]]

    async def check(client: httpx.AsyncClient) -> None:
        in_first_hour = [f"{first_hour}:{minute}0:00Z" for minute in range(6)]
        assert await times(client, f"phenomenonTime ge {first_hour}:00:00Z and "
                           f"phenomenonTime lt {first_hour}:59:59Z") == in_first_hour
        # The same hour written in JST; gt excludes its bound; eq is one instant.
        assert await times(client, f"phenomenonTime gt {DAY}T00:00:00+09:00 and "
                           f"phenomenonTime le {DAY}T00:50:00+09:00") == in_first_hour[1:]
        assert await times(client, f"(resultTime eq {first_hour}:20:00.000Z)") == [
            in_first_hour[2]]
        merged = await ok(client, f"{ROOT}/Observations", **{
            "$filter": f"phenomenonTime eq {first_hour}:00:00Z", "$count": "true"})
        assert sorted(o["@iot.id"].rsplit(":", 1)[0] for o in merged["value"]) == [
            "motomiya:level_m", "sukagawa:level_m", "sukagawa:rain_mm",
            "tsuchiyu-pass:surface_state", "tsuchiyu-pass:surface_temp_c"]
        assert merged["@iot.count"] == 5

    run(make_settings, sample_registry, check)


def test_expand_and_quality_flags(make_settings: Callable[..., Settings],
                                  sample_registry: StationRegistry) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        thing = await ok(client, f"{ROOT}/Things('sukagawa')", **{"$expand": "Datastreams"})
        assert [d["@iot.id"] for d in thing["Datastreams"]] == [
            "sukagawa:level_m", "sukagawa:rain_mm", "sukagawa:battery_v"]
        # A dashboard's newest value of every Datastream (asked of InfluxDB per measure
        # for all stations at once: each station must still get its own).
        latest = await ok(client, f"{ROOT}/Things", **{
            "$expand": "Datastreams/Observations($top=1;$orderby=phenomenonTime desc;"
            "$count=true),Locations"})
        things = {thing["@iot.id"]: thing for thing in latest["value"]}
        assert things["sukagawa"]["Locations"][0]["@iot.id"] == "sukagawa"
        newest = {d["@iot.id"]: ([o["result"] for o in d["Observations"]],
                                 d["Observations@iot.count"])
                  for thing in things.values() for d in thing["Datastreams"]
                  if d["Observations"]}
        assert newest == {"sukagawa:level_m": ([2.46], 150),
                          "sukagawa:rain_mm": ([0.5], 150),
                          "motomiya:level_m": ([4.0], 1),
                          "tsuchiyu-pass:surface_temp_c": ([-2.0], 1),
                          "tsuchiyu-pass:surface_state": (["ice"], 1)}
        levels_page = things["sukagawa"]["Datastreams"][0]
        assert "Observations@iot.nextLink" not in levels_page  # $top=1 asked for one
        assert things["akutsu"]["Datastreams"][0]["Observations@iot.count"] == 0
        levels = await ok(client, f"{ROOT}/Datastreams('sukagawa:level_m')", **{
            "$expand": "Thing,ObservedProperty,Observations($filter=phenomenonTime lt "
            f"{START.isoformat()};$count=true)"})
        assert levels["Thing"]["@iot.id"] == "sukagawa"
        assert levels["ObservedProperty"]["name"] == "Water level"
        assert levels["Observations@iot.count"] == 3
        flagged = await ok(client, LEVELS, **{"$top": "3", "$skip": "4",
                                              "$expand": "Datastream"})
        assert [o.get("resultQuality") for o in flagged["value"]] == [
            None, {"suspect": True, "reason": "max_step"}, None]
        assert flagged["value"][1]["Datastream"]["@iot.id"] == "sukagawa:level_m"

    run(make_settings, sample_registry, check)


@pytest.mark.parametrize(("path", "params", "problem"), [
    ("/Observations", {"$filter": "result gt 3"}, (400, "bad-query")),
    ("/Observations", {"$filter": "phenomenonTime ge yesterday"}, (400, "bad-query")),
    ("/Observations", {"$filter": "phenomenonTime ge 2026-01-01T00:00:00Z' OR 1=1"},
     (400, "bad-query")),
    ("/Observations", {"$filter": "phenomenonTime ge 2026-01-01T00:00:00"}, (400, "bad-query")),
    ("/Observations", {"$filter": "phenomenonTime ge 0001-01-01T00:00:00+14:00"},
     (400, "bad-query")),
    ("/Observations", {"$filter": "phenomenonTime ge 2026-01-01T00:00:00Z or "
                       "phenomenonTime lt 2025-01-01T00:00:00Z"}, (400, "bad-query")),
    ("/Observations", {"$orderby": "result desc"}, (400, "bad-query")),
    ("/Observations", {"$skip": "10001"}, (400, "bad-query")),
    ("/Things", {"$top": "-1"}, (400, "bad-query")),
    ("/Things", {"$top": "ten"}, (400, "bad-query")),
    ("/Things", {"$count": "maybe"}, (400, "bad-query")),
    ("/Things", {"$select": "name"}, (400, "bad-query")),
    ("/Things", {"$filter": "phenomenonTime ge 2026-01-01T00:00:00Z"}, (400, "bad-query")),
    ("/Things", {"$expand": "Observations"}, (400, "bad-query")),
    ("/Things", {"$expand": "Datastreams($top=1"}, (400, "bad-query")),
    ("/Things", {"$expand": "Datastreams($select=name)"}, (400, "bad-query")),
    ("/Things", {"$expand": "A/B/C/D"}, (400, "bad-query")),
    ("/Things('sukagawa')", {"$top": "1"}, (400, "bad-query")),
    ("/Things(sukagawa)", {}, (400, "bad-query")),
    ("/Things('nowhere')", {}, (404, "unknown-entity")),
    ("/Datastreams('sukagawa:surface_state')", {}, (404, "unknown-entity")),
    ("/Observations('sukagawa:level_m:1')", {}, (404, "unknown-entity")),
    ("/Observations('sukagawa:level_m')/Datastream", {}, (404, "unknown-entity")),
    ("/Things('sukagawa')/HistoricalLocations", {}, (404, "not-found")),
])
def test_what_is_not_served_is_a_clear_problem(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry,
        path: str, params: dict[str, str], problem: tuple[int, str]) -> None:
    status, slug = problem

    async def check(client: httpx.AsyncClient) -> None:
        response = await client.get(ROOT + path, params=params)
        assert response.status_code == status, response.text
        assert response.headers["content-type"] == "application/problem+json"
        assert response.json()["type"].endswith(f"/{slug}")
        assert response.json()["detail"]

    run(make_settings, sample_registry, check)


def test_a_top_over_the_page_size_is_paged_with_the_rest_in_the_next_link() -> None:
    # In-process (1,000 observations would be needed otherwise): parse, then link.
    options = parse_options({"$top": "2500", "$skip": "10", "$orderby": "phenomenonTime desc"})
    assert options.page == MAX_PAGE
    link = next_link(LEVELS, options, MAX_PAGE)
    assert parse_options(dict(parse_qsl(urlsplit(link).query))) == parse_options(
        {"$top": "1500", "$skip": "1010", "$orderby": "phenomenonTime desc"})
    assert urlsplit(link).path == urlsplit(LEVELS).path


def test_repeated_option_is_refused(make_settings: Callable[..., Settings],
                                    sample_registry: StationRegistry) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        response = await client.get(f"{ROOT}/Things?$top=1&$top=2")
        assert response.status_code == 400
        assert "$top" in response.json()["detail"]

    run(make_settings, sample_registry, check)


def test_influxdb_down_is_a_503_problem_and_the_registry_still_answers(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    # Nothing listens on the port: every InfluxDB request fails at once.
    settings = make_settings(influx_url=f"http://127.0.0.1:{free_port()}",
                             influx_timeout_s=2)

    async def scenario() -> None:
        async with api_client(settings, sample_registry, headers={}) as client:
            things = await client.get(f"{ROOT}/Things", params={"$expand": "Datastreams"})
            failed = [await client.get(LEVELS),
                      await client.get(f"{ROOT}/Things", params={
                          "$expand": "Datastreams/Observations($top=1)"}),
                      await client.get(f"/open-data/v1/stations/sukagawa/readings/"
                                       f"{jst_today()}.csv")]
        assert things.status_code == 200
        assert len(things.json()["value"]) == len(sample_registry)
        for response in failed:
            assert response.status_code == 503, response.text
            assert response.json()["type"].endswith("/store-unavailable")

    asyncio.run(scenario())
