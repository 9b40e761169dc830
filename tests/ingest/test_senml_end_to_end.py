"""A SenML pack and its CBOR twin through real Mosquitto, ``floodwatch ingest`` and
InfluxDB: what is stored and republished must be the same, point for point."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from floodwatch.ingest.senml_cbor import encode_cbor_pack
from floodwatch.services.servers import MosquittoServer
from tests.support import InfluxQuery, IngestProcess, collect, mosquitto_pub, wait_for

T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
TOPIC = "sensors/river/fushiguro"

# Base name, time, unit and value (which lasts until reset: it is added to every v),
# a unit to convert, and times within the pack.
PACK: list[dict[str, object]] = [
    {"bn": "urn:dev:floodwatch:fushiguro:", "bt": int(T0.timestamp()), "bu": "m", "bv": 3.0,
     "n": "level", "v": 0.21},
    {"n": "level", "v": 0.25, "t": 600},
    {"n": "level", "v": 0.29, "t": 1200},
    {"bv": 0, "n": "rain", "u": "mm", "v": 4.5},
    {"n": "battery", "u": "mV", "v": 12600},
]


def test_a_cbor_pack_is_stored_as_its_json_twin(
    tmp_path: Path, mosquitto: MosquittoServer, influx: InfluxQuery,
    start_ingest: Callable[..., IngestProcess],
) -> None:
    twins = {"json": json.dumps(PACK).encode(), "cbor": encode_cbor_pack(PACK)}
    print(f"the test pack: JSON {len(twins['json'])} B, CBOR {len(twins['cbor'])} B")
    stored: dict[str, tuple[list[dict[str, Any]], list[dict[str, Any]]]] = {}
    for form, payload in twins.items():
        database = InfluxQuery(influx.url, f"{influx.database}_{form}")
        ingest = start_ingest(influx_db=database.database, state_dir=tmp_path / form)
        with collect(mosquitto.port, "floodwatch/readings/#") as bus:
            mosquitto_pub(mosquitto.port, TOPIC, payload)
            wait_for(lambda db=database: db.count("river", "level_m") == 3, 10,  # type: ignore[misc]
                     f"the {form} pack's three readings")
            wait_for(lambda bus=bus: len(bus) == 3, 5, "three bus messages")  # type: ignore[misc]
        assert ingest.stop() == 0
        published = [{key: value for key, value in message.items() if key != "received_at"}
                     for message in bus.payloads()]
        stored[form] = (database.rows('SELECT * FROM "river"'), published)

    assert stored["cbor"] == stored["json"]
    rows, published = stored["json"]
    start = int(T0.timestamp()) * 10**9
    assert [(row["time"], row["level_m"], row["rain_mm"], row["battery_v"]) for row in rows] == [
        (start, 3.21, 4.5, 12.6), (start + 600 * 10**9, 3.25, None, None),
        (start + 1200 * 10**9, 3.29, None, None)]
    assert {(row["station"], row["river"]) for row in rows} == {("fushiguro", "abukuma")}
    assert [message["ts_source"] for message in published] == ["device"] * 3
