"""The river gauges' quality rules, read from the alert-rules file for stages that are
not the alert engine (the forecast stage): a value the engine flags must never be a
forecast input, so both take each station's ``quality`` (``level_m``, ``rain_mm``, ...)
from the same file by the same merge -- ``defaults.river`` with the station's override
merged key by key (core.config_files.deep_merge), as alerts.rules resolves it.

Only the ``quality`` section is read and validated here: the rest of the file is the
alert engine's, which checks it as a whole at its own start.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import TypeAdapter, ValidationError

from floodwatch.core.config_files import YamlSyntaxError, deep_merge, first_error, parse_yaml
from floodwatch.core.quality import FieldQuality
from floodwatch.core.registry import StationKind, StationRegistry

LEVEL_FIELD = "level_m"
RAIN_FIELD = "rain_mm"

# Rain since the gauge's previous report (device contract), in mm. The river gauges
# report every 10 minutes, and Japan's 10-minute record is 55.0 mm (JMA, Kikonai,
# 2021-11-02; 50.0 mm at Kumagaya 2020 and Muroya 2011): 60 mm in one report is a broken
# or mis-scaled rain gauge, not rain. A gauge reporting less often needs a larger max
# per station (hourly: the 1-hour record is 153 mm). No flatline (dry days read 0.0 for
# weeks) and no max_step (rain starts and stops at once: a convective cell gives 0 then
# 30 mm in 10 minutes).
RAIN_MAX_MM = 60.0

# A river gauge's quality rules when the rules file gives none (alerts.rules uses the
# same: one default, so an engine and a forecast stage never judge a reading apart).
DEFAULT_RIVER_QUALITY: dict[str, FieldQuality] = {
    LEVEL_FIELD: FieldQuality(min=-5, max=40, max_step=1.0, repeats_are_dropout=True,
                              min_movement=0.03, flatline_s=21600),
    RAIN_FIELD: FieldQuality(min=0, max=RAIN_MAX_MM)}

# One gauge's rules: field -> its checks (a field without one is not checked).
GaugeQuality = dict[str, FieldQuality]

_QUALITY = TypeAdapter(dict[str, FieldQuality])


class QualityRulesError(Exception):
    """The rules file cannot be read, or its river quality rules are invalid; the message
    names the file and the place."""


def river_quality(path: Path, registry: StationRegistry) -> dict[str, GaugeQuality]:
    """Each river gauge's quality rules, field by field, as the engine's
    ``AlertRules.quality`` gives them."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QualityRulesError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return river_quality_from_text(text, registry, str(path))


def river_quality_from_text(text: str, registry: StationRegistry,
                            source: str = "<rules>") -> dict[str, GaugeQuality]:
    try:
        document = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise QualityRulesError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise QualityRulesError(f"{source}: expected a mapping with 'defaults' and 'labels'")
    defaults = _mapping(_mapping(document.get("defaults"), f"{source}: defaults")
                        .get("river"), f"{source}: defaults.river")
    overrides = _mapping(document.get("stations"), f"{source}: stations")
    rules: dict[str, GaugeQuality] = {}
    default_quality = _quality(defaults, f"{source}: defaults.river")
    for station in registry:
        if station.kind is not StationKind.RIVER:
            continue
        override = overrides.get(station.id)
        quality = default_quality if override is None else _quality(
            deep_merge(defaults, _mapping(override, f"{source}: stations.{station.id}")),
            f"{source}: stations.{station.id}: (river)")
        rules[station.id] = dict(quality)
    return rules


def _quality(river: dict[str, Any], where: str) -> GaugeQuality:
    if "quality" not in river:
        return dict(DEFAULT_RIVER_QUALITY)
    try:
        return _QUALITY.validate_python(river["quality"])
    except ValidationError as exc:
        raise QualityRulesError(f"{where} quality.{first_error(exc)}") from exc


def _mapping(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise QualityRulesError(f"{where}: expected a mapping")
    return value
