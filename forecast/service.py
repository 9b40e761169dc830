"""``floodwatch forecast``: the process that wires the bus, the forecaster, SQLite and
InfluxDB (docs/forecast.md, "The stage")."""

from __future__ import annotations

import asyncio
import functools
from pathlib import Path

import structlog

from floodwatch.core import bus
from floodwatch.core.commandline import EXIT_CONFIG, CheckedStage, StageFailed
from floodwatch.core.influx import InfluxClient, InfluxError
from floodwatch.core.line_queue import QueuedLineWriter
from floodwatch.core.mqtt import BrokerAddress, MqttSession
from floodwatch.core.quality_rules import GaugeQuality, QualityRulesError, river_quality
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.forecast import metrics
from floodwatch.forecast.forecaster import Forecaster
from floodwatch.forecast.gauges import Gauges
from floodwatch.forecast.processor import ForecastProcessor
from floodwatch.forecast.refit import load_models, models_path, refit_forever
from floodwatch.forecast.store import ForecastStore
from floodwatch.forecast.warm import warm_histories

log = structlog.get_logger("forecast")

Rules = dict[str, GaugeQuality]


def check(settings: Settings, registry: StationRegistry) -> CheckedStage:
    """The river gauges' quality rules (the alert-rules file's); StageFailed if wrong."""
    rules = quality_rules(settings, registry)
    rivers = sum(1 for station in registry if station.kind is StationKind.RIVER)
    return CheckedStage(
        summary=f"{settings.alerts_rules}: quality rules for {rivers} river gauges are valid",
        run=functools.partial(run_forecast, settings, registry, rules))


def quality_rules(settings: Settings, registry: StationRegistry) -> Rules:
    try:
        return river_quality(settings.alerts_rules, registry)
    except QualityRulesError as exc:
        raise StageFailed(f"FLOODWATCH_ALERTS_RULES: {exc}", EXIT_CONFIG) from exc


def store_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / "forecast" / f"{settings.forecast_client_id}.sqlite3"


async def run_forecast(settings: Settings, registry: StationRegistry, rules: Rules,
                       stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; then disconnect (what was not acknowledged comes again)."""
    store = ForecastStore(store_path(settings))
    models = load_models(models_path(settings))
    metrics.FITTED_AT.set(models.fitted_at.timestamp() if models is not None else 0)
    forecaster = Forecaster(registry, models)
    gauges = Gauges(registry, rules, forecaster, store.load())
    # Persistent: the readings that arrive while the stage is down wait on the broker.
    session = MqttSession(
        BrokerAddress.from_settings(settings), settings.forecast_client_id,
        [bus.READINGS.name(kind=StationKind.RIVER.value, station="+")],
        session_expiry_s=settings.mqtt_session_expiry_s,
        receive_maximum=settings.forecast_receive_maximum,
        keepalive_s=settings.mqtt_keepalive_s,
    )
    try:
        async with InfluxClient.from_settings(settings) as influx:
            try:
                await warm_histories(gauges, influx, settings.forecast_warm_h)
            except InfluxError as exc:
                # The live forecasts must not wait for InfluxDB: they start from the
                # readings that come (thin histories fall back to the trend, and say so).
                log.error("cannot read the histories from InfluxDB; they start empty",
                          error=str(exc))
            writer = QueuedLineWriter(store, influx, what="forecasts",
                                      on_backlog=metrics.BACKLOG.set)
            processor = ForecastProcessor(gauges, store, session, on_lines=writer.notify)
            await session.start()
            log.info("forecast running", gauges=len(gauges.histories), state=str(store.path),
                     models=str(models_path(settings)),
                     fitted_at=str(models.fitted_at) if models is not None else None,
                     client_id=settings.forecast_client_id)
            try:
                async with asyncio.TaskGroup() as tasks:
                    run = tasks.create_task(processor.run(stop), name="forecast-evaluate")
                    endless = [
                        tasks.create_task(writer.run(), name="forecast-influx"),
                        tasks.create_task(refit_forever(settings, registry, rules, forecaster),
                                          name="forecast-refit"),
                        tasks.create_task(session.watch(), name="forecast-broker-watch")]
                    tasks.create_task(_stop_others(run, endless), name="forecast-shutdown")
            finally:
                await session.close()
    finally:
        store.close()
    log.info("forecast stopped")


async def _stop_others(run: asyncio.Task[None], endless: list[asyncio.Task[None]]) -> None:
    # The InfluxDB queue is on disk: whatever is not written yet is written next time.
    await asyncio.wait([run])
    for task in endless:
        task.cancel()
