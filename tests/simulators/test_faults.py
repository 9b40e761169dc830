"""Every fault has its effect, only on the readings it hits; ingest accepts what a real
device could send and refuses the malformed and wrong-station messages."""

from __future__ import annotations

import itertools
import json
from datetime import datetime, timedelta

import pytest

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.ingest.validate import MessageValidator, Reason, Rejected
from floodwatch.simulators.faults import FaultSpec, parse_fault_option
from floodwatch.simulators.injector import MALFORMED_VARIANTS, malformed
from floodwatch.simulators.messages import Event
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation
from tests.simulators.conftest import TYPHOON_START, station_of

HOURS = 16  # the rising limb of the typhoon: levels change from reading to reading


def run(registry: StationRegistry, *faults: str) -> list[Event]:
    specs: list[FaultSpec] = [parse_fault_option(text) for text in faults]
    simulation = Simulation(load_scenario("typhoon"), registry, start=TYPHOON_START, seed=1,
                            duration_s=HOURS * 3600, faults=specs, scenario_faults=False)
    return list(simulation.events())


@pytest.fixture(scope="module")
def baseline(sample_registry: StationRegistry) -> list[Event]:
    return run(sample_registry)


def of(events: list[Event], station: str) -> list[Event]:
    return [event for event in events if event.device == station]


def level(event: Event) -> float:
    value = json.loads(event.payload)["level_m"]
    assert isinstance(value, float)
    return value


def within(event: Event, start_h: float, end_h: float) -> bool:
    return (TYPHOON_START + timedelta(hours=start_h) <= event.sim_time
            < TYPHOON_START + timedelta(hours=end_h))


def others(events: list[Event], station: str) -> list[Event]:
    return [event for event in events if event.device != station]


def test_offline_silences_the_device_and_nothing_else(
    sample_registry: StationRegistry, baseline: list[Event]
) -> None:
    events = run(sample_registry, "offline:at=4h,for=2h,stations=akutsu")
    akutsu = of(events, "akutsu")
    assert not any(within(event, 4, 6) for event in akutsu)
    assert len(akutsu) == len(of(baseline, "akutsu")) - 12
    assert others(events, "akutsu") == others(baseline, "akutsu")


def test_offline_with_backfill_sends_what_it_missed_as_senml(
    sample_registry: StationRegistry, baseline: list[Event], validator: MessageValidator
) -> None:
    events = run(sample_registry, "offline:at=4h,for=2h,stations=akutsu,backfill=true")
    [pack] = [event for event in events if event.fault == "backfill"]
    assert pack.sim_time == TYPHOON_START + timedelta(hours=6)
    assert pack.payload.startswith(b"[")
    readings = validator.validate(pack.topic, pack.payload, pack.sim_time).readings
    missed = [event for event in of(baseline, "akutsu") if within(event, 4, 6)]
    assert [r.values["level_m"] for r in readings] == [level(event) for event in missed]
    assert [r.ts for r in readings] == [event.sim_time for event in missed]


def test_stuck_freezes_the_level(sample_registry: StationRegistry,
                                 baseline: list[Event]) -> None:
    events = run(sample_registry, "stuck:at=10h,for=3h,stations=sukagawa")
    stuck = [level(event) for event in of(events, "sukagawa") if within(event, 10, 13)]
    real = [level(event) for event in of(baseline, "sukagawa") if within(event, 10, 13)]
    assert len(set(stuck)) == 1
    assert stuck[0] == real[0]
    assert real[-1] - real[0] > 1  # while the river rose by more than a metre
    after = [event for event in of(events, "sukagawa") if within(event, 13, HOURS)]
    assert after == [event for event in of(baseline, "sukagawa") if within(event, 13, HOURS)]


def test_spike_hits_one_reading(sample_registry: StationRegistry,
                                baseline: list[Event]) -> None:
    events = run(sample_registry, "spike:at=8h,stations=motomiya")
    changed = [(event, before) for event, before in zip(of(events, "motomiya"),
                                                        of(baseline, "motomiya"), strict=True)
               if event.payload != before.payload]
    [(event, before)] = changed
    assert event.sim_time == TYPHOON_START + timedelta(hours=8)
    assert level(event) - level(before) == pytest.approx(3.0, abs=0.011)
    assert event.fault == "spike"


def test_drift_creeps_further_with_time(sample_registry: StationRegistry,
                                        baseline: list[Event]) -> None:
    events = run(sample_registry, "drift:at=2h,for=6h,magnitude=0.5,stations=iwanuma")
    pairs = zip(of(events, "iwanuma"), of(baseline, "iwanuma"), strict=True)
    offsets = [level(event) - level(before) for event, before in pairs if within(event, 2, 8)]
    assert offsets[0] == pytest.approx(0.0, abs=0.011)
    assert offsets[-1] == pytest.approx(0.5 * (5 + 50 / 60), abs=0.011)
    assert all(later >= earlier - 0.011 for earlier, later in itertools.pairwise(offsets))


def test_clock_skew_shifts_the_device_time_only(
    sample_registry: StationRegistry, validator: MessageValidator
) -> None:
    events = run(sample_registry, "clock_skew:at=1h,for=1h,stations=fushiguro")
    for event in of(events, "fushiguro"):
        ts = datetime.fromisoformat(json.loads(event.payload)["ts"])
        skew = timedelta(minutes=-10) if within(event, 1, 2) else timedelta(0)
        assert ts == event.sim_time + skew
        [reading] = validator.validate(event.topic, event.payload, event.sim_time).readings
        assert reading.ts == event.sim_time + skew  # late but believable: accepted


def test_a_clock_ahead_is_refused_by_ingest(sample_registry: StationRegistry,
                                            validator: MessageValidator) -> None:
    events = run(sample_registry, "clock_skew:at=1h,for=1h,stations=fushiguro,magnitude=900")
    ahead = [event for event in of(events, "fushiguro") if within(event, 1, 2)]
    for event in ahead:
        with pytest.raises(Rejected) as refused:
            validator.validate(event.topic, event.payload, event.sim_time)
        assert refused.value.reason is Reason.FUTURE_TIMESTAMP


def test_duplicate_delivers_every_message_twice(sample_registry: StationRegistry,
                                                baseline: list[Event]) -> None:
    events = of(run(sample_registry, "duplicate:rate=1,stations=marumori"), "marumori")
    assert events[0::2] == events[1::2]
    assert [event.wire for event in events[0::2]] == [e.wire for e in of(baseline, "marumori")]
    assert {event.fault for event in events} == {"duplicate"}


def test_malformed_messages_are_refused_by_ingest(
    sample_registry: StationRegistry, validator: MessageValidator
) -> None:
    events = run(sample_registry, "malformed=1")
    reasons = set()
    for event in events:
        with pytest.raises(Rejected) as refused:
            validator.validate(event.topic, event.payload, event.sim_time)
        reasons.add(refused.value.reason)
    assert reasons >= {Reason.INVALID_JSON, Reason.INVALID_FIELD, Reason.NOT_AN_OBJECT}


@pytest.mark.parametrize("variant", MALFORMED_VARIANTS)
@pytest.mark.parametrize(("kind", "topic", "payload"), [
    (StationKind.RIVER, "sensors/river/akutsu",
     b'{"ts": "2026-10-12T10:00:00+09:00", "level_m": 3.21, "rain_mm": 0.5, '
     b'"battery_v": 12.7}'),
    (StationKind.ROAD, "sensors/road/koriyama-r4-underpass",
     b'{"ts": "2026-10-12T10:00:00+09:00", "water_depth_cm": 12.0, "surface_temp_c": 1.5, '
     b'"surface_state": "wet"}'),
])
def test_every_malformed_variant_is_refused(
    validator: MessageValidator, variant: str, kind: StationKind, topic: str, payload: bytes
) -> None:
    received = datetime.fromisoformat("2026-10-12T10:00:00+09:00")
    validator.validate(topic, payload, received)  # the intact message is fine
    with pytest.raises(Rejected):
        validator.validate(topic, malformed(payload, kind, variant), received)


def test_wrong_station_id_is_refused_as_unknown(
    sample_registry: StationRegistry, baseline: list[Event], validator: MessageValidator
) -> None:
    events = of(run(sample_registry, "wrong_station:rate=1,stations=nihonmatsu"),
                "nihonmatsu")
    assert [event.payload for event in events] == [e.payload
                                                   for e in of(baseline, "nihonmatsu")]
    for event in events:
        assert station_of(event) not in sample_registry
        with pytest.raises(Rejected) as refused:
            validator.validate(event.topic, event.payload, event.sim_time)
        assert refused.value.reason is Reason.UNKNOWN_STATION


def test_faults_by_rate_come_and_go(sample_registry: StationRegistry,
                                    baseline: list[Event]) -> None:
    events = run(sample_registry, "offline:rate=0.02,for=1h")
    assert 0.5 * len(baseline) < len(events) < len(baseline)
    silent = {event.device for event in baseline} - {event.device for event in events}
    assert not silent  # episodes end: every device is heard again
    assert run(sample_registry, "offline:rate=0.02,for=1h") == events
