"""Forecast skill on simulated storms never used for fitting (issue 24's first Done-when).

    python -m bench.forecast_skill            (also part of ``python -m bench``)

The storms come from the simulator in-process (no broker; bench/forecast_storms.py):
each run's river readings as ingest validates them from the devices' payloads, fed in
one order (``publish_order``). The model is fitted on seeds 1-4 of typhoon,
typhoon-coast and rainband plus two calm days, laid one after another four days apart
as a month of InfluxDB history would be, and scored on seeds 101 and 102 of each of the
three: other tracks, timings and intensities (simulators/jitter.py). Then the harder
figure: leave one scenario out (fit on the other two, score it).

Printed: RMSE of the trend and of the model at +1 h and +3 h at the gauges with an
upstream gauge, the reduction, Nash-Sutcliffe; every evacuation (3) and danger (4)
crossing there, and how far ahead the forecasts' own crossings warned of it
(forecast/scores.py: the ``--band`` line within 3 h, held 30 min); microseconds per
forecast (median). Then the warnings the system would raise: the scored storms
replayed through the alert engine with the shipped rules, ``bound: low`` and
``bound: median`` (bench/forecast_warnings.py) -- the figures issue 24's Done-when
is judged on.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from bench.forecast_storms import (
    CALM_SEEDS,
    EPOCH,
    LEAD_IN,
    REGISTRY,
    SCORE_SEEDS,
    SPACING,
    STORMS,
    TRAIN_SEEDS,
    Series,
    fitting_period,
    publish_order,
    series_of,
    simulate,
    storm_readings,
)
from bench.forecast_warnings import engine_warnings, print_engine_skill
from bench.table import print_rows
from floodwatch.core.crossings import reference_levels
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.forecast.fit import fit_models
from floodwatch.forecast.forecaster import LEADS_MIN, Forecast, Forecaster
from floodwatch.forecast.history import GaugeHistory
from floodwatch.forecast.model import FittedModels
from floodwatch.forecast.scores import (
    Issued,
    Observed,
    WarningScore,
    nse,
    paired,
    rmse,
    score_warnings,
)

# The gauges with an upstream gauge (issue 24 scores RMSE and crossings there).
SCORED_GAUGES = ("akutsu", "motomiya", "nihonmatsu", "fushiguro", "marumori", "iwanuma")
WARNED_LEVELS = (3, 4)
BANDS = ("median", "low", "high")


@dataclass
class Scored:
    """A storm's forecasts at every gauge, by method and band."""

    issued: dict[tuple[str, str, str], list[Issued]] = field(default_factory=dict)
    observed: dict[str, Observed] = field(default_factory=dict)
    micros: list[float] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)


def replay(storm: Series, forecasters: Mapping[str, Forecaster]) -> Scored:
    """Feed the storm's readings in time order; forecast on each with every forecaster
    from the end of the calm lead-in on (the lead-in is history, not scored)."""
    scored = Scored(observed={station: Observed([(o.at, o.level_m) for o in observations])
                              for station, observations in storm.items()})
    histories = {station: GaugeHistory() for station in storm}
    order = publish_order(next(iter(forecasters.values())).registry)
    readings = sorted(((o.at, order[station], station, o) for station, observations
                       in storm.items() for o in observations), key=lambda r: r[:2])
    scored_from = readings[0][0] + LEAD_IN
    for moment, _, station, observation in readings:
        histories[station].add(observation)
        if moment < scored_from:
            continue
        for name, forecaster in forecasters.items():
            began = time.perf_counter_ns()
            forecast = forecaster.forecast(station, histories)
            if name == "model":
                scored.micros.append((time.perf_counter_ns() - began) / 1000)
                key = forecast.method + (" (fallback)" if forecast.fallback else "")
                scored.methods[key] = scored.methods.get(key, 0) + 1
            for band in BANDS:
                scored.issued.setdefault((name, station, band), []).append(
                    _issued(forecast, band))
    return scored


def _issued(forecast: Forecast, band: str) -> Issued:
    levels = [getattr(point, {"median": "level_m", "low": "low_m", "high": "high_m"}[band])
              for point in forecast.points]
    return Issued(forecast.issued_at, forecast.level_m, LEADS_MIN, levels)


@dataclass
class Skill:
    errors: dict[tuple[str, int], tuple[list[float], list[float]]] = field(default_factory=dict)
    warnings: dict[tuple[str, int], WarningScore] = field(default_factory=dict)
    crossings: list[tuple[str, str, int, float | None, float | None]] = field(
        default_factory=list)
    storms: int = 0
    river_gauges: int = 0
    micros: list[float] = field(default_factory=list)
    methods: dict[str, int] = field(default_factory=dict)


def score(storms: Sequence[tuple[str, Series]], models: FittedModels, band: str) -> Skill:
    registry = StationRegistry.load(REGISTRY)
    forecasters = {"trend": Forecaster(registry, None), "model": Forecaster(registry, models)}
    skill = Skill(storms=len(storms))
    skill.river_gauges = sum(1 for s in registry if s.kind is StationKind.RIVER)
    for label, storm in storms:
        scored = replay(storm, forecasters)
        skill.micros += scored.micros
        for key, count in scored.methods.items():
            skill.methods[key] = skill.methods.get(key, 0) + count
        for station in registry:
            if station.levels_m is None or station.id not in storm:
                continue
            observed = scored.observed[station.id]
            for method in forecasters:
                if station.id in SCORED_GAUGES:
                    for lead in (60, 180):
                        f, a = paired(scored.issued[(method, station.id, "median")], observed,
                                      lead)
                        pooled = skill.errors.setdefault((method, lead), ([], []))
                        pooled[0].extend(f)
                        pooled[1].extend(a)
            for number, _, metres in reference_levels(station.levels_m):
                if number not in WARNED_LEVELS:
                    continue
                leads: dict[str, list[float | None]] = {}
                for method in forecasters:
                    chosen = band if method == "model" else "median"
                    result = score_warnings(scored.issued[(method, station.id, chosen)],
                                            observed, metres)
                    skill.warnings.setdefault((method, number), WarningScore()).add(result)
                    leads[method] = result.crossing_leads_min
                if station.id in SCORED_GAUGES:
                    for trend_lead, model_lead in zip(leads["trend"], leads["model"],
                                                      strict=True):
                        skill.crossings.append((label, station.id, number, trend_lead,
                                                model_lead))
    return skill


def _lead_text(lead: float | None) -> str:
    return "missed" if lead is None else f"{lead:.0f} min"


def print_skill(title: str, skill: Skill) -> None:
    print(f"\n{title}")
    rows = []
    for lead in (60, 180):
        trend = rmse(*skill.errors[("trend", lead)])
        model = rmse(*skill.errors[("model", lead)])
        rows.append([f"+{lead // 60} h", f"{trend:.3f}", f"{model:.3f}",
                     f"{(1 - model / trend) * 100:.0f} %",
                     f"{nse(*skill.errors[('trend', lead)]):.3f}",
                     f"{nse(*skill.errors[('model', lead)]):.3f}",
                     f"{len(skill.errors[('model', lead)][0]):,}"])
    print_rows(["lead", "RMSE trend (m)", "RMSE model (m)", "reduction", "NSE trend",
                "NSE model", "forecasts"], rows)
    crossing_rows = [[label, station, str(level), _lead_text(trend), _lead_text(model)]
                     for label, station, level, trend, model in skill.crossings]
    if crossing_rows:
        print_rows(["storm", "gauge", "level", "trend warned ahead", "model warned ahead"],
                   crossing_rows)
    for method in ("trend", "model"):
        false = sum(skill.warnings[(method, level)].false_warnings for level in WARNED_LEVELS)
        raised = sum(skill.warnings[(method, level)].warnings for level in WARNED_LEVELS)
        per = false / skill.storms / (skill.river_gauges / 10)
        warned = [(t if method == "trend" else m) for _, _, _, t, m in skill.crossings]
        hit60 = sum(1 for lead in warned if lead is not None and lead >= 60)
        print(f"{method}: {hit60}/{len(warned)} evacuation/danger crossings warned >= 60 min "
              f"ahead; {raised} warnings raised at levels 3-4 over {skill.river_gauges} "
              f"gauges, {false} false = {per:.2f} per storm per 10 gauges")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.forecast_skill",
                                     description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--band", choices=BANDS, default="median",
                        help="the band whose crossing is a warning")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--score-seeds", type=int, nargs="+", default=list(SCORE_SEEDS),
                        help="seeds of the scored storms (never fitted: not 1-4)")
    parser.add_argument("--skip-loso", action="store_true",
                        help="skip the leave-one-scenario-out figures")
    args = parser.parse_args(argv)
    if set(args.score_seeds) & {*TRAIN_SEEDS, *CALM_SEEDS}:
        parser.error("a scored seed must not be one the model is fitted on")
    run(args.band, args.workers, loso=not args.skip_loso, score_seeds=args.score_seeds)


def run(band: str = "median", workers: int = 2, *, loso: bool = True,
        score_seeds: Sequence[int] = SCORE_SEEDS) -> None:
    started = time.monotonic()
    train_runs = [(name, seed) for name in STORMS for seed in TRAIN_SEEDS]
    train_runs += [("calm", seed) for seed in CALM_SEEDS]
    score_runs = [(name, seed) for name in STORMS for seed in score_seeds]
    runs = [(name, seed, EPOCH + index * SPACING)
            for index, (name, seed) in enumerate(train_runs + score_runs)]
    one = time.monotonic()
    storm_readings(*runs[0])
    one_s = time.monotonic() - one
    simulated = simulate(runs, workers)
    series = [series_of(readings) for readings in simulated]
    simulated_s = time.monotonic() - started
    train = dict(zip(train_runs, series[:len(train_runs)], strict=True))
    scored = list(zip(score_runs, series[len(train_runs):], strict=True))
    registry = StationRegistry.load(REGISTRY)
    fit_began = time.monotonic()
    models = fit_models(registry, fitting_period(train.values()),
                        fitted_at=datetime.now(UTC))
    fit_s = time.monotonic() - fit_began
    print(f"\nforecast skill: {len(train_runs)} storms and calm days fitted "
          f"({', '.join(STORMS)} seeds {TRAIN_SEEDS[0]}-{TRAIN_SEEDS[-1]}, calm seeds "
          f"{CALM_SEEDS[0]}-{CALM_SEEDS[-1]}), scored on {len(score_runs)} others "
          f"(seeds {', '.join(map(str, score_seeds))}); warnings from the {band}; "
          f"one 48 h storm simulated in {one_s:.1f} s, all in {simulated_s:.0f} s, "
          f"fit in {fit_s:.1f} s")
    labels = [(f"{name} {seed}", storm) for (name, seed), storm in scored]
    skill = score(labels, models, band)
    print_skill(f"at {', '.join(SCORED_GAUGES)} (storms never fitted)", skill)
    print(f"us per forecast (model, median of {len(skill.micros):,}): "
          f"{statistics.median(skill.micros):.0f}; methods used: "
          + ", ".join(f"{k} {v}" for k, v in sorted(skill.methods.items())))
    replayed = [(f"{name} {seed}", readings) for (name, seed), readings
                in zip(score_runs, simulated[len(train_runs):], strict=True)]
    print_engine_skill(engine_warnings(registry, replayed, Forecaster(registry, models),
                                       lead_in=LEAD_IN, scored_gauges=SCORED_GAUGES),
                       len(replayed), skill.river_gauges)
    if loso:
        for left_out in STORMS:
            kept = [storm for (name, _), storm in train.items() if name != left_out]
            models = fit_models(registry, fitting_period(kept), fitted_at=datetime.now(UTC))
            held = [(label, storm) for label, storm in labels if label.startswith(left_out + " ")]
            print_skill(f"leave one scenario out: fitted without {left_out}, scored on it",
                        score(held, models, band))
    print(f"\nforecast skill: {time.monotonic() - started:.0f} s")


if __name__ == "__main__":
    main()
