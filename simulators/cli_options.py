"""The ``floodwatch simulate`` options checked before anything runs (simulators.cli).

The modes (a scenario, ``--replay``, ``--load``, ``--demo``) exclude each other, and
each refuses the options that mean nothing to it rather than ignoring them, so a run
never sends other messages than the command line says. Numbers, durations and fault
specs are parsed here too, each failing with the option's name and exit status 2
(core.commandline) before the registry is loaded; ``--devices`` and ``--rate`` go
through ``parse_number`` later, once the registry gives ``--devices`` its default.
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

from floodwatch.core.commandline import fail
from floodwatch.simulators.faults import FaultSpec, parse_fault_option
from floodwatch.simulators.timeline import parse_duration


@dataclass(frozen=True)
class Options:
    """The options parsed up front; the rest (--start, --devices, --rate, paths) are read
    from the args where they are used."""

    speed: float
    seed: int
    duration_s: float | None
    faults: tuple[FaultSpec, ...]
    skip_s: float = 0.0


def parse_options(args: argparse.Namespace) -> Options:
    exclusive = [name for name in ("replay", "load", "demo") if getattr(args, name)]
    if len(exclusive) > 1:
        fail(" and ".join(f"--{name}" for name in exclusive) + " cannot be combined")
    mode = exclusive[0] if exclusive else "scenario"
    if args.skip is not None and mode != "demo":
        fail("--skip needs --demo")
    not_for = {
        "demo": ("speed", "start", "devices", "rate", "synthetic_ids"),
        "scenario": ("devices", "rate", "synthetic_ids"),
        "replay": ("scenario", "duration", "devices", "rate", "synthetic_ids",
                   "no_scenario_faults"),
        "load": ("scenario", "speed", "seed", "start", "fault", "no_scenario_faults",
                 "dry_run"),
    }[mode]
    for name in not_for:
        if getattr(args, name):
            fail(f"--{name.replace('_', '-')} does not apply to "
                 f"{'a scenario' if mode == 'scenario' else '--' + mode}")
    skip_s = 0.0
    if args.skip is not None:
        try:
            skip_s = parse_duration(args.skip)
        except ValueError as exc:
            fail(f"--skip: {exc}")
    speed = parse_number(args.speed, "--speed", 1.0, minimum=0.0)
    seed = int(parse_number(args.seed, "--seed", 0, integer=True, minimum=-(2**63)))
    duration_s: float | None = None
    if args.duration is not None:
        try:
            duration_s = parse_duration(args.duration)
        except ValueError as exc:
            fail(f"--duration: {exc}")
        if duration_s <= 0:
            fail("--duration must be positive")
    faults = []
    for text in args.fault:
        try:
            faults.append(parse_fault_option(text))
        except ValueError as exc:
            fail(f"--fault {exc}")
    return Options(speed, seed, duration_s, tuple(faults), skip_s)


def parse_number(text: str | None, option: str, default: float, *, integer: bool = False,
            minimum: float | None = None) -> float:
    if text is None:
        return default
    try:
        value = float(int(text)) if integer else float(text)
    except ValueError:
        fail(f"{option}: {text!r} is not {'an integer' if integer else 'a number'}")
    if not math.isfinite(value) or (minimum is not None and value < minimum):
        fail(f"{option}: {text!r} is out of range")
    return value
