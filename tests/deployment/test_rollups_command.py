"""``floodwatch rollups``: readings that reached InfluxDB without ingest (an import) get
their hourly rollups; a second run finds nothing to do; bad input is one line."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx

from core.rollups import HOUR_S
from tests.support import REPO_ROOT, InfluxQuery


def rollups(influx: InfluxQuery, *args: str,
            url: str | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOODWATCH_INFLUX_URL": url or influx.url,
           "FLOODWATCH_INFLUX_DB": influx.database}
    return subprocess.run([sys.executable, "-m", "floodwatch", "rollups", *args], env=env,
                          capture_output=True, text=True, timeout=60, check=False,
                          cwd=REPO_ROOT)


def test_imported_readings_are_rolled_up_once(influx: InfluxQuery) -> None:
    hour = int(time.time()) // HOUR_S * HOUR_S - 5 * HOUR_S  # five hours ago, ended
    httpx.post(f"{influx.url}/query", params={"q": f'CREATE DATABASE "{influx.database}"'})
    lines = [f"river,station=r-1 level_m={level} {(hour + minute * 60) * 10**9}"
             for minute, level in [(0, 1.0), (10, 2.0), (70, 4.0)]]
    httpx.post(f"{influx.url}/write", params={"db": influx.database},
               content="\n".join(lines)).raise_for_status()

    first = rollups(influx, "--days", "1")
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("rollups: 2 hour(s) recomputed over the last 1 days")
    rows = influx.rows('SELECT "level_m_sum", "level_m_count" FROM "river_1h"')
    assert [(row["time"], row["level_m_sum"], row["level_m_count"]) for row in rows] == [
        (hour * 10**9, 3, 2), ((hour + HOUR_S) * 10**9, 4, 1)]
    again = rollups(influx)
    assert again.returncode == 0, again.stderr
    assert again.stdout.startswith("rollups: 0 hour(s) recomputed")


def test_bad_days_and_an_unreachable_database_are_one_line(influx: InfluxQuery) -> None:
    bad = rollups(influx, "--days", "-3")
    assert (bad.returncode, bad.stderr) == (
        2, "floodwatch: --days: must be more than 0 and at most 36500, not -3\n")
    gone = rollups(influx, url="http://127.0.0.1:9")
    assert gone.returncode == 1
    assert gone.stderr.startswith("floodwatch: InfluxDB http://127.0.0.1:9")
    assert len(gone.stderr.splitlines()) == 1
