"""Observations: the readings in InfluxDB, one per stored value (station, field, time).

Id ``'sukagawa:level_m:1793494800000000000'`` (the time in nanoseconds, as stored).
The observations of any number of Datastreams are one InfluxQL query per measure
(``GROUP BY "station"``: ``LIMIT``/``OFFSET`` per station); the ``/Observations`` set
merges every station's rows in time order, so its ``$skip`` is bounded
(``MAX_MERGED_SKIP``): page further with a ``$filter`` on time.
Values the alert engine flagged (``reading_flag``) carry ``resultQuality``.

Identifiers in the InfluxQL are registry ids and field names; times come from
``query.TimeRange`` or integers this module parsed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from floodwatch.api.measures import FIELD_ORDER, stored_value
from floodwatch.api.open_data_files import ns_text
from floodwatch.api.sensorthings.query import TimeRange, bad_query
from floodwatch.core.influx import DatabaseNotFound, InfluxClient, Row
from floodwatch.core.readings import FieldValue
from floodwatch.core.registry import Station, StationKind, StationRegistry

MAX_MERGED_SKIP = 10_000
_OBSERVATION_ID = re.compile(r"([a-z0-9][a-z0-9-]{0,63}):([a-z_]{1,32}):([0-9]{1,19})")


@dataclass(frozen=True, slots=True)
class Observation:
    station: str
    field: str
    ns: int
    result: FieldValue
    suspect: str | None = None  # the flag's reason

    @property
    def id(self) -> str:
        return f"{self.station}:{self.field}:{self.ns}"

    @property
    def datastream(self) -> str:
        return f"{self.station}:{self.field}"

    def body(self) -> dict[str, object]:
        time = ns_text(self.ns)
        body: dict[str, object] = {"phenomenonTime": time, "resultTime": time,
                                   "result": self.result}
        if self.suspect is not None:
            body["resultQuality"] = {"suspect": True, "reason": self.suspect}
        return body


def parse_observation_id(text: str) -> tuple[str, str, int] | None:
    match = _OBSERVATION_ID.fullmatch(text)
    if match is None or int(match.group(3)) >= 2**63:
        return None
    return match.group(1), match.group(2), int(match.group(3))


async def _query(influx: InfluxClient, influxql: str) -> list[Row]:
    """Rows of ``influxql``; none before ingest created the database."""
    try:
        return await influx.query(influxql)
    except DatabaseNotFound:
        return []


def _order(descending: bool) -> str:
    return "ORDER BY time DESC" if descending else "ORDER BY time ASC"


Stream = tuple[Station, str]  # a Datastream: station and field


def _by_measure(streams: list[Stream]) -> dict[tuple[StationKind, str], list[Station]]:
    groups: dict[tuple[StationKind, str], list[Station]] = {}
    for station, field in streams:
        groups.setdefault((station.kind, field), []).append(station)
    return groups


def _one_of(stations: list[Station]) -> str:
    # Station ids are [a-z0-9-] (registry pattern): safe inside a regex literal.
    return f'"station" =~ /^({"|".join(station.id for station in stations)})$/'


async def of_datastreams(influx: InfluxClient, streams: list[Stream],
                         window: TimeRange | None, *, descending: bool, skip: int,
                         limit: int) -> dict[str, list[Observation]]:
    """Each Datastream's page of observations, by Datastream id. One query per measure,
    not per Datastream: GROUP BY "station" makes LIMIT and OFFSET apply per station, so
    a dashboard's newest value of 300 Datastreams is 3 queries, not 300."""
    time = window.influxql() if window else ""
    found: list[Observation] = []
    for (kind, field), stations in _by_measure(streams).items():
        rows = await _query(
            influx, f'SELECT "{field}" FROM "{kind.value}" '  # noqa: S608
            f"WHERE {_one_of(stations)}{time} GROUP BY \"station\" {_order(descending)} "
            f"LIMIT {limit} OFFSET {skip}")
        found += [Observation(str(row["station"]), field, int(row["time"]), value)
                  for row in rows if (value := stored_value(field, row.get(field))) is not None]
    pages: dict[str, list[Observation]] = {}
    for observation in await _with_flags(influx, found, [s for s, _ in streams]):
        pages.setdefault(observation.datastream, []).append(observation)
    return pages


async def counts(influx: InfluxClient, streams: list[Stream],
                 window: TimeRange | None) -> dict[str, int]:
    """Each Datastream's number of observations (in ``window``), by Datastream id."""
    time = window.influxql() if window else ""
    totals: dict[str, int] = {}
    for (kind, field), stations in _by_measure(streams).items():
        rows = await _query(
            influx, f'SELECT COUNT("{field}") FROM "{kind.value}" '  # noqa: S608
            f"WHERE {_one_of(stations)}{time} GROUP BY \"station\"")
        for row in rows:
            totals[f"{row['station']}:{field}"] = int(row.get("count") or 0)
    return totals


def _station_match(registry: StationRegistry, kind: StationKind) -> str:
    return _one_of([station for station in registry if station.kind is kind])


async def merged(influx: InfluxClient, registry: StationRegistry, window: TimeRange | None,
                 *, descending: bool, skip: int, limit: int) -> list[Observation]:
    """Every station's observations in time order (then station, then field)."""
    if skip > MAX_MERGED_SKIP:
        raise bad_query(f"$skip over {MAX_MERGED_SKIP} on /Observations: narrow the "
                        "range with $filter on phenomenonTime, or read one Datastream's "
                        "Observations")
    time = window.influxql() if window else ""
    found: list[Observation] = []
    for kind in StationKind:
        if not any(station.kind is kind for station in registry):
            continue
        fields = FIELD_ORDER[kind]
        selection = ", ".join(f'"{name}"' for name in ("station", *fields))
        query = (f'SELECT {selection} FROM "{kind.value}" '  # noqa: S608
                 f"WHERE {_station_match(registry, kind)}")
        # Each row holds one or more observations: skip + limit rows are enough...
        rows: list[Row] = await _query(
            influx, f"{query}{time} {_order(descending)} LIMIT {skip + limit}")
        if len(rows) == skip + limit:
            # ...but InfluxDB orders rows of one instant arbitrarily (stations report
            # on the same marks), so LIMIT may have cut that instant's rows anywhere:
            # take all of the last instant, then this view's order decides.
            edge = int(rows[-1]["time"])
            rows = [row for row in rows if int(row["time"]) != edge]
            rows += await _query(influx, f"{query} AND time = {edge}")
        found += [Observation(str(row["station"]), name, int(row["time"]), value)
                  for row in rows for name in fields
                  if (value := stored_value(name, row.get(name))) is not None]
    rank = {name: at for order in FIELD_ORDER.values() for at, name in enumerate(order)}
    found.sort(key=lambda o: (-o.ns if descending else o.ns, o.station, rank[o.field]))
    return await _with_flags(influx, found[skip:skip + limit], None)


async def count_all(influx: InfluxClient, registry: StationRegistry,
                    window: TimeRange | None) -> int:
    """The number of observations of every Datastream (in ``window``)."""
    time = window.influxql() if window else ""
    total = 0
    for kind in StationKind:
        if any(station.kind is kind for station in registry):
            rows = await _query(
                influx, f'SELECT COUNT(*) FROM "{kind.value}" '  # noqa: S608
                f"WHERE {_station_match(registry, kind)}{time}")
            total += sum(int(value or 0) for row in rows for key, value in row.items()
                         if key.startswith("count_"))
    return total


async def by_id(influx: InfluxClient, station: Station, field: str,
                ns: int) -> Observation | None:
    rows = await _query(
        influx, f'SELECT "{field}" FROM "{station.kind.value}" '  # noqa: S608
        f"WHERE \"station\" = '{station.id}' AND time = {ns}")
    found = [Observation(station.id, field, int(row["time"]), value)
             for row in rows if (value := stored_value(field, row.get(field))) is not None]
    return (await _with_flags(influx, found, [station]))[0] if found else None


async def _with_flags(influx: InfluxClient, found: list[Observation],
                      stations: list[Station] | None) -> list[Observation]:
    """``found`` with the reasons of the values the alert engine flagged as suspect
    (``stations``: those ``found`` may hold, to narrow the query; None: any)."""
    if not found:
        return found
    first, last = min(o.ns for o in found), max(o.ns for o in found)
    where = f"time >= {first} AND time <= {last}"
    if stations is not None:
        where += f" AND {_one_of(list({s.id: s for s in stations}.values()))}"
    rows = await _query(
        influx, f'SELECT "value", "station", "field", "reason" FROM "reading_flag" '  # noqa: S608
        f"WHERE {where}")
    reasons = {(str(row.get("station")), str(row.get("field")), int(row["time"])):
               str(row.get("reason")) for row in rows}
    return [Observation(o.station, o.field, o.ns, o.result,
                        reasons.get((o.station, o.field, o.ns))) for o in found]
