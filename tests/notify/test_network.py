"""The disaster network against a real Mosquitto: the typhoon's every event as schema-valid
CAP 1.2 and as JSON, each station's status retained, delivery status in InfluxDB."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from pathlib import Path

import pytest
from lxml import etree

from floodwatch.core.cap_ids import cap_identifier_event_id
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify.config import NotifyConfig
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.service import ledger_path
from floodwatch.notify.status import StatusLines
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import AlertsProcess, bus, publish_all
from tests.alerts.test_sigkill import run_env
from tests.alerts.test_typhoon import typhoon_readings
from tests.cap_support import SHIPPED_ADVICE
from tests.conftest import SAMPLE_REGISTRY
from tests.notify.conftest import publish, run_with, until
from tests.notify.support import bus_messages, typhoon_events
from tests.support import InfluxQuery, collect, wait_for
from tests.xsd import assert_valid_edxl_de
from tests.xsd import cap_schema as oasis_cap_schema

pytestmark = pytest.mark.slow

CONFIG = """
network:
  cap_topic: pref/cap/{station}
  json_topic: pref/json/{station}
  status_topic: pref/status/{station}
  edxl_topic: pref/edxl/{station}
"""


@pytest.fixture(scope="module")
def cap_schema() -> etree.XMLSchema:
    return oasis_cap_schema()


def network_config() -> NotifyConfig:
    return NotifyConfig.from_yaml_text(CONFIG, advice=SHIPPED_ADVICE)


def test_typhoon_reaches_the_disaster_network_as_valid_cap(
        notify_settings: Callable[..., Settings], sample_registry: StationRegistry,
        mosquitto: MosquittoServer, influx: InfluxQuery, cap_schema: etree.XMLSchema) -> None:
    settings = notify_settings(CONFIG)
    events = typhoon_events(sample_registry)
    messages = bus_messages(sample_registry, events)
    expected_ids = {event.event_id for event in events}
    public = sum(b"<scope>Public</scope>" in payload for topic, payload in messages
                 if topic.startswith("floodwatch/cap/"))
    status = json.dumps({"station": "sukagawa", "alerts": [], "seq": 11}).encode()

    def sent_rows() -> list[dict[str, object]]:
        return influx.rows("SELECT * FROM alert_delivery WHERE \"state\" = 'sent'")

    async def body() -> None:
        with collect(mosquitto.port, "pref/#") as got:
            await publish(mosquitto.port, [*messages, ("floodwatch/status/sukagawa", status)])
            await until(lambda: got.count("pref/cap/") >= len(events)
                        and got.count("pref/json/") >= len(events)
                        and got.count("pref/edxl/") >= public
                        and got.count("pref/status/") >= 1, 60, "every event on the network")
        caps = [(topic, payload) for topic, payload, _ in got.messages
                if topic.startswith("pref/cap/")]
        seen = set()
        for topic, payload in caps:
            document = etree.fromstring(payload)
            assert cap_schema.validate(document), cap_schema.error_log
            identifier = document.findtext("{urn:oasis:names:tc:emergency:cap:1.2}identifier")
            assert identifier is not None
            event_id = cap_identifier_event_id(identifier)
            assert event_id is not None
            assert topic == f"pref/cap/{event_id.split('/')[0]}"
            seen.add(event_id)
        assert seen == expected_ids
        assert {p["event_id"] for p in got.payloads("pref/json/")} == expected_ids
        # The same CAP in its EDXL-DE envelope, for L-Alert partners (network.edxl_topic).
        cap_by_station: dict[str, list[bytes]] = {topic.split("/")[-1]: [] for topic, _ in caps}
        for topic, payload in caps:
            cap_by_station[topic.split("/")[-1]].append(payload.split(b"\n", 1)[1])
        envelopes = [(topic, payload) for topic, payload, _ in got.messages
                     if topic.startswith("pref/edxl/")]
        assert len(envelopes) == public  # Restricted CAP never goes to partners
        for topic, payload in envelopes:
            assert_valid_edxl_de(payload)
            assert any(cap in payload for cap in cap_by_station[topic.split("/")[-1]])
        # Waited for while notify runs: a stop cancels the status writer, and what it had
        # not written yet waits in the delivery ledger for the next start
        # (test_influxdb_down...).
        await until(lambda: len(sent_rows()) >= len(events), 20,
                    "delivery status in InfluxDB")

    asyncio.run(run_with(settings, sample_registry, network_config(), body))

    # A console connecting afterwards sees the station's status at once (retained).
    with collect(mosquitto.port, "pref/status/#") as console:
        wait_for(lambda: console.count() >= 1, 5, "the retained status")
    assert console.messages[0][:2] == ("pref/status/sukagawa", status)

    # Every delivery's states are in InfluxDB, in the schema the API reads.
    rows = sent_rows()
    assert {row["event_id"] for row in rows} == expected_ids
    assert {row["channel"] for row in rows} == {"network"}
    assert all(row["attempts"] == 1 and isinstance(row["attempts"], int) for row in rows)
    assert all(row["station"] == str(row["event_id"]).split("/")[0] for row in rows)
    pending = influx.rows("SELECT * FROM alert_delivery WHERE \"state\" = 'pending'")
    assert len(pending) == len(events)


def test_network_broker_down_then_back_delivers_everything(
        notify_settings: Callable[..., Settings], sample_registry: StationRegistry,
        mosquitto: MosquittoServer, tmp_path: Path) -> None:
    """The disaster network's broker (its own) is unreachable at start: reported in one
    line, deliveries wait in the delivery ledger, and go out once it is up."""
    network = MosquittoServer(free_port(), tmp_path / "network")
    settings = notify_settings(CONFIG, notify_network_url=network.url)
    events = typhoon_events(sample_registry)[:6]

    async def body() -> None:
        await publish(mosquitto.port, bus_messages(sample_registry, events))
        await asyncio.sleep(1.0)
        network.start()
        try:
            with collect(network.port, "pref/cap/#") as got:
                await until(lambda: len({p for _, p, _ in got.messages}) >= len(events), 60,
                            "the events once the network broker is up")
        finally:
            await asyncio.to_thread(network.stop)

    asyncio.run(run_with(settings, sample_registry, network_config(), body))


def test_influxdb_down_never_stops_delivery(
        notify_settings: Callable[..., Settings], sample_registry: StationRegistry,
        mosquitto: MosquittoServer) -> None:
    """Status points wait in the delivery ledger while InfluxDB is away; deliveries go on."""
    settings = notify_settings(CONFIG, influx_url=f"http://127.0.0.1:{free_port()}",
                               influx_timeout_s=0.5)
    events = typhoon_events(sample_registry)[:10]

    async def body() -> None:
        with collect(mosquitto.port, "pref/cap/#") as got:
            await publish(mosquitto.port, bus_messages(sample_registry, events))
            await until(lambda: got.count() >= len(events), 30, "deliveries without InfluxDB")

    asyncio.run(run_with(settings, sample_registry, network_config(), body))
    ledger = DeliveryLedger(ledger_path(settings))
    try:
        _, lines = StatusLines(ledger.db).batch(1000)
    finally:
        ledger.close()
    assert sum('state="sent"' in line for line in lines) == len(events)
    assert all(line.startswith("alert_delivery,channel=network,station=") for line in lines)


def test_typhoon_from_the_real_alert_engine(
        *, notify_settings: Callable[..., Settings], sample_registry: StationRegistry,
        mosquitto: MosquittoServer, influx: InfluxQuery, tmp_path: Path,
        cap_schema: etree.XMLSchema) -> None:
    """The engine as its own process, readings in, the disaster network out: both stages
    meet only on the broker."""
    settings = notify_settings(CONFIG)
    engine_env = run_env(tmp_path, mosquitto, influx, "engine", SAMPLE_REGISTRY)
    expected = {event.event_id for event in typhoon_events(sample_registry)}
    engine = AlertsProcess(engine_env, tmp_path / "alerts.log").start()

    async def body() -> None:
        with collect(mosquitto.port, "pref/cap/#") as got:
            await asyncio.to_thread(publish_all, mosquitto.port,
                                    bus(typhoon_readings(sample_registry)))
            await until(lambda: len(got) >= len(expected), 90, "the engine's events")
        ids = set()
        for _, payload, _ in got.messages:
            document = etree.fromstring(payload)
            assert cap_schema.validate(document), cap_schema.error_log
            ids.add(document.findtext("{urn:oasis:names:tc:emergency:cap:1.2}identifier"))
        assert {cap_identifier_event_id(str(i)) for i in ids} == set(expected)

    try:
        asyncio.run(run_with(settings, sample_registry, network_config(),
                             body))
    finally:
        assert engine.stop() == 0
