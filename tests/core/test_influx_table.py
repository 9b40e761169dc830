"""core.influx.query_table against a real InfluxDB (and, for a server that ignores the
CSV request, a JSON answer at the HTTP boundary): rows as InfluxDB's text, errors as
exceptions, every series' rows."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from core.influx import InfluxClient, InfluxRejected, Table
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


def test_an_error_is_an_exception_and_a_missing_database_no_rows(
        influx: InfluxQuery) -> None:
    with pytest.raises(InfluxRejected, match="error parsing query"):
        _table(influx, ["river,station=a level_m=1 1"], "SELEC nothing")

    async def missing() -> Table:
        async with InfluxClient(influx.url, "no_such_database") as client:
            return await client.query_table('SELECT "level_m" FROM "river"')

    assert asyncio.run(missing()).rows == []


def test_a_server_answering_json_anyway_gives_the_same_table() -> None:
    # InfluxDB 2.x/3.x cannot run here; a server that ignores Accept is faked at HTTP.
    def answer(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept"] == "application/csv"
        assert request.headers["authorization"] == "Token s3cret"  # 2.x/3.x auth
        assert request.headers["accept-encoding"] == "identity"
        return httpx.Response(200, json={"results": [{"statement_id": 0, "series": [{
            "name": "river", "columns": ["time", "level_m", "state"],
            "values": [[5, 88, "wet"], [6, 0.5, None]]}]}]})

    async def scenario() -> Table:
        async with InfluxClient("http://influx.invalid", "db", token="s3cret",
                                transport=httpx.MockTransport(answer)) as client:
            return await client.query_table('SELECT * FROM "river"')

    table = asyncio.run(scenario())
    assert table.columns == ["name", "tags", "time", "level_m", "state"]
    assert table.rows == [["river", "", "5", "88", "wet"], ["river", "", "6", "0.5", ""]]
