"""``floodwatch alerts``: the process that wires the bus, the engine, SQLite and InfluxDB."""

from __future__ import annotations

import asyncio
import functools
from datetime import UTC, datetime
from pathlib import Path

import structlog

from floodwatch.alerts.cap_profile import CapProfile
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.history import history_writer
from floodwatch.alerts.processor import AlertProcessor
from floodwatch.alerts.rules import AlertRules, RulesError
from floodwatch.alerts.silence import ALL, partition_scope
from floodwatch.alerts.store import AlertStore, NamespaceMismatch
from floodwatch.core import bus
from floodwatch.core.advice import Advice, AdviceError
from floodwatch.core.commandline import EXIT_CONFIG, CheckedStage, StageFailed
from floodwatch.core.influx import InfluxClient
from floodwatch.core.mqtt import BrokerAddress, MqttSession
from floodwatch.core.readings import bus_topic
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.core.settings import Settings

log = structlog.get_logger("alerts")


def check(settings: Settings, registry: StationRegistry) -> CheckedStage:
    """The rules (checked against the whole registry: one rules file serves every
    partition), the advice (CAP's instruction) and this process's partition;
    StageFailed when one is wrong."""
    try:
        rules = AlertRules.load(settings.alerts_rules, registry)
    except RulesError as exc:
        raise StageFailed(f"FLOODWATCH_ALERTS_RULES: {exc}", EXIT_CONFIG) from exc
    try:
        advice = Advice.load(settings.advice)
    except AdviceError as exc:
        raise StageFailed(f"FLOODWATCH_ADVICE: {exc}", EXIT_CONFIG) from exc
    own = partition(registry, settings.alerts_basins)
    if len(own) == 0:
        raise StageFailed(f"FLOODWATCH_ALERTS_BASINS: no station of the registry is in "
                          f"{settings.alerts_basins!r}", EXIT_CONFIG)
    return CheckedStage(
        summary=f"{settings.alerts_rules}: rules for {len(own)} stations are valid",
        run=functools.partial(run_alerts, settings, own, rules, advice))


def partition(registry: StationRegistry, basins: str | None) -> StationRegistry:
    """The stations of ``basins`` (comma-separated), or all of them."""
    if basins is None:
        return registry
    wanted = set(basins.split(","))
    return StationRegistry([station for station in registry if station.basin in wanted])


def subscription_topics(registry: StationRegistry, partitioned: bool) -> list[str]:
    if not partitioned:
        return [*bus.READINGS.filters, *bus.FORECASTS.filters, *bus.COMMANDS.filters]
    topics = []
    for station in registry:
        topics += [bus_topic(station.kind, station.id),
                   bus.commands_for(station.id)]
        if station.kind is StationKind.RIVER:
            topics.append(bus.FORECASTS.name(station=station.id))
    return topics


def store_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / "alerts" / f"{settings.alerts_client_id}.sqlite3"


def wall_clock() -> datetime:
    return datetime.now(UTC)


async def run_alerts(settings: Settings, registry: StationRegistry, rules: AlertRules,
                     advice: Advice, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; then confirm what was published and disconnect.

    ``registry`` is this engine's partition (see ``partition``)."""
    store = AlertStore(store_path(settings))
    try:
        namespace = store.cap_namespace(settings.deployment_id)
    except NamespaceMismatch as exc:
        store.close()
        raise StageFailed(f"FLOODWATCH_DEPLOYMENT_ID: {exc}", EXIT_CONFIG) from exc
    states, clock = store.load()
    everything = ALL if settings.alerts_basins is None \
        else partition_scope(settings.alerts_basins)
    # Live, events are issued by the wall clock (their CAP ``sent``); nothing else in
    # the engine reads it.
    engine = Engine(registry, rules, states, clock, store.load_no_data(),
                    everything=everything, issue_clock=wall_clock)
    session = MqttSession(
        BrokerAddress.from_settings(settings),
        settings.alerts_client_id,
        subscription_topics(registry, settings.alerts_basins is not None),
        session_expiry_s=settings.mqtt_session_expiry_s,
        receive_maximum=settings.alerts_receive_maximum,
        keepalive_s=settings.mqtt_keepalive_s,
    )
    try:
        async with InfluxClient.from_settings(settings) as influx:
            history = history_writer(store, influx)
            processor = AlertProcessor(engine, store, session, rules,
                                       profile=CapProfile(rules, advice, namespace),
                                       tick_s=settings.alerts_tick_s,
                                       cap_status=settings.alerts_cap_status,
                                       on_history=history.notify)
            await session.start()
            await processor.start()
            log.info("alerts running", stations=len(registry), state=str(store.path),
                     client_id=settings.alerts_client_id)
            try:
                async with asyncio.TaskGroup() as tasks:
                    run = tasks.create_task(processor.run(stop), name="alerts-evaluate")
                    endless = [tasks.create_task(history.run(), name="alerts-history"),
                               tasks.create_task(session.watch(), name="alerts-broker-watch")]
                    tasks.create_task(_stop_others(run, endless), name="alerts-shutdown")
                await processor.drain_publishes()
            finally:
                await session.close()
    finally:
        store.close()
    log.info("alerts stopped")


async def _stop_others(run: asyncio.Task[None], endless: list[asyncio.Task[None]]) -> None:
    # The history queue is on disk: whatever is not yet in InfluxDB is written next time.
    await asyncio.wait([run])
    for task in endless:
        task.cancel()
