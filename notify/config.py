"""The delivery configuration file (setting FLOODWATCH_NOTIFY_CONFIG): channels, policy,
budgets and post templates. Secrets and broker/API addresses are settings, not here.

Every word a resident reads is configuration (the official labels changed in 2026).
A webhook's URL is checked when its channel is built, not here, so one bad entry
disables that webhook alone (see notify.channels.setup).
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from floodwatch.core import bus
from floodwatch.core.advice import Advice
from floodwatch.core.config_files import YamlSyntaxError, first_error, parse_yaml
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.notify.templates import Templates, Text

__all__ = ["ConfigError", "NotifyConfig", "Social", "Templates", "Text", "name_problems"]


class ConfigError(Exception):
    """The delivery configuration file is missing or invalid (one line)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Retry(_Model):
    """Exponential backoff with full jitter between base_s and max_s; given up (state
    ``expired``) once the delivery is older than expire_s."""

    base_s: float = Field(default=2.0, gt=0)
    max_s: float = Field(default=300.0, gt=0)
    expire_s: float = Field(default=86_400.0, gt=0)


class Network(_Model):
    enabled: bool = True
    # Templates with {station}: bousai/floodwatch/cap/{station}, ... (bus.NETWORK).
    cap_topic: str = bus.NETWORK.name(part="cap", station="{station}")
    json_topic: str = bus.NETWORK.name(part="alerts", station="{station}")
    status_topic: str = bus.NETWORK.name(part="status", station="{station}")
    # The CAP in its EDXL-DE 1.0 envelope too (docs/edxl.md), e.g.
    # bousai/floodwatch/edxl/{station}; off when unset.
    edxl_topic: str | None = None
    retry: Retry = Retry()


class Webhook(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    url: str
    format: Literal["cap", "json", "edxl"] = "cap"  # edxl: the CAP in EDXL-DE 1.0
    events: Literal["all", "social"] = "all"
    retry: Retry = Retry()


class Budget(_Model):
    """Our own posting budget, kept below the platform's limits."""

    window_s: int = Field(default=900, ge=60)
    per_window: int = Field(default=30, ge=1)
    per_day: int = Field(default=200, ge=1)


class Social(_Model):
    enabled: bool = False
    languages: list[Literal["ja", "en"]] = Field(default=["ja", "en"], min_length=1)
    url: str | None = None  # appended only when set: links cost more on X
    # A burst's first event waits this long for the rest, to be planned with it.
    gather_s: float = Field(default=10.0, ge=0, le=600)
    budget: Budget = Budget()
    # Posts about an old water level mislead: give up after expire_s.
    retry: Retry = Retry(base_s=5.0, max_s=300.0, expire_s=3 * 3600.0)


# Forecast warnings (the alert engine's ``forecast`` type): never posted to residents
# until residents' wording for a forecast exists (what "expected" asks of them, and its
# end, which is no all-clear). Refused in ``policy.act_levels``, and the policy never
# posts one whatever the configuration (notify.policy).
FORECAST = "forecast"


class Policy(_Model):
    """Social media get what asks residents to act -- an alert raised or escalated to
    at least the level given per alert type -- and its all-clear."""

    act_levels: dict[str, int] = {"river_level": 3, "road_flooding": 2, "road_icing": 2}
    all_clear: bool = True


class NotifyConfig(_Model):
    network: Network = Network()
    webhooks: list[Webhook] = []
    x: Social = Social()
    mastodon: Social = Social()
    policy: Policy = Policy()
    templates: Templates = Templates()
    basins: dict[str, Text] = {}
    # The public page listing every station at or above a level (the API's
    # /public/stations): the link a summarising post carries, with
    # ?alert_type=...&level=... appended. Required when X or Mastodon is enabled.
    public_page_url: str | None = Field(default=None, pattern=r"^https?://[^\s?#]+$")
    pair_timeout_s: float = Field(default=30.0, gt=0)  # JSON without its CAP (or back)

    @property
    def social_enabled(self) -> bool:
        return self.x.enabled or self.mastodon.enabled

    @model_validator(mode="after")
    def _words_for_residents(self) -> NotifyConfig:
        if self.social_enabled and self.public_page_url is None:
            raise ValueError("public_page_url is required when x or mastodon is enabled "
                             "(the page summarising posts link to)")
        if FORECAST in self.policy.act_levels:
            raise ValueError(
                f"policy.act_levels.{FORECAST}: forecast warnings are not posted to "
                "residents (social media, social webhooks): there is no residents' wording "
                "for a forecast yet. Remove it; the alert rules' forecast.public: true "
                "makes them Public CAP (the disaster network, public EDXL webhooks)")
        for alert_type in self.policy.act_levels:
            wording = self.templates.alerts.get(alert_type)
            if wording is None:
                raise ValueError(f"templates.alerts has no wording for {alert_type} "
                                 "(policy.act_levels posts it)")
        advice = self.templates.advice
        problems = [] if advice is None else advice.problems(self.policy.act_levels)
        if problems:
            raise ValueError(f"the advice file (FLOODWATCH_ADVICE): {problems[0]} "
                             "(policy.act_levels)")
        return self

    @model_validator(mode="after")
    def _unique_webhooks(self) -> NotifyConfig:
        names = [hook.name for hook in self.webhooks]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"webhooks: name {name!r} is given twice")
        return self

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "<notify>", *,
                       advice: Advice) -> NotifyConfig:
        """``advice``: the advice file's (core.advice), which posts end with."""
        try:
            document = parse_yaml(text)
        except YamlSyntaxError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
        document = document or {}
        if isinstance(document, dict) and isinstance(document.get("templates"), dict):
            moved = _moved_advice(document["templates"])
            if moved is not None:
                raise ConfigError(f"{source}: {moved}: advice is no longer here but in the "
                                  "advice file (FLOODWATCH_ADVICE, config/advice.yaml)")
            document = {**document, "templates": {**document["templates"], "advice": advice}}
        elif isinstance(document, dict):
            document = {**document, "templates": {"advice": advice}}
        try:
            return cls.model_validate(document)
        except ValidationError as exc:
            raise ConfigError(f"{source}: {first_error(exc)}") from exc

    @classmethod
    def load(cls, path: Path, *, advice: Advice) -> NotifyConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_yaml_text(text, str(path), advice=advice)


def _moved_advice(templates: dict[str, object]) -> str | None:
    """Where a notify.yaml from before the advice file still gives advice."""
    if "advice" in templates:
        return "templates.advice"
    alerts = templates.get("alerts")
    for alert_type, wording in (alerts.items() if isinstance(alerts, dict) else ()):
        for key in ("advice", "all_clear_advice"):
            if isinstance(wording, dict) and key in wording:
                return f"templates.alerts.{alert_type}.{key}"
    return None


def name_problems(config: NotifyConfig, registry: StationRegistry) -> list[str]:
    """What residents' posts could not name: a basin without names in ``basins``, a
    river gauge whose river has none in the registry's ``rivers``. Only when X or
    Mastodon is enabled (nothing else shows these names). A station without a
    municipality is allowed: its posts say its basin instead."""
    if not config.social_enabled:
        return []
    problems = []
    for station in registry:
        if station.basin not in config.basins:
            problems.append(f"basins: no names for basin {station.basin!r} (station "
                            f"{station.id}): add {station.basin}: {{ja: ..., en: ...}}")
        if station.kind is StationKind.RIVER and registry.river_name(station) is None:
            problems.append(f"station {station.id}: river {station.river!r} has no names in "
                            "the registry's rivers (FLOODWATCH_STATIONS)")
    return sorted(set(problems))
