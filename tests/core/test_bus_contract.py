"""The bus contract (floodwatch.core.bus) is the one place topics are spelled, the broker
ACL follows it, and the readers of each stage accept what its producers build from it."""

from __future__ import annotations

import ast
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from paho.mqtt.client import topic_matches_sub

from floodwatch.alerts.commands import CommandRejected, parse_command
from floodwatch.alerts.service import subscription_topics as alerts_topics
from floodwatch.api.auth import Principal, Role
from floodwatch.api.commands import send_command
from floodwatch.api.live import LiveCache
from floodwatch.broker_acl import render_acl, service_grants
from floodwatch.core import bus
from floodwatch.core.readings import Reading, bus_topic
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.ingest.service import subscription_topics as ingest_topics
from floodwatch.notify.intake import TOPICS as notify_topics
from floodwatch.notify.notice import Notice, NoticeError
from floodwatch.stages import STAGES
from tests.support import REPO_ROOT

# The roots of every topic floodwatch uses; a string starting with one is a topic.
TOPIC_ROOTS = ("sensors/", "floodwatch/", "bousai/", "$share/")
# The contract: its topics (core/topics.py), re-exported with the messages by core/bus.py.
CONTRACT = REPO_ROOT / "core" / "topics.py"
SOURCE_FOLDERS = ("floodwatch", "core", "ingest", "alerts", "forecast", "notify", "api",
                  "simulators")


def _docstrings(tree: ast.AST) -> set[int]:
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value,
                                                                     ast.Constant):
                found.add(id(body[0].value))
    return found


def topic_strings(path: Path) -> list[tuple[int, str]]:
    """String literals (and f-string beginnings) in ``path`` that spell a topic."""
    tree = ast.parse(path.read_text(), str(path))
    docstrings = _docstrings(tree)
    spelled = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and id(node) not in docstrings and node.value.startswith(TOPIC_ROOTS):
            spelled.append((node.lineno, node.value))
    return spelled


def source_files() -> list[Path]:
    # resolve(): floodwatch/<stage> are links to the folders at the root.
    return sorted({path.resolve() for folder in SOURCE_FOLDERS
                   for path in (REPO_ROOT / folder).rglob("*.py")})


def test_no_topic_is_spelled_outside_the_contract() -> None:
    files = source_files()
    assert CONTRACT in files
    assert len(files) > 100
    offenders = [f"{path.relative_to(REPO_ROOT)}:{line}: {text!r}"
                 for path in files if path != CONTRACT for line, text in topic_strings(path)]
    assert offenders == [], "spell topics through floodwatch.core.bus (core/topics.py):\n" + \
        "\n".join(offenders)


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    sample = tmp_path / "sample.py"
    sample.write_text('"""floodwatch/alerts/ in a docstring is documentation."""\n'
                      'TOPIC = "floodwatch/alerts/+"\n'
                      'def f(s: str) -> str:\n    return f"sensors/river/{s}"\n')
    assert topic_strings(sample) == [(2, "floodwatch/alerts/+"), (4, "sensors/river/")]
    assert len(topic_strings(CONTRACT)) >= len(bus.TOPICS)


# --- the ACL and the stages' subscriptions follow the contract ------------------------

def _covered(grants: list[tuple[str, str]], access: str, topic: str) -> bool:
    return any(topic_matches_sub(pattern, topic) for granted, pattern in grants
               if granted in (access, "readwrite"))


def test_each_stage_subscribes_only_to_what_the_acl_grants_it(
        sample_registry: StationRegistry) -> None:
    subscribed = {
        "ingest": [*ingest_topics(None), *ingest_topics("g")],
        "alerts": [*alerts_topics(sample_registry, partitioned=False),
                   *alerts_topics(sample_registry, partitioned=True)],
        "notify": list(notify_topics),
        "api": [*bus.READINGS.filters, *bus.ALERTS.filters, *bus.STATUS.filters],
    }
    for stage, filters in subscribed.items():
        grants = service_grants(stage)
        for topic_filter in filters:
            plain = topic_filter.split("/", 2)[2] if topic_filter.startswith("$share/") \
                else topic_filter
            assert _covered(grants, "read", plain.replace("+", "x").replace("#", "x")), \
                (stage, topic_filter)


def test_each_producer_may_write_the_topics_it_names(sample_registry: StationRegistry) -> None:
    station = next(iter(sample_registry))
    named = {
        "ingest": [bus_topic(station.kind, station.id), bus.DEADLETTER.name()],
        "alerts": [bus.ALERTS.name(station=station.id), bus.CAP.name(station=station.id),
                   bus.EDXL.name(station=station.id), bus.STATUS.name(station=station.id),
                   bus.COMMAND_REJECTIONS.name(), bus.DEADLETTER.name()],
        "api": [bus.COMMANDS.name(verb=verb, station=station.id) for verb in bus.COMMAND_VERBS],
        "notify": [bus.NETWORK.name(part="cap", station=station.id)],
    }
    for stage, topics in named.items():
        for topic in topics:
            assert _covered(service_grants(stage), "write", topic), (stage, topic)
    # And nothing else: ingest may not write alert events, the API may not write readings.
    assert not _covered(service_grants("ingest"), "write", bus.ALERTS.name(station="x"))
    assert not _covered(service_grants("api"), "write", bus_topic(station.kind, station.id))
    assert not _covered(service_grants("notify"), "read", bus_topic(station.kind, station.id))


def test_the_acl_lets_each_device_write_only_its_own_topic(
        sample_registry: StationRegistry) -> None:
    acl = render_acl(sample_registry)
    for station in sample_registry:
        assert (f"user {station.id}\ntopic write "
                f"{bus.DEVICE.name(kind=station.kind.value, station=station.id)}\n") in acl
    users = [line.removeprefix("user ") for line in acl.splitlines() if line.startswith("user ")]
    assert users == [*(f"floodwatch-{stage.name}" for stage in STAGES),
                     *(station.id for station in sample_registry)]
    for stage in STAGES:  # every stage of the table reads or writes something
        assert service_grants(stage.name), stage.name


# --- tolerant readers accept what producers build from the contract -------------------

NOW = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)


def test_a_reading_from_a_newer_producer_with_an_extra_key_is_read() -> None:
    reading = Reading("sukagawa", StationKind.RIVER, NOW, {"level_m": 3.21}, "device", NOW)
    document = json.loads(reading.to_json())
    assert document["schema_version"] == bus.SCHEMA_VERSION
    assert set(document) == set(bus.ReadingMessage.__struct_fields__)
    document["quality"] = "good"
    assert Reading.from_json(json.dumps(document)) == reading
    del document["schema_version"]  # as ingest wrote it before the contract
    assert Reading.from_json(json.dumps(document)) == reading
    with pytest.raises(ValueError, match="schema_version 2 is not understood"):
        Reading.from_json(json.dumps({**document, "schema_version": 2}))
    del document["ts"]
    with pytest.raises(ValueError, match="not a floodwatch reading"):
        Reading.from_json(json.dumps(document))


class CapturedPublishes:
    """Where the API's command route publishes (a LiveCache's ``publish``), kept."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes]] = []

    def publish(self, topic: str, payload: bytes) -> None:
        self.sent.append((topic, payload))


def test_the_api_sends_commands_the_engine_accepts(sample_registry: StationRegistry) -> None:
    station = next(s for s in sample_registry if s.kind is StationKind.RIVER)
    captured = CapturedPublishes()
    officer = Principal(Role.OFFICER, "84d718cd")
    send_command(captured, "acknowledge", station.id, officer,  # type: ignore[arg-type]
                 {"alert_id": f"{station.id}/3", "note": "確認しました"})
    send_command(captured, "flooding", station.id, officer,  # type: ignore[arg-type]
                 {"action": "declare", "note": None})
    [(ack_topic, ack), (flooding_topic, flooding)] = captured.sent
    parsed = parse_command(ack_topic, ack, sample_registry)
    assert isinstance(parsed.body, bus.AcknowledgeCommand)
    assert (parsed.station, parsed.body.alert_id, parsed.body.officer, parsed.body.note) == (
        station.id, f"{station.id}/3", "api-key:84d718cd", "確認しました")
    parsed = parse_command(flooding_topic, flooding, sample_registry)
    assert isinstance(parsed.body, bus.FloodingCommand)
    assert (parsed.body.action, parsed.body.note) == ("declare", None)
    # Version 1 is left out, for an engine from before the contract (unknown keys refused).
    assert "schema_version" not in json.loads(ack)
    assert "note" not in json.loads(flooding)


def test_the_engine_refuses_a_command_with_a_key_it_does_not_know(
        sample_registry: StationRegistry) -> None:
    station = next(iter(sample_registry))
    document = {"command_id": "c-1", "issued_at": NOW.isoformat(), "officer": "tanaka",
                "alert_id": f"{station.id}/3", "urgent": True}
    with pytest.raises(CommandRejected, match="urgent"):
        parse_command(bus.COMMANDS.name(verb="acknowledge", station=station.id),
                      json.dumps(document).encode(), sample_registry)


texts = st.builds(bus.LocalText, ja=st.text(max_size=20), en=st.text(max_size=20))
event_messages = st.builds(
    bus.AlertEventMessage,
    event_id=st.from_regex(r"\A[a-z0-9][a-z0-9-]{0,10}/[0-9]{1,6}\Z"),
    seq=st.integers(1, 10**6), level=st.integers(0, 5), previous_level=st.integers(0, 5),
    label=texts, headline=texts, official=st.none() | texts,
    alert_level=st.none() | st.integers(1, 5),
    detail=st.dictionaries(st.sampled_from(["level_m", "rate"]),
                           st.none() | st.floats(-10, 10) | st.text(max_size=5)),
    projection=st.none() | st.builds(bus.ProjectionMessage, text=st.none() | texts,
                                     basis=st.builds(bus.ProjectionBasisMessage)),
    cause=st.builds(bus.CauseMessage, kind=st.sampled_from(["reading", "clock", "command"])),
)


@given(event_messages)
def test_notify_reads_every_alert_event_the_contract_allows(
        message: bus.AlertEventMessage) -> None:
    payload = bus.encode(message)
    notice = Notice.from_json(payload)
    assert (notice.event_id, notice.station, notice.level, notice.transition,
            notice.confirmed) == (message.event_id, message.station, message.level,
                                  message.transition, message.confirmed)
    assert notice.headline.ja == message.headline.ja
    document = json.loads(payload)
    document["added_in_a_later_version"] = [1, 2]
    assert Notice.from_json(json.dumps(document).encode()) == notice
    document["schema_version"] = 2
    with pytest.raises(NoticeError, match="schema_version"):
        Notice.from_json(json.dumps(document).encode())


def test_the_api_reads_the_status_and_events_the_engine_publishes() -> None:
    # Never started: the cache's readers are exercised without a broker.
    cache = LiveCache.from_settings(Settings.model_validate({}))
    alert = bus.StatusAlert(
        alert_id="sukagawa/1", alert_type="river_level", level=3, level_name="evacuation",
        label=bus.LocalText(ja="避難判断水位", en="Evacuation judgement level"), official=None,
        alert_level=3, raised_at="2026-11-28T01:00:00Z", acknowledged=False,
        confirmed=False)
    status = bus.StatusMessage(station="sukagawa", kind="river", seq=3, offline=False,
                               flooding_declared=True, alerts=[alert])
    handled = cache.handle(bus.STATUS.name(station="sukagawa"), bus.encode(status))
    assert handled is not None
    assert handled.as_message()["data"] == status.model_dump(mode="json")
    assert cache.open_alerts() == [("sukagawa", alert.model_dump(mode="json"))]
    assert cache.flooding_declared("sukagawa") is True
    assert cache.flooding_declared("akutsu") is None
    reading = Reading("sukagawa", StationKind.RIVER, NOW, {"level_m": 3.21}, "device", NOW)
    handled = cache.handle(reading.bus_topic, reading.to_json())
    assert handled is not None
    assert handled.as_message()["data"]["values"] == {"level_m": 3.21}
    assert cache.latest("sukagawa") == reading
    # An emptied retained status: the station has no state any more.
    assert cache.handle(bus.STATUS.name(station="sukagawa"), b"") is None
    assert cache.open_alerts() == []
