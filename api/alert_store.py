"""InfluxQL over what the alert engine and the notifiers write: ``alert_event`` (one
point per event: ``payload`` JSON and ``cap_xml``) and ``alert_delivery`` (one point per
delivery state change: tags ``station``, ``channel``; fields ``event_id``, ``state``,
``attempts``, ``detail``).

Values put into queries are registry station ids, ids the route validated with strict
patterns, or numbers, so no InfluxQL can be injected. A database that does not exist yet
holds nothing; any other failure is an outage (503).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from floodwatch.api.problems import influx_unavailable
from floodwatch.api.store import ns_to_datetime
from floodwatch.core.influx import DatabaseNotFound, InfluxClient, InfluxError, Row, as_float

EVENTS = "alert_event"
DELIVERIES = "alert_delivery"


async def query_rows(influx: InfluxClient, query: str) -> list[Row]:
    try:
        return await influx.query(query)
    except DatabaseNotFound:
        return []  # nothing written yet: no events, not an outage
    except InfluxError as exc:
        raise influx_unavailable() from exc


def quoted(value: str) -> str:
    """An InfluxQL string literal (ids are pattern-checked; this is a second fence)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


@dataclass(frozen=True, slots=True)
class StoredEvent:
    time_ns: int
    event: dict[str, Any]


async def event_payloads(influx: InfluxClient, where: str, limit: int, *,
                         newest_first: bool = True) -> list[StoredEvent]:
    """Events matching ``where`` (InfluxQL), newest first unless told otherwise;
    unreadable points skipped."""
    order = "DESC" if newest_first else "ASC"
    rows = await query_rows(influx, f'SELECT "payload" FROM "{EVENTS}" WHERE {where} '  # noqa: S608
                               f"ORDER BY time {order} LIMIT {int(limit)}")
    events = []
    for row in rows:
        try:
            event = json.loads(row.get("payload") or "")
        except ValueError:
            continue  # a point we cannot read is skipped, not a failed request
        if isinstance(event, dict):
            events.append(StoredEvent(int(row["time"]), event))
    return events


@dataclass(frozen=True, slots=True)
class StoredCap:
    event_id: str
    cap_xml: str | None  # None: the event was stored before CAP XML was kept


async def alert_caps(influx: InfluxClient, station: str, alert_id: str, *,
                     event_id: str | None = None, limit: int) -> list[StoredCap]:
    """The CAP XML of an alert's newest ``limit`` events (or of one), newest first."""
    where = f'"station" = {quoted(station)} AND "alert_id" = {quoted(alert_id)}'
    if event_id is not None:
        where += f' AND "event_id" = {quoted(event_id)}'
    rows = await query_rows(influx, f'SELECT "event_id", "cap_xml" FROM "{EVENTS}" '  # noqa: S608
                               f"WHERE {where} ORDER BY time DESC LIMIT {int(limit)}")
    return [StoredCap(str(row.get("event_id")),
                      row["cap_xml"] if isinstance(row.get("cap_xml"), str) else None)
            for row in rows]


async def cleared_since(influx: InfluxClient, since: datetime) -> list[tuple[str, str]]:
    """(station, alert_id) of every alert cleared since ``since``, newest first."""
    rows = await query_rows(
        influx, f'SELECT "alert_id" FROM "{EVENTS}" WHERE "transition" = \'cleared\' '  # noqa: S608
                f"AND time >= {int(since.timestamp())}s GROUP BY \"station\" "
                f"ORDER BY time DESC LIMIT 100")
    return [(str(row["station"]), str(row["alert_id"])) for row in rows
            if isinstance(row.get("alert_id"), str)]


@dataclass(frozen=True, slots=True)
class DeliveryState:
    event_id: str
    channel: str
    state: str
    attempts: int | None
    detail: str | None
    at: datetime


async def delivery_states(influx: InfluxClient, station: str, event_ids: set[str],
                          since_ns: int) -> list[DeliveryState]:
    """The latest delivery state of each (event, channel) among ``event_ids``; deliveries
    only follow their event, so points older than ``since_ns`` are not read."""
    rows = await query_rows(
        influx, 'SELECT "event_id", "state", "attempts", "detail" '  # noqa: S608
                f'FROM "{DELIVERIES}" WHERE "station" = {quoted(station)} '
                f'AND time >= {since_ns} GROUP BY "channel" ORDER BY time ASC')
    latest: dict[tuple[str, str], DeliveryState] = {}
    for row in rows:
        event_id, channel = row.get("event_id"), row.get("channel")
        if event_id not in event_ids or not isinstance(channel, str):
            continue
        attempts = as_float(row.get("attempts"))
        detail = row.get("detail")
        # Ascending time: a later state change replaces the earlier one.
        latest[(str(event_id), channel)] = DeliveryState(
            str(event_id), channel, str(row.get("state") or "unknown"),
            None if attempts is None else int(attempts),
            detail if isinstance(detail, str) else None, ns_to_datetime(int(row["time"])))
    return sorted(latest.values(), key=lambda d: (-_seq(d.event_id), d.channel))


def _seq(event_id: str) -> int:
    number = event_id.rpartition("/")[2]
    return int(number) if number.isdigit() else 0
