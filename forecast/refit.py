"""The fitted models on disk, and their refit from InfluxDB history.

The models are one JSON file (FLOODWATCH_FORECAST_MODELS, by default
``{state_dir}/forecast/models.json``), loaded at start and replaced atomically (a
temporary file, fsynced, renamed over it) so a crash mid-save leaves the previous
models, never half a file. A refit reads each river gauge's last
FLOODWATCH_FORECAST_HISTORY_DAYS of readings, screens them as the live readings are
(a flagged reading is never a training input either), and fits in a worker thread: the
loop forecasts on meanwhile, with the old models until the new ones are swapped in --
checked first by forecast.acceptance: a gauge the new fit has no model for keeps its
own, and when the models to swap in forecast the window's rising water worse, the
models in use stay (logged, ``floodwatch_forecast_refits_total{outcome="kept"}``) and
the next refit is a refit interval later.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from floodwatch.core.influx import InfluxClient
from floodwatch.core.quality import FieldQuality
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.forecast import metrics
from floodwatch.forecast.acceptance import judge
from floodwatch.forecast.fit import MIN_RISING_H, fit_models
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.history import Observation
from floodwatch.forecast.model import FittedModels
from floodwatch.forecast.screening import GaugeScreen, screened
from floodwatch.forecast.storage import newest_river_ns, read_river

log = structlog.get_logger("forecast")

DAY_NS = 86_400 * 1_000_000_000
RETRY = timedelta(hours=1)
# How often the models file is looked at for models another process saved: a stat every
# 10 s costs nothing, and an operator's `floodwatch forecast fit` is in use within it.
RELOAD_CHECK_S = 10.0


def models_path(settings: Settings) -> Path:
    return settings.forecast_models or Path(settings.state_dir) / "forecast" / "models.json"


def load_models(path: Path) -> FittedModels | None:
    """The saved models; None when there are none yet, or the file is unreadable (said
    loudly: every forecast is then the trend, with that reason, until the next fit)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        log.error("cannot read the forecast models; forecasting by the trend",
                  path=str(path), error=str(exc))
        return None
    try:
        return FittedModels.from_json(data)
    except ValueError as exc:
        log.error("the forecast models file is not valid; forecasting by the trend",
                  path=str(path), error=str(exc)[:300])
        return None


def save_models(path: Path, models: FittedModels) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.tmp")
    with temporary.open("wb") as file:
        file.write(models.to_json())
        file.flush()
        os.fsync(file.fileno())
    temporary.replace(path)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


async def training_series(influx: InfluxClient, registry: StationRegistry,
                          rules: Mapping[str, Mapping[str, FieldQuality]], days: float
                          ) -> dict[str, list[Observation]]:
    """Each river gauge's screened readings over the ``days`` before the newest stored
    one (counted from the data: a replayed storm is fitted at its own dates)."""
    newest = await newest_river_ns(influx)
    if newest is None:
        return {}
    start = newest - int(days * DAY_NS)
    series: dict[str, list[Observation]] = {}
    for station in registry:
        if station.kind is not StationKind.RIVER:
            continue
        # One gauge per query: each answer stays small (60 days are 8,640 rows).
        stored = (await read_river(influx, start, newest, [station.id])).get(station.id, [])
        accepted, flagged = screened(stored, GaugeScreen(rules.get(station.id, {}),
                                                         station.interval_s))
        if flagged.levels or flagged.rain:
            log.info("flagged readings left out of the fit", station=station.id,
                     flagged=flagged.levels, flagged_rain=flagged.rain)
        series[station.id] = accepted
    return series


class NoHistory(Exception):
    """InfluxDB holds no river reading to fit on."""


class ModelsKept(Exception):
    """The new models were not taken (forecast.acceptance): the message says why."""


async def fit_now(settings: Settings, registry: StationRegistry,
                  rules: Mapping[str, Mapping[str, FieldQuality]],
                  current: FittedModels | None, *, force: bool = False) -> FittedModels:
    """Read, fit (in a worker thread), judge against ``current`` (the models in use,
    None: none) and save; the models swapped in: the new ones with the current models
    of gauges the new fit has none for (forecast.acceptance; ``force``: the new fit as
    it is, not judged). NoHistory when there is nothing to fit on, ModelsKept when the
    new models are worse: the saved models, if any, stay."""
    async with InfluxClient.from_settings(settings) as influx:
        series = await training_series(influx, registry, rules,
                                       settings.forecast_history_days)
    if not any(series.values()):
        raise NoHistory("no river readings in InfluxDB to fit the forecast models on")
    fitted_at = datetime.now(UTC)
    fitted = await asyncio.to_thread(fit_models, registry, series, fitted_at=fitted_at,
                                     min_rising_h=MIN_RISING_H)
    verdict = await asyncio.to_thread(judge, registry, current, fitted, series,
                                      min_rising_h=MIN_RISING_H)
    if force:
        models = fitted
    elif not verdict.swap:
        log.warning("new forecast models not taken; the models in use stay",
                    why=verdict.reason, samples=verdict.samples,
                    fitted_at=str(current.fitted_at) if current is not None else None)
        raise ModelsKept(f"keeping the models in use: {verdict.reason}")
    else:
        models = verdict.models
        for station, why in verdict.kept.items():
            log.warning("a gauge's models kept from an earlier fit", station=station,
                        why=why)
    await asyncio.to_thread(save_models, models_path(settings), models)
    metrics.FITTED_AT.set(fitted_at.timestamp())
    log.info("forecast models fitted", path=str(models_path(settings)),
             gauges=len(models.gauges), without=len(models.no_model),
             readings=sum(len(s) for s in series.values()), checked=verdict.reason,
             samples=verdict.samples)
    return models


async def refit_forever(settings: Settings, registry: StationRegistry,
                        rules: Mapping[str, Mapping[str, FieldQuality]],
                        forecaster: Forecaster) -> None:
    """Refit every FLOODWATCH_FORECAST_REFIT_H, counted from the models' ``fitted_at``
    (a restart does not refit models fitted an hour ago); a failed refit keeps the
    models in use and is tried again an hour later. Meanwhile, models saved by another
    process (`floodwatch forecast fit`) are taken up when they are newer."""
    interval = timedelta(hours=settings.forecast_refit_h)
    path = models_path(settings)
    known = _modified(path)
    retry_at: datetime | None = None
    while True:
        models = forecaster.models
        due = retry_at or (models.fitted_at + interval if models is not None
                           else datetime.now(UTC))
        wait = (due - datetime.now(UTC)).total_seconds()
        if wait > 0:
            await asyncio.sleep(min(wait, RELOAD_CHECK_S))
            if _modified(path) != known:
                known = _modified(path)
                _take_up(path, forecaster)
            continue
        retry_at = None
        try:
            forecaster.models = await fit_now(settings, registry, rules, forecaster.models)
        except ModelsKept:
            # Logged by fit_now. The kept models' fitted_at is old: the next try is
            # counted from now (after a restart, from their fitted_at: at once).
            metrics.REFITS.labels("kept").inc()
            retry_at = datetime.now(UTC) + interval
            continue
        except NoHistory as exc:
            log.info("forecast refit skipped; tried again in an hour", why=str(exc))
            retry_at = datetime.now(UTC) + RETRY
            continue
        except Exception:
            metrics.REFITS.labels("failed").inc()
            log.exception("forecast refit failed; the models in use stay")
            retry_at = datetime.now(UTC) + RETRY
            continue
        known = _modified(path)
        metrics.REFITS.labels("fitted").inc()


def _modified(path: Path) -> int | None:
    try:
        return path.stat().st_mtime_ns
    except OSError:
        return None


def _take_up(path: Path, forecaster: Forecaster) -> None:
    loaded = load_models(path)
    current = forecaster.models
    if loaded is not None and (current is None or loaded.fitted_at > current.fitted_at):
        forecaster.models = loaded
        metrics.FITTED_AT.set(loaded.fitted_at.timestamp())
        log.info("forecast models taken up from the file", path=str(path),
                 fitted_at=str(loaded.fitted_at), gauges=len(loaded.gauges))
