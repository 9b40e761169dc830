"""``floodwatch ingest`` as a real process between a real Mosquitto and a real InfluxDB,
fed by the real ``mosquitto_pub`` client."""

from __future__ import annotations

import json
import signal
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.services.servers import MosquittoServer
from tests.conftest import generated_registry_yaml
from tests.support import (
    InfluxQuery,
    IngestProcess,
    collect,
    mosquitto_pub,
    mosquitto_pub_lines,
    wait_for,
)

StartIngest = Callable[..., IngestProcess]
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def test_readings_land_with_the_documented_schema(
    mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    ingest = start_ingest()
    mosquitto_pub(mosquitto.port, "sensors/river/fushiguro",
                  json.dumps({"ts": iso(T0), "level_m": 3.21, "rain_mm": 4.5,
                              "battery_v": 12.6}))
    mosquitto_pub(mosquitto.port, "sensors/road/koriyama-r4-underpass",
                  json.dumps({"ts": iso(T0), "water_depth_cm": 12.0,
                              "surface_temp_c": 1.5, "surface_state": "wet"}))
    wait_for(lambda: influx.count("road", "surface_state") == 1, 10, "the road reading")
    wait_for(lambda: influx.count("river", "level_m") == 1, 10, "the river reading")

    [river] = influx.rows('SELECT * FROM "river"')
    assert river["time"] == int(T0.timestamp()) * 10**9
    assert (river["station"], river["river"], river["basin"]) == ("fushiguro", "abukuma",
                                                                   "abukuma")
    assert (river["level_m"], river["rain_mm"], river["battery_v"]) == (3.21, 4.5, 12.6)
    [road] = influx.rows('SELECT * FROM "road"')
    assert (road["station"], road["route"], road["basin"]) == (
        "koriyama-r4-underpass", "national-route-4", "abukuma")
    assert (road["water_depth_cm"], road["surface_temp_c"], road["surface_state"]) == (
        12, 1.5, "wet")  # InfluxDB 1.x prints 12.0 as 12; the type check is below

    field_types = {(row["_measurement"], row["fieldKey"]): row["fieldType"]
                   for row in influx.rows("SHOW FIELD KEYS")}
    assert field_types == {
        ("river", "level_m"): "float", ("river", "rain_mm"): "float",
        ("river", "battery_v"): "float", ("road", "water_depth_cm"): "float",
        ("road", "surface_temp_c"): "float", ("road", "surface_state"): "string",
    }
    tag_keys = {(row["_measurement"], row["tagKey"]) for row in influx.rows("SHOW TAG KEYS")}
    assert tag_keys == {("river", "basin"), ("river", "river"), ("river", "station"),
                        ("road", "basin"), ("road", "route"), ("road", "station")}
    assert ingest.stop() == 0


def test_senml_pack_and_bus_republish(
    mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    start_ingest()
    base = T0.timestamp()
    pack = [{"bn": "motomiya:", "bt": base, "n": "level", "u": "m", "v": 2.5},
            {"n": "level", "u": "m", "v": 2.6, "t": 600},
            {"n": "level", "u": "m", "v": 2.8, "t": 1200}]
    with collect(mosquitto.port, "floodwatch/readings/#") as bus:
        mosquitto_pub(mosquitto.port, "sensors/river/motomiya", json.dumps(pack))
        wait_for(lambda: influx.count("river", "level_m") == 3, 10, "three readings")
        wait_for(lambda: len(bus) == 3, 5, "three bus messages")
    rows = influx.rows('SELECT "level_m" FROM "river"')
    assert [(row["time"], row["level_m"]) for row in rows] == [
        (int(base) * 10**9, 2.5), (int(base + 600) * 10**9, 2.6),
        (int(base + 1200) * 10**9, 2.8)]
    published = bus.payloads("floodwatch/readings/river/motomiya")
    assert [message["values"]["level_m"] for message in published] == [2.5, 2.6, 2.8]
    assert all(message["ts_source"] == "device" for message in published)


def test_every_rejection_goes_to_the_dead_letter_topic(
    mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    ingest = start_ingest(max_payload_bytes=1024)
    bad = [
        ("sensors/river/nowhere", '{"level_m": 1}', "unknown_station"),
        ("sensors/river/tsuchiyu-pass", '{"level_m": 1}', "kind_mismatch"),
        ("sensors/river/fushiguro", '{"level_m": ', "invalid_json"),
        ("sensors/river/fushiguro", '{"level_m": NaN}', "out_of_range"),
        ("sensors/river/fushiguro", '{"level_m": "3"}', "invalid_field"),
        ("sensors/river/fushiguro", '{"rain_mm": 3}', "missing_field"),
        ("sensors/river/fushiguro", "x" * 2000, "payload_too_large"),
        ("sensors/river/fushiguro", "[]", "invalid_senml"),
        ("sensors/river/fushiguro", "hello", "not_an_object"),
        ("sensors/river/fushiguro",
         json.dumps({"ts": iso(datetime.now(UTC) + timedelta(hours=1)), "level_m": 1}),
         "future_timestamp"),
        ("sensors/river/fushiguro", '{"ts": 1764291600000, "level_m": 1}',
         "invalid_field"),
        ("sensors/river/fushiguro", '{"ts": "2001-01-01T00:00:00Z", "level_m": 1}',
         "stale_timestamp"),
        ("sensors/river/UPPER", '{"level_m": 1}', "bad_topic"),
    ]
    with collect(mosquitto.port, "floodwatch/deadletter") as dead:
        for topic, payload, _ in bad:
            mosquitto_pub(mosquitto.port, topic, payload)
        mosquitto_pub(mosquitto.port, "sensors/river/fushiguro",
                      json.dumps({"ts": iso(T0), "level_m": 4.0}))
        wait_for(lambda: len(dead) == len(bad), 10, "all dead letters")
        wait_for(lambda: influx.count("river", "level_m") == 1, 10, "the good reading")
    letters = dead.payloads()
    assert [(d["topic"], d["reason"]) for d in letters] == [(t, r) for t, _, r in bad]
    too_large = letters[6]
    assert too_large["payload_bytes"] == 2000
    assert too_large["truncated"] is True
    assert len(too_large["payload"]) == 1024
    assert all(letter["detail"] for letter in letters)
    assert ingest.process is not None
    assert ingest.process.poll() is None


def test_a_thousand_readings_from_fifty_stations_within_five_seconds(
    tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    registry = tmp_path / "stations.yaml"
    registry.write_text(generated_registry_yaml(river=50))
    start_ingest(registry)
    publishers = []
    with collect(mosquitto.port, "sensors/#", "floodwatch/deadletter") as seen:
        for station in range(50):
            lines = [json.dumps({"ts": iso(T0 + timedelta(seconds=60 * i)),
                                 "level_m": round(1 + station / 100 + i / 1000, 3)})
                     for i in range(20)]
            if station == 25:
                lines.insert(10, '{"level_m": 3.0, "oops"')  # malformed, mid-stream
            publishers.append(mosquitto_pub_lines(mosquitto.port, f"sensors/river/r-{station:03d}",
                                                  lines))
        wait_for(lambda: seen.count("sensors/") == 1001, 20, "all publishes")
        last_publish = max(arrived for topic, _, arrived in seen.messages
                           if topic.startswith("sensors/"))
        wait_for(lambda: influx.count("river", "level_m") == 1000, 10, "1000 readings")
        stored_after = time.monotonic() - last_publish
        wait_for(lambda: len(seen.payloads("floodwatch/deadletter")) == 1, 5, "dead letter")
    for publisher in publishers:
        assert publisher.wait(timeout=10) == 0
    print(f"\n1000 readings over 50 stations queryable {stored_after:.2f}s after the last publish")
    assert stored_after < 5.0
    [letter] = seen.payloads("floodwatch/deadletter")
    assert (letter["topic"], letter["reason"]) == ("sensors/river/r-025", "invalid_json")
    per_station = influx.rows('SELECT count("level_m") FROM "river" GROUP BY "station"')
    assert {row["station"]: row["count"] for row in per_station} == {
        f"r-{s:03d}": 20 for s in range(50)}


def test_batches_flush_on_size_and_on_shutdown(
    mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    ingest = start_ingest(ingest_batch_size=10, ingest_batch_interval_s=60,
                          ingest_batch_pause_s=60)
    lines = [json.dumps({"ts": iso(T0 + timedelta(seconds=i)), "level_m": 2.0})
             for i in range(25)]
    mosquitto_pub_lines(mosquitto.port, "sensors/river/akutsu", lines).wait(timeout=10)
    wait_for(lambda: influx.count("river", "level_m") == 20, 10, "two full batches")
    time.sleep(1.0)
    assert influx.count("river", "level_m") == 20  # the last 5 wait for size or time
    assert ingest.stop(signal.SIGTERM) == 0
    assert influx.count("river", "level_m") == 25  # flushed on shutdown


def test_batches_flush_on_time(
    mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    start_ingest(ingest_batch_size=10_000, ingest_batch_interval_s=0.5,
                 ingest_batch_pause_s=60)
    mosquitto_pub(mosquitto.port, "sensors/river/akutsu",
                  json.dumps({"ts": iso(T0), "level_m": 2.0}))
    waited = wait_for(lambda: influx.count("river", "level_m") == 1, 10, "timed flush")
    print(f"\none reading stored {waited:.2f}s after publish with a 0.5 s batch interval")


def test_a_batch_is_written_when_the_stream_pauses(
    mosquitto: MosquittoServer, influx: InfluxQuery, start_ingest: StartIngest
) -> None:
    # Neither size nor interval would write these for a minute: the pause after them does.
    start_ingest(ingest_batch_size=10_000, ingest_batch_interval_s=60,
                 ingest_batch_pause_s=0.05)
    lines = [json.dumps({"ts": iso(T0 + timedelta(seconds=i)), "level_m": 2.0})
             for i in range(3)]
    mosquitto_pub_lines(mosquitto.port, "sensors/river/akutsu", lines).wait(timeout=10)
    waited = wait_for(lambda: influx.count("river", "level_m") == 3, 10, "a flush on pause")
    print(f"\nthree readings stored {waited:.2f}s after their publish, the interval 60 s")
