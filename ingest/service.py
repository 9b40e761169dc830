"""``floodwatch ingest``: the process that wires the broker, the pipeline and InfluxDB."""

from __future__ import annotations

import asyncio
import functools
from datetime import timedelta
from pathlib import Path

import structlog

from floodwatch.core import bus
from floodwatch.core.commandline import CheckedStage
from floodwatch.core.influx import InfluxClient
from floodwatch.core.mqtt import BrokerAddress, MqttSession
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.ingest.pipeline import IngestPipeline
from floodwatch.ingest.spool import Spool
from floodwatch.ingest.validate import MessageValidator

log = structlog.get_logger("ingest")


def subscription_topics(share_group: str | None) -> list[str]:
    if share_group is None:
        return list(bus.DEVICE.filters)
    return [bus.shared(topic, share_group) for topic in bus.DEVICE.filters]


def check(settings: Settings, registry: StationRegistry) -> CheckedStage:
    """Ingest needs nothing beyond the settings and the registry, both already valid."""
    return CheckedStage(
        summary=f"{settings.stations}: settings and {len(registry)} stations are valid",
        run=functools.partial(run_ingest, settings, registry))


async def run_ingest(settings: Settings, registry: StationRegistry, stop: asyncio.Event) -> None:
    """Run until ``stop`` is set; then store what was received and disconnect."""
    validator = MessageValidator(
        registry,
        max_payload_bytes=settings.max_payload_bytes,
        max_future=timedelta(seconds=settings.max_future_s),
        max_age=timedelta(days=settings.max_age_days),
    )
    source = MqttSession(
        BrokerAddress.from_settings(settings),
        settings.ingest_client_id,
        subscription_topics(settings.ingest_share_group),
        session_expiry_s=settings.mqtt_session_expiry_s,
        receive_maximum=settings.ingest_receive_maximum,
        keepalive_s=settings.mqtt_keepalive_s,
    )
    spool = Spool(Path(settings.state_dir) / "spool" / settings.ingest_client_id,
                  settings.spool_max_bytes, settings.spool_alarm_ratio)
    async with InfluxClient.from_settings(settings) as influx:
        pipeline = IngestPipeline(
            source, validator, registry, influx, spool,
            batch_size=settings.ingest_batch_size,
            batch_interval_s=settings.ingest_batch_interval_s,
            batch_pause_s=settings.ingest_batch_pause_s,
        )
        try:
            async with asyncio.TaskGroup() as tasks:
                # Receiving first: a resumed session's backlog arrives right after the
                # CONNACK, ahead of the SUBACK that start() waits for (20,000 messages,
                # the receive maximum, ~0.1 s here): it is worked on as it comes.
                receive = tasks.create_task(pipeline.receive(stop), name="ingest-receive")
                store = tasks.create_task(pipeline.store(), name="ingest-store")
                replay = tasks.create_task(pipeline.replay(), name="ingest-replay")
                await source.start()  # raises on a refusal: the group cancels the rest
                log.info("ingest running", stations=len(registry),
                         database=settings.influx_db, client_id=settings.ingest_client_id)
                watch = tasks.create_task(source.watch(), name="ingest-broker-watch")
                tasks.create_task(_bound_shutdown(stop, receive, store, [replay, watch]),
                                  name="ingest-shutdown-guard")
        finally:
            await source.close()
        log.info("ingest stopped")


SHUTDOWN_GRACE_S = 15.0


async def _bound_shutdown(
    stop: asyncio.Event, receive: asyncio.Task[None], store: asyncio.Task[None],
    endless: list[asyncio.Task[None]],
) -> None:
    """After a stop request, give the last batches SHUTDOWN_GRACE_S to be stored.

    If InfluxDB is down at that moment, or the receiver is held by a full publish window
    (a broker that stopped confirming), waiting longer would only delay a restart: what
    is not stored is not acknowledged either, so the broker redelivers it later.
    """
    stop_requested = asyncio.create_task(stop.wait())
    await asyncio.wait([stop_requested, store], return_when=asyncio.FIRST_COMPLETED)
    stop_requested.cancel()
    if not store.done():
        _, pending = await asyncio.wait([store], timeout=SHUTDOWN_GRACE_S)
        if pending:
            log.warning("stopping with unstored readings; the broker will redeliver them")
            store.cancel()
            receive.cancel()  # its batch was never handed over: nothing of it is acked
    # The spool stays on disk and is replayed at the next start.
    for task in endless:
        task.cancel()
