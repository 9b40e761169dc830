"""``floodwatch demo-config``: the stack's configuration for the demo profile.

The demo (simulators/demo.py) lays a simulated storm onto the wall clock ``compress``
times faster. For the stack to judge it as it would judge the real storm, every rule
measured in time is divided by the same factor and every rate per hour multiplied by it;
nothing else changes. This writes, into the profile's folder (``.floodwatch/demo``):

- ``stations.yaml``: the registry of ``FLOODWATCH_STATIONS`` with ``interval_s`` divided
  (rounded up to whole seconds; the simulator reports at exactly that), so the API's and
  the dashboard's stale rule (``api_stale_factor`` x ``interval_s``) and the engine's
  offline and no-data rules (``factor`` x ``interval_s``) are the production ones.
- ``alert-rules.yaml``: the rules of ``FLOODWATCH_ALERTS_RULES`` with every ``*_s``
  (holds, rate-of-rise window and span, projection horizon, flat-line time) divided,
  every ``*_per_h`` (rate-of-rise threshold and deadband) multiplied, and the CAP
  ``expires`` divided (so renewals come as often, in storm time, as in production).
  Counts, levels, depths, temperatures and steps per reporting interval are not times
  and stay. A rule this module does not know to be a time or not stops it: a new time
  setting must be scaled here, not silently left at production length.
- ``demo.env``: the settings ``make demo`` exports for the stack: the two files above, a
  state folder of the demo's own (emptied on each run: every demo is a fresh storm),
  the engine's silence tick and the API's chart cache divided too, the points of a
  chart multiplied (to the setting's bound), and CAP status ``Exercise`` (a demo's
  alerts are a drill's).
- ``demo.json``: the factor, for ``floodwatch simulate --demo``.

Left as they are, because they measure the machinery, not the storm: ingest's batch
interval (0.5 s: a simulated minute of latency at 120x), MQTT keep-alives and session
expiry, the live feed's heartbeat and replay buffer, notify's retries, and ingest's
limits on stamps (``max_future_s`` never trips: stamps are never later than the moment
they are sent; ``max_age_days`` is far beyond any demo).

Production is untouched: these files exist only when this command writes them, and only
processes given ``demo.env`` read them.
"""

from __future__ import annotations

import argparse
import math
import os
import shlex
import shutil
from pathlib import Path
from typing import Any

import yaml

from floodwatch.alerts.rules import AlertRules, RulesError, RulesFile
from floodwatch.core import config_paths
from floodwatch.core.commandline import fail
from floodwatch.core.config_files import YamlSyntaxError, parse_yaml
from floodwatch.core.registry import RegistryError, StationRegistry
from floodwatch.core.settings import Settings, SettingsError, load_settings
from floodwatch.simulators.demo import MANIFEST, DemoManifest

DEFAULT_COMPRESS = 120  # two simulated hours a minute: the typhoon's peaks in ~10 min
DEFAULT_FOLDER = Path(".floodwatch/demo")
STATIONS, RULES, NOTIFY, ENV = "stations.yaml", "alert-rules.yaml", "notify.yaml", "demo.env"
MAX_POINTS = 10_000  # api_max_points's upper bound (core/settings_api.py)

# Rule leaves that are not times, and why they stay as they are under compression.
UNSCALED = {
    "factor": "a multiple of interval_s, which is scaled",
    "readings": "a count", "confirm_readings": "a count", "step_readings": "a count",
    "confirm_forecasts": "a count",
    "clear_readings": "a count", "basin_min_stations": "a count",
    "more_than": "a fraction of stations",
    "flooding_m": "a level", "min": "a value bound", "max": "a value bound",
    "max_step": "per reporting interval, which is scaled",
    "min_movement": "a noise floor", "caution_cm": "a depth", "close_cm": "a depth",
    "deadband_cm": "a depth", "temp_c": "a temperature", "deadband_c": "a temperature",
}
UNSCALED_SECTIONS = {"deadband_m": "metres below each level"}


class DemoConfigError(Exception):
    """The production configuration cannot be turned into a demo profile."""


def scale_rule_tree(node: dict[str, Any], compress: int, where: str = "") -> dict[str, Any]:
    """A copy of a rules mapping with its times divided and rates per hour multiplied."""
    scaled: dict[str, Any] = {}
    for key, value in node.items():
        path = f"{where}.{key}" if where else str(key)
        if isinstance(value, dict) and str(key).endswith("_s"):
            # A time per level (forecast.horizon_s: {3: 10800, ...}): every value a time.
            scaled[key] = {level: None if seconds is None else seconds / compress
                           for level, seconds in value.items()}
        elif isinstance(value, dict):
            scaled[key] = value if key in UNSCALED_SECTIONS else \
                scale_rule_tree(value, compress, path)
        elif isinstance(value, bool) or not isinstance(value, int | float):
            scaled[key] = value  # flags, state lists, None (a check switched off)
        elif key.endswith("_s"):
            scaled[key] = value / compress
        elif key.endswith("_per_h"):
            scaled[key] = value * compress
        elif key in UNSCALED:
            scaled[key] = value
        else:
            raise DemoConfigError(f"{path}: not known to be a time or not; teach "
                                  "floodwatch/demo_config.py how to scale it")
    return scaled


def demo_rules_text(text: str, registry: StationRegistry, compress: int,
                    source: str = "<rules>") -> str:
    """The rules file ``text`` scaled for the demo (checked to load on ``registry``)."""
    AlertRules.from_yaml_text(text, registry, source)  # a bad file fails with its own line
    document = parse_yaml(text)
    parsed = RulesFile.model_validate(document)
    # Dumped whole, so defaults the file leaves out are scaled too, not left at full length.
    document["defaults"] = scale_rule_tree(parsed.defaults.model_dump(mode="json"), compress,
                                           "defaults")
    document["no_data"] = scale_rule_tree(parsed.no_data.model_dump(mode="json"), compress,
                                          "no_data")
    document["stations"] = {station: scale_rule_tree(override, compress, f"stations.{station}")
                            for station, override in parsed.stations.items()}
    cap = dict(document.get("cap") or {})
    cap["expires"] = {name: duration.total_seconds() / compress
                      for name, duration in parsed.cap.expires}
    document["cap"] = cap
    header = (f"# Generated by `floodwatch demo-config` from {source}, every time divided "
              f"by {compress} (floodwatch/demo_config.py). Do not edit.\n")
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def demo_registry_text(text: str, compress: int, source: str = "<registry>") -> str:
    """The registry ``text`` with each ``interval_s`` divided, rounded up."""
    StationRegistry.from_yaml_text(text, source)
    document = parse_yaml(text)
    for station in document["stations"]:
        station["interval_s"] = math.ceil(station["interval_s"] / compress)
    header = (f"# Generated by `floodwatch demo-config` from {source}, interval_s divided "
              f"by {compress} (floodwatch/demo_config.py). Do not edit.\n")
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def demo_notify_text(text: str, source: str = "<notify>") -> str:
    """The delivery configuration ``text`` with every public channel off: a simulated
    typhoon must never reach residents through X, Mastodon or a city's webhook, whatever
    credentials the shell that runs the demo holds. The disaster-network output stays,
    and demo_env points it at the demo's own broker."""
    document = parse_yaml(text) or {}
    if not isinstance(document, dict):
        raise DemoConfigError(f"{source}: not a mapping")
    for channel in ("x", "mastodon"):
        document[channel] = {**(document.get(channel) or {}), "enabled": False}
    document["webhooks"] = []
    header = (f"# Generated by `floodwatch demo-config` from {source}: X, Mastodon and "
              "webhooks off (floodwatch/demo_config.py). Do not edit.\n")
    return header + yaml.safe_dump(document, allow_unicode=True, sort_keys=False, width=100)


def demo_env(settings: Settings, folder: Path, compress: int) -> dict[str, str]:
    """The settings the stack runs the demo with (the rest are the environment's)."""
    tick = settings.alerts_tick_s
    return {
        "FLOODWATCH_STATIONS": str(folder / STATIONS),
        "FLOODWATCH_ALERTS_RULES": str(folder / RULES),
        "FLOODWATCH_STATE_DIR": str(folder / "state"),
        # The engine looks for a silent pipeline this often; at least once a second.
        "FLOODWATCH_ALERTS_TICK_S": f"{max(1.0, tick / compress) if tick else 0:g}",
        "FLOODWATCH_API_HISTORY_CACHE_S": f"{settings.api_history_cache_s / compress:g}",
        # A day's chart holds `compress` times the readings; without more points the
        # whole storm would be averaged into a handful of buckets.
        "FLOODWATCH_API_MAX_POINTS": str(min(MAX_POINTS, settings.api_max_points * compress)),
        "FLOODWATCH_ALERTS_CAP_STATUS": "Exercise",
        # Public channels off, and the disaster network is the demo's own broker: an
        # office's real network URL in the shell must not receive a simulated typhoon.
        "FLOODWATCH_NOTIFY_CONFIG": str(folder / NOTIFY),
        "FLOODWATCH_NOTIFY_NETWORK_URL": str(settings.mqtt_url),
        # The page reads rates per storm hour (not 120x the river's) and says it is a demo.
        "FLOODWATCH_DASHBOARD_TIME_SCALE": str(compress),
    }


def write_profile(settings: Settings, folder: Path, compress: int) -> dict[str, str]:
    """Write the profile into ``folder`` (emptying its state); returns its settings."""
    folder = folder.resolve()
    for setting, path in (("FLOODWATCH_STATIONS", settings.stations),
                          ("FLOODWATCH_ALERTS_RULES", settings.alerts_rules)):
        if path.resolve().is_relative_to(folder):
            raise DemoConfigError(f"{setting} is {path}, inside the demo profile: scaling "
                                  "it again would compress twice; give the production file")
    try:
        registry_text = settings.stations.read_text(encoding="utf-8")
        rules_text = settings.alerts_rules.read_text(encoding="utf-8")
        notify_text = settings.notify_config.read_text(encoding="utf-8")
    except OSError as exc:
        raise DemoConfigError(f"cannot read {exc.filename}: {exc.strerror}") from exc
    stations = demo_registry_text(registry_text, compress, str(settings.stations))
    registry = StationRegistry.from_yaml_text(stations, STATIONS)
    rules = demo_rules_text(rules_text, registry, compress, str(settings.alerts_rules))
    AlertRules.from_yaml_text(rules, registry, RULES)  # what the stack will load
    env = demo_env(settings, folder, compress)
    folder.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(folder / "state", ignore_errors=True)
    (folder / STATIONS).write_text(stations, encoding="utf-8")
    (folder / RULES).write_text(rules, encoding="utf-8")
    (folder / NOTIFY).write_text(demo_notify_text(notify_text, str(settings.notify_config)),
                                 encoding="utf-8")
    _write_owner_only(folder / ENV, "".join(f"{key}={shlex.quote(value)}\n"
                                            for key, value in env.items()))
    (folder / MANIFEST).write_text(DemoManifest(compress=compress, stations=STATIONS).text(),
                                   encoding="utf-8")
    return env


def _write_owner_only(path: Path, text: str) -> None:
    # demo.env holds the bus URL, with its password when the shell's URL has one: readable
    # by the owner only, like a .env. fchmod as well, since O_CREAT's mode leaves an
    # existing file's mode as it was.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(descriptor, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(text)


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "demo-config", help="write the demo profile: registry and rules with every time "
        "divided by the compression (for `floodwatch simulate --demo`)",
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--compress", type=int, default=DEFAULT_COMPRESS, metavar="X",
                        help=f"simulated seconds per wall second (default {DEFAULT_COMPRESS})")
    parser.add_argument("--dir", type=Path, default=DEFAULT_FOLDER, metavar="DIR",
                        help=f"the profile's folder (default {DEFAULT_FOLDER})")
    parser.set_defaults(handler=cmd_demo_config)


def cmd_demo_config(args: argparse.Namespace) -> None:
    if not 1 <= args.compress <= 3600:
        fail("--compress: between 1 and 3600")
    try:
        settings = load_settings()
    except SettingsError as exc:
        fail(str(exc).replace("\n", "; "))
    # A demo, like `floodwatch up`: the packaged sample may stand in (core.config_paths).
    settings, files = config_paths.resolve(settings, allow_sample=True)
    config_paths.log_sources(files)
    try:
        write_profile(settings, args.dir, args.compress)
    except (DemoConfigError, RegistryError, RulesError, YamlSyntaxError) as exc:
        fail(f"demo-config: {exc}")
    print(f"demo profile in {args.dir}: {args.compress}x (a simulated hour every "
          f"{3600 / args.compress:g} s); run the stack with `set -a; . {args.dir}/{ENV}; "
          f"set +a` and the devices with `floodwatch simulate --demo {args.dir}`")
