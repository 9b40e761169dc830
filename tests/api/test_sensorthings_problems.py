"""The SensorThings view's refusals: a clear 400 ``bad-query`` (or 404) problem for
every option, filter, id or path it does not serve, never a 500; paging of a $top over
the page size; InfluxDB down."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import parse_qsl, urlsplit

import httpx
import pytest

from floodwatch.api.sensorthings.query import MAX_PAGE, parse_options
from floodwatch.api.sensorthings.resolve import next_link
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from tests.api.open_data_points import jst_today
from tests.api.sta_support import LEVELS, ROOT, run
from tests.api.support import api_client


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
