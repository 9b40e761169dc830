"""Running simulated devices against a broker: a scenario, or a load test.

These are the functions other code (tests, benchmarks, the ``simulate`` command) calls;
a recorded series is replayed by ``floodwatch simulate --replay`` (simulators/cli.py).
Each blocks until every message is acknowledged by the broker (QoS 1) and returns a
``PublishReport``; setting ``stop`` (a ``threading.Event``) ends a run early, cleanly.
``broker`` is a URL (``mqtt://host:port``, ``mqtts://user:pass@host:port``) or a
``floodwatch.core.mqtt.BrokerAddress``.

    report = run_scenario("mqtt://127.0.0.1:1883", registry, "typhoon",
                          duration_s=6 * 3600, speed=0)
    report = run_load("mqtt://127.0.0.1:1883", devices=500, rate=2000, duration_s=30)
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from floodwatch.core.mqtt import BrokerAddress
from floodwatch.core.registry import StationRegistry
from floodwatch.simulators.clock import default_start
from floodwatch.simulators.faults import FaultSpec
from floodwatch.simulators.load import load_devices, load_events
from floodwatch.simulators.publisher import PublishReport, publish_events
from floodwatch.simulators.scenario import Scenario, load_scenario
from floodwatch.simulators.simulation import Simulation


def broker_address(broker: str | BrokerAddress) -> BrokerAddress:
    """Raises BrokerAddressError (a ValueError) for a URL that cannot be used."""
    if isinstance(broker, BrokerAddress):
        return broker
    return BrokerAddress.from_url(broker)


def build_simulation(registry: StationRegistry, scenario: Scenario | str | Path = "typhoon",
                     *, duration_s: float | None = None, seed: int = 0, speed: float = 0.0,
                     start: datetime | None = None, faults: Sequence[FaultSpec] = (),
                     scenario_faults: bool = True, now: datetime | None = None
                     ) -> Simulation:
    """A scenario's simulation; the default start suits ``speed`` (simulators/clock.py)."""
    if not isinstance(scenario, Scenario):
        scenario = load_scenario(scenario)
    duration = scenario.duration if duration_s is None else duration_s
    if start is None:
        start = default_start(duration, speed, now or datetime.now(UTC), scenario.local_start)
    return Simulation(scenario, registry, start=start, seed=seed, duration_s=duration,
                      faults=faults, scenario_faults=scenario_faults)


def run_scenario(broker: str | BrokerAddress, registry: StationRegistry,
                 scenario: Scenario | str | Path = "typhoon", *,
                 duration_s: float | None = None, seed: int = 0, speed: float = 0.0,
                 start: datetime | None = None, faults: Sequence[FaultSpec] = (),
                 scenario_faults: bool = True, single_connection: bool | None = None,
                 stop: threading.Event | None = None) -> PublishReport:
    """Publish a scenario's ``duration_s`` simulated seconds (default: the scenario's)
    at ``speed`` (0: as fast as the broker acknowledges)."""
    simulation = build_simulation(registry, scenario, duration_s=duration_s, seed=seed,
                                  speed=speed, start=start, faults=faults,
                                  scenario_faults=scenario_faults)
    return publish_events(broker_address(broker), simulation.events(),
                          simulation.device_ids, speed=speed, sim_origin=simulation.start,
                          single_connection=single_connection, stop=stop)


def run_load(broker: str | BrokerAddress, *, devices: int, rate: float, duration_s: float,
             registry: StationRegistry | None = None, single_connection: bool | None = None,
             stop: threading.Event | None = None) -> PublishReport:
    """``devices`` devices sending ``rate`` messages per second in total for
    ``duration_s`` real seconds; synthetic ``r-NNN`` ids unless ``registry`` is given."""
    chosen = load_devices(devices, registry)
    start = datetime.now(UTC)
    events = load_events(chosen, rate, duration_s, start)
    return publish_events(broker_address(broker), events, [device for device, _ in chosen],
                          speed=1.0, sim_origin=start, single_connection=single_connection,
                          stop=stop, simulated=False)
