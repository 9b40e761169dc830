"""The simulated basin as a pure generator of MQTT events, with no broker involved.

``Simulation(...).events()`` yields ``Event(sim_time, device, topic, payload)`` in
simulated-time order. Everything is a function of (scenario, registry, seed, start,
duration, faults): the same arguments give the same sequence of (topic, payload), byte
for byte, which is what the tests check and what makes a demo reproducible.

The seed draws the sensors' noise and faults and, for any seed but 0, the weather too
(within the scenario's ``jitter`` bounds, simulators/jitter.py): seed 0 is the
scenario as written.

Each step of the world (``scenario.step``, a minute by default) evaluates the rain at
the middle of the step -- at every station's mast for its rain gauge and road surface,
and averaged over every river gauge's catchment for the river -- and advances the river
network (upstream first), the road surfaces and the rain buckets. Devices report on
their own clock, aligned to whole multiples of their interval (a 10-minute gauge
reports at :00, :10, ...), in registry order when several report at the same instant.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta

from floodwatch.core.registry import Station, StationKind, StationRegistry
from floodwatch.simulators.devices import RiverDevice, RoadDevice
from floodwatch.simulators.faults import FaultSpec
from floodwatch.simulators.hydrology import RiverNetwork, RiverParams
from floodwatch.simulators.injector import DeviceFaults
from floodwatch.simulators.messages import Event, Observation
from floodwatch.simulators.rainfall import RainField
from floodwatch.simulators.roads import RoadParams, RoadSurface
from floodwatch.simulators.scenario import Scenario, ScenarioError
from floodwatch.simulators.timeline import local_hour


class Simulation:
    def __init__(self, scenario: Scenario, registry: StationRegistry, *, start: datetime,
                 seed: int = 0, duration_s: float | None = None,
                 faults: Sequence[FaultSpec] = (), scenario_faults: bool = True,
                 stamp: Callable[[datetime], datetime] | None = None) -> None:
        if start.tzinfo is None:
            raise ValueError("start must be timezone-aware")
        self.scenario = scenario
        self.registry = registry
        self.seed = seed
        self.start = start.astimezone(UTC).replace(microsecond=0)
        self.duration_s = scenario.duration if duration_s is None else duration_s
        self.end = self.start + timedelta(seconds=self.duration_s)
        self.faults = (*(scenario.faults if scenario_faults else ()), *faults)
        self.stamp = stamp  # device time from simulated time (the demo's compressed clock)
        self.stations: list[Station] = list(registry)
        self.warnings = self._check_names()
        self.river_network()  # refuse a bad network now, not on the first event

    def river_network(self) -> RiverNetwork:
        """A fresh river network of the scenario's basin, at base flow (no rain yet)."""
        rivers = [s for s in self.stations if s.kind is StationKind.RIVER]
        try:
            return RiverNetwork(rivers, {s.id: self._river_params(s) for s in rivers},
                                self.scenario.routing)
        except ValueError as exc:
            raise ScenarioError(f"scenario {self.scenario.name}: rivers: {exc}") from exc

    @property
    def device_ids(self) -> list[str]:
        return [station.id for station in self.stations]

    def _river_params(self, station: Station) -> RiverParams:
        return self.scenario.rivers.get(station.id, self.scenario.river_defaults)

    def _road_params(self, station: Station) -> RoadParams:
        return self.scenario.roads.get(station.id, self.scenario.road_defaults)

    def interval_s(self, station: Station) -> int:
        if station.kind is StationKind.RIVER:
            own, common = self._river_params(station).interval, self.scenario.reporting.river
        else:
            own, common = self._road_params(station).interval, self.scenario.reporting.road
        chosen = own or common or station.interval_s
        return max(1, round(chosen))

    def _check_names(self) -> list[str]:
        warnings = []
        kinds = {station.id: station.kind for station in self.stations}
        for section, kind in (("rivers", StationKind.RIVER), ("roads", StationKind.ROAD)):
            for station_id in getattr(self.scenario, section):
                if kinds.get(station_id) is not kind:
                    warnings.append(f"scenario {self.scenario.name}: {section}.{station_id}: "
                                    f"not a {kind.value} station of the registry; ignored")
        for spec in self.faults:
            unknown = [s for s in spec.stations if s not in kinds]
            if unknown:
                warnings.append(f"fault {spec.kind.value}: stations not in the registry: "
                                f"{', '.join(unknown)}")
        return warnings

    def events(self) -> Iterator[Event]:
        """Every message of the run, in simulated-time order."""
        scenario = self.scenario
        rivers = self.river_network()  # fresh state: events() may run again
        rain = RainField(scenario.rain, self.stations, self.seed, rivers.catchments())
        gauges = {s.id: RiverDevice(s, self.seed) for s in self.stations
                  if s.kind is StationKind.RIVER}
        roads = {s.id: (RoadDevice(s, self.seed), RoadSurface(self._road_params(s),
                                                              scenario.weather))
                 for s in self.stations if s.kind is StationKind.ROAD}
        start_hour = local_hour(self.start)
        for index, station in enumerate(self.stations):
            if station.id in roads:  # a zero-length step: the temperature of the start
                roads[station.id][1].step(0.0, start_hour, rain.mm_h(index, 0.0), 0.0)
        known = frozenset(self.device_ids)
        injectors = [DeviceFaults(s.id, s.kind, self.faults, seed=self.seed, origin=self.start,
                                  known_ids=known, ts_format=scenario.ts_format,
                                  stamp=self.stamp)
                     for s in self.stations]
        start_epoch, end_epoch = self.start.timestamp(), self.end.timestamp()
        queue: list[tuple[float, int]] = []
        for index, station in enumerate(self.stations):
            interval = self.interval_s(station)
            queue.append((math.ceil(start_epoch / interval) * interval, index))
        heapq.heapify(queue)
        now = 0.0  # seconds since start: the world's clock
        current_rain = [0.0] * len(self.stations)
        while queue and queue[0][0] < end_epoch:
            due, index = heapq.heappop(queue)
            target = due - start_epoch
            while now < target - 1e-9:
                dt = min(scenario.step, target - now)
                current_rain = rain.all_mm_h(now + dt / 2)
                moment = self.start + timedelta(seconds=now + dt)
                by_id = {s.id: current_rain[i] for i, s in enumerate(self.stations)}
                rivers.step(now + dt, rain.catchments_mm_h(now + dt / 2), dt)
                for station_id, gauge in gauges.items():
                    gauge.collect(by_id[station_id] * dt / 3600)
                hour = local_hour(moment)
                for station_id, (_, surface) in roads.items():
                    surface.step(now + dt, hour, by_id[station_id], dt)
                now += dt
            station = self.stations[index]
            moment = datetime.fromtimestamp(due, UTC)
            observation: Observation
            if station.kind is StationKind.RIVER:
                observation = gauges[station.id].observe(
                    moment, rivers.gauges[station.id].stage, current_rain[index])
            else:
                device, surface = roads[station.id]
                observation = device.observe(moment, surface)
            yield from injectors[index].process(observation, moment)
            heapq.heappush(queue, (due + self.interval_s(station), index))
