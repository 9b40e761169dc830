"""A start's first forecasts with their inputs: every gauge's history read back from
InfluxDB, screened as the live readings are.

Each gauge's history ends at the newest reading the stage had taken of it (its ``seen``,
kept in SQLite): the readings that arrived while the stage was down are in InfluxDB
already (ingest stored them), but they are also waiting on the broker for the stage's
persistent session, and each must be forecast as it comes, from the history before it.
A gauge never taken before is read up to the newest reading the stage took of any gauge
(on a first start: every stored reading).
"""

from __future__ import annotations

import structlog

from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationKind
from floodwatch.forecast.gauges import Gauges
from floodwatch.forecast.storage import newest_river_ns, read_river

log = structlog.get_logger("forecast")

HOUR_NS = 3_600 * 1_000_000_000
# Gauges per query: 100 gauges' 48 hours are some 29,000 rows, a few MB of JSON; one
# query for 10,000 gauges would hold a few GB at once.
CHUNK = 100


async def warm_histories(gauges: Gauges, influx: InfluxClient, hours: float) -> None:
    newest = await newest_river_ns(influx)
    if newest is None:
        log.info("no river readings in InfluxDB: histories start empty")
        return
    seen = gauges.seen
    end_s = max(seen.values()) if seen else None
    end = min(newest, time_ns_of(end_s)) if end_s is not None else newest
    start = end - int(hours * HOUR_NS)
    rivers = [s.id for s in gauges.registry if s.kind is StationKind.RIVER]
    readings = flagged = 0
    for first in range(0, len(rivers), CHUNK):
        stored = await read_river(influx, start, end, rivers[first:first + CHUNK])
        for station, rows in stored.items():
            limit = seen.get(station, end_s)
            kept = rows if limit is None else [r for r in rows if r[0].timestamp() <= limit]
            flagged += gauges.warm(station, kept)
            readings += len(kept)
            if kept and station not in seen:
                seen[station] = kept[-1][0].timestamp()
    log.info("histories warmed from InfluxDB", readings=readings, flagged=flagged,
             gauges=sum(1 for h in gauges.histories.values() if len(h)), hours=hours)


def time_ns_of(seconds: float) -> int:
    # The seen times are readings' times, whole microseconds: round, never truncate.
    return round(seconds * 1_000_000) * 1000


