"""``floodwatch up``: the whole stack in one process, as the README's run command starts it."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from floodwatch.stages import STAGES
from tests.api.support import OFFICER_KEY, TEST_KEYS
from tests.support import InfluxQuery, StackProcess, collect, mosquitto_pub, wait_for


def test_one_process_stores_alerts_delivers_and_serves(
    tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
    settings_env: Callable[..., dict[str, str]],
) -> None:
    port = free_port()
    stack = StackProcess(settings_env(api_port=port, api_keys=TEST_KEYS), tmp_path / "up.log")
    with collect(mosquitto.port, "floodwatch/alerts/sukagawa",
                 "bousai/floodwatch/cap/sukagawa") as seen:
        stack.start()
        # Sukagawa's standby level is 2.50 m: one reading below it, one over it.
        start = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
        for minutes, level in ((0, 2.1), (10, 2.6)):
            ts = (start + timedelta(minutes=minutes)).isoformat()
            mosquitto_pub(mosquitto.port, "sensors/river/sukagawa",
                          json.dumps({"ts": ts, "level_m": level}))
        wait_for(lambda: influx.count("river", "level_m") == 2, 15, "both readings stored")
        wait_for(lambda: seen.count("floodwatch/alerts/") == 1, 15, "the alert event")
        wait_for(lambda: seen.count("bousai/floodwatch/cap/") == 1, 15,
                 "the CAP on the disaster network")
        event = seen.payloads("floodwatch/alerts/")[0]
        assert (event["alert_type"], event["transition"], event["level"]) == (
            "river_level", "raised", 1)
        cap = next(m for m in seen.messages if m[0].startswith("bousai/"))[1]
        assert b"urn:oasis:names:tc:emergency:cap:1.2" in cap

        base = f"http://127.0.0.1:{port}"
        assert httpx.get(f"{base}/readyz").json() == {
            "status": "ok", "broker": True, "influxdb": True}
        headers = {"Authorization": f"Bearer {OFFICER_KEY}"}
        station = httpx.get(f"{base}/api/v1/stations/sukagawa", headers=headers)
        assert station.status_code == 200
        wait_for(lambda: any(alert["station"] == "sukagawa" for alert in httpx.get(
            f"{base}/api/v1/alerts/open", headers=headers).json()["alerts"]), 10,
            "the open alert in the API")
        # The engine's history carries the CAP the API serves (and lists in its feed).
        wait_for(lambda: httpx.get(f"{base}/api/v1/alerts/sukagawa/1/cap",
                                   headers=headers).status_code == 200, 15,
                 "the alert's CAP from the API")
        served = httpx.get(f"{base}/api/v1/alerts/sukagawa/1/cap", headers=headers)
        assert served.headers["content-type"].startswith("application/cap+xml")
        assert served.content.replace(b"\n", b"") == cap.replace(b"\n", b"")

    assert stack.stop(signal.SIGTERM) == 0
    assert stack.log_events("stack starting")[0]["stages"] == [stage.name for stage in STAGES]
    for stage in ("ingest", "alerts", "notify"):
        assert stack.log_events(f"{stage} stopped"), stage
