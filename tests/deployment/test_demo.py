"""``make demo`` itself, on free ports: a storm happening now, never a dead network.

The Makefile target runs as a newcomer's does (``-o install``: the suite has installed
everything already; ``BIN``: this interpreter's commands): private Mosquitto and
InfluxDB, ``floodwatch demo-config``, the stack on ``demo.env`` and the typhoon on the
compressed clock. After 60 s of simulation no station may be stale (the API's flag and
the dashboard in Chromium), every reading and alert time must lie in the demo's own
window of wall time, and the alerts' reading times must be points of the chart. Then
the devices are paused (SIGSTOP): the same dashboard must mark them 欠測 within the
demo's stale time, so the stale rule is still there, only scaled.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import expect

from floodwatch.services.process import free_port, port_is_open
from tests.api.dashboard_stack import chromium
from tests.support import REPO_ROOT, collect, wait_for

pytestmark = pytest.mark.slow

RUN_S = 60
COMPRESS, SKIP_S = 120, 7 * 3600  # the Makefile's DEMO_COMPRESS and DEMO_SKIP (7h)
HISTORY = timedelta(seconds=SKIP_S / COMPRESS)  # back-filled before the live part
STALE_MARKS = ".stale-badge, [data-stale='true']"  # dashboard/app/stations.js


class Demo:
    """``make demo`` as a process group of its own, and what it logs."""

    def __init__(self, tmp_path: Path) -> None:
        mqtt_port, influx_port, self.api_port = free_port(), free_port(), free_port()
        self.env = {**os.environ, "FLOODWATCH_MQTT_URL": f"mqtt://127.0.0.1:{mqtt_port}",
                    "FLOODWATCH_INFLUX_URL": f"http://127.0.0.1:{influx_port}",
                    "FLOODWATCH_STATE_DIR": str(tmp_path / "state"),
                    "FLOODWATCH_API_PORT": str(self.api_port), "FLOODWATCH_LOG_FORMAT": "json"}
        self.mqtt_port = mqtt_port
        self.url = f"http://127.0.0.1:{self.api_port}"
        self.log_path = tmp_path / "make-demo.log"
        self.folder = tmp_path / "demo"
        self.make: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with self.log_path.open("wb") as log:
            self.make = subprocess.Popen(
                ["make", "--no-print-directory", "demo", "-o", "install",
                 f"BIN={Path(sys.executable).parent}", f"DEMO_DIR={self.folder}"],
                env=self.env, cwd=REPO_ROOT, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True)

    def log_events(self, event: str) -> list[dict[str, Any]]:
        found = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{") and f'"event": "{event}"' in line:
                found.append(json.loads(line))
        return found

    def simulator_pid(self) -> int:
        """The ``floodwatch simulate`` this make started (in its process group)."""
        assert self.make is not None
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                argv = (entry / "cmdline").read_bytes().split(b"\0")
                group = os.getpgid(int(entry.name))
            except OSError:  # gone meanwhile
                continue
            if group == self.make.pid and b"simulate" in argv and b"--demo" in argv:
                return int(entry.name)
        raise AssertionError("no simulator in make demo's process group")

    def stop(self) -> None:
        try:
            if self.make is not None and self.make.poll() is None:
                os.killpg(self.make.pid, signal.SIGTERM)
                os.killpg(self.make.pid, signal.SIGCONT)  # a paused simulator must hear it
                self.make.wait(timeout=60)
        finally:
            self._services_down()

    def _services_down(self) -> None:
        subprocess.run([str(Path(sys.executable).parent / "floodwatch"), "services", "down"],
                       env=self.env, cwd=REPO_ROOT, capture_output=True, timeout=60,
                       check=False)

    def get(self, path: str, **params: str) -> Any:
        answer = httpx.get(f"{self.url}/api/v1{path}", params=params, timeout=10)
        answer.raise_for_status()
        return answer.json()


@contextmanager
def make_demo(tmp_path: Path) -> Iterator[Demo]:
    demo = Demo(tmp_path)
    try:
        demo.start()
        yield demo
    finally:
        demo.stop()


def parse(ts: str) -> datetime:
    return datetime.fromisoformat(ts.replace("Z", "+00:00"))


def test_make_demo_is_a_storm_happening_now(tmp_path: Path) -> None:
    started = datetime.now(UTC)
    with make_demo(tmp_path) as demo:
        wait_for(lambda: port_is_open(demo.mqtt_port), 60, "make demo's broker")
        with collect(demo.mqtt_port, "floodwatch/deadletter", "floodwatch/alerts/#",
                     "floodwatch/no-data") as seen:
            wait_for(lambda: bool(demo.log_events("simulating")), 90, "the simulator")
            time.sleep(RUN_S)
            now = datetime.now(UTC)
            window = (started - HISTORY, now + timedelta(seconds=1))

            stations = demo.get("/stations")["stations"]
            assert len(stations) == 14
            assert [s["id"] for s in stations if s["stale"]] == []
            for station in stations:
                assert window[0] <= parse(station["latest"]["ts"]) <= window[1], station
            # 60 s at 120x is two hours of storm: Sukagawa is already past standby.
            sukagawa = next(s for s in stations if s["id"] == "sukagawa")
            assert sukagawa["level"]["rank"] >= 1

            events = demo.get("/alerts/history", limit="1000")["events"]
            assert events, "no alert in the demo's first minute"
            for event in events:
                assert window[0] <= parse(event["at"]) <= window[1], event
                if event["cap"] is not None:
                    assert window[0] <= parse(event["cap"]["sent"]) <= window[1], event
            # The chart's points and the alerts' times are one clock: each alert a
            # reading raised is a point of that station's history, with its level.
            # The engine sees a reading on the bus before ingest's batch is stored, so the
            # newest alert's point may take a moment to be queryable.
            def chart_level(station: str, at: datetime) -> float | None:
                history = demo.get(f"/stations/{station}/readings",
                                   start=window[0].isoformat(), end=window[1].isoformat())
                assert history["bucket_s"] is None  # every reading, as the chart draws
                points = {parse(p["ts"]): p["values"].get("level_m") for p in history["points"]}
                return points.get(at)

            def charted(station: str, at: datetime, level: float) -> Callable[[], bool]:
                return lambda: chart_level(station, at) == level

            for event in events:
                if event["cause"]["kind"] != "reading" or event["kind"] != "river":
                    continue
                reading = event["cause"]
                assert parse(reading["reading_ts"]) == parse(event["at"])
                wait_for(charted(event["station"], parse(event["at"]),
                                 reading["values"]["level_m"]),
                         10, f"the chart point of {event['event_id']} at {event['at']}")

            with chromium() as browser:
                page = browser.new_page(viewport={"width": 1280, "height": 900})
                page.goto(demo.url + "/")
                page.locator('#stations [data-station="sukagawa"]').wait_for(timeout=20_000)
                page.wait_for_timeout(1000)
                page.screenshot(path=str(tmp_path / "demo-live.png"))
                assert page.locator(STALE_MARKS).count() == 0
                # The page says it is a compressed exercise, not a real storm.
                expect(page.locator("#demo-notice")).to_contain_text("デモ")

                # Nothing said the network was silent while it was not.
                offline = [(e["station"], e["transition"], e["at"], e["detail"])
                           for e in seen.payloads("floodwatch/alerts/")
                           if e["alert_type"] == "offline"]
                assert offline == []
                assert seen.count("floodwatch/no-data") == 0
                os.kill(demo.simulator_pid(), signal.SIGSTOP)  # the devices fall silent
                paused = time.monotonic()
                # Stale after 3 x 5 s (3 x 3 s for the underpasses) of silence, as in
                # production after 3 x 10 min: marked on the page's own clock.
                wait_for(lambda: page.locator(STALE_MARKS).count() >= 14, 40,
                         "the paused devices to be marked 欠測")
                print(f"all 14 stations marked stale {time.monotonic() - paused:.1f} s "
                      "after the devices paused")
                page.screenshot(path=str(tmp_path / "demo-paused.png"))
            assert [s["id"] for s in demo.get("/stations")["stations"] if not s["stale"]] == []

    future = [letter for letter in seen.payloads("floodwatch/deadletter")
              if "future" in json.dumps(letter)]
    assert future == []
