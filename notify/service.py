"""``floodwatch notify``: the process that wires the bus, the delivery ledger, the channels
and InfluxDB (delivery status)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import AsyncExitStack
from pathlib import Path

import httpx
import structlog

from floodwatch.core.advice import Advice, AdviceError
from floodwatch.core.commandline import EXIT_CONFIG, CheckedStage, StageFailed
from floodwatch.core.influx import InfluxClient
from floodwatch.core.mqtt import BrokerAddress, MqttSession
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.notify import metrics
from floodwatch.notify.channels.setup import Channels, build_channels
from floodwatch.notify.channels.social import SocialSender
from floodwatch.notify.config import ConfigError, NotifyConfig, name_problems
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.dispatch import Dispatcher, EventChannel
from floodwatch.notify.intake import TOPICS, Intake
from floodwatch.notify.policy import DeliveryPolicy
from floodwatch.notify.status import StatusLines, status_writer

log = structlog.get_logger("notify")

SHUTDOWN_GRACE_S = 15.0


class NoChannels(Exception):
    """Every configured channel has a problem: nothing could be delivered."""


def check(settings: Settings, registry: StationRegistry) -> CheckedStage:
    """The delivery configuration; StageFailed naming its variable when it is wrong
    (including a name residents' posts would lack, see config.name_problems), or when no
    channel of it turns out to be usable."""
    try:
        advice = Advice.load(settings.advice)
    except AdviceError as exc:
        raise StageFailed(f"FLOODWATCH_ADVICE: {exc}", EXIT_CONFIG) from exc
    try:
        config = NotifyConfig.load(settings.notify_config, advice=advice)
    except ConfigError as exc:
        raise StageFailed(f"FLOODWATCH_NOTIFY_CONFIG: {exc}", EXIT_CONFIG) from exc
    problems = name_problems(config, registry)
    if problems:  # the first, as one line: the rest show once it is fixed
        raise StageFailed(f"FLOODWATCH_NOTIFY_CONFIG: {settings.notify_config}: {problems[0]}",
                          EXIT_CONFIG)

    async def run(stop: asyncio.Event) -> None:
        try:
            await run_notify(settings, registry, config, stop)
        except NoChannels as exc:
            raise StageFailed(f"FLOODWATCH_NOTIFY_CONFIG: {exc}", EXIT_CONFIG) from exc

    return CheckedStage(f"{settings.notify_config}: delivery configuration is valid", run)


def ledger_path(settings: Settings) -> Path:
    return Path(settings.state_dir) / "notify" / f"{settings.notify_client_id}.sqlite3"


async def run_notify(settings: Settings, registry: StationRegistry, config: NotifyConfig,
                     stop: asyncio.Event, *, clock: Callable[[], float] = time.time,
                     ready: asyncio.Event | None = None) -> None:
    """The notifier: delivers every alert event from the bus to each configured channel
    through the delivery ledger (intake records, one worker per channel sends), until
    ``stop`` is set; posts and sends in progress are finished first. ``ready`` is set
    once the bus subscription is in place."""
    ledger = DeliveryLedger(ledger_path(settings))
    try:
        async with AsyncExitStack() as stack:
            http = await stack.enter_async_context(
                httpx.AsyncClient(timeout=settings.notify_http_timeout_s))
            channels = build_channels(settings, config, registry, http)
            if channels.network is not None:
                stack.push_async_callback(channels.network.close)
                unreachable = await channels.network.start()
                if unreachable is not None:
                    log.error("channel problem", channel="network", problem=unreachable)
            for problem in channels.problems:
                log.error("channel problem; channel disabled", channel=problem.channel,
                          problem=problem.problem)
            metrics.CHANNEL_PROBLEMS.set(len(channels.problems))
            if not channels.routes:
                raise NoChannels("no channel is usable: " + "; ".join(
                    str(problem) for problem in channels.problems) or "none is enabled")
            influx = await stack.enter_async_context(InfluxClient.from_settings(settings))
            status = status_writer(StatusLines(ledger.db), influx)
            # A state change is queued for InfluxDB and counted for the ledger's gauges.
            changed = metrics.LedgerStates(ledger.db, then=status.notify)
            workers = _workers(ledger, channels, registry, clock, changed)
            changed.refresh()  # what a previous run left (unknown posts included)

            def wake_all() -> None:
                for worker in workers:
                    worker.wake()
                changed()

            if channels.network is not None:
                network_dispatcher = workers[0]

                def network_back() -> None:
                    # Waiting retries go now, not at the end of their backoff.
                    ledger.retry_now("network", clock())
                    network_dispatcher.wake()

                channels.network.on_connected = network_back
            policy = DeliveryPolicy(config.policy, channels.routes, clock)
            session = MqttSession(BrokerAddress.from_settings(settings), settings.notify_client_id,
                               TOPICS, session_expiry_s=settings.mqtt_session_expiry_s,
                               receive_maximum=settings.notify_receive_maximum,
                               keepalive_s=settings.mqtt_keepalive_s)
            network = channels.network
            intake = Intake(ledger, session, policy.plan, clock,
                            pair_timeout_s=config.pair_timeout_s, on_deliveries=wake_all,
                            on_status=network.wake_status if network else lambda: None)
            await session.start()
            stack.push_async_callback(session.close)
            if ready is not None:
                ready.set()
            log.info("notify running", channels=channels.names, ledger=str(ledger.path),
                     client_id=settings.notify_client_id)
            async with asyncio.TaskGroup() as tasks:
                tasks.create_task(intake.run(stop), name="notify-intake")
                finite = [tasks.create_task(worker.run(stop), name=f"notify-{worker.name}")
                          for worker in workers]
                endless = [tasks.create_task(status.run(), name="notify-status"),
                           tasks.create_task(session.watch(), name="notify-broker-watch"),
                           tasks.create_task(changed.run(), name="notify-ledger-metrics")]
                if network is not None:
                    endless.append(tasks.create_task(network.run_status(ledger),
                                                     name="notify-network-status"))
                tasks.create_task(_shutdown(stop, wake_all, finite, endless),
                                  name="notify-shutdown")
    finally:
        ledger.close()
    log.info("notify stopped")


def _workers(ledger: DeliveryLedger, channels: Channels, registry: StationRegistry,
             clock: Callable[[], float], on_change: Callable[[], None]
             ) -> list[Dispatcher | SocialSender]:
    """One worker per channel (the network's first), each settled after a crash."""
    event_channels: list[EventChannel] = [*channels.webhooks]
    if channels.network is not None:
        event_channels.insert(0, channels.network)
    workers: list[Dispatcher | SocialSender] = [
        Dispatcher(ledger, channel, clock, on_change) for channel in event_channels]
    workers += [SocialSender(ledger, platform, composer, config=social, registry=registry,
                             clock=clock, on_change=on_change)
                for platform, social, composer in channels.social]
    for worker in workers:
        worker.recover()
    return workers


async def _shutdown(stop: asyncio.Event, wake_all: Callable[[], None],
                    finite: list[asyncio.Task[None]], endless: list[asyncio.Task[None]]) -> None:
    await stop.wait()
    wake_all()
    if finite:
        _, pending = await asyncio.wait(finite, timeout=SHUTDOWN_GRACE_S)
        for task in pending:  # what is still 'sending' is settled at the next start
            task.cancel()
    for task in endless:
        task.cancel()
