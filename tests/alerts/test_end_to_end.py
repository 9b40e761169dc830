"""The alert engine as a process, against a real Mosquitto and InfluxDB."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from floodwatch.core.cap_ids import cap_identifier_event_id
from floodwatch.services.process import free_port
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import REGISTRY_YAML, river, road
from tests.alerts.process import AlertsProcess, bus, publish_all
from tests.support import InfluxQuery, collect, wait_for
from tests.xsd import assert_valid_edxl_de

pytestmark = pytest.mark.slow

G1_LEVELS = [0.5, 1.2, 2.1, 3.1, 2.95, 2.5, 2.5, 2.5, 2.5, 1.7, 0.9, 0.5, 0.5]
G1_EXPECTED = [
    ("g1", "river_level", "raised", 1),
    ("g1", "river_level", "confirmed", 1),
    ("g1", "river_level", "escalated", 2),
    ("g1", "rate_of_rise", "raised", 1),
    ("g1", "river_level", "confirmed", 2),
    ("g1", "river_level", "escalated", 3),
    ("g1", "rate_of_rise", "confirmed", 1),
    ("g1", "river_level", "deescalated", 2),
    ("g1", "rate_of_rise", "cleared", 0),
    ("g1", "river_level", "cleared", 0),
]
ESCALATION_TO_3 = 5  # its index in G1_EXPECTED


def readings_for_all() -> list[tuple[str, bytes]]:
    """Every 10 minutes: g1 through its levels, g2 and u1 calm (so none is offline)."""
    readings = []
    for index, level in enumerate(G1_LEVELS):
        minute = 10 * index
        readings += [river("g1", minute, level), river("g2", minute, 0.4),
                     road("u1", minute, water_depth_cm=0.0)]
    return bus(readings)


def brief(payload: dict[str, Any]) -> tuple[str, str, str, int]:
    return (payload["station"], payload["alert_type"], payload["transition"],
            payload["level"])


def test_events_status_and_history(mosquitto: MosquittoServer, influx: InfluxQuery,
                                   alerts_env: Callable[..., dict[str, str]],
                                   start_alerts: Callable[[dict[str, str]], AlertsProcess]
                                   ) -> None:
    engine = start_alerts(alerts_env())

    def stored() -> list[dict[str, Any]]:
        return influx.rows('SELECT * FROM "alert_event" WHERE "station" = \'g1\'')

    with collect(mosquitto.port, "floodwatch/alerts/#", "floodwatch/cap/#",
                 "floodwatch/edxl/#") as events:
        publish_all(mosquitto.port, readings_for_all())
        wait_for(lambda: events.count("floodwatch/alerts/") >= len(G1_EXPECTED), 20,
                 "the alert events")
        # The history is written after the events are published: once it is complete,
        # any extra event would have been collected too.
        wait_for(lambda: len(stored()) == len(G1_EXPECTED), 20, "the alert history in InfluxDB")

    payloads = events.payloads("floodwatch/alerts/")
    assert [brief(p) for p in payloads] == G1_EXPECTED
    assert [p["seq"] for p in payloads] == list(range(1, len(G1_EXPECTED) + 1))
    caps = [payload for topic, payload, _ in events.messages if topic == "floodwatch/cap/g1"]
    assert len(caps) == len(G1_EXPECTED)
    # Each Public CAP again in its EDXL-DE envelope, published after it (JSON, CAP,
    # EDXL); a Restricted one (staff-only, unconfirmed) never goes to partners.
    public = [cap for cap in caps if b"<scope>Public</scope>" in cap]
    assert 0 < len(public) < len(caps)
    envelopes = [payload for topic, payload, _ in events.messages
                 if topic == "floodwatch/edxl/g1"]
    assert len(envelopes) == len(public)
    for cap, envelope in zip(public, envelopes, strict=True):
        assert_valid_edxl_de(envelope)
        assert cap.split(b"\n", 1)[1] in envelope
    order = [topic.split("/")[1] for topic, _, _ in events.messages if topic.endswith("/g1")]
    assert order == [part for cap in caps for part in
                     (("alerts", "cap", "edxl") if cap in public else ("alerts", "cap"))]
    identifier = caps[ESCALATION_TO_3].split(b"<identifier>")[1].split(b"<")[0].decode()
    assert cap_identifier_event_id(identifier) == "g1/6"
    # A single reading's escalation: for officers only until the next one confirms it.
    assert b"<scope>Restricted</scope>" in caps[ESCALATION_TO_3]
    assert b"<scope>Public</scope>" in caps[ESCALATION_TO_3 - 1]  # the confirmation of 2
    escalation = payloads[ESCALATION_TO_3]
    # 0.5, 1.2, 2.1, 3.1 m in 30 min: the alert's rate (oldest to newest) is 5.2 m/h, the
    # projection's least-squares line over the four readings 5.22 m/h: 0.9 m more to
    # danger in 10.3 min.
    assert escalation["detail"]["rate_m_per_h"] == 5.2
    assert escalation["projection"] == {
        "level": 4, "level_name": "danger", "minutes": 11, "rate_m_per_h": 5.22,
        "text": {"ja": "現在の上昇速度で約11分後に氾濫危険水位に到達する見込み",
                 "en": "Flood danger level in about 11 min at the current rate"},
        "basis": {"method": "least_squares_window", "readings": 4,
                  "since": "2026-10-12T00:00:00Z", "span_s": 1800.0}}
    assert escalation["event_id"] == "g1/6"
    assert escalation["confirmed"] is False
    # The fall back to 2 from the 3 only officers saw is not news to residents, who
    # were told 2: only the rate's confirmation and the two clears reach them.
    assert [p["confirmed"] for p in payloads] == [
        False, True, False, False, True, False, True, False, True, True]
    assert escalation["alert_id"] == "g1/1"
    assert escalation["level_name"] == "evacuation"
    assert escalation["official"] == {"ja": "警戒レベル3相当", "en": "Alert level 3 equivalent"}
    assert escalation["at"] == "2026-10-12T00:30:00Z"
    assert escalation["cause"]["reading_ts"] == "2026-10-12T00:30:00Z"

    with collect(mosquitto.port, "floodwatch/status/g1") as status:
        wait_for(lambda: status.count() >= 1, 5, "the retained status")
    retained = status.payloads()[-1]
    assert retained == {"schema_version": 1, "station": "g1", "kind": "river", "seq": 10,
                        "offline": False,
                        "flooding_declared": False, "alerts": [], "no_data": None}

    rows = stored()
    assert [(r["alert_type"], r["transition"], r["level"], r["seq"]) for r in rows] == [
        (a, t, level, seq) for seq, (_, a, t, level) in enumerate(G1_EXPECTED, start=1)]
    assert rows[ESCALATION_TO_3]["level_name"] == "evacuation"
    assert rows[ESCALATION_TO_3]["threshold"] == 3.0
    assert json.loads(rows[ESCALATION_TO_3]["payload"]) == escalation
    assert [r["confirmed"] for r in rows] == [p["confirmed"] for p in payloads]
    assert engine.stop() == 0


def test_commands_are_answered_with_events_or_rejections(
        mosquitto: MosquittoServer, alerts_env: Callable[..., dict[str, str]],
        start_alerts: Callable[[dict[str, str]], AlertsProcess]) -> None:
    start_alerts(alerts_env())
    ack = json.dumps({"command_id": "c-1", "issued_at": "2026-10-12T09:15:00+09:00",
                      "officer": "tanaka", "alert_id": "g1/1", "note": "チーム出動"}).encode()
    with collect(mosquitto.port, "floodwatch/alerts/#", "floodwatch/command-rejections") as got:
        publish_all(mosquitto.port, bus([river("g1", 0, 2.5)]))
        wait_for(lambda: got.count("floodwatch/alerts/") >= 1, 20, "the raise")
        publish_all(mosquitto.port, [
            ("floodwatch/commands/acknowledge/g1", ack),
            ("floodwatch/commands/acknowledge/g1", ack),  # re-sent: ignored
            ("floodwatch/commands/acknowledge/g1", b'{"command_id": "c-2"}'),
            ("floodwatch/commands/flooding/u1",
             b'{"command_id": "c-3", "issued_at": "2026-10-12T00:00:00Z", "officer": "a",'
             b' "action": "declare"}'),
            # A control character in a note (issue 21): rejected whole, never half-applied.
            ("floodwatch/commands/flooding/g1", json.dumps({
                "command_id": "c-4", "issued_at": "2026-10-12T00:00:00Z", "officer": "a",
                "action": "declare", "note": "越水\x7f"}).encode()),
        ])
        wait_for(lambda: got.count("floodwatch/command-rejections") >= 3, 20, "rejections")
    events = got.payloads("floodwatch/alerts/")
    assert [brief(p) for p in events] == [("g1", "river_level", "raised", 2),
                                          ("g1", "river_level", "acknowledged", 2)]
    assert events[1]["cause"] == {"kind": "command", "command_id": "c-1",
                                  "officer": "tanaka", "note": "チーム出動"}
    rejections = got.payloads("floodwatch/command-rejections")
    assert [(r["command_id"], r["reason"].split(":")[0]) for r in rejections] == [
        ("c-2", "issued_at"), ("c-3", "flooding is declared for river stations only"),
        ("c-4", "note")]
    assert "control character U+007F" in rejections[2]["reason"]


def test_influxdb_down_queues_history_and_keeps_alerting(
        mosquitto: MosquittoServer, influx: InfluxQuery,
        alerts_env: Callable[..., dict[str, str]],
        start_alerts: Callable[[dict[str, str]], AlertsProcess]) -> None:
    env = alerts_env()
    dead = alerts_env(influx_url=f"http://127.0.0.1:{free_port()}")
    dead.update({k: v for k, v in env.items() if k != "FLOODWATCH_INFLUX_URL"})
    engine = start_alerts(dead)
    with collect(mosquitto.port, "floodwatch/alerts/#") as events:
        publish_all(mosquitto.port, readings_for_all())
        wait_for(lambda: events.count() >= len(G1_EXPECTED), 20, "the alert events")
    assert [brief(p) for p in events.payloads()] == G1_EXPECTED
    wait_for(lambda: bool(engine.log_events("InfluxDB unavailable; alert history queued")),
             20, "the engine to notice InfluxDB is down")
    assert engine.stop() == 0

    start_alerts(env)  # same state dir and session, InfluxDB back
    wait_for(lambda: influx.count("alert_event", "seq") == len(G1_EXPECTED), 20,
             "the queued history")


def test_an_acknowledgement_made_while_influxdb_is_down_reaches_the_history(
        mosquitto: MosquittoServer, influx: InfluxQuery,
        alerts_env: Callable[..., dict[str, str]],
        start_alerts: Callable[[dict[str, str]], AlertsProcess]) -> None:
    """An officer's command is part of the public record (issue 21): its event waits in
    the engine's SQLite queue while InfluxDB refuses writes, and is stored once it is
    back, with the officer's note."""
    env = alerts_env()
    dead = alerts_env(influx_url=f"http://127.0.0.1:{free_port()}")
    dead.update({k: v for k, v in env.items() if k != "FLOODWATCH_INFLUX_URL"})
    engine = start_alerts(dead)
    ack = json.dumps({"command_id": "c-9", "issued_at": "2026-10-12T09:15:00+09:00",
                      "officer": "tanaka", "alert_id": "g1/1", "note": "堤防を確認"}).encode()
    with collect(mosquitto.port, "floodwatch/alerts/#") as got:
        publish_all(mosquitto.port, bus([river("g1", 0, 2.5)]))
        wait_for(lambda: got.count("floodwatch/alerts/") >= 1, 20, "the raise")
        publish_all(mosquitto.port, [("floodwatch/commands/acknowledge/g1", ack)])
        wait_for(lambda: got.count("floodwatch/alerts/") >= 2, 20, "the acknowledgement")
    wait_for(lambda: bool(engine.log_events("InfluxDB unavailable; alert history queued")),
             20, "the engine to notice InfluxDB is down")
    assert engine.stop() == 0
    assert influx.count("alert_event", "seq") == 0  # nothing could be written yet

    start_alerts(env)  # same state dir and session, InfluxDB back

    def acknowledged() -> list[dict[str, Any]]:
        return influx.rows('SELECT * FROM "alert_event" WHERE "transition" = \'acknowledged\'')

    wait_for(lambda: len(acknowledged()) == 1, 20, "the acknowledgement in InfluxDB")
    row = acknowledged()[0]
    assert row["alert_id"] == "g1/1"
    assert json.loads(row["payload"])["cause"] == {
        "kind": "command", "command_id": "c-9", "officer": "tanaka", "note": "堤防を確認"}


def test_partition_subscribes_to_its_own_stations_only(
        tmp_path: Path, mosquitto: MosquittoServer,
        alerts_env: Callable[..., dict[str, str]],
        start_alerts: Callable[[dict[str, str]], AlertsProcess]) -> None:
    registry = tmp_path / "two-basins.yaml"
    registry.write_text(REGISTRY_YAML.replace("id: g2, kind: river, name: {ja: 第二, en: Gauge "
                                              "two}, river: abukuma, basin: abukuma",
                                              "id: g2, kind: river, name: {ja: 第二, en: Gauge "
                                              "two}, river: abukuma, basin: tone"),
                        encoding="utf-8")
    start_alerts(alerts_env(stations=str(registry), alerts_basins="tone"))
    with collect(mosquitto.port, "floodwatch/alerts/#", "floodwatch/status/#") as got:
        publish_all(mosquitto.port, bus([river("g1", 0, 2.5), river("g2", 0, 2.5)]))
        wait_for(lambda: got.count("floodwatch/alerts/") >= 1, 20, "g2's alert")
        ack = (b'{"command_id": "c-9", "issued_at": "2026-10-12T00:05:00Z", "officer": "a",'
               b' "alert_id": "g2/1"}')
        publish_all(mosquitto.port, [("floodwatch/commands/acknowledge/g2", ack)])
        wait_for(lambda: got.count("floodwatch/alerts/") >= 2, 20, "the acknowledgement")
    assert [brief(p) for p in got.payloads("floodwatch/alerts/")] == [
        ("g2", "river_level", "raised", 2), ("g2", "river_level", "acknowledged", 2)]
    assert {p["station"] for p in got.payloads("floodwatch/status/")} == {"g2"}
