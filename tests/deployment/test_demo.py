"""``make demo`` as it runs: ``floodwatch up`` and the typhoon simulated at 60x.

The simulator stamps readings on its own (simulated) clock, ahead of or behind the wall
clock; the engine's live tick must never read that as silence. Before the engine's
clock stopped following the wall clock, every station went offline and came back about
30 s into the demo (one tick).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.support import StackProcess, collect

pytestmark = pytest.mark.slow

RUN_S = 75  # two and a half live ticks of the default 30 s


def test_the_demo_raises_no_offline_or_no_data_alert(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    env = settings_env(api_port=free_port(), api_public_read="true")
    stack = StackProcess(env, tmp_path / "up.log")
    with collect(mosquitto.port, "floodwatch/alerts/#", "floodwatch/no-data",
                 "floodwatch/readings/#") as seen:
        stack.start()
        with (tmp_path / "simulate.log").open("wb") as log:
            # The installed command, from outside the checkout, as `make demo` runs it:
            # `python -m` from the checkout would also find what only the checkout has.
            simulator = subprocess.Popen(
                [str(Path(sys.executable).parent / "floodwatch"), "simulate", "--scenario",
                 "typhoon", "--speed", "60"], env={**os.environ, **env}, stdout=log,
                stderr=subprocess.STDOUT, cwd=tmp_path)
        try:
            time.sleep(RUN_S)
            assert simulator.poll() is None, (tmp_path / "simulate.log").read_text()
        finally:
            simulator.send_signal(signal.SIGINT)
            simulator.wait(timeout=30)
            assert stack.stop() == 0
    # 75 s at 60x is 75 simulated minutes: every station reported several times.
    readings = seen.payloads("floodwatch/readings/")
    assert len({reading["station"] for reading in readings}) == 14
    assert len(readings) >= 14 * 5
    offline = [event for event in seen.payloads("floodwatch/alerts/")
               if event["alert_type"] == "offline"]
    assert offline == []
    assert seen.count("floodwatch/no-data") == 0
