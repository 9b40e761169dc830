"""River gauges: a lumped, lag-and-route rainfall-runoff model per station.

Each river station drains its own *local* catchment (``catchment_km2``, excluding the
catchments of gauges upstream of it) and receives the outflow of the stations upstream.
The rain on that catchment is the storm averaged over a disc of ``catchment_km2`` around
its ``centroid`` (``[lat, lon]``; default the gauge itself), simulators/rainfall.py.

1. **Losses** follow the SCS Curve Number method: of ``P`` mm of rain since the start,
   ``(P - Ia)^2 / (P - Ia + S)`` run off, with the retention ``S = 25400 / CN - 254``
   mm from the ``curve_number`` (CN; 100 is a car park, 60 a forest) and the initial
   abstraction ``Ia = initial_loss_mm`` (default ``0.2 S``). So the first rain soaks in,
   and the wetter the soil the larger the share of each further millimetre that runs
   off: a typhoon's late, heavy rain makes a steep rise. (1 mm/h on 1 km^2 is 1/3.6
   m^3/s.) **Antecedent soil moisture** is ``antecedent_rain_mm``: the rain of the days
   before the run still held in the soil, counted into ``P`` from the start. 0 (the
   default) is a dry basin; about ``Ia`` means the first rain already runs off, and more
   than that is a basin soaked by an earlier front (the base flow is left as it is).
   Measured on the typhoon (tests/simulators/test_hydrology.py): 40 / 80 mm of it raise
   Fushiguro's peak from 6.57 m to 6.91 / 7.14 m and bring its danger level 1.8 / 2.8 h
   sooner.
2. **Runoff.** The runoff splits into a fast (surface) and a slow (interflow) part, each
   a *linear reservoir*: storage ``S``, outflow ``Q = S / k``, ``dS/dt = inflow - Q``,
   integrated exactly over each step. The fast reservoir (``fast_k`` a few hours) makes
   the steep rising limb and the peak; the slow one (``slow_k`` a day or more) makes the
   long recession, which is why a river falls more slowly than it rose.
3. **Base flow.** A constant groundwater flow, ``base_flow_m3s_km2`` per km^2.
4. **Routing.** A station's outflow reaches its ``downstream`` station after a pure
   ``travel`` delay (default: river distance, i.e. great-circle distance times
   ``sinuosity``, over the flood-wave ``celerity``), then passes a linear reservoir
   ``route_k`` that flattens the wave. Upstream stations therefore peak first.
5. **Stage and levees** (simulators/stage.py): the flow becomes a water level through
   the gauge's H-Q rating curve (``zero_flow_m``, ``danger_flow_m3s``), and the river
   holds no more than the flow at its levee crest plus ``overtopping_m``
   (``bank_full_m``): the excess spills onto the floodplain (``spilled_m3``) and never
   reaches the stations downstream.

The river network is a tree: each station names at most one ``downstream`` station
(``auto``: the registry's ``downstream`` where it names one, else the next station of
the same river in registry order, which lists each river upstream to downstream;
``null``: an outlet). Stations are stepped upstream first.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence

from pydantic import BaseModel, ConfigDict, Field, field_validator

from floodwatch.core.registry import Station
from floodwatch.simulators.rainfall import Catchment, distance_km
from floodwatch.simulators.stage import RatingCurve, levee_capacity, rating_curve
from floodwatch.simulators.timeline import Duration, PositiveDuration

AUTO = "auto"


class RiverParams(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    catchment_km2: float = Field(default=200.0, gt=0, le=100_000)
    centroid: tuple[float, float] | None = None
    antecedent_rain_mm: float = Field(default=0.0, ge=0, le=2000)
    curve_number: float = Field(default=70.0, ge=30, le=100)
    initial_loss_mm: float | None = Field(default=None, ge=0)
    fast_fraction: float = Field(default=0.75, ge=0, le=1)
    fast_k: PositiveDuration = 3 * 3600.0
    slow_k: PositiveDuration = 30 * 3600.0
    base_flow_m3s_km2: float = Field(default=0.02, ge=0)
    downstream: str | None = AUTO
    travel: Duration | None = None
    route_k: PositiveDuration = 3600.0
    zero_flow_m: float | None = None
    danger_flow_m3s: float | None = Field(default=None, gt=0)
    bank_full_m: float | None = None
    overtopping_m: float = Field(default=0.3, ge=0, le=5)
    interval: PositiveDuration | None = None

    @field_validator("centroid")
    @classmethod
    def _a_place(cls, value: tuple[float, float] | None) -> tuple[float, float] | None:
        if value is not None and not (-90 <= value[0] <= 90 and -180 <= value[1] <= 180):
            raise ValueError(f"centroid {list(value)} is not a [latitude, longitude]")
        return value


class RoutingSpec(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    celerity_m_s: float = Field(default=2.5, gt=0, le=20)
    sinuosity: float = Field(default=1.3, ge=1, le=5)


class LinearReservoir:
    def __init__(self, k_s: float, outflow: float = 0.0) -> None:
        self.k_s = k_s
        self.storage = outflow * k_s

    @property
    def outflow(self) -> float:
        return self.storage / self.k_s

    def step(self, inflow: float, dt_s: float) -> float:
        # Exact for an inflow constant over the step, so any step length is stable.
        equilibrium = inflow * self.k_s
        self.storage = equilibrium + (self.storage - equilibrium) * math.exp(-dt_s / self.k_s)
        return self.outflow


class _Delay:
    """A flow series read back ``travel_s`` later (linear between recorded steps).

    Times are seconds since the scenario start; before it, the flow was ``initial``.
    """

    def __init__(self, travel_s: float, initial: float) -> None:
        self.travel_s = travel_s
        self._series: deque[tuple[float, float]] = deque([(0.0, initial)])

    def record(self, t_s: float, flow: float) -> None:
        self._series.append((t_s, flow))

    def read(self, t_s: float) -> float:
        wanted = t_s - self.travel_s
        series = self._series
        while len(series) >= 2 and series[1][0] <= wanted:
            series.popleft()  # never read again: reads only move forward in time
        (t0, q0) = series[0]
        if wanted <= t0 or len(series) == 1:
            return q0
        t1, q1 = series[1]
        return q0 + (q1 - q0) * (wanted - t0) / (t1 - t0)


class RiverGauge:
    """One station's local catchment, incoming reaches and rating curve."""

    def __init__(self, station: Station, params: RiverParams, rating: RatingCurve,
                 total_area_km2: float) -> None:
        self.station = station
        self.params = params
        self.rating = rating
        self.total_area_km2 = total_area_km2
        self.base_flow = params.base_flow_m3s_km2 * params.catchment_km2
        self.retention_mm = 25_400 / params.curve_number - 254
        self.initial_loss_mm = (0.2 * self.retention_mm if params.initial_loss_mm is None
                                else params.initial_loss_mm)
        self.rain_so_far_mm = params.antecedent_rain_mm
        self.capacity_m3s = levee_capacity(station, rating, params.bank_full_m,
                                           params.overtopping_m)
        self.spilled_m3 = 0.0
        self.fast = LinearReservoir(params.fast_k)
        self.slow = LinearReservoir(params.slow_k)
        self.inflows: list[tuple[_Delay, LinearReservoir]] = []
        self.flow = self.base_flow
        self.outlet: _Delay | None = None

    @property
    def stage(self) -> float:
        return self.rating.stage(self.flow)

    def runoff_mm(self, rain_mm: float) -> float:
        """Cumulative direct runoff of ``rain_mm`` cumulative rain (SCS Curve Number)."""
        excess = rain_mm - self.initial_loss_mm
        return excess * excess / (excess + self.retention_mm) if excess > 0 else 0.0

    def step(self, t_s: float, rain_mm_h: float, dt_s: float) -> None:
        """Advance from ``t_s - dt_s`` to ``t_s`` under ``rain_mm_h`` of rain."""
        before = self.runoff_mm(self.rain_so_far_mm)
        self.rain_so_far_mm += rain_mm_h * dt_s / 3600
        runoff_mm = self.runoff_mm(self.rain_so_far_mm) - before
        runoff_m3s = runoff_mm * self.params.catchment_km2 * 1000 / dt_s
        share = self.params.fast_fraction
        local = (self.base_flow + self.fast.step(runoff_m3s * share, dt_s)
                 + self.slow.step(runoff_m3s * (1 - share), dt_s))
        routed = sum(reach.step(delay.read(t_s), dt_s) for delay, reach in self.inflows)
        self.flow = local + routed
        if self.flow > self.capacity_m3s:
            self.spilled_m3 += (self.flow - self.capacity_m3s) * dt_s
            self.flow = self.capacity_m3s
        if self.outlet is not None:
            self.outlet.record(t_s, self.flow)


class RiverNetwork:
    """Every river station of a registry, wired into a tree and stepped upstream first."""

    def __init__(self, stations: Sequence[Station], params: Mapping[str, RiverParams],
                 routing: RoutingSpec) -> None:
        by_id = {station.id: station for station in stations}
        downstream = {s.id: _downstream_of(s, stations, params[s.id]) for s in stations}
        for station_id, target in downstream.items():
            if target is not None and target not in by_id:
                raise ValueError(f"{station_id}: downstream {target!r} is not a river station "
                                 "of the registry")
        self.order = _upstream_first(downstream)
        upstream: dict[str, list[str]] = {station_id: [] for station_id in by_id}
        for station_id, target in downstream.items():
            if target is not None:
                upstream[target].append(station_id)
        area: dict[str, float] = {}
        base: dict[str, float] = {}
        self.gauges: dict[str, RiverGauge] = {}
        for station_id in self.order:
            station, own = by_id[station_id], params[station_id]
            area[station_id] = own.catchment_km2 + sum(area[u] for u in upstream[station_id])
            rating = rating_curve(station, own.zero_flow_m, own.danger_flow_m3s,
                                  area[station_id])
            gauge = RiverGauge(station, own, rating, area[station_id])
            for up in upstream[station_id]:
                upper = self.gauges[up]
                travel = upper.params.travel
                if travel is None:
                    travel = (distance_km(_point(upper.station), _point(station)) * 1000
                              * routing.sinuosity / routing.celerity_m_s)
                upper.outlet = _Delay(travel, base[up])
                gauge.inflows.append((upper.outlet, LinearReservoir(own.route_k, base[up])))
            base[station_id] = gauge.base_flow + sum(base[u] for u in upstream[station_id])
            gauge.flow = base[station_id]
            self.gauges[station_id] = gauge
        self.downstream = downstream

    def catchments(self) -> list[Catchment]:
        """Each gauge's local catchment, where its rain is averaged."""
        return [Catchment(gauge.station.id, gauge.params.centroid or _point(gauge.station),
                          gauge.params.catchment_km2) for gauge in self.gauges.values()]

    def step(self, t_s: float, rain_mm_h: Mapping[str, float], dt_s: float) -> None:
        for station_id in self.order:
            self.gauges[station_id].step(t_s, rain_mm_h[station_id], dt_s)


def _point(station: Station) -> tuple[float, float]:
    return station.location.lat, station.location.lon


def _downstream_of(station: Station, stations: Sequence[Station],
                   params: RiverParams) -> str | None:
    if params.downstream != AUTO:
        return params.downstream
    if station.downstream is not None:  # the registry's network, which the forecast uses
        return station.downstream
    same_river = [s.id for s in stations if s.river == station.river]
    position = same_river.index(station.id)
    return same_river[position + 1] if position + 1 < len(same_river) else None


def _upstream_first(downstream: Mapping[str, str | None]) -> list[str]:
    """Station ids ordered so every station comes after all stations draining into it."""
    pending = {station_id: 0 for station_id in downstream}
    for target in downstream.values():
        if target is not None:
            pending[target] += 1
    ready = [station_id for station_id, count in pending.items() if count == 0]
    order: list[str] = []
    while ready:
        station_id = ready.pop(0)
        order.append(station_id)
        target = downstream[station_id]
        if target is not None:
            pending[target] -= 1
            if pending[target] == 0:
                ready.append(target)
    if len(order) != len(downstream):
        looped = sorted(set(downstream) - set(order))
        raise ValueError(f"the downstream links form a loop through {', '.join(looped)}")
    return order
