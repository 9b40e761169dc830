"""Replay publishes a recorded CSV series instead of the model, and refuses a bad file
with the line that is wrong."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from floodwatch.core.readings import JST
from floodwatch.core.registry import StationRegistry
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.faults import parse_fault_option
from floodwatch.simulators.replay import ReplayError, read_recording, replay_events

RECORDING = """\
time,station,level_m,rain_mm,water_depth_cm,surface_state
2019-10-12T18:10:00+09:00,fushiguro,4.20,10.5,,
2019-10-12T18:00:00+09:00,fushiguro,4.12,12.5,,
2019-10-12T09:00:00Z,koriyama-r4-underpass,,,14.0,wet
"""


def recording(tmp_path: Path, text: str = RECORDING) -> Path:
    path = tmp_path / "recorded.csv"
    path.write_text(text)
    return path


def test_replay_sends_the_rows_in_time_order_as_recorded(
    tmp_path: Path, sample_registry: StationRegistry, validator: MessageValidator
) -> None:
    observations = read_recording(recording(tmp_path), sample_registry)
    events = list(replay_events(observations, sample_registry))
    assert [event.topic for event in events] == [
        "sensors/river/fushiguro", "sensors/road/koriyama-r4-underpass",
        "sensors/river/fushiguro"]
    assert [json.loads(event.payload) for event in events] == [
        {"ts": "2019-10-12T18:00:00+09:00", "level_m": 4.12, "rain_mm": 12.5},
        {"ts": "2019-10-12T18:00:00+09:00", "water_depth_cm": 14.0, "surface_state": "wet"},
        {"ts": "2019-10-12T18:10:00+09:00", "level_m": 4.2, "rain_mm": 10.5},
    ]
    for event in events:
        validator.validate(event.topic, event.payload, event.sim_time)


def test_replay_shifted_to_a_start_and_with_faults(
    tmp_path: Path, sample_registry: StationRegistry
) -> None:
    start = datetime(2026, 10, 12, 0, 0, tzinfo=JST)
    observations = read_recording(recording(tmp_path), sample_registry)
    events = list(replay_events(observations, sample_registry, start=start,
                                faults=[parse_fault_option("duplicate:rate=1,"
                                                           "stations=fushiguro")]))
    stamps = [json.loads(event.payload)["ts"] for event in events]
    assert stamps == ["2026-10-12T00:00:00+09:00"] * 3 + ["2026-10-12T00:10:00+09:00"] * 2
    assert events[-1].sim_time == datetime(2026, 10, 12, 0, 10, tzinfo=JST)


@pytest.mark.parametrize(("text", "message"), [
    ("station,time,level_m\n", "must start with time,station"),
    ("time,station,level\n", "unknown column 'level'"),
    ("time,station,level_m\n2019-10-12T18:00:00+09:00,atlantis,1\n",
     ":2: station 'atlantis' is not in the registry"),
    ("time,station,level_m\n2019-10-12T18:00:00,fushiguro,1\n", ":2: time: '2019-10-12T18:"),
    ("time,station,level_m\n2019-10-12T18:00:00+09:00,fushiguro,high\n",
     ":2: level_m 'high' is not a number"),
    ("time,station,rain_mm\n2019-10-12T18:00:00+09:00,fushiguro,1\n",
     ":2: a river reading needs level_m"),
    ("time,station,level_m\n2019-10-12T18:00:00+09:00,koriyama-r4-underpass,1\n",
     ":2: level_m does not apply to road station"),
    ("time,station,surface_state\n2019-10-12T18:00:00+09:00,koriyama-r4-underpass,muddy\n",
     ":2: surface_state 'muddy' is not one of"),
    ("time,station,level_m\n", "no rows to replay"),
])
def test_a_bad_recording_is_refused_with_its_line(
    tmp_path: Path, sample_registry: StationRegistry, text: str, message: str
) -> None:
    path = recording(tmp_path, text)
    with pytest.raises(ReplayError) as error:
        read_recording(path, sample_registry)
    assert str(error.value).startswith(str(path))
    assert message in str(error.value)
