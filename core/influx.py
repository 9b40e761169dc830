"""A small async client for InfluxDB's v1 HTTP API: line protocol on /write, InfluxQL on /query.

floodwatch speaks only this API because InfluxDB 1.x, 2.x (DBRP mapping) and 3.x all
serve it; the official ``influxdb-client`` speaks only 2.x. Authentication: a token is
sent as ``Authorization: Token ...`` (2.x/3.x); a user name and password as HTTP Basic
(1.x with auth enabled).
"""

from __future__ import annotations

import csv
import io
import os
import sys
from collections.abc import Sequence
from types import TracebackType
from typing import Any, NamedTuple, Self

# httpx imports its own command line (``httpx._main``: click, rich, pygments where they
# are installed) whenever it is imported, for ``httpx.main`` alone, which floodwatch
# never calls: 25-35 ms of every stage's start (ingest's -X importtime). With this entry
# the import fails and httpx, as it provides for, defines a ``main`` that explains.
sys.modules.setdefault("httpx._main", None)  # type: ignore[arg-type]

import httpx  # noqa: E402 - after the line above

from floodwatch.core.settings import Settings  # noqa: E402


class InfluxError(Exception):
    """Base class for InfluxDB failures."""


class InfluxUnavailable(InfluxError):
    """InfluxDB could not be reached, timed out, or answered 5xx: try again later."""


class InfluxRejected(InfluxError):
    """InfluxDB refused the request itself (4xx): retrying the same request will not help."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class DatabaseNotFound(InfluxRejected):
    """The database does not exist (yet)."""


def _rejected(status: int, message: str) -> InfluxRejected:
    """The exception for InfluxDB's refusal ``message``. A missing database is told by
    this one test of InfluxDB's wording, here, so that callers (which treat it as "no
    data yet") catch a type: 1.x reports it in a 200's results, not only as a 404."""
    if "database not found" in message:
        return DatabaseNotFound(status, message)
    return InfluxRejected(status, message)


Row = dict[str, Any]


class InfluxClient:
    """Writes and queries one database. Open it with ``async with``."""

    def __init__(
        self,
        base_url: str,
        database: str,
        *,
        token: str | None = None,
        username: str | None = None,
        password: str | None = None,
        timeout_s: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        # Uncompressed answers: gzip of a 30-day chart's 32 KB cost InfluxDB's CPU more
        # than it saved (query to answer 9.2 -> 7.6 ms, median of 100 on loopback), and
        # InfluxDB sits beside floodwatch, not across a slow link.
        headers = {"Accept-Encoding": "identity"}
        if token:
            headers["Authorization"] = f"Token {token}"
        auth = httpx.BasicAuth(username, password or "") if username else None
        self.database = database
        self._csv_answers = True  # until the server answers a CSV request otherwise
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=headers,
            auth=auth,
            timeout=timeout_s,
            transport=transport,
            # Plain http (InfluxDB beside floodwatch) needs no TLS context, and building
            # httpx's default one (the certifi bundle) took 41 ms of every start here,
            # with a backlog waiting. Only relative paths are ever requested; through a
            # proxy from the environment (which may be https) verification stays on.
            verify=base_url.lower().startswith("https:") or _proxy_configured(),
        )

    @classmethod
    def from_settings(cls, settings: Settings, database: str | None = None) -> InfluxClient:
        token = settings.influx_token.get_secret_value() if settings.influx_token else None
        password = (
            settings.influx_password.get_secret_value() if settings.influx_password else None
        )
        return cls(
            str(settings.influx_url),
            database or settings.influx_db,
            token=token,
            username=settings.influx_username,
            password=password,
            timeout_s=settings.influx_timeout_s,
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._http.aclose()

    async def ping(self) -> bool:
        try:
            response = await self._http.get("/ping")
        except httpx.HTTPError:
            return False
        return response.status_code == 204

    async def write(self, lines: Sequence[str]) -> None:
        """Write points (nanosecond timestamps). Rewriting a point is idempotent."""
        if not lines:
            return
        body = "\n".join(lines).encode()
        await self._request(
            "POST", "/write", params={"db": self.database, "precision": "ns"}, content=body
        )

    async def create_database(self) -> None:
        # CREATE DATABASE is idempotent on 1.x; 2.x/3.x create buckets out of band.
        await self._request(
            "POST", "/query", params={"q": f'CREATE DATABASE "{self.database}"'}
        )

    async def query(self, influxql: str) -> list[Row]:
        """Run one InfluxQL statement and return its rows as dicts (column -> value).

        Each row also carries the series' tags. Integral floats come back from 1.x's
        JSON as integers; callers that need floats convert (see ``as_float``).
        """
        payload = await self._query_json(influxql)
        rows: list[Row] = []
        for result in payload.get("results", []):
            if "error" in result:
                raise _rejected(400, str(result["error"]))
            for series in result.get("series", []):
                columns = series["columns"]
                tags = series.get("tags", {})
                for values in series.get("values", []):
                    row = dict(zip(columns, values, strict=True))
                    row.update(tags)
                    row["_measurement"] = series.get("name")
                    rows.append(row)
        return rows

    async def query_table(self, influxql: str) -> Table:
        """One InfluxQL statement's rows as text, for answers passed on as they are: the
        numbers as InfluxDB wrote them (its CSV), with no float parsed or printed again
        (a 500-point chart spent most of the API's CPU on that). Columns include
        ``name``, ``tags`` and ``time`` (ns); an absent value is ``""``. Every series
        of the answer must have the same columns (InfluxRejected otherwise).

        Only 1.x/2.x's CSV (``text/csv``, quoted as RFC 4180) is read as CSV; after any
        other answer (3.x writes CSV of its own) this client asks in JSON. A CSV answer
        cannot tell an error from no data (1.x answers a statement that failed as it ran
        with an empty 200), so an answer without rows is asked again in JSON."""
        if self._csv_answers:
            response = await self._request(
                "GET", "/query", params={"db": self.database, "q": influxql, "epoch": "ns"},
                headers={"Accept": "application/csv"})
            content_type = response.headers.get("content-type", "")
            if content_type.startswith("text/csv"):
                table = _table_from_csv(response.text)
                if table.rows:
                    return table
            else:
                self._csv_answers = False
                if "json" in content_type:
                    return _table_from_json(_json_body(response))
        return _table_from_json(await self._query_json(influxql))

    async def _query_json(self, influxql: str) -> dict[str, Any]:
        response = await self._request(
            "GET", "/query", params={"db": self.database, "q": influxql, "epoch": "ns"})
        return _json_body(response)

    async def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = await self._http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            raise InfluxUnavailable(f"{method} {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 500:
            raise InfluxUnavailable(f"{method} {path}: HTTP {response.status_code}")
        if response.status_code >= 400:
            message = _error_message(response)
            raise _rejected(response.status_code, message)
        return response


class Table(NamedTuple):
    columns: list[str]
    rows: list[list[str]]


def _table_from_csv(text: str) -> Table:
    lines = csv.reader(io.StringIO(text))
    columns = next(lines, [])
    if columns == ["error"]:
        raise _rejected(400, next(lines, ["unknown error"])[0])
    rows = []
    for row in lines:
        if row[:2] == ["name", "tags"]:  # each series starts with its header line
            _same_columns(columns, row)
        elif len(row) == len(columns):  # not the empty line between series
            rows.append(row)
    return Table(columns, rows)


def _same_columns(first: list[str], later: list[str]) -> None:
    # A table has one set of columns: series with others (from a second statement, say)
    # would be read into the wrong ones, so they are refused instead.
    if later != first:
        raise InfluxRejected(400, f"series with other columns ({later} after {first}): "
                                  "not one table")


def _json_body(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        payload = None
    if not isinstance(payload, dict):
        content_type = response.headers.get("content-type", "no content type")
        raise InfluxUnavailable(f"/query: an answer that is not JSON ({content_type})")
    return payload


def _table_from_json(payload: dict[str, Any]) -> Table:
    columns: list[str] = []
    rows: list[list[str]] = []
    for result in payload.get("results", []):
        if "error" in result:
            raise _rejected(400, str(result["error"]))
        for series in result.get("series", []):
            series_columns = ["name", "tags", *series["columns"]]
            if columns:
                _same_columns(columns, series_columns)
            columns = series_columns
            rows += [[series.get("name", ""), "", *map(_as_text, values)]
                     for values in series.get("values", [])]
    return Table(columns, rows)


def _as_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float | int) and not isinstance(value, bool):
        return repr(value)
    return str(value)


def _proxy_configured() -> bool:
    """Whether httpx would take a proxy from the environment (it reads these, any case)."""
    return any(name.lower() in ("http_proxy", "https_proxy", "all_proxy")
               for name in os.environ)


def _error_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict):
        return str(body.get("error") or body.get("message") or body)[:500]
    return str(body)[:500]


def as_float(value: object) -> float | None:
    """InfluxDB 1.x returns 88.0 as 88 in JSON: read every numeric field back as float."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    raise TypeError(f"not a number: {value!r}")
