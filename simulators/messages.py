"""What a simulated device sends: observations, and the MQTT events that carry them.

An ``Observation`` is what a device measured (station, kind, the time on its own clock,
the values in the contract's field names). An ``Event`` is one MQTT message on the
simulated clock: ``sim_time`` is when the device sends it, ``device`` is the device
that sends it (whose connection publishes it), ``topic`` and ``payload`` are exactly the
bytes on the wire. Encoding follows the device contract (design.md, "Contracts"): one
JSON object ``{"ts": ..., <fields>}`` with ``ts`` in ISO 8601 with the ``+09:00`` offset
(or UTC ``Z``), or a SenML pack (RFC 8428) for several readings at once.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

from floodwatch.core import bus
from floodwatch.core.readings import JST
from floodwatch.core.registry import StationKind

FieldValue = float | str

# SenML measure names and units of the contract (ingest/senml.py), by payload field.
SENML_MEASURES: dict[str, tuple[str, str | None]] = {
    "level_m": ("level", "m"),
    "rain_mm": ("rain", "mm"),
    "battery_v": ("battery", "V"),
    "water_depth_cm": ("water_depth", "cm"),
    "surface_temp_c": ("surface_temp", "Cel"),
    "surface_state": ("surface_state", None),
}

# The value a fault tampers with: what the device exists to measure.
PRIMARY_FIELD = {StationKind.RIVER: "level_m", StationKind.ROAD: "water_depth_cm"}


class TimestampFormat(StrEnum):
    JST = "jst"
    UTC = "utc"


@dataclass(frozen=True, slots=True)
class Observation:
    station: str
    kind: StationKind
    measured_at: datetime  # the device's clock; UTC-aware
    values: dict[str, FieldValue]

    @property
    def topic(self) -> str:
        return topic_for(self.kind, self.station)


@dataclass(frozen=True, slots=True)
class Event:
    sim_time: datetime
    device: str
    topic: str
    payload: bytes
    fault: str | None = None  # which fault shaped this message; never sent

    @property
    def wire(self) -> tuple[str, bytes]:
        return self.topic, self.payload


def topic_for(kind: StationKind, station_id: str) -> str:
    return bus.DEVICE.name(kind=kind.value, station=station_id)


def format_device_ts(moment: datetime, style: TimestampFormat = TimestampFormat.JST) -> str:
    """``2026-11-28T10:00:00+09:00`` or ``2026-11-28T01:00:00Z``; fractions only if any."""
    timespec = "seconds" if moment.microsecond == 0 else "milliseconds"
    if style is TimestampFormat.UTC:
        return moment.astimezone(UTC).replace(tzinfo=None).isoformat(timespec=timespec) + "Z"
    return moment.astimezone(JST).isoformat(timespec=timespec)


def encode_json(observation: Observation,
                style: TimestampFormat = TimestampFormat.JST) -> bytes:
    body: dict[str, FieldValue] = {"ts": format_device_ts(observation.measured_at, style)}
    body.update(observation.values)
    # The spaced separators of the contract's examples: what devices are documented to send.
    return json.dumps(body, ensure_ascii=False, allow_nan=True).encode()


def encode_senml(observations: Sequence[Observation]) -> bytes:
    """One SenML pack of several readings of one station (a store-and-forward backlog)."""
    if not observations:
        raise ValueError("an empty pack")
    first = observations[0]
    base_time = int(first.measured_at.timestamp())
    records: list[dict[str, object]] = []
    for observation in observations:
        offset: float = round(observation.measured_at.timestamp() - base_time, 3)
        if offset.is_integer():
            offset = int(offset)
        for field, value in observation.values.items():
            name, unit = SENML_MEASURES[field]
            record: dict[str, object] = {"n": name}
            if unit is None:
                record["vs"] = value
            else:
                record["u"] = unit
                record["v"] = value
            if offset:
                record["t"] = offset
            records.append(record)
    records[0] = {"bn": f"urn:dev:floodwatch:{first.station}:", "bt": base_time, **records[0]}
    return json.dumps(records, separators=(",", ":")).encode()
