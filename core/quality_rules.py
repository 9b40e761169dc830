"""The river gauges' level-quality rules, read from the alert-rules file for stages that
are not the alert engine (the forecast stage): a reading the engine flags must never be
a forecast input, so both take each station's ``quality.level_m`` from the same file by
the same merge -- ``defaults.river`` with the station's override merged key by key
(core.config_files.deep_merge), as alerts.rules resolves it.

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

# A river gauge's quality rules when the rules file gives none (alerts.rules uses the
# same: one default, so an engine and a forecast stage never judge a reading apart).
DEFAULT_RIVER_QUALITY: dict[str, FieldQuality] = {LEVEL_FIELD: FieldQuality(
    min=-5, max=40, max_step=1.0, repeats_are_dropout=True, min_movement=0.03,
    flatline_s=21600)}

_QUALITY = TypeAdapter(dict[str, FieldQuality])


class QualityRulesError(Exception):
    """The rules file cannot be read, or its river quality rules are invalid; the message
    names the file and the place."""


def river_level_quality(path: Path, registry: StationRegistry) -> dict[str, FieldQuality | None]:
    """Each river gauge's ``level_m`` rule (None: the file checks no level there)."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise QualityRulesError(f"{path}: cannot read: {exc.strerror or exc}") from exc
    return river_level_quality_from_text(text, registry, str(path))


def river_level_quality_from_text(text: str, registry: StationRegistry,
                                  source: str = "<rules>") -> dict[str, FieldQuality | None]:
    try:
        document = parse_yaml(text)
    except YamlSyntaxError as exc:
        raise QualityRulesError(f"{source}: not valid YAML: {exc}") from exc
    if not isinstance(document, dict):
        raise QualityRulesError(f"{source}: expected a mapping with 'defaults' and 'labels'")
    defaults = _mapping(_mapping(document.get("defaults"), f"{source}: defaults")
                        .get("river"), f"{source}: defaults.river")
    overrides = _mapping(document.get("stations"), f"{source}: stations")
    rules: dict[str, FieldQuality | None] = {}
    default_quality = _quality(defaults, f"{source}: defaults.river")
    for station in registry:
        if station.kind is not StationKind.RIVER:
            continue
        override = overrides.get(station.id)
        quality = default_quality if override is None else _quality(
            deep_merge(defaults, _mapping(override, f"{source}: stations.{station.id}")),
            f"{source}: stations.{station.id}: (river)")
        rules[station.id] = quality.get(LEVEL_FIELD)
    return rules


def _quality(river: dict[str, Any], where: str) -> dict[str, FieldQuality]:
    if "quality" not in river:
        return DEFAULT_RIVER_QUALITY
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
