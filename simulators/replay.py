"""Replay: publish a recorded series from a CSV file instead of the model.

The CSV has a header row with ``time`` and ``station`` and then value columns named as
the payload fields (``level_m``, ``rain_mm``, ``battery_v``, ``water_depth_cm``,
``surface_temp_c``, ``surface_state``)::

    time,station,level_m,rain_mm,water_depth_cm,surface_state
    2019-10-12T18:00:00+09:00,fushiguro,4.12,12.5,,
    2019-10-12T18:00:00+09:00,koriyama-r4-underpass,,,14.0,wet

``time`` is ISO 8601 with an offset. A station must be in the registry (its kind gives
the topic); an empty cell leaves the field out of that message. Rows are sent in time
order (ties in file order), with their recorded times as ``ts``, or shifted as a whole
so that the first row falls on ``start``. Faults apply as in a simulated run, with
schedules counted from the first row.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path

from floodwatch.core.readings import FIELDS_BY_KIND, RIVER_FIELDS, ROAD_FIELDS, SURFACE_STATES
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.simulators.faults import FaultSpec
from floodwatch.simulators.injector import DeviceFaults
from floodwatch.simulators.messages import Event, FieldValue, Observation, TimestampFormat
from floodwatch.simulators.timeline import parse_start

VALUE_COLUMNS = RIVER_FIELDS | ROAD_FIELDS


class ReplayError(Exception):
    """The recording cannot be read or does not follow the format; names file and line."""


def read_recording(path: Path, registry: StationRegistry) -> list[Observation]:
    """Every row of the CSV as an observation, sorted by time."""
    try:
        with path.open(newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            columns = [name.strip() for name in reader.fieldnames or []]
            _check_columns(path, columns)
            reader.fieldnames = columns
            rows = [_observation(path, reader.line_num, row, registry) for row in reader]
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise ReplayError(f"{path}: cannot read: {exc}") from exc
    if not rows:
        raise ReplayError(f"{path}: no rows to replay")
    return sorted(rows, key=lambda observation: observation.measured_at)


def _check_columns(path: Path, columns: list[str]) -> None:
    if columns[:2] != ["time", "station"]:
        raise ReplayError(f"{path}: the header must start with time,station")
    unknown = [name for name in columns[2:] if name not in VALUE_COLUMNS]
    if unknown:
        raise ReplayError(f"{path}: unknown column {unknown[0]!r}; value columns are "
                          f"{', '.join(sorted(VALUE_COLUMNS))}")
    if len(set(columns)) != len(columns):
        raise ReplayError(f"{path}: a column is named twice")


def _observation(path: Path, line: int, row: dict[str, str | None],
                 registry: StationRegistry) -> Observation:
    where = f"{path}:{line}"
    if None in row:  # DictReader files surplus cells under the key None
        raise ReplayError(f"{where}: more cells than columns")
    station_id = (row.get("station") or "").strip()
    station = registry.get(station_id)
    if station is None:
        raise ReplayError(f"{where}: station {station_id!r} is not in the registry")
    try:
        moment = parse_start(row.get("time") or "")
    except ValueError as exc:
        raise ReplayError(f"{where}: time: {exc}") from exc
    values: dict[str, FieldValue] = {}
    for name, cell in row.items():
        text = (cell or "").strip()
        if name in ("time", "station") or not text:
            continue
        assert name is not None
        if name not in FIELDS_BY_KIND[station.kind]:
            raise ReplayError(f"{where}: {name} does not apply to {station.kind.value} "
                              f"station {station_id}")
        values[name] = _value(where, name, text)
    if station.kind is StationKind.RIVER and "level_m" not in values:
        raise ReplayError(f"{where}: a river reading needs level_m")
    if not values.keys() - {"battery_v"}:
        raise ReplayError(f"{where}: no values")
    return Observation(station_id, station.kind, moment, values)


def _value(where: str, name: str, text: str) -> FieldValue:
    if name == "surface_state":
        if text not in SURFACE_STATES:
            raise ReplayError(f"{where}: surface_state {text!r} is not one of "
                              f"{', '.join(sorted(SURFACE_STATES))}")
        return text
    try:
        number = float(text)
    except ValueError:
        raise ReplayError(f"{where}: {name} {text!r} is not a number") from None
    if not math.isfinite(number):
        raise ReplayError(f"{where}: {name} must be finite")
    return number


def replay_events(observations: Sequence[Observation], registry: StationRegistry, *,
                  start: datetime | None = None, seed: int = 0,
                  faults: Sequence[FaultSpec] = (),
                  ts_format: TimestampFormat = TimestampFormat.JST) -> Iterator[Event]:
    """The recording's messages in time order; sent when they were recorded."""
    if not observations:
        return
    shift = (start - observations[0].measured_at) if start is not None else None
    origin = start if start is not None else observations[0].measured_at
    known = frozenset(station.id for station in registry)
    injectors: dict[str, DeviceFaults] = {}
    for recorded in observations:
        observation = recorded if shift is None else Observation(
            recorded.station, recorded.kind, recorded.measured_at + shift, recorded.values)
        injector = injectors.get(observation.station)
        if injector is None:
            injector = injectors[observation.station] = DeviceFaults(
                observation.station, observation.kind, faults, seed=seed, origin=origin,
                known_ids=known, ts_format=ts_format)
        yield from injector.process(observation, observation.measured_at)
