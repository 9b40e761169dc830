"""``floodwatch init [DIR]``: a starter configuration for a new office to edit.

It copies the package's sample files (the same the checkout's config/ holds) into
``DIR/config/``, where every command run from ``DIR`` finds them (core.config_paths), and
writes ``DIR/.env`` with every setting commented out at its default. Nothing is
overwritten without ``--force``: these files are an office's own work once edited, and
losing its station list or its advice to residents to a repeated command would be worse
than a refusal. The files keep the sample's comments; a header says what to change.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

from floodwatch.core.commandline import fail
from floodwatch.core.config_paths import PACKAGE_ROOT
from floodwatch.version import installed_version


@dataclass(frozen=True)
class StarterFile:
    path: str  # under DIR, as under the package's root
    edit: str  # what the office changes in it (the header and the closing advice)


STARTER_FILES = (
    StarterFile("config/stations.yaml",
                "your gauges and road sensors, with the OFFICIAL reference levels of each "
                "gauge (the sample's levels are made up)"),
    StarterFile("config/alert-rules.yaml",
                "cap_sender and cap (your office's name, contact and web page); review "
                "hold times and rates with the office"),
    StarterFile("config/advice.yaml",
                "what residents are told to do at each level, as your office words it"),
    StarterFile("config/notify.yaml",
                "the disaster network's topics, webhooks, X and Mastodon (credentials are "
                "settings, never this file), basin names, public_page_url"),
    StarterFile("config/mosquitto/mosquitto.conf",
                "the broker of docker-compose.yml: TLS certificate paths; then the password "
                "file and `floodwatch broker-acl > config/mosquitto/acl`"),
)
ENV_FILE = StarterFile(
    ".env", "FLOODWATCH_* settings: the broker and InfluxDB addresses first")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser(
        "init", help="write a starter configuration (config/ and .env) for a new office")
    parser.add_argument("directory", nargs="?", type=Path, default=Path(),
                        help="where to write it (created if missing; default: here)")
    parser.add_argument("--force", action="store_true",
                        help="overwrite files that already exist")
    parser.set_defaults(handler=cmd_init)


def cmd_init(args: argparse.Namespace) -> None:
    directory: Path = args.directory
    contents = starter_contents()
    existing = [path for path in contents if (directory / path).exists()]
    if existing and not args.force:
        fail(f"{', '.join(str(directory / path) for path in existing)}: already there; "
             "nothing written (--force overwrites)")
    for path, text in contents.items():
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    print(next_steps(directory))


def starter_contents() -> dict[str, str]:
    """Each starter file's path under DIR and its text."""
    contents = {}
    for starter in STARTER_FILES:
        sample = (PACKAGE_ROOT / starter.path).read_text(encoding="utf-8")
        contents[starter.path] = _header(starter) + sample
    # The settings reference imports every message model: only this command pays for it.
    from floodwatch.reference import env_example  # noqa: PLC0415

    contents[ENV_FILE.path] = _header(ENV_FILE) + env_example((
        "floodwatch settings: docker compose reads them; a shell: set -a; . ./.env; set +a",
        "Every setting is here,"))
    return contents


def _header(starter: StarterFile) -> str:
    return (f"# Written by `floodwatch init` (floodwatch {installed_version()}) from the "
            f"shipped sample.\n# Edit before use: {starter.edit}.\n#\n")


def next_steps(directory: Path) -> str:
    files = [*STARTER_FILES, ENV_FILE]
    width = max(len(starter.path) for starter in files)
    lines = [f"wrote a starter configuration in {directory.resolve()}:"]
    lines += [f"  {starter.path:<{width}}  edit: {starter.edit}" for starter in files]
    lines += ["next:"]
    if directory.resolve() != Path.cwd().resolve():
        lines.append(f"  cd {directory}")
    lines += [
        "  floodwatch alerts --check && floodwatch notify --check   # after each edit",
        "  floodwatch up            # every stage, reading ./config/ (and the environment)",
        "Commands run from this folder read ./config/; from elsewhere set FLOODWATCH_STATIONS,",
        "FLOODWATCH_ALERTS_RULES, FLOODWATCH_ADVICE and FLOODWATCH_NOTIFY_CONFIG.",
    ]
    return "\n".join(lines)
