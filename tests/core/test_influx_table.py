"""core.influx.query_table against a real InfluxDB (and, for a server that ignores the
CSV request, a JSON answer at the HTTP boundary): rows as InfluxDB's text, errors as
exceptions, every series' rows."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import httpx
import pytest

from floodwatch.core.influx import (
    DatabaseNotFound,
    InfluxClient,
    InfluxRejected,
    InfluxUnavailable,
    Table,
)
from tests.support import InfluxQuery


def _table(influx: InfluxQuery, lines: list[str], query: str) -> Table:
    async def scenario() -> Table:
        async with InfluxClient(influx.url, influx.database) as client:
            await client.create_database()
            await client.write(lines)
            return await client.query_table(query)

    return asyncio.run(scenario())


def test_rows_are_influxdbs_text_with_absent_values_empty(influx: InfluxQuery) -> None:
    table = _table(influx, ['road,station=a water_depth_cm=88.0,surface_state="wet, \\"x\\"" 5',
                            "road,station=a water_depth_cm=0.00001 6",
                            "road,station=b surface_temp_c=-1.5 7"],
                   'SELECT "surface_state", "surface_temp_c", "water_depth_cm" FROM "road"')
    assert table.columns == ["name", "tags", "time", "surface_state", "surface_temp_c",
                             "water_depth_cm"]
    assert table.rows == [["road", "", "5", 'wet, "x"', "", "88"],
                          ["road", "", "6", "", "", "0.00001"],
                          ["road", "", "7", "", "-1.5", ""]]


def test_every_series_and_no_repeated_header(influx: InfluxQuery) -> None:
    table = _table(influx, ["river,station=a level_m=1 1", "river,station=b level_m=2 1"],
                   'SELECT "level_m" FROM "river" GROUP BY "station"')
    assert [row[1:] for row in table.rows] == [["station=a", "1", "1"],
                                              ["station=b", "1", "2"]]


def test_series_with_other_columns_are_refused_not_misread(influx: InfluxQuery) -> None:
    with pytest.raises(InfluxRejected, match="not one table"):
        _table(influx, ["river,station=a level_m=1 1", "road,station=d surface_temp_c=2 1"],
               'SELECT "level_m" FROM "river"; SELECT "surface_temp_c" FROM "road"')


@pytest.mark.parametrize(("query", "message"), [
    ("SELEC nothing", "error parsing query"),  # refused before it runs: HTTP 400
    # Fails as it runs: 1.x answers 200 with an empty CSV body (JSON carries the error).
    ('SELECT mean("level_m"), "rain_mm" FROM "river"', "mixing aggregate"),
])
def test_an_error_is_an_exception_never_an_empty_table(
        influx: InfluxQuery, query: str, message: str) -> None:
    with pytest.raises(InfluxRejected, match=message):
        _table(influx, ["river,station=a level_m=1 1"], query)


@pytest.mark.parametrize("method", ["query", "query_table"])
def test_a_missing_database_is_its_own_exception(influx: InfluxQuery, method: str) -> None:
    # Callers treat a database ingest has not created yet as empty, and every other
    # rejection as an outage: they tell them apart by the type, never by the text.
    async def missing() -> object:
        async with InfluxClient(influx.url, "no_such_database") as client:
            return await getattr(client, method)('SELECT "level_m" FROM "river"')

    with pytest.raises(DatabaseNotFound, match="database not found"):
        asyncio.run(missing())


JSON_ANSWER = {"results": [{"statement_id": 0, "series": [{
    "name": "river", "columns": ["time", "level_m", "state"],
    "values": [[5, 88, "wet, dry"], [6, 0.5, None]]}]}]}
EXPECTED = Table(["name", "tags", "time", "level_m", "state"],
                 [["river", "", "5", "88", "wet, dry"], ["river", "", "6", "0.5", ""]])


def _fake_server(answer_csv: Callable[[], httpx.Response]
                 ) -> tuple[httpx.MockTransport, list[str]]:
    """InfluxDB 2.x/3.x cannot run here: their v1 /query is faked at HTTP."""
    asked: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["authorization"] == "Token s3cret"  # 2.x/3.x auth
        assert request.headers["accept-encoding"] == "identity"
        asked.append(request.headers.get("accept", ""))
        if request.headers.get("accept") == "application/csv":
            return answer_csv()
        return httpx.Response(200, json=JSON_ANSWER)

    return httpx.MockTransport(answer), asked


def _tables(transport: httpx.MockTransport, count: int) -> list[Table]:
    async def scenario() -> list[Table]:
        async with InfluxClient("http://influx.invalid", "db", token="s3cret",
                                transport=transport) as client:
            return [await client.query_table('SELECT * FROM "river"') for _ in range(count)]

    return asyncio.run(scenario())


def test_a_server_answering_json_anyway_gives_the_same_table() -> None:
    transport, asked = _fake_server(lambda: httpx.Response(200, json=JSON_ANSWER))
    assert _tables(transport, 2) == [EXPECTED, EXPECTED]
    assert asked == ["application/csv", "*/*"]  # then JSON only


def test_a_csv_of_another_kind_is_not_read_as_csv() -> None:
    # 3.x: its own content type, no quoting, "null" for an absent value.
    transport, asked = _fake_server(lambda: httpx.Response(
        200, text="name,tags,time,level_m,state\nriver,,5,88,wet, dry\nriver,,6,0.5,null\n",
        headers={"content-type": "application/csv"}))
    assert _tables(transport, 2) == [EXPECTED, EXPECTED]
    assert asked == ["application/csv", "*/*", "*/*"]


def test_an_answer_that_is_neither_is_unavailable() -> None:
    def garbage(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>proxy error", headers={"content-type": "text/html"})

    with pytest.raises(InfluxUnavailable, match="not JSON"):
        _tables(httpx.MockTransport(garbage), 1)
