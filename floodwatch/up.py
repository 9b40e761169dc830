"""``floodwatch up``: every stage in one process, for a laptop or a demo.

The stages are the entries of the stage table (floodwatch/stages.py), checked and run
exactly as their own subcommands run them; they still talk to each other only through the
broker and InfluxDB, each with its own MQTT session and state file, so what runs here
behaves as the separate processes of a deployment do. One stage failing stops the others
(a stack that silently lost its alert engine would be worse than one that stops and says
so).
"""

from __future__ import annotations

import asyncio

import structlog

from floodwatch.core.commandline import (
    EXIT_CONFIG,
    CheckedStage,
    StageFailed,
    configured_or_exit,
    serve_metrics,
)
from floodwatch.stages import (
    STAGES,
    Stage,
    checked_or_exit,
    collector_paused,
    first_failure,
    run_or_exit,
)

log = structlog.get_logger("up")


def run_up(left_out: set[str]) -> None:
    """Check every stage but those ``left_out`` (names), then run them all until a signal."""
    with collector_paused():
        # Trying floodwatch out: the packaged sample stands in for a missing file (warned).
        configured = configured_or_exit(allow_sample=True)
        settings = configured.settings
        stages = [stage for stage in STAGES if stage.name not in left_out]
        checked = {stage: checked_or_exit(stage, settings, configured.registry, _hint(stage))
                   for stage in stages}
    configured.log_sources()
    serve_metrics(settings)
    log.info("stack starting", stages=[stage.name for stage in stages],
             dashboard=f"http://{settings.api_host}:{settings.api_port}/")
    run_or_exit(lambda stop: run_stack(checked, stop))


async def run_stack(checked: dict[Stage, CheckedStage], stop: asyncio.Event) -> None:
    async with asyncio.TaskGroup() as tasks:
        for stage, ready in checked.items():
            tasks.create_task(_run(stage, ready, stop), name=f"up-{stage.name}")
    log.info("stack stopped")


async def _run(stage: Stage, ready: CheckedStage, stop: asyncio.Event) -> None:
    try:
        await ready.run(stop)
    except* StageFailed as errors:
        failure = first_failure(errors)
        raise StageFailed(f"{failure}{_hint(stage)}" if failure.code == EXIT_CONFIG
                          else str(failure), failure.code) from failure


def _hint(stage: Stage) -> str:
    return f" (or run with --without-{stage.name})" if stage.without else ""
