"""Scenario files: the weather, the model parameters and the faults of one simulated run.

A scenario is a YAML file, validated strictly (unknown or misspelt keys, duplicate keys
and out-of-range values are errors naming the file and the field). The bundled ones
live in ``simulators/scenarios/`` and are chosen by name (``calm``, ``typhoon``,
``winter-ice``); any other path may be given instead. The keys::

    extends: calm                 # start from another scenario (name, or path relative
                                  # to this file; a bundled name wins, write ./calm.yaml
                                  # for a file); mappings merge key by key
    description: one line for people
    duration: 48h                 # how much simulated time the run covers
    local_start: "17:00"          # default start at this time of day in Japan (JST)
    step: 1m                      # model time step
    ts_format: jst                # device timestamps: jst (+09:00) or utc (Z)
    reporting: {river: 10m, road: 5m}   # override the registry's interval_s
    weather: {air_c: [[0h, 18]], daily_amplitude_c: 4}        # simulators/roads.py
    rain: {areas: [...], storms: [...]}                       # simulators/rainfall.py
                                  # each with a jitter: the seed's bounds (jitter.py)
    routing: {celerity_m_s: 2.5, sinuosity: 1.3}              # simulators/hydrology.py
    river_defaults: {...}         # RiverParams for every river station: catchment and
                                  # its centroid, antecedent_rain_mm, levee crest, ...
    rivers: {station-id: {...}}   # per station, on top of river_defaults
    road_defaults: {...}          # RoadParams for every road station
    roads: {station-id: {...}}
    faults: [...]                 # simulators/faults.py

Parameters of stations that are not in the registry are ignored (with a warning), so a
scenario written for the sample registry still runs on another one with the defaults.
"""

from __future__ import annotations

import re
from datetime import time
from importlib import resources
from pathlib import Path
from typing import Annotated, Any

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from floodwatch.core.config_files import YamlSyntaxError, deep_merge, first_error, parse_yaml
from floodwatch.simulators.faults import FaultSpec
from floodwatch.simulators.hydrology import RiverParams, RoutingSpec
from floodwatch.simulators.messages import TimestampFormat
from floodwatch.simulators.rainfall import RainSpec
from floodwatch.simulators.roads import RoadParams, WeatherSpec
from floodwatch.simulators.timeline import PositiveDuration

SCENARIO_PACKAGE = "floodwatch.simulators"


class ScenarioError(Exception):
    """A scenario is missing or invalid; the message names the file and the field."""


def _hh_mm(value: object) -> object:
    # Only text: unquoted 17:00 is the sexagesimal integer 1020 in YAML 1.1, which
    # pydantic would happily read as 00:17:00.
    if not isinstance(value, str) or not re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        raise ValueError('write a time of day in quotes, e.g. "17:00"')
    return value.strip()


LocalTime = Annotated[time, BeforeValidator(_hh_mm)]


class Reporting(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    river: PositiveDuration | None = None
    road: PositiveDuration | None = None


class Scenario(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(default="scenario", min_length=1)
    description: str = ""
    duration: PositiveDuration
    local_start: LocalTime | None = None
    step: PositiveDuration = Field(default=60.0, le=3600)
    ts_format: TimestampFormat = TimestampFormat.JST
    reporting: Reporting = Reporting()
    weather: WeatherSpec = WeatherSpec()
    rain: RainSpec = RainSpec()
    routing: RoutingSpec = RoutingSpec()
    river_defaults: RiverParams = RiverParams()
    rivers: dict[str, RiverParams] = Field(default_factory=dict)
    road_defaults: RoadParams = RoadParams()
    roads: dict[str, RoadParams] = Field(default_factory=dict)
    faults: tuple[FaultSpec, ...] = ()

    @model_validator(mode="before")
    @classmethod
    def _apply_defaults(cls, data: Any) -> Any:
        # Per-station entries override the defaults key by key, and are validated as a
        # whole, so an error points at rivers.<id>.<field> in the file.
        if not isinstance(data, dict):
            return data
        data = dict(data)
        for section, defaults_key in (("rivers", "river_defaults"), ("roads", "road_defaults")):
            defaults = data.get(defaults_key) or {}
            entries = data.get(section)
            if isinstance(defaults, dict) and isinstance(entries, dict):
                data[section] = {
                    key: {**defaults, **entry} if isinstance(entry, dict) else entry
                    for key, entry in entries.items()
                }
        return data


def available_scenarios() -> list[str]:
    folder = resources.files(SCENARIO_PACKAGE) / "scenarios"
    return sorted(entry.name.removesuffix(".yaml") for entry in folder.iterdir()
                  if entry.name.endswith(".yaml"))


def load_scenario(name_or_path: str | Path) -> Scenario:
    """A bundled scenario by name (``typhoon``), or the scenario file at a path."""
    text, source, name = _read(name_or_path, None)
    return parse_scenario(text, source, name)


def parse_scenario(text: str, source: str = "<scenario>", name: str = "scenario") -> Scenario:
    """Validate a scenario's YAML text; ``source`` names it in error messages."""
    document = _document(text, source, ())
    document["name"] = name
    try:
        return Scenario.model_validate(document)
    except ValidationError as exc:
        raise ScenarioError(f"{source}: {first_error(exc)}") from exc


def _read(name_or_path: str | Path, relative_to: Path | None) -> tuple[str, str, str]:
    """(text, source for messages, scenario name) of a bundled name or a file."""
    text_name = str(name_or_path)
    if isinstance(name_or_path, str) and text_name in available_scenarios():
        bundled = resources.files(SCENARIO_PACKAGE) / "scenarios" / f"{text_name}.yaml"
        return (bundled.read_text(encoding="utf-8"), f"simulators/scenarios/{text_name}.yaml",
                text_name)
    path = Path(name_or_path)
    if relative_to is not None and not path.is_absolute():
        path = relative_to / path
    if not path.is_file():
        raise ScenarioError(f"unknown scenario {text_name!r}: not a file, and not one of "
                            f"{', '.join(available_scenarios())}")
    try:
        return path.read_text(encoding="utf-8"), str(path), path.stem
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError(f"{path}: cannot read: {exc}") from exc


def _document(text: str, source: str, chain: tuple[str, ...]) -> dict[str, Any]:
    """The file's mapping, on top of the scenario it ``extends`` (if any)."""
    try:
        document = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise ScenarioError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise ScenarioError(f"{source}: expected a mapping of scenario keys")
    parent = document.pop("extends", None)
    if parent is None:
        return document
    if not isinstance(parent, str):
        raise ScenarioError(f"{source}: extends: expected a scenario name or path")
    if source in chain:
        raise ScenarioError(f"{source}: extends: loops through {' -> '.join(chain)}")
    parent_text, parent_source, _ = _read(parent, Path(source).parent)
    base = _document(parent_text, parent_source, (*chain, source))
    base.pop("description", None)  # a description speaks for its own file only
    return deep_merge(base, document)
