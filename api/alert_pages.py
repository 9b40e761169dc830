"""The alert record read in its stable order, (time, station, seq), from any position.

InfluxDB orders points by time only: events of several stations at one instant share a
timestamp, and ``ORDER BY time ... LIMIT n`` may cut among them in any order. Paging by
time alone therefore lost events (15 of 67 in issue 21). Here a page that came back full
drops the rows at its last timestamp and reads that instant again whole, then every row
is sorted by its EventKey and compared with the position asked for: nothing is skipped
and nothing is read twice, whatever the page size.

Used by the alert history's cursor. (The live feed's resume reads InfluxDB by station
and seq instead, api.resume: a client's position is per station, not a point in this
order.)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from floodwatch.api.alert_store import StoredEvent, event_payloads
from floodwatch.api.event_keys import EventKey
from floodwatch.core.influx import InfluxClient

# Events at one instant: one per station at most per nanosecond (the point time holds the
# seq), so a registry's worth; the bound only keeps a broken store from flooding us.
TIES_MAX = 100_000


@dataclass(frozen=True, slots=True)
class KeyedEvent:
    key: EventKey
    event: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Page:
    events: list[KeyedEvent]
    more: bool  # events beyond this page may exist


async def read_page(influx: InfluxClient, where: str, *, after: EventKey | None,
                    limit: int, newest_first: bool) -> Page:
    """Up to ``limit`` events matching ``where`` (validated InfluxQL), in key order
    (descending when ``newest_first``), strictly beyond ``after``."""
    collected: list[KeyedEvent] = []
    bound = None if after is None else after.time_ns
    while True:
        clause = where
        if bound is not None:
            clause += f" AND time {'<=' if newest_first else '>='} {int(bound)}"
        rows = await event_payloads(influx, clause, limit, newest_first=newest_first)
        full = len(rows) == limit
        if full:
            # The page may hold only some of the events at its last instant: read it whole.
            edge = rows[-1].time_ns
            rows = [row for row in rows if row.time_ns != edge]
            rows += await event_payloads(influx, f"{where} AND time = {int(edge)}", TIES_MAX)
        collected += sorted(_beyond(rows, after, newest_first),
                            key=lambda keyed: keyed.key, reverse=newest_first)
        if len(collected) > limit or not full:
            return Page(collected[:limit], more=len(collected) > limit)
        bound = edge - 1 if newest_first else edge + 1


def _beyond(rows: list[StoredEvent], after: EventKey | None,
            newest_first: bool) -> list[KeyedEvent]:
    keyed = []
    for row in rows:
        key = EventKey.of_event(row.event, row.time_ns)
        if key is None:
            continue  # not an engine event (no station/seq): it has no place in the order
        if after is None or (key < after if newest_first else key > after):
            keyed.append(KeyedEvent(key, row.event))
    return keyed
