"""The table of floodwatch's stages, and the one lifecycle every entry point runs them by.

``floodwatch <stage>``, ``python -m floodwatch.<stage>`` and ``floodwatch up`` all take
their stages from ``STAGES`` and do the same things in the same order: the settings and
the station registry, then the stage's own ``check`` (rules, delivery configuration: one
line naming the variable and exit status 2 when something is wrong), then the checked
stage's ``run(stop)`` until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import gc
import importlib
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from floodwatch.core import config_paths
from floodwatch.core.commandline import (
    EXIT_RUNTIME,
    CheckedStage,
    StageFailed,
    configured_or_exit,
    fail,
    run_until_signal,
    serve_metrics,
)
from floodwatch.core.mqtt import MqttError
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings

Check = Callable[[Settings, StationRegistry], CheckedStage]


@dataclass(frozen=True)
class Stage:
    """One stage of the flow, as the command line knows it before importing it."""

    name: str
    help: str
    module: str  # the module whose ``check(settings, registry)`` returns the CheckedStage
    config: str | None = None  # what ``check`` reads beyond the settings and the registry
    without: str | None = None  # help of `floodwatch up --without-<name>`; None: always up
    # A module whose ``register(parser)`` adds the stage's own subcommands (`floodwatch
    # forecast fit`); it must import little: `floodwatch <stage>` imports it at each start.
    actions: str | None = None

    def check(self, settings: Settings, registry: StationRegistry) -> CheckedStage:
        """The stage ready to run, or StageFailed saying which variable is wrong."""
        check = cast(Check, importlib.import_module(self.module).check)
        return check(settings, registry)

    @property
    def check_help(self) -> str:
        what = f"settings, registry and {self.config}" if self.config else \
            "settings and registry"
        return f"validate {what}, then exit"


# Each stage's module is imported only when the stage runs: FastAPI, uvicorn, tweepy and
# Mastodon.py take 0.5 s to import, which `floodwatch ingest` must not pay at every
# (re)start with a backlog waiting.
STAGES = (
    Stage("ingest", "store device readings (MQTT -> InfluxDB)", "floodwatch.ingest.service"),
    Stage("forecast", "forecast river levels 3 h ahead (bus -> forecasts, InfluxDB)",
          "floodwatch.forecast.service", config="the rules' quality checks",
          without="do not forecast river levels", actions="floodwatch.forecast.commands"),
    Stage("alerts", "evaluate readings into alert events (bus -> alerts, status, history)",
          "floodwatch.alerts.service", config="rules"),
    Stage("notify", "deliver alert events (disaster network, webhooks, X, Mastodon)",
          "floodwatch.notify.service", config="the delivery config",
          without="do not deliver alerts (no channel configured locally)"),
    Stage("api", "serve the REST API and live feed", "floodwatch.api.service"),
)


def run_stage(stage: Stage, *, check_only: bool) -> None:
    """``floodwatch <stage> [--check]``: check the stage, then run it until a signal."""
    with collector_paused():
        configured = configured_or_exit()
        checked = checked_or_exit(stage, configured.settings, configured.registry)
    if check_only:
        print(checked.summary)
        return
    configured.log_sources()
    serve_metrics(configured.settings)
    run_or_exit(checked.run)


# Objects allocated (less those freed) between two collections of the youngest
# generation; Python's default is 700. A stage's steady work allocates short-lived
# objects by the hundred thousand (ingest: about ten per reading), and at 700 the
# collector ran ~700 young, ~60 middle and 5 full collections in a 100,000-reading
# backlog drain: 90-100 ms of ingest's ~1 s of CPU, the full ones scanning every
# message still waiting. At 50,000: 2 young collections, 11-13 ms (gc.callbacks in the
# process, two drains each). The young generation then holds at most 50,000 objects
# (a few MB), and the older generations are still collected at Python's own ratios.
YOUNG_GENERATION_THRESHOLD = 50_000


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while a stage starts, none of what it built then later, and
    fewer, larger collections from then on (YOUNG_GENERATION_THRESHOLD).

    Start-up (the stage's modules, its models, the station registry) allocates hundreds
    of thousands of objects that live as long as the process, and the collector scanned
    them again at every threshold crossing: a tenth of ingest's start (callgrind). What
    start-up leaves behind is then frozen out of later collections."""
    gc.disable()
    try:
        yield
    finally:
        gc.enable()
        gc.freeze()
        gc.set_threshold(YOUNG_GENERATION_THRESHOLD)


def checked_or_exit(stage: Stage, settings: Settings, registry: StationRegistry,
                    hint: str = "") -> CheckedStage:
    try:
        return stage.check(settings, registry)
    except StageFailed as exc:
        fail(f"{exc}{config_paths.missing_hint(settings, str(exc))}{hint}", exc.code)


def run_or_exit(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Run ``main(stop)`` until SIGTERM/SIGINT; a stage that cannot go on ends the process
    with its one line and exit status."""
    failure: StageFailed | None = None
    try:
        run_until_signal(main)
    except* StageFailed as errors:
        failure = first_failure(errors)
    except* MqttError as errors:  # every stage is an MQTT client: said one way for all
        failure = failure or StageFailed(f"FLOODWATCH_MQTT_URL: {first_failure(errors)}",
                                         EXIT_RUNTIME)
    if failure is not None:
        fail(str(failure), failure.code)


E = TypeVar("E", bound=BaseException)


def first_failure(errors: BaseExceptionGroup[E]) -> E:
    """The first exception of a group, through nested groups (a stage's TaskGroup in
    up's): the one line says what failed, not "unhandled errors in a TaskGroup"."""
    first = errors.exceptions[0]
    return first_failure(first) if isinstance(first, BaseExceptionGroup) else first
