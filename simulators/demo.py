"""The demo profile, simulator side: a scenario's storm happening *now*, compressed.

A scenario run at ``--speed 60`` against the production rules must stamp its readings in
the past (ingest refuses the future), so the dashboard of ``make demo`` showed every
station as 欠測 for most of the run. The demo profile instead lays the simulated storm
onto the wall clock ``compress`` times faster (``CompressedClock``): a reading simulated
at hour 10 is stamped, and sent, 5 minutes into the demo at ``compress = 120``. The
stack then runs on a configuration whose every time-based rule is divided by the same
factor (``floodwatch demo-config``, floodwatch/demo_config.py): the registry's
``interval_s``, the alert rules' windows, holds and rates per hour, the CAP expiries.
Seen from the stack, the compressed storm is an ordinary storm on an ordinary clock,
so the production rules and stale logic run unchanged and stay honest.

- The profile's folder (``.floodwatch/demo/`` for ``make demo``) holds ``demo.json``
  (``{"compress": 120, "stations": "stations.yaml"}``), the scaled registry, the scaled
  rules and ``demo.env``. ``floodwatch simulate --demo DIR`` reads its registry from the
  folder, whatever ``FLOODWATCH_STATIONS`` says, so devices and stack agree.
- Devices report every ``interval_s * compress`` simulated seconds, i.e. every scaled
  ``interval_s`` wall seconds: exactly what the stack's registry says. (A 300 s road
  sensor becomes a 3 s one at 120x, and so reports every 360 simulated seconds.)
- ``skip`` of simulated time (the calm lead-in) is back-filled at once, stamped on the
  compressed clock just before the demo starts, so the chart has a history and every
  station a fresh reading from the first second; the rest is paced live.
- The devices share one MQTT connection (``floodwatch-sim-{pid}``), so the back-filled
  burst reaches the stack in simulated order: on connections of their own they race
  each other through a burst, and at 120x a road sensor 9 s behind its neighbours is
  rightly called offline (measured: one false offline alert raised and cleared at the
  start of a run, before they shared one).
- Faults stay on simulated time: the typhoon's gauge outage (Nihonmatsu, 2 h from
  hour 19) is one wall minute of a silent gauge, and is shown as one.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from floodwatch.core.config_files import first_error
from floodwatch.core.readings import JST
from floodwatch.core.registry import RegistryError, StationRegistry
from floodwatch.simulators.clock import CompressedClock, default_start
from floodwatch.simulators.faults import FaultSpec
from floodwatch.simulators.scenario import Scenario, ScenarioError, load_scenario
from floodwatch.simulators.simulation import Simulation
from floodwatch.simulators.timeline import format_duration

MANIFEST = "demo.json"


class DemoError(Exception):
    """The demo profile's folder is missing or unusable; the message says which file."""


class DemoManifest(BaseModel):
    """``demo.json``: what the simulator needs to know of the profile."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    compress: int = Field(ge=1, le=3600, description="simulated seconds per wall second")
    stations: str = Field(min_length=1, description="the scaled registry, in the folder")

    def text(self) -> str:
        return json.dumps(self.model_dump(), indent=2) + "\n"


def load_profile(folder: Path) -> tuple[StationRegistry, DemoManifest]:
    """The demo registry and manifest of the profile in ``folder``."""
    path = folder / MANIFEST
    try:
        manifest = DemoManifest.model_validate_json(path.read_bytes())
    except OSError as exc:
        raise DemoError(f"{path}: cannot read ({exc.strerror or exc}); write the profile "
                        "with `floodwatch demo-config` first") from exc
    except ValidationError as exc:
        raise DemoError(f"{path}: {first_error(exc)}") from exc
    try:
        return StationRegistry.load(folder / manifest.stations), manifest
    except RegistryError as exc:
        raise DemoError(str(exc)) from exc


def simulated_registry(registry: StationRegistry, compress: int) -> StationRegistry:
    """The demo registry with its intervals back in simulated seconds (x ``compress``)."""
    stations = [station.model_copy(update={"interval_s": station.interval_s * compress})
                for station in registry]
    return StationRegistry(stations, municipalities=registry.municipalities,
                           rivers=registry.rivers)


@dataclass(frozen=True)
class DemoRun:
    simulation: Simulation
    clock: CompressedClock  # the pacer starts at clock.sim_anchor at speed clock.factor
    warnings: tuple[str, ...]

    def description(self, skip_s: float) -> str:
        clock, simulation = self.clock, self.simulation
        return (f"demo of scenario {simulation.scenario.name} at {clock.factor:g}x: "
                f"{format_duration(skip_s)} of simulated history back-filled before "
                f"{clock.wall_anchor.astimezone(JST).isoformat()}, then live until "
                f"{clock.wall(simulation.end).astimezone(JST).isoformat()} (simulated "
                f"{format_duration(simulation.duration_s)} in all)")


def build_demo(registry: StationRegistry, scenario: Scenario | str | Path, *,
               compress: int, skip_s: float = 0.0, duration_s: float | None = None,
               seed: int = 0, faults: Sequence[FaultSpec] = (),
               scenario_faults: bool = True, now: datetime | None = None) -> DemoRun:
    """The demo's simulation of ``scenario`` on the demo ``registry`` (intervals already
    divided by ``compress``): simulated ``skip_s`` is wall ``now``."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    duration = scenario.duration if duration_s is None else duration_s
    if not 0 <= skip_s < duration:
        raise ScenarioError(f"--skip must be shorter than the run ({duration:.0f} s)")
    now = now or datetime.now(UTC)
    # The world's own date and time of day (daylight, air temperature): today, at the
    # scenario's local_start if it has one. Only the stamps are compressed.
    sim_start = default_start(0.0, 1.0, now, scenario.local_start)
    clock = CompressedClock(sim_start + timedelta(seconds=skip_s),
                            now.replace(microsecond=0), compress)
    simulation = Simulation(scenario, simulated_registry(registry, compress), start=sim_start,
                            seed=seed, duration_s=duration, faults=faults,
                            scenario_faults=scenario_faults, stamp=clock.wall)
    warnings = [*simulation.warnings]
    for station in simulation.stations:
        if simulation.interval_s(station) != station.interval_s:
            warnings.append(f"scenario {scenario.name}: {station.id} reports every "
                            f"{simulation.interval_s(station) / compress:g} s, not the demo "
                            f"registry's {station.interval_s // compress} s (the scenario's "
                            "reporting: overrides it); the stack may call it stale")
    return DemoRun(simulation, clock, tuple(warnings))
