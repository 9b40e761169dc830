"""A steady stream of unique readings from simulated devices, counting what the broker
confirmed (PUBACK) -- the "published" side of every fault test's books."""

from __future__ import annotations

import json
import threading
import time
from datetime import UTC, datetime, timedelta

from paho.mqtt.client import Client, MQTTMessageInfo
from paho.mqtt.enums import CallbackAPIVersion

# A day back: one reading a second from here stays in the past for 86,400 readings.
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(days=1)


def reading_for(sequence: int, stations: int) -> tuple[str, str, float]:
    """(topic, payload, level): unique station+timestamp and a unique level per reading."""
    station = sequence % stations
    level = round(sequence / 1000, 3)
    ts = (T0 + timedelta(seconds=sequence)).isoformat()
    return (f"sensors/river/r-{station:03d}",
            json.dumps({"ts": ts, "level_m": level, "battery_v": 12.7}), level)


class SteadyStream:
    """Publishes ``total`` readings at ``rate`` per second on a background thread."""

    def __init__(self, port: int, total: int, rate: float, stations: int) -> None:
        assert total < 65_535, "packet ids would repeat; the books use them"
        self.total = total
        self.rate = rate
        self.stations = stations
        self.levels: set[float] = set()
        self.sent = 0
        self._client = Client(CallbackAPIVersion.VERSION2, client_id=f"stream-{port}")
        self._client.max_inflight_messages_set(100)
        self._client.max_queued_messages_set(0)  # keep everything while the broker is away
        self._client.reconnect_delay_set(min_delay=1, max_delay=2)
        self._confirmed: set[int] = set()
        self._client.on_publish = lambda _c, _u, mid, _rc, _p: self._confirmed.add(mid)
        self._client.connect("127.0.0.1", port)
        self._client.loop_start()
        self._infos: list[MQTTMessageInfo] = []
        self._thread = threading.Thread(target=self._run, daemon=True)

    def start(self) -> SteadyStream:
        self._thread.start()
        return self

    def _run(self) -> None:
        started = time.monotonic()
        for sequence in range(self.total):
            delay = started + sequence / self.rate - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            topic, payload, level = reading_for(sequence, self.stations)
            self._infos.append(self._client.publish(topic, payload, qos=1))
            self.levels.add(level)
            self.sent += 1

    def finish(self, timeout_s: float = 120) -> int:
        """Wait until every reading is sent and confirmed by the broker; returns the count."""
        self._thread.join(timeout_s)
        deadline = time.monotonic() + timeout_s
        # Counted through on_publish, not wait_for_publish(): that raises for a message
        # published while disconnected, which paho has queued and sends on reconnect.
        pending = {info.mid for info in self._infos}
        while not pending <= self._confirmed:
            assert time.monotonic() < deadline, "the broker never confirmed every reading"
            time.sleep(0.05)
        self._client.disconnect()
        self._client.loop_stop()
        return self.sent
