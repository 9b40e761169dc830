"""``floodwatch forecast verify`` as a real command on a real InfluxDB: a tiny hand-made
storm whose scores are worked out here, and bad times refused with status 2."""

from __future__ import annotations

import math
import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from floodwatch.core.lineprotocol import format_point
from floodwatch.forecast.model import LEADS_MIN
from floodwatch.forecast.storage import time_ns
from tests.forecast.stage_support import RULES_FILE, T0, write_registry
from tests.support import REPO_ROOT, InfluxQuery

TAGS = {"station": "side", "river": "abukuma", "basin": "abukuma"}
ISSUES_MIN = range(0, 241, 30)  # nine forecasts, every half hour
BIAS = (0.1, -0.1)  # forecast k is the truth + BIAS[k % 2] at every lead


def level(minutes: float) -> float:
    """The truth: 2.0 m rising 0.5 m/h (evacuation 3.0 at 2 h, danger 4.0 at 4 h)."""
    return 2.0 + 0.5 * minutes / 60


def store_storm(influx: InfluxQuery) -> None:
    lines = [format_point("river", TAGS, {"level_m": round(level(m), 4)},
                          time_ns(T0 + timedelta(minutes=m))) for m in range(0, 421, 10)]
    for k, issued in enumerate(ISSUES_MIN):
        for lead in LEADS_MIN:
            median = round(level(issued + lead) + BIAS[k % 2], 4)
            lines.append(format_point(
                "forecast", {**TAGS, "lead_min": str(lead)},
                {"level_m": median, "low_m": median - 0.2, "high_m": median + 0.2,
                 "method": "trend"}, time_ns(T0 + timedelta(minutes=issued))))
    httpx.post(f"{influx.url}/query", params={"q": f'CREATE DATABASE "{influx.database}"'}
               ).raise_for_status()
    httpx.post(f"{influx.url}/write", params={"db": influx.database, "precision": "ns"},
               content="\n".join(lines)).raise_for_status()


def verify(tmp_path: Path, influx: InfluxQuery, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "FLOODWATCH_INFLUX_URL": influx.url,
           "FLOODWATCH_INFLUX_DB": influx.database,
           "FLOODWATCH_STATIONS": str(write_registry(tmp_path)),
           "FLOODWATCH_ALERTS_RULES": str(RULES_FILE), "COLUMNS": "160"}
    return subprocess.run([sys.executable, "-m", "floodwatch", "forecast", "verify", *args],
                          env=env, cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60, check=False)


def table_rows(text: str) -> dict[str, list[str]]:
    """The tables' rows by their first cell (rich draws cells between │)."""
    rows = {}
    for line in text.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("│").split("│")]
        if len(cells) > 3 and cells[0]:
            rows[cells[0]] = cells[1:]
    return rows


def test_verify_prints_the_scores_of_the_stored_forecasts(
        tmp_path: Path, influx: InfluxQuery) -> None:
    store_storm(influx)
    end = T0 + timedelta(minutes=240)
    result = verify(tmp_path, influx, "--start", T0.isoformat(), "--end", end.isoformat())
    assert result.returncode == 0, result.stderr
    assert "9 forecasts of 1 gauge" in result.stdout
    rows = table_rows(result.stdout)
    # Every lead: errors of +-0.1 m, so RMSE 0.1; the truths at one lead are 0.25 m apart
    # from one forecast to the next, so NSE = 1 - 9 x 0.01 / (0.25^2 x sum((k-4)^2)).
    variance = sum((0.25 * (k - 4)) ** 2 for k in range(9))
    efficiency = 1 - 9 * 0.01 / variance
    for lead in LEADS_MIN:
        pairs, rmse, nse = rows[str(lead)]
        assert (pairs, rmse, nse) == ("9", "0.100", f"{efficiency:.2f}"), lead
    assert math.isclose(efficiency, 0.976)
    # Evacuation (3.0 m, crossed at 2 h): warned by the forecasts of 0:00 ... 1:30 (each
    # reaches 3.0 m within 3 h; the last is 30 min before the crossing), raised at 0:00:
    # 120 min ahead. Danger (4.0 m, at 4 h): 0:00 (3.6 m at most) and 0:30 (3.65 m) do
    # not reach it; 1:00 (+0.1: 4.1 m at 3 h) to 3:30 do: raised at 1:00, 180 min ahead.
    # Neither warning is false: the river reached both levels.
    assert rows["evacuation"] == ["1", "1", "1.00", "1", "0", "0.00", "120"]
    assert rows["danger"] == ["1", "1", "1.00", "1", "0", "0.00", "180"]


@pytest.mark.parametrize(("start", "end", "said"), [
    ("yesterday", "2026-10-12T00:00:00Z", "argument --start: 'yesterday' is not an ISO 8601"),
    ("2026-10-12T00:00:00", "2026-10-13T00:00:00Z", "has no UTC offset"),
    ("2026-10-13T00:00:00+09:00", "2026-10-12T00:00:00+09:00", "is not before --end"),
])
def test_bad_times_are_refused_with_status_2(tmp_path: Path, influx: InfluxQuery,
                                             start: str, end: str, said: str) -> None:
    result = verify(tmp_path, influx, "--start", start, "--end", end)
    assert result.returncode == 2
    assert said in result.stderr
    assert "Traceback" not in result.stderr
