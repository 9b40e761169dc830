"""Turning one device's observations into MQTT events, with its faults applied.

Every device has its own injector, and every fault spec its own random stream seeded
from (seed, station, spec index), so switching a fault on changes only the readings it
hits: the rest of the run stays byte-identical. Faults are applied in a fixed order
whatever their order in the scenario: offline, then the value faults (stuck, drift,
spike), clock skew, encoding, then what breaks the message itself (malformed, wrong
station) and finally duplicate delivery.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from floodwatch.core.registry import StationKind
from floodwatch.simulators.devices import random_stream
from floodwatch.simulators.faults import FaultKind, FaultSpec
from floodwatch.simulators.messages import (
    PRIMARY_FIELD,
    Event,
    FieldValue,
    Observation,
    TimestampFormat,
    encode_json,
    encode_senml,
    topic_for,
)

BACKFILL_PACK_READINGS = 24  # a few KiB per pack, well under ingest's payload limit
_DECIMALS = {StationKind.RIVER: 2, StationKind.ROAD: 1}
_RANGE = {StationKind.RIVER: (-50.0, 100.0), StationKind.ROAD: (0.0, 1000.0)}
MALFORMED_VARIANTS = ("truncated", "quoted_number", "nan", "epoch_millis", "junk", "empty")


@dataclass
class _State:
    spec: FaultSpec
    rng: random.Random
    episode: tuple[float, float] | None = None  # [start, end) in scenario seconds
    frozen: FieldValue | None = None
    fired: bool = False


class DeviceFaults:
    def __init__(self, station: str, kind: StationKind, specs: Sequence[FaultSpec], *,
                 seed: int, origin: datetime, known_ids: Collection[str],
                 ts_format: TimestampFormat = TimestampFormat.JST,
                 stamp: Callable[[datetime], datetime] | None = None) -> None:
        self.station = station
        self.kind = kind
        self.origin = origin
        self.known_ids = known_ids
        self.ts_format = ts_format
        # What the device writes as its time, from the simulated instant; the demo's
        # compressed clock (simulators/clock.py) sets it, faults stay on simulated time.
        self._stamp = stamp
        self._states = [
            _State(spec, random_stream(seed, station, "fault", str(index), spec.kind.value))
            for index, spec in enumerate(specs) if spec.applies_to(station)
        ]
        self._backlog: list[Observation] = []

    def process(self, observation: Observation, sent_at: datetime) -> list[Event]:
        elapsed = (observation.measured_at - self.origin).total_seconds()
        active = {state.spec.kind: state for state in self._states if self._hit(state, elapsed)}
        offline = active.get(FaultKind.OFFLINE)
        if offline is not None:
            if offline.spec.backfill:
                self._backlog.append(observation)
            return []
        events = self._flush_backlog(sent_at)
        observation = self._tamper(observation, active, elapsed)
        labels = [kind.value for kind in active]
        payload = encode_json(self._stamped(observation), self.ts_format)
        topic = observation.topic
        if (state := active.get(FaultKind.MALFORMED)) is not None:
            payload = malformed(payload, self.kind, state.rng.choice(MALFORMED_VARIANTS))
        if (state := active.get(FaultKind.WRONG_STATION)) is not None:
            topic = topic_for(self.kind, wrong_station_id(self.station, self.known_ids,
                                                          state.rng))
        event = Event(sent_at, self.station, topic, payload, ",".join(labels) or None)
        events.append(event)
        if FaultKind.DUPLICATE in active:
            events.append(event)
        return events

    @staticmethod
    def _hit(state: _State, elapsed: float) -> bool:
        spec = state.spec
        length = spec.episode_s
        if spec.at is not None:
            if length is not None:
                return spec.at <= elapsed < spec.at + length
            first = not state.fired and elapsed >= spec.at
            state.fired = state.fired or first
            return first
        assert spec.rate is not None  # a spec has a schedule or a rate
        if length is None:
            return state.rng.random() < spec.rate
        if state.episode is None or elapsed >= state.episode[1]:
            state.episode = None
            if state.rng.random() < spec.rate:
                state.episode = (elapsed, elapsed + length)
                state.frozen = None
        return state.episode is not None

    def _tamper(self, observation: Observation, active: dict[FaultKind, _State],
                elapsed: float) -> Observation:
        field = PRIMARY_FIELD[self.kind]
        values = dict(observation.values)
        value = values.get(field)
        if isinstance(value, float):
            if (state := active.get(FaultKind.STUCK)) is not None:
                if state.frozen is None:
                    state.frozen = value
                value = state.frozen
            else:
                for state in self._states:  # a later episode freezes a new value
                    if state.spec.kind is FaultKind.STUCK:
                        state.frozen = None
            if (state := active.get(FaultKind.DRIFT)) is not None:
                started = state.spec.at if state.spec.at is not None else (
                    state.episode[0] if state.episode else elapsed)
                value = float(value) + state.spec.magnitude_for(self.kind) * (
                    elapsed - started) / 3600
            if (state := active.get(FaultKind.SPIKE)) is not None:
                value = float(value) + state.spec.magnitude_for(self.kind)
            low, high = _RANGE[self.kind]
            values[field] = round(min(high, max(low, float(value))), _DECIMALS[self.kind])
        measured_at = observation.measured_at
        if (state := active.get(FaultKind.CLOCK_SKEW)) is not None:
            measured_at += timedelta(seconds=state.spec.magnitude_for(self.kind))
        return replace(observation, values=values, measured_at=measured_at)

    def _flush_backlog(self, sent_at: datetime) -> list[Event]:
        backlog, self._backlog = self._backlog, []
        return [
            Event(sent_at, self.station, topic_for(self.kind, self.station),
                  encode_senml([self._stamped(observation) for observation
                                in backlog[start:start + BACKFILL_PACK_READINGS]]), "backfill")
            for start in range(0, len(backlog), BACKFILL_PACK_READINGS)
        ]

    def _stamped(self, observation: Observation) -> Observation:
        if self._stamp is None:
            return observation
        return replace(observation, measured_at=self._stamp(observation.measured_at))


def malformed(payload: bytes, kind: StationKind, variant: str) -> bytes:
    """A broken version of a JSON payload, the way real firmware breaks them."""
    body = json.loads(payload)
    field = PRIMARY_FIELD[kind]
    if variant == "truncated":  # a reset in the middle of a transmission
        return payload[: len(payload) // 2]
    if variant == "quoted_number":  # sprintf'ed into a string
        body[field] = str(body.get(field, 0.0))
    elif variant == "nan":  # a failed ADC read formatted as a float
        body[field] = math.nan
    elif variant == "epoch_millis":  # the classic milliseconds-for-seconds mistake
        body["ts"] = 1_764_291_600_000
    elif variant == "junk":  # a modem's diagnostic line on the data channel
        return b"+CME ERROR: 30"
    elif variant == "empty":
        return b""
    else:
        raise ValueError(f"unknown malformed variant {variant!r}")
    return json.dumps(body, allow_nan=True).encode()


def wrong_station_id(station: str, known: Collection[str], rng: random.Random) -> str:
    """A plausible misconfiguration: a typo (two letters swapped) or a factory suffix,
    and never a station of the registry, so ingest must refuse it."""
    candidates = []
    if len(station) >= 2:
        at = rng.randrange(len(station) - 1)
        candidates.append(station[:at] + station[at + 1] + station[at] + station[at + 2:])
    candidates += [f"{station}-2"[:64], f"sim-{rng.randrange(10_000):04d}"]
    for candidate in candidates:
        if candidate != station and candidate not in known and candidate[0] != "-":
            return candidate
    return "unregistered-device"
