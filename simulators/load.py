"""Load mode: many devices at a fixed total message rate, for benchmarks.

Devices are the registry's stations (the first N) or synthetic river gauges ``r-000``,
``r-001``, ... (the ids of ``tests.conftest.generated_registry_yaml``). Messages go
round-robin over the devices, evenly spaced at ``rate`` per second for
``duration_s`` seconds of real time. Payloads follow the device contract, about 90
bytes, and each device's readings are stamped one second apart so that (station, ts) is
unique: no reading overwrites another in InfluxDB, and a count of stored points is a
count of delivered messages. Stamps end at the start of the run, so none lies ahead of
the receiver's clock however fast the run.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.simulators.messages import Event, format_device_ts, topic_for

SURFACE_CYCLE = ("dry", "wet", "wet", "dry")


def load_devices(count: int, registry: StationRegistry | None = None
                 ) -> list[tuple[str, StationKind]]:
    """``count`` devices: the registry's first stations, or synthetic river gauges."""
    if count < 1:
        raise ValueError("load mode needs at least one device")
    if registry is None:
        return [(f"r-{index:03d}", StationKind.RIVER) for index in range(count)]
    stations = list(registry)
    if count > len(stations):
        raise ValueError(f"the registry has {len(stations)} stations, not {count}; use "
                         "synthetic ids or a larger registry")
    return [(station.id, station.kind) for station in stations[:count]]


def message_count(rate: float, duration_s: float) -> int:
    if rate <= 0 or duration_s <= 0:
        raise ValueError("load mode needs a positive rate and duration")
    return max(1, round(rate * duration_s))


def load_events(devices: Sequence[tuple[str, StationKind]], rate: float, duration_s: float,
                start: datetime) -> Iterator[Event]:
    """``rate * duration_s`` events, sent from ``start`` (on the pacing clock) on."""
    total = message_count(rate, duration_s)
    per_device = math.ceil(total / len(devices))
    stamps_from = start.replace(microsecond=0) - timedelta(seconds=per_device)
    for sequence in range(total):
        device, kind = devices[sequence % len(devices)]
        reading = sequence // len(devices)
        ts = format_device_ts(stamps_from + timedelta(seconds=reading))
        body: dict[str, object] = {"ts": ts}
        wave = math.sin(reading / 300 + sequence % len(devices))
        if kind is StationKind.RIVER:
            body |= {"level_m": round(2.0 + 0.5 * wave, 2), "rain_mm": round(
                max(0.0, 2.0 * wave), 1), "battery_v": 12.8}
        else:
            body |= {"water_depth_cm": round(max(0.0, 5.0 * wave), 1),
                     "surface_temp_c": round(8.0 + 3.0 * wave, 1),
                     "surface_state": SURFACE_CYCLE[reading % len(SURFACE_CYCLE)]}
        yield Event(start + timedelta(seconds=sequence / rate), device,
                    topic_for(kind, device), json.dumps(body).encode())
