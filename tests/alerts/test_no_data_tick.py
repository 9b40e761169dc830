"""The alert engine as a process, its live tick: when the whole pipeline falls silent, one
no-data alert for all stations (never one per gauge), cleared by the next reading."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationKind
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import REGISTRY_YAML
from tests.alerts.process import AlertsProcess, bus, publish_all
from tests.support import Collected, collect, wait_for

pytestmark = pytest.mark.slow


def test_live_tick_reports_a_silent_pipeline_once_not_every_gauge(
        tmp_path: Path, mosquitto: MosquittoServer,
        alerts_env: Callable[..., dict[str, str]],
        start_alerts: Callable[[dict[str, str]], AlertsProcess]) -> None:
    registry = tmp_path / "fast.yaml"
    registry.write_text(REGISTRY_YAML.replace("interval_s: 600", "interval_s: 1")
                        .replace("interval_s: 300", "interval_s: 1"), encoding="utf-8")
    start_alerts(alerts_env(stations=str(registry), alerts_tick_s="0.2"))
    # Stamped an hour in the past, as a backlog or a simulator would be: the wall clock
    # must not make them look silent.
    then = datetime.now(UTC) - timedelta(hours=1)
    first = [Reading("g1", StationKind.RIVER, then, {"level_m": 0.4}, "device", then),
             Reading("g2", StationKind.RIVER, then, {"level_m": 0.4}, "device", then),
             Reading("u1", StationKind.ROAD, then, {"water_depth_cm": 0.0}, "device", then)]
    with collect(mosquitto.port, "floodwatch/alerts/#", "floodwatch/no-data",
                 "floodwatch/status/#") as got:
        publish_all(mosquitto.port, bus(first))
        # Nothing else arrives: only wall time passing can tell the data stopped.
        wait_for(lambda: got.count("floodwatch/no-data") >= 1, 30, "the no-data alert")
        wait_for(lambda: silent_in_status(got) == {"g1", "g2", "u1"}, 10,
                 "each silent station's status to name the no-data alert")
        later = then + timedelta(seconds=5)
        publish_all(mosquitto.port, bus([
            Reading("g1", StationKind.RIVER, later, {"level_m": 0.4}, "device", later)]))
        wait_for(lambda: got.count("floodwatch/no-data") >= 2, 30, "the no-data clear")
        wait_for(lambda: silent_in_status(got) == set(), 10, "the statuses to clear it")
    assert got.count("floodwatch/alerts/") == 0  # no gauge was blamed
    raised, cleared = got.payloads("floodwatch/no-data")
    assert (raised["scope"], raised["transition"], raised["stations"]) == (
        "all", "raised", ["g1", "g2", "u1"])
    assert raised["event_id"] == raised["alert_id"] == "no_data:all/1"
    assert (cleared["transition"], cleared["alert_id"]) == ("cleared", raised["event_id"])
    assert raised["headline"]["en"] == "all stations: no data from 3 of 3 stations (raised)"


def silent_in_status(got: Collected) -> set[str]:
    """Stations whose latest status names an open no-data alert."""
    latest = {status["station"]: status for status in got.payloads("floodwatch/status/")}
    return {station for station, status in latest.items() if status.get("no_data")}
