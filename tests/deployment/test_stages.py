"""The stage table drives every entry point: ``floodwatch <stage>``, ``python -m
floodwatch.<stage>`` and ``floodwatch up``."""

from __future__ import annotations

import argparse
import asyncio
import gc
import importlib
import os
import subprocess
import sys

import pytest

from floodwatch.alerts import service as alerts_service
from floodwatch.api import service as api_service
from floodwatch.cli import build_parser
from floodwatch.core.commandline import EXIT_CONFIG, CheckedStage, StageFailed
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.forecast import service as forecast_service
from floodwatch.ingest import service as ingest_service
from floodwatch.notify import service as notify_service
from floodwatch.stages import (
    STAGES,
    YOUNG_GENERATION_THRESHOLD,
    Check,
    Stage,
    collector_paused,
)
from floodwatch.up import run_stack
from tests.conftest import SAMPLE_REGISTRY
from tests.support import REPO_ROOT

NAMES = [stage.name for stage in STAGES]
TOOLS = {"init", "simulate", "demo-config", "services", "broker-acl", "settings", "healthcheck"}
CONFIG = {"FLOODWATCH_STATIONS": str(SAMPLE_REGISTRY),
          "FLOODWATCH_ALERTS_RULES": str(REPO_ROOT / "config" / "alert-rules.yaml"),
          "FLOODWATCH_NOTIFY_CONFIG": str(REPO_ROOT / "config" / "notify.yaml")}

SUMMARIES = {
    "ingest": f"{SAMPLE_REGISTRY}: settings and 14 stations are valid",
    "forecast": f"{CONFIG['FLOODWATCH_ALERTS_RULES']}: quality rules for 10 river gauges "
                "are valid",
    "alerts": f"{CONFIG['FLOODWATCH_ALERTS_RULES']}: rules for 14 stations are valid",
    "notify": f"{CONFIG['FLOODWATCH_NOTIFY_CONFIG']}: delivery configuration is valid",
    "api": f"{SAMPLE_REGISTRY}: settings and 14 stations are valid",
}

# Typed here so that mypy checks every stage module's check() against the table's Check.
CHECKS: dict[str, Check] = {"ingest": ingest_service.check,
                            "forecast": forecast_service.check,
                            "alerts": alerts_service.check,
                            "notify": notify_service.check, "api": api_service.check}


def test_the_table_lists_the_five_stages_each_with_its_typed_check() -> None:
    assert NAMES == ["ingest", "forecast", "alerts", "notify", "api"]
    for stage in STAGES:
        assert importlib.import_module(stage.module).check is CHECKS[stage.name]


def test_the_subcommands_are_the_stages_up_and_the_tools() -> None:
    parser = build_parser()
    choices = next(action.choices for action in parser._actions
                   if isinstance(action, argparse._SubParsersAction))
    assert isinstance(choices, dict)
    assert set(choices) == {*NAMES, "up", *TOOLS}
    for stage in STAGES:
        assert parser.parse_args([stage.name, "--check"]).check is True
    up = parser.parse_args(["up", *(f"--without-{stage.name}" for stage in STAGES
                                   if stage.without)])
    assert {name for name in NAMES if getattr(up, f"without_{name}", False)} == {
        "forecast", "notify"}
    assert parser.parse_args(["forecast"]).action is None  # the stage itself
    assert parser.parse_args(["forecast", "fit"]).action == "fit"


def test_each_check_validates_what_its_stage_needs() -> None:
    settings = Settings.model_validate(
        {key.removeprefix("FLOODWATCH_").lower(): value for key, value in CONFIG.items()})
    registry = StationRegistry.load(settings.stations)
    for stage in STAGES:
        assert stage.check(settings, registry).summary == SUMMARIES[stage.name]
    wrong = settings.model_copy(update={"alerts_basins": "tone"})
    with pytest.raises(StageFailed, match=r"^FLOODWATCH_ALERTS_BASINS: ") as failed:
        stage_named("alerts").check(wrong, registry)
    assert failed.value.code == EXIT_CONFIG


def stage_named(name: str) -> Stage:
    return next(stage for stage in STAGES if stage.name == name)


@pytest.mark.parametrize("stage", NAMES)
def test_python_m_runs_the_stage_of_the_table(stage: str) -> None:
    result = subprocess.run([sys.executable, "-m", f"floodwatch.{stage}", "--check"],
                            env={**os.environ, **CONFIG}, cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == SUMMARIES[stage] + "\n"
    helped = subprocess.run([sys.executable, "-m", f"floodwatch.{stage}", "--help"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert helped.returncode == 0, helped.stderr
    assert helped.stdout.startswith(f"usage: floodwatch {stage} [-h] [--check]")


def test_python_m_simulators_is_floodwatch_simulate() -> None:
    result = subprocess.run([sys.executable, "-m", "floodwatch.simulators", "--help"],
                            cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
                            check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("usage: floodwatch simulate [-h] [--scenario NAME|PATH]")


def test_up_runs_every_stage_until_stop_and_one_failure_stops_the_others() -> None:
    ran: list[str] = []

    def until_stop(name: str) -> CheckedStage:
        async def run(stop: asyncio.Event) -> None:
            ran.append(name)
            await stop.wait()

        return CheckedStage("", run)

    async def stopped_soon() -> None:
        stop = asyncio.Event()
        asyncio.get_running_loop().call_later(0.05, stop.set)
        await run_stack({stage: until_stop(stage.name) for stage in STAGES}, stop)

    asyncio.run(stopped_soon())
    assert sorted(ran) == sorted(NAMES)

    async def refuse(_stop: asyncio.Event) -> None:
        raise StageFailed("FLOODWATCH_NOTIFY_CONFIG: no channel is usable", EXIT_CONFIG)

    async def notify_fails() -> None:
        checked = {stage: until_stop(stage.name) for stage in STAGES}
        checked[stage_named("notify")] = CheckedStage("", refuse)
        await asyncio.wait_for(run_stack(checked, asyncio.Event()), timeout=5)

    with pytest.raises(ExceptionGroup) as failed:
        asyncio.run(notify_fails())
    failure = failed.value.exceptions[0]
    assert isinstance(failure, StageFailed)
    assert str(failure) == ("FLOODWATCH_NOTIFY_CONFIG: no channel is usable "
                            "(or run with --without-notify)")
    assert failure.code == EXIT_CONFIG


def test_a_stage_imports_only_its_own_module() -> None:
    # `floodwatch ingest` restarts with a backlog waiting: FastAPI, uvicorn, tweepy and
    # Mastodon.py (0.5 s) are the api's and notify's, numpy the forecast's, imported only
    # when those run. (Not rich: structlog imports it wherever it is installed.)
    probe = ("import sys; from floodwatch.cli import build_parser; build_parser(); "
             "import floodwatch.ingest.service, floodwatch.alerts.service; "
             "print(sorted({'fastapi', 'uvicorn', 'tweepy', 'mastodon', 'numpy'} "
             "& set(sys.modules)))")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "[]\n"


def test_the_command_runs_with_the_collector_on_and_the_imports_frozen() -> None:
    # floodwatch/__main__.py turns the collector off for the imports only: a tool (a
    # simulator runs for hours) must not be left without it.
    probe = ("import gc, sys; import floodwatch.cli as cli; "
             "cli.main = lambda: print(gc.isenabled(), gc.get_freeze_count() > 1000); "
             "from floodwatch.__main__ import main; main()")
    result = subprocess.run([sys.executable, "-c", probe], cwd=REPO_ROOT, capture_output=True,
                            text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "True True\n"


def test_a_started_stage_collects_garbage_in_fewer_larger_rounds() -> None:
    before = gc.get_threshold()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled()
        assert gc.get_threshold() == (YOUNG_GENERATION_THRESHOLD, *before[1:])
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
