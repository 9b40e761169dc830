"""The SensorThings API 1.1 view (/sta/v1.1) against the real InfluxDB: the conformance
cases of the OGC standard's abstract test suite that this read-only subset can express
(A.2 read: entity sets listed, entities and their self and navigation links resolve;
A.3 request data: $top, $skip, $orderby, $count, $filter on time, $expand), quality
flags and keyless access with public read off. What is not served:
test_sensorthings_problems.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import httpx

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from tests.api.open_data_points import STEP, ns, reading, write
from tests.api.sta_support import DAY, LEVELS, ROOT, START, ok, run
from tests.api.support import api_client


def test_root_lists_entity_sets_that_resolve(make_settings: Callable[..., Settings],
                                             sample_registry: StationRegistry) -> None:
    async def check(client: httpx.AsyncClient) -> None:
        root = await ok(client, ROOT)
        assert [entry["name"] for entry in root["value"]] == [
            "Things", "Locations", "Datastreams", "Sensors", "ObservedProperties",
            "Observations"]
        assert root["serverSettings"]["conformance"] == [
            "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/"
            "resource-path-to-entities",
            "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data"]
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


def test_merged_observations_page_exactly_when_stations_report_at_one_instant(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    # Gauges report on the same 10-minute marks: many observations share a time, and
    # InfluxDB orders those by series key (basin, river, station), not as this view does.
    settings = make_settings()
    rivers = [s for s in sample_registry if s.kind.value == "river"]
    lines = [reading(gauge, START + step * STEP, {"level_m": 1.0 + step, "rain_mm": 0.5})
             for step in range(3) for gauge in rivers]
    expected = {f"{gauge.id}:{name}:{ns(START + step * STEP)}"
                for step in range(3) for gauge in rivers for name in ("level_m", "rain_mm")}

    async def scenario() -> None:
        await write(settings, lines)
        async with api_client(settings, sample_registry, headers={}) as client:
            for order, top in (("asc", 1), ("asc", 3), ("desc", 3), ("desc", 7)):
                seen: list[str] = []
                for skip in range(0, len(expected), top):
                    page = await ok(client, f"{ROOT}/Observations", **{
                        "$top": str(top), "$skip": str(skip),
                        "$orderby": f"phenomenonTime {order}"})
                    seen += [o["@iot.id"] for o in page["value"]]
                assert len(seen) == len(expected), (order, top)
                assert set(seen) == expected, (order, top)
                times = [int(i.rsplit(":", 1)[1]) for i in seen]
                assert times == sorted(times, reverse=order == "desc")

    asyncio.run(scenario())


def test_answers_revalidate_to_304_until_an_observation_comes_in(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    settings = make_settings()
    gauge = sample_registry.get("sukagawa")
    assert gauge is not None
    newest = {"$orderby": "phenomenonTime desc", "$top": "1"}

    async def scenario() -> None:
        await write(settings, [reading(gauge, START, {"level_m": 1.0})])
        async with api_client(settings, sample_registry, headers={}) as client:
            root = await client.get(ROOT)
            cached_root = await client.get(ROOT, headers={"If-None-Match": root.headers["etag"]})
            first = await client.get(LEVELS, params=newest)
            etag = first.headers["etag"]
            cached = await client.get(LEVELS, params=newest, headers={"If-None-Match": etag})
            await write(settings, [reading(gauge, START + STEP, {"level_m": 1.5})])
            changed = await client.get(LEVELS, params=newest, headers={"If-None-Match": etag})
        assert cached_root.status_code == 304
        assert first.status_code == 200, first.text
        assert cached.status_code == 304
        assert cached.content == b""
        assert cached.headers["etag"] == etag
        assert cached.headers["cache-control"] == first.headers["cache-control"] == (
            "public, max-age=30")
        assert changed.status_code == 200
        assert changed.headers["etag"] != etag
        assert changed.json()["value"][0]["result"] == 1.5

    asyncio.run(scenario())


def test_before_ingest_created_the_database_observations_are_empty_not_an_outage(
        make_settings: Callable[..., Settings], sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry, headers={}) as client:
            observations = await ok(client, f"{ROOT}/Observations", **{"$count": "true"})
            levels = await ok(client, LEVELS)
        assert observations["value"] == levels["value"] == []
        assert observations["@iot.count"] == 0

    asyncio.run(scenario())
