"""``floodwatch simulate``: simulated field devices on the broker of the settings.

    floodwatch simulate                               # the typhoon, in real time
    floodwatch simulate --scenario calm --speed 60    # a simulated hour per real minute
    floodwatch simulate --scenario my.yaml --seed 7 --duration 6h \\
        --start 2026-10-12T00:00:00+09:00
    floodwatch simulate --fault spike=0.01 --fault offline:at=2h,for=1h,stations=akutsu
    floodwatch simulate --replay recorded.csv --speed 600
    floodwatch simulate --load --devices 500 --rate 2000 --duration 60 --synthetic-ids
    floodwatch simulate --scenario winter-ice --dry-run   # print the messages instead
    floodwatch simulate --demo .floodwatch/demo --skip 7h # `make demo`: the storm now,
                                                          # compressed (simulators/demo.py)

The broker is FLOODWATCH_MQTT_URL, the stations FLOODWATCH_STATIONS. Ctrl-C (or
SIGTERM) stops sending and waits for the broker to acknowledge what was sent; a second
one stops waiting. Exit status: 0 when every message was acknowledged, 1 when not (or
the broker is unreachable), 2 for bad options or settings.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

import structlog

from floodwatch.core import config_paths
from floodwatch.core.commandline import EXIT_RUNTIME, fail
from floodwatch.core.logging import configure_logging
from floodwatch.core.mqtt import BrokerAddress, MqttError
from floodwatch.core.readings import JST
from floodwatch.core.redaction import configured_secrets
from floodwatch.core.registry import RegistryError, StationRegistry
from floodwatch.core.settings import SettingsError, load_settings
from floodwatch.simulators.cli_options import Options, parse_number, parse_options
from floodwatch.simulators.demo import DemoError, build_demo, load_profile
from floodwatch.simulators.load import load_devices, load_events
from floodwatch.simulators.messages import Event
from floodwatch.simulators.publisher import PER_DEVICE_LIMIT, PublishReport, publish_events
from floodwatch.simulators.replay import ReplayError, read_recording, replay_events
from floodwatch.simulators.runner import build_simulation
from floodwatch.simulators.scenario import ScenarioError
from floodwatch.simulators.timeline import format_duration, parse_start

log = structlog.get_logger("simulators")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "simulate", help="simulated river gauges and road sensors (scenarios, replay, load)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scenario", metavar="NAME|PATH",
                        help="calm, typhoon (default), typhoon-coast, rainband, "
                        "winter-ice, or a scenario file")
    parser.add_argument("--speed", metavar="X", help="simulated seconds per real second: "
                        "1 real time (default), 60 an hour a minute, 0 unpaced")
    parser.add_argument("--seed", metavar="N", help="random seed (default 0): sensor noise, "
                        "faults and, for any seed but 0, the weather within the scenario's "
                        "jitter bounds; the same seed sends the same messages")
    parser.add_argument("--duration", metavar="D", help="simulated time to cover (e.g. 6h; "
                        "default: the scenario's); with --load, real seconds of load")
    parser.add_argument("--start", metavar="ISO", help="simulated clock start, e.g. "
                        "2026-10-12T00:00:00+09:00 (default: now, or early enough that no "
                        "reading is stamped in the future)")
    parser.add_argument("--fault", metavar="SPEC", action="append", default=[],
                        help="add a fault: KIND=RATE or KIND:at=2h,for=1h,stations=a+b "
                        "(see simulators/faults.py); repeatable")
    parser.add_argument("--no-scenario-faults", action="store_true",
                        help="leave out the faults the scenario file switches on")
    parser.add_argument("--replay", metavar="CSV", type=Path,
                        help="publish a recorded series instead of the model")
    parser.add_argument("--load", action="store_true", help="load test: --devices devices "
                        "at --rate messages/s in total for --duration seconds")
    parser.add_argument("--devices", metavar="N", help="load: devices (default: every "
                        "registry station)")
    parser.add_argument("--rate", metavar="R", help="load: messages per second (default 100)")
    parser.add_argument("--synthetic-ids", action="store_true",
                        help="load: synthetic river gauges r-000... instead of the registry's")
    parser.add_argument("--single-connection", action="store_true",
                        help="one shared MQTT connection instead of one per device "
                        f"(the default above {PER_DEVICE_LIMIT} devices)")
    parser.add_argument("--demo", metavar="DIR", type=Path,
                        help="the demo profile written by `floodwatch demo-config` in DIR: "
                        "the storm on the wall clock, compressed by its factor, on its "
                        "registry (simulators/demo.py)")
    parser.add_argument("--skip", metavar="D", help="with --demo: simulated time sent at "
                        "once as recent history before the live part (e.g. 7h)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the messages (time, topic, payload) instead of sending")
    parser.set_defaults(handler=cmd_simulate)


def cmd_simulate(args: argparse.Namespace) -> None:
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc).replace("\n", "; "))
    configure_logging(settings.log_level, settings.log_format, configured_secrets(settings))
    # Simulated devices are for trying floodwatch out: the packaged sample registry may
    # stand in, as for `floodwatch up` (core.config_paths).
    settings, files = config_paths.resolve(settings, allow_sample=True)
    options = parse_options(args)
    registry, compress = _registry(args, settings.stations)
    config_paths.log_sources(files)
    address = BrokerAddress.from_settings(settings)
    with _stopping_on_signals() as (stop, give_up):
        try:
            report = _run(args, options, registry, address=address, stop=stop,
                          give_up=give_up, compress=compress)
        except (ScenarioError, ReplayError) as exc:
            fail(str(exc))
        except MqttError as exc:
            fail(f"FLOODWATCH_MQTT_URL: {exc}", EXIT_RUNTIME)
        except BrokenPipeError:  # --dry-run | head
            sys.stderr.close()
            raise SystemExit(0) from None
    if report is None:
        return
    print(report.summary())
    if report.unacknowledged:
        fail(f"the broker did not acknowledge {report.unacknowledged} messages",
             EXIT_RUNTIME)


def _registry(args: argparse.Namespace, stations: Path) -> tuple[StationRegistry, int]:
    """The registry to simulate, and the demo's compression (0: no demo)."""
    if args.demo is not None:
        try:
            registry, manifest = load_profile(args.demo)
        except DemoError as exc:
            fail(f"--demo: {exc}")
        if stations.resolve() != (args.demo / manifest.stations).resolve():
            log.warning("demo", problem=f"FLOODWATCH_STATIONS is {stations}, not the demo's "
                        "registry: the stack will misjudge the devices' intervals (source "
                        f"{args.demo / 'demo.env'})")
        return registry, manifest.compress
    try:
        return StationRegistry.load(stations), 0
    except RegistryError as exc:
        fail(f"FLOODWATCH_STATIONS: {exc}")



def _run(args: argparse.Namespace, options: Options, registry: StationRegistry, *,
         address: BrokerAddress, stop: threading.Event, give_up: threading.Event,
         compress: int = 0) -> PublishReport | None:
    start = None
    if args.start is not None:
        try:
            start = parse_start(args.start)
        except ValueError as exc:
            fail(f"--start: {exc}")
    if args.load:
        return _run_load(args, options, registry, address=address, stop=stop,
                             give_up=give_up)
    events: Iterator[Event]
    if args.replay is not None:
        observations = read_recording(args.replay, registry)
        devices = sorted({observation.station for observation in observations})
        events = replay_events(observations, registry, start=start, seed=options.seed,
                               faults=options.faults)
        origin, what = start or observations[0].measured_at, f"replay of {args.replay}"
    else:
        devices, events, origin, what = _scenario(args, options, registry, start, compress)
    speed = float(compress) if compress else options.speed
    if args.dry_run:
        _print_events(events, stop)
        return None
    log.info("simulating", what=what, speed=speed, devices=len(devices),
             broker=str(address))
    # The demo's devices share one connection: its back-filled history is a burst, and
    # devices on connections of their own race each other through it -- at the demo's
    # scale a road sensor 9 s behind its neighbours is offline (simulators/demo.py).
    single_connection = True if compress else args.single_connection or None
    return publish_events(address, events, devices, speed=speed, sim_origin=origin,
                          single_connection=single_connection, stop=stop, give_up=give_up)


def _scenario(args: argparse.Namespace, options: Options, registry: StationRegistry,
              start: datetime | None, compress: int
              ) -> tuple[list[str], Iterator[Event], datetime, str]:
    """(devices, events, pacing origin, description) of a scenario, or of its demo."""
    name = args.scenario or "typhoon"
    if compress:
        demo = build_demo(registry, name, compress=compress, skip_s=options.skip_s,
                          duration_s=options.duration_s, seed=options.seed,
                          faults=options.faults, scenario_faults=not args.no_scenario_faults)
        simulation, origin = demo.simulation, demo.clock.sim_anchor
        what, warnings = demo.description(options.skip_s), demo.warnings
    else:
        simulation = build_simulation(
            registry, name, duration_s=options.duration_s, seed=options.seed,
            speed=options.speed, start=start, faults=options.faults,
            scenario_faults=not args.no_scenario_faults)
        origin, warnings = simulation.start, tuple(simulation.warnings)
        what = (f"scenario {simulation.scenario.name}: "
                f"{format_duration(simulation.duration_s)} from "
                f"{simulation.start.astimezone(JST).isoformat()}")
    for warning in warnings:
        log.warning("scenario", problem=warning)
    return simulation.device_ids, simulation.events(), origin, what


def _run_load(args: argparse.Namespace, options: Options, registry: StationRegistry, *,
              address: BrokerAddress, stop: threading.Event, give_up: threading.Event
              ) -> PublishReport:
    count = int(parse_number(args.devices, "--devices", len(registry), integer=True, minimum=1))
    rate = parse_number(args.rate, "--rate", 100.0, minimum=1e-6)
    duration_s = options.duration_s or 60.0
    try:
        devices = load_devices(count, None if args.synthetic_ids else registry)
    except ValueError as exc:
        fail(f"--devices: {exc}")
    start = datetime.now(UTC)
    log.info("load", devices=count, rate=rate, duration_s=duration_s, broker=str(address))
    return publish_events(address, load_events(devices, rate, duration_s, start),
                          [device for device, _ in devices], speed=1.0, sim_origin=start,
                          single_connection=args.single_connection or None, stop=stop,
                          give_up=give_up, simulated=False)


def _print_events(events: Iterator[Event], stop: threading.Event) -> None:
    for event in events:
        if stop.is_set():
            break
        payload = event.payload.decode(errors="backslashreplace")
        print(f"{event.sim_time.astimezone(JST).isoformat()} {event.topic} {payload}")


@contextmanager
def _stopping_on_signals() -> Iterator[tuple[threading.Event, threading.Event]]:
    """SIGINT/SIGTERM set ``stop`` (finish cleanly); a second one sets ``give_up`` (stop
    waiting for acknowledgements)."""
    stop, give_up = threading.Event(), threading.Event()

    def handle(_signum: int, _frame: FrameType | None) -> None:
        if stop.is_set():
            give_up.set()
        else:
            stop.set()

    previous = {signum: signal.signal(signum, handle)
                for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield stop, give_up
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
