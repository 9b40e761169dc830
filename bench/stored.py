"""When is the flood stored? Watching InfluxDB without slowing it down.

The obvious probe, ``SELECT count("level_m")`` every 50 ms, scans every point stored so
far: at 100,000 points it cost InfluxDB 30-36 ms of CPU per poll here, about a second of
a ~3 s drain on this 2-core machine -- CPU taken from the consumer being measured. So
the watch reads InfluxDB's own counters instead (``SHOW STATS FOR 'shard'``: points
each shard of the database accepted, 1.5 ms of CPU), and counts the points once, when
the counters say all are in: a point accepted by a write is queryable. Should the count
fall short (a redelivered reading written twice is counted twice by the shard), the
watch goes on counting until it is complete or stops growing.
"""

from __future__ import annotations

import time

import httpx

from bench.rig import Rig


def accepted(rig: Rig, database: str) -> int:
    """Points InfluxDB's shards of ``database`` have taken (its counters; no scan).

    Failed ones too: a write the engine reports as failed can leave some of its points
    stored (seen with Node-RED's plain flow: 21,240 queryable, 21,143 "ok", 203 "err");
    the count settles what is queryable."""
    response = httpx.get(f"{rig.influx.url}/query", params={"q": "SHOW STATS FOR 'shard'"})
    response.raise_for_status()
    points = 0
    for series in response.json()["results"][0].get("series", []):
        if series.get("tags", {}).get("database") == database:
            row = dict(zip(series["columns"], series["values"][0], strict=True))
            points += int(row["writePointsOk"]) + int(row["writePointsErr"])
    return points


def wait_stored(rig: Rig, database: str, total: int, timeout_s: float = 600,
                quiet_s: float = 30) -> tuple[int, float, list[tuple[float, int]]]:
    """Poll until ``total`` points are queryable, or nothing new arrives for ``quiet_s``;
    returns the count, when it was last seen to grow, and (seconds, points) samples:
    the shard counters' until they first say "all in", counts after."""
    started = time.perf_counter()
    seen, grew = 0, started
    progress: list[tuple[float, int]] = []
    counting = False  # the counters have said "all in" once: count from now on
    while True:
        now = time.perf_counter()
        if now - grew > quiet_s or now - started > timeout_s:
            return (seen if counting else _count_or(rig, database, seen)), grew, progress
        time.sleep(0.05)
        try:
            latest = rig.count(database) if counting else accepted(rig, database)
        except httpx.HTTPError:
            continue  # a database swamped by a lossy peer's writes answers late
        sampled = time.perf_counter()
        progress.append((sampled - started, latest))
        if latest != seen:
            seen, grew = latest, sampled
        if counting and latest >= total:
            return latest, grew, progress
        if not counting and latest >= total:
            counting = True
            seen = _count_or(rig, database, -1)
            if seen >= total:
                return seen, grew, progress


def _count_or(rig: Rig, database: str, otherwise: int) -> int:
    try:
        return rig.count(database)
    except httpx.HTTPError:
        return otherwise
