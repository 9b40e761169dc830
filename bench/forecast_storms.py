"""The forecast benchmark's storms: simulated in-process (no broker), each river reading
validated by ingest from the payload its device would send, as the bus carries it.

Scenario faults off: the truth series, not the transport's duplicates and backfill,
which the stages screen. Used by bench/forecast_skill.py and tests/forecast.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from concurrent.futures import ProcessPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path

from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.forecast.history import Observation
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.scenario import load_scenario
from floodwatch.simulators.simulation import Simulation

REGISTRY = Path(__file__).resolve().parent.parent / "config" / "stations.yaml"
STORMS = ("typhoon", "typhoon-coast", "rainband")
TRAIN_SEEDS = (1, 2, 3, 4)
CALM_SEEDS = (1, 2)
SCORE_SEEDS = (101, 102)
EPOCH = datetime(2026, 6, 1, tzinfo=UTC)
SPACING = timedelta(days=4)  # a storm's 48 h plus two dry days: no storm total overlaps
LEAD_IN = timedelta(hours=12)

Series = dict[str, list[Observation]]


def storm_readings(scenario: str, seed: int, start: datetime) -> list[Reading]:
    """Every river gauge's readings of one simulated run, validated by ingest from the
    devices' payloads, after LEAD_IN of a calm day: every scenario starts its rivers at
    base flow, so the calm day is the history a running stage would hold when the storm
    begins (without it the first hours of each storm would be scored, and fitted, on no
    history)."""
    registry = StationRegistry.load(REGISTRY)
    validator = MessageValidator(registry, max_payload_bytes=16_384,
                                 max_future=timedelta(minutes=5), max_age=timedelta(days=30))
    lead_in = Simulation(load_scenario("calm"), registry, start=start - LEAD_IN, seed=seed,
                         duration_s=LEAD_IN.total_seconds(), scenario_faults=False)
    simulation = Simulation(load_scenario(scenario), registry, start=start, seed=seed,
                            scenario_faults=False)
    return [reading for event in (*lead_in.events(), *simulation.events())
            if event.topic.startswith("sensors/river/")
            for reading in validator.validate(event.topic, event.payload,
                                              event.sim_time).readings]


def publish_order(registry: StationRegistry) -> dict[str, int]:
    """Each station's place within a 10-minute tick, as the simulator publishes them: the
    registry's order, upstream gauges first. The forecasts depend on it (measured: at
    Fushiguro in rainband 201, a forecast issued before Nihonmatsu's reading of the same
    tick gave 140 min of warning where one issued after it gave 50), so both replays
    feed readings in this one order: the fit's, where every gauge's reading of a moment
    is known."""
    return {station.id: index for index, station in enumerate(registry)}


def observation_of(reading: Reading) -> Observation:
    """A validated river reading as a forecast history holds it."""
    level, rain = reading.values["level_m"], reading.values.get("rain_mm")
    assert isinstance(level, float)
    return Observation(at=reading.ts, level_m=level,
                       rain_mm=rain if isinstance(rain, float) else None)


def series_of(readings: Iterable[Reading]) -> Series:
    series: Series = {}
    for reading in readings:
        series.setdefault(reading.station, []).append(observation_of(reading))
    return series


def storm_series(scenario: str, seed: int, start: datetime) -> Series:
    return series_of(storm_readings(scenario, seed, start))


def _storm_job(job: tuple[str, int, datetime]) -> list[Reading]:
    return storm_readings(*job)


def simulate(runs: Sequence[tuple[str, int, datetime]], workers: int) -> list[list[Reading]]:
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_storm_job, runs))


def fitting_period(storms: Iterable[Series]) -> Series:
    """Storms laid one after another (their starts already SPACING apart), per gauge."""
    joined: Series = {}
    for storm in storms:
        for station, observations in storm.items():
            joined.setdefault(station, []).extend(observations)
    for observations in joined.values():
        observations.sort(key=lambda o: o.at)
    return joined
