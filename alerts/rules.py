"""The alert rules: thresholds, hysteresis, hold times, checked once at start.

One YAML file (setting FLOODWATCH_ALERTS_RULES, shipped as ``config/alert-rules.yaml``)
holds defaults per station kind and overrides per station; an override is merged key by
key into its kind's defaults and validated as a whole, so an error names the file and
the field (``stations.sukagawa.level.hold_s``). Labels live in the same file (see
``alerts.labels``): no label is written in code.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from floodwatch.alerts.cap_settings import CapSection
from floodwatch.alerts.forecast_rules import ForecastRule
from floodwatch.alerts.labels import Labels
from floodwatch.alerts.model import AlertType
from floodwatch.core.config_files import YamlSyntaxError, deep_merge, first_error, parse_yaml
from floodwatch.core.quality import FieldQuality
from floodwatch.core.quality_rules import DEFAULT_RIVER_QUALITY
from floodwatch.core.registry import Station, StationKind, StationRegistry


class _Rules(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Deadbands(_Rules):
    """Metres below a level the water must fall before that level can be left."""

    standby: float = Field(default=0.10, ge=0)
    caution: float = Field(default=0.10, ge=0)
    evacuation: float = Field(default=0.10, ge=0)
    danger: float = Field(default=0.10, ge=0)
    flooding: float = Field(default=0.10, ge=0)

    def as_tuple(self) -> tuple[float, float, float, float, float]:
        return (self.standby, self.caution, self.evacuation, self.danger, self.flooding)


class LevelRule(_Rules):
    deadband_m: Deadbands = Deadbands()
    hold_s: float = Field(default=1800, ge=0, description="below the deadband this long")
    confirm_readings: int = Field(default=1, ge=1, le=10)
    flooding_m: float | None = Field(
        default=None, description="overtopping level; the registry's levels_m.flooding "
        "when unset; without either, flooding is declared by officers only")


class RateRule(_Rules):
    threshold_m_per_h: float = Field(default=0.5, gt=0)
    deadband_m_per_h: float = Field(default=0.1, ge=0)
    window_s: float = Field(default=3600, gt=0)
    min_span_s: float = Field(default=1200, gt=0)
    hold_s: float = Field(default=1800, ge=0)
    projection_horizon_s: float = Field(default=6 * 3600, gt=0,
                                        description="no projection further ahead than this")

    @model_validator(mode="after")
    def _span_fits(self) -> RateRule:
        if self.min_span_s > self.window_s:
            raise ValueError("min_span_s must not exceed window_s")
        return self


class ConfirmationRule(_Rules):
    """Before residents are told: readings in a row that must agree with a raised or
    escalated level, the escalating one included (1 = at once). Officers see it at once."""

    readings: int = Field(default=2, ge=1, le=10)


class OfflineRule(_Rules):
    factor: float = Field(default=3.0, ge=1, description="k: silent for k x interval_s")


class RiverRules(_Rules):
    level: LevelRule = LevelRule()
    forecast: ForecastRule = ForecastRule()
    rate_of_rise: RateRule = RateRule()
    confirmation: ConfirmationRule = ConfirmationRule()
    offline: OfflineRule = OfflineRule()
    quality: dict[str, FieldQuality] = Field(
        default_factory=lambda: dict(DEFAULT_RIVER_QUALITY))

    @model_validator(mode="after")
    def _trend_span_fits(self) -> RiverRules:
        # The span is the rate window's (alerts.forecast.gate): a longer one never comes.
        if self.forecast.trend_min_span_s > self.rate_of_rise.window_s:
            raise ValueError("forecast.trend_min_span_s must not exceed "
                             "rate_of_rise.window_s")
        return self


class FloodingRule(_Rules):
    caution_cm: float = Field(default=10, gt=0)
    close_cm: float = Field(default=20, gt=0)
    deadband_cm: float = Field(default=3, ge=0)
    hold_s: float = Field(default=900, ge=0)

    @model_validator(mode="after")
    def _ordered(self) -> FloodingRule:
        if self.caution_cm >= self.close_cm:
            raise ValueError("caution_cm must be below close_cm")
        return self


class IcingRule(_Rules):
    temp_c: float = Field(default=1.0, description="at or below this on a wet surface")
    deadband_c: float = Field(default=1.0, ge=0)
    wet_states: frozenset[str] = frozenset({"wet", "slush", "snow"})
    ice_states: frozenset[str] = frozenset({"ice"})
    hold_s: float = Field(default=1800, ge=0)


class RoadRules(_Rules):
    flooding: FloodingRule = FloodingRule()
    icing: IcingRule = IcingRule()
    confirmation: ConfirmationRule = ConfirmationRule()
    offline: OfflineRule = OfflineRule()
    quality: dict[str, FieldQuality] = Field(
        default_factory=lambda: {
            "water_depth_cm": FieldQuality(min=0, max=500, max_step=20,
                                           repeats_are_dropout=False),
            "surface_temp_c": FieldQuality(min=-40, max=80, max_step=10,
                                           repeats_are_dropout=False),
        })


StationRules = RiverRules | RoadRules


class Defaults(_Rules):
    river: RiverRules = RiverRules()
    road: RoadRules = RoadRules()


class NoDataRule(_Rules):
    """When silence is the pipeline's, not each gauge's (alerts.silence)."""

    more_than: float = Field(
        default=0.5, ge=0, lt=1,
        description="fraction of a scope's stations silent at once for one no-data alert")
    basin_min_stations: int = Field(
        default=3, ge=2, description="a basin needs this many stations for its own alert")


UNCONFIRMED_RESTRICTION = ("unconfirmed (a single reading): for disaster office staff "
                           "only until a further reading confirms it")


class RulesFile(_Rules):
    defaults: Defaults = Defaults()
    stations: dict[str, dict[str, Any]] = Field(default_factory=dict)
    labels: Labels
    no_data: NoDataRule = NoDataRule()
    cap_sender: str = Field(default="floodwatch@example.invalid", min_length=1,
                            pattern=r"^[^\s,<&]+$")
    cap_restriction: str = Field(
        default="disaster office staff only", min_length=1,
        description="CAP <restriction> of operational alerts (offline, data quality)")
    cap_unconfirmed_restriction: str = Field(
        default=UNCONFIRMED_RESTRICTION, min_length=1,
        description="CAP <restriction> of an escalation no second reading confirmed yet")
    cap: CapSection = CapSection()


class RulesError(Exception):
    """The rules file is missing or invalid; the message names the file and the field."""


class AlertRules:
    """Every station's resolved rules, plus the labels."""

    def __init__(self, labels: Labels, by_station: dict[str, StationRules],
                 cap_sender: str, cap_restriction: str = "disaster office staff only",
                 no_data: NoDataRule | None = None, *,
                 cap_unconfirmed_restriction: str = UNCONFIRMED_RESTRICTION,
                 cap: CapSection | None = None) -> None:
        self.labels = labels
        self.no_data = no_data or NoDataRule()
        self.cap_sender = cap_sender
        self.cap_restriction = cap_restriction
        self.cap_unconfirmed_restriction = cap_unconfirmed_restriction
        self.cap = cap or CapSection()
        self._by_station = by_station

    def river(self, station_id: str) -> RiverRules:
        rules = self._by_station[station_id]
        assert isinstance(rules, RiverRules)
        return rules

    def road(self, station_id: str) -> RoadRules:
        rules = self._by_station[station_id]
        assert isinstance(rules, RoadRules)
        return rules

    def offline(self, station_id: str) -> OfflineRule:
        return self._by_station[station_id].offline

    def quality(self, station_id: str) -> dict[str, FieldQuality]:
        return self._by_station[station_id].quality

    @classmethod
    def from_yaml_text(cls, text: str, registry: StationRegistry,
                       source: str = "<rules>") -> AlertRules:
        try:
            document = parse_yaml(text)
        except YamlSyntaxError as exc:
            raise RulesError(f"{source}: not valid YAML: {exc}") from exc
        if not isinstance(document, dict):
            raise RulesError(f"{source}: expected a mapping with 'defaults' and 'labels'")
        try:
            parsed = RulesFile.model_validate(document)
        except ValidationError as exc:
            raise RulesError(f"{source}: {first_error(exc)}") from exc
        by_station: dict[str, StationRules] = {}
        for station in registry:
            by_station[station.id] = _resolve(station, parsed, document, source)
        unknown = sorted(set(parsed.stations) - {station.id for station in registry})
        if unknown:
            raise RulesError(f"{source}: stations.{unknown[0]}: not in the station registry")
        _forecast_levels_labelled(by_station, parsed, source)
        return cls(parsed.labels, by_station, parsed.cap_sender, parsed.cap_restriction,
                   parsed.no_data,
                   cap_unconfirmed_restriction=parsed.cap_unconfirmed_restriction,
                   cap=parsed.cap)

    @classmethod
    def load(cls, path: Path, registry: StationRegistry) -> AlertRules:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RulesError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_yaml_text(text, registry, source=str(path))


def _forecast_levels_labelled(by_station: dict[str, StationRules], parsed: RulesFile,
                              source: str) -> None:
    """Every level a forecast may warn of has its words (checked at start, not when a
    storm first forecasts it)."""
    labelled = parsed.labels.types[AlertType.FORECAST].levels
    for station, rules in by_station.items():
        if not isinstance(rules, RiverRules):
            continue
        where = f"stations.{station}" if station in parsed.stations else "defaults.river"
        for level in sorted(rules.forecast.horizon_s):
            if level not in labelled:
                raise RulesError(
                    f"{source}: {where}.forecast.horizon_s.{level}: no label for it "
                    f"(labels.types.forecast.levels.{level})")


def _resolve(station: Station, parsed: RulesFile, document: dict[str, Any],
             source: str) -> StationRules:
    override = parsed.stations.get(station.id)
    kind = station.kind
    if override is None:
        return parsed.defaults.river if kind is StationKind.RIVER else parsed.defaults.road
    raw_defaults = (document.get("defaults") or {}).get(kind.value) or {}
    merged = deep_merge(raw_defaults, override)
    model: type[StationRules] = RiverRules if kind is StationKind.RIVER else RoadRules
    try:
        return model.model_validate(merged)
    except ValidationError as exc:
        raise RulesError(
            f"{source}: stations.{station.id}: ({kind.value}) {first_error(exc)}"
        ) from exc
