"""Which configuration file each process reads: one rule for every command, logged.

Four files configure an office: the station registry, the alert rules, the advice and
the delivery configuration. Each is found the same way:

1. its setting (``FLOODWATCH_STATIONS``, ...), when given: that file, or an error;
2. else ``config/<file>`` under the working directory: a checkout, a folder written by
   ``floodwatch init``, the image's /app;
3. else the sample shipped in the package, but only for the commands that try floodwatch
   out (``floodwatch up``, ``floodwatch simulate``), and with a warning. A stage started
   on its own (``floodwatch ingest``, ...) is how production runs, so there a missing
   file stays an error saying to run ``floodwatch init``: the sample's stations are real
   places with made-up reference levels, and alerts for residents computed from those
   must never go out because a path was forgotten.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

import structlog

from floodwatch.core.settings import ENV_PREFIX, Settings

log = structlog.get_logger("config")

# The settings naming a configuration file; each default is config/<file>, relative.
CONFIG_FILE_SETTINGS = ("stations", "alerts_rules", "advice", "notify_config")
# The package's root: the checkout (through floodwatch/core -> core) or site-packages'
# floodwatch/ (the wheel's package data), under which config/ holds the sample.
PACKAGE_ROOT = Path(__file__).resolve().parent.parent
INIT_HINT = "run `floodwatch init` to write a starter configuration in config/ here"


class Source(StrEnum):
    SETTING = "setting"
    WORKING_DIRECTORY = "./config"
    SAMPLE = "packaged sample"
    MISSING = "not found"


@dataclass(frozen=True)
class ConfigFile:
    setting: str  # the Settings field
    path: Path
    source: Source

    @property
    def variable(self) -> str:
        return f"{ENV_PREFIX}{self.setting.upper()}"


def default_path(setting: str) -> Path:
    default = Settings.model_fields[setting].default
    assert isinstance(default, Path), setting
    return default


def sample_path(setting: str) -> Path:
    """The packaged sample of a configuration file."""
    return PACKAGE_ROOT / default_path(setting)


def locate(settings: Settings, *, allow_sample: bool) -> list[ConfigFile]:
    """Where each configuration file comes from, by the rule above (nothing is read)."""
    found = []
    for setting in CONFIG_FILE_SETTINGS:
        path: Path = getattr(settings, setting)
        if setting in settings.model_fields_set:
            found.append(ConfigFile(setting, path, Source.SETTING))
        elif path.is_file():
            found.append(ConfigFile(setting, path, Source.WORKING_DIRECTORY))
        elif allow_sample and sample_path(setting).is_file():
            found.append(ConfigFile(setting, sample_path(setting), Source.SAMPLE))
        else:
            found.append(ConfigFile(setting, path, Source.MISSING))
    return found


def resolve(settings: Settings, *, allow_sample: bool) -> tuple[Settings, list[ConfigFile]]:
    """``settings`` with each configuration file's path as the rule finds it, and where
    each came from (for ``log_sources`` once the process is checked and about to run: a
    command that stops at start says so in one line, nothing before it)."""
    files = locate(settings, allow_sample=allow_sample)
    # Only the samples change a path; the others stay as given, or unset (missing_hint).
    return settings.model_copy(update={file.setting: file.path for file in files
                                       if file.source is Source.SAMPLE}), files


def log_sources(files: list[ConfigFile]) -> None:
    """One line saying where each configuration file came from; a warning when any is the
    packaged sample."""
    where = {file.setting: f"{file.path} ({file.source})" for file in files}
    samples = [file.variable for file in files if file.source is Source.SAMPLE]
    if samples:
        log.warning("using the packaged SAMPLE configuration: its stations' reference "
                    "levels are not official; not for production", sample_for=samples,
                    fix=INIT_HINT, **where)
    else:
        log.info("configuration files", **where)


def missing_hint(settings: Settings, failure: str) -> str:
    """What to do when ``failure`` (a stage's one line, which starts with the variable it
    blames) is about a configuration file that the rule did not find."""
    for file in locate(settings, allow_sample=False):
        if file.source is Source.MISSING and failure.startswith(f"{file.variable}:"):
            return f" (no {file.path} under {Path.cwd()}: {INIT_HINT}, or set {file.variable})"
    return ""
