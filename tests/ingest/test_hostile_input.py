"""Hostile input through the real broker and ingest: every message is stored correctly
or dead-lettered with its reason; nothing stops the subscriber or touches another
station's data."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import timedelta

import pytest
from paho.mqtt.client import Client
from paho.mqtt.enums import CallbackAPIVersion

from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.validate import MessageValidator, Rejected
from floodwatch.services.servers import MosquittoServer
from tests.ingest.hostile_corpus import CORPUS, NOW, STORED, STORED_LEVELS
from tests.support import InfluxQuery, IngestProcess, collect, wait_for


def publish_all(port: int, messages: list[tuple[str, bytes]]) -> None:
    """Publish at QoS 1 and wait for every PUBACK."""
    confirmed = threading.Semaphore(0)
    client = Client(CallbackAPIVersion.VERSION2, client_id="hostile-device")
    client.max_inflight_messages_set(200)
    client.max_queued_messages_set(0)
    client.on_publish = lambda *_: confirmed.release()
    client.connect("127.0.0.1", port)
    client.loop_start()
    for topic, payload in messages:
        client.publish(topic, payload, qos=1)
    for _ in messages:
        assert confirmed.acquire(timeout=30)
    client.disconnect()
    client.loop_stop()


@pytest.mark.parametrize(("topic", "payload", "expected"), CORPUS,
                         ids=[f"{i}-{e}" for i, (_, _, e) in enumerate(CORPUS)])
def test_corpus_against_the_validator(
    sample_registry: StationRegistry, topic: str, payload: bytes, expected: str
) -> None:
    validator = MessageValidator(sample_registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    try:
        validator.validate(topic, payload, NOW)
        outcome = STORED
    except Rejected as exc:
        outcome = exc.reason.value
    assert outcome == expected


def test_corpus_end_to_end(
    mosquitto: MosquittoServer, influx: InfluxQuery,
    start_ingest: Callable[..., IngestProcess],
) -> None:
    ingest = start_ingest()
    rejected = [(topic, reason) for topic, _, reason in CORPUS if reason != STORED]
    with collect(mosquitto.port, "floodwatch/deadletter") as dead:
        publish_all(mosquitto.port, [(topic, payload) for topic, payload, _ in CORPUS])
        wait_for(lambda: len(dead) == len(rejected), 20, "every dead letter")
        wait_for(lambda: influx.count("river", "level_m") == len(STORED_LEVELS), 10,
                 "the good readings")
    assert [(d["topic"], d["reason"]) for d in dead.payloads()] == rejected
    rows = influx.rows('SELECT * FROM "river"')
    assert {row["station"] for row in rows} == {"fushiguro"}
    assert {float(row["level_m"]) for row in rows} == STORED_LEVELS
    # No injected measurement, field or tag: only the schema's names exist.
    assert [row["name"] for row in influx.rows("SHOW MEASUREMENTS")] == ["river"]
    assert [row["fieldKey"] for row in influx.rows("SHOW FIELD KEYS")] == ["level_m"]
    assert sorted(row["tagKey"] for row in influx.rows("SHOW TAG KEYS")) == [
        "basin", "river", "station"]
    assert ingest.process is not None
    assert ingest.process.poll() is None


def test_ten_thousand_mixed_messages(
    mosquitto: MosquittoServer, influx: InfluxQuery,
    start_ingest: Callable[..., IngestProcess],
) -> None:
    start_ingest()
    bad = [(topic, payload, reason) for topic, payload, reason in CORPUS if reason != STORED]
    good_stations = ["fushiguro", "motomiya", "akutsu", "marumori"]
    messages: list[tuple[str, bytes]] = []
    expected_dead: list[tuple[str, str]] = []
    good = 0
    for index in range(10_000):
        if index % 4 == 3:
            topic, payload, reason = bad[index % len(bad)]
            messages.append((topic, payload))
            expected_dead.append((topic, reason))
        else:
            station = good_stations[index % len(good_stations)]
            ts = (NOW - timedelta(hours=3) + timedelta(seconds=index)).isoformat()
            messages.append((f"sensors/river/{station}",
                             json.dumps({"ts": ts, "level_m": index / 1000}).encode()))
            good += 1
    with collect(mosquitto.port, "floodwatch/deadletter") as dead:
        publish_all(mosquitto.port, messages)
        wait_for(lambda: influx.count("river", "level_m") == good, 60, "every good reading")
        wait_for(lambda: len(dead) == len(expected_dead), 30, "every dead letter")
    letters = dead.payloads()
    assert sorted((d["topic"], d["reason"]) for d in letters) == sorted(expected_dead)
    assert all(d["detail"] for d in letters)
    stored = influx.rows('SELECT "level_m" FROM "river"')
    assert {round(float(row["level_m"]) * 1000) for row in stored} == {
        index for index in range(10_000) if index % 4 != 3}
