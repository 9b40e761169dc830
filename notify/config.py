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
from floodwatch.core.config_files import (
    YamlSyntaxError,
    check_placeholders,
    first_error,
    parse_yaml,
)


class ConfigError(Exception):
    """The delivery configuration file is missing or invalid (one line)."""


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    ja: str
    en: str


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
    retry: Retry = Retry()


class Webhook(_Model):
    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$")
    url: str
    format: Literal["cap", "json"] = "cap"
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
    # A burst's first event waits this long for the rest, to go out as one basin post.
    gather_s: float = Field(default=10.0, ge=0, le=600)
    budget: Budget = Budget()
    # Posts about an old water level mislead: give up after expire_s.
    retry: Retry = Retry(base_s=5.0, max_s=300.0, expire_s=3 * 3600.0)


class Policy(_Model):
    """Social media get what asks residents to act -- an alert raised or escalated to
    at least the level given per alert type -- and its all-clear."""

    act_levels: dict[str, int] = {"river_level": 3, "road_flooding": 2, "road_icing": 2}
    all_clear: bool = True


class Templates(_Model):
    """str.format templates. single: {badge} {headline} {advice}; basin: {badge}
    {basin} {count} {items}; item: {station} {level}; more: {count}."""

    single: Text = Text(ja="【{badge}】{headline} {advice}", en="[{badge}] {headline} {advice}")
    basin: Text = Text(ja="【{badge}】{basin}流域 {count}地点: {items}",
                       en="[{badge}] {basin} basin, {count} stations: {items}")
    item: Text = Text(ja="{station} {level}", en="{station} {level}")
    more: Text = Text(ja="ほか{count}地点", en="and {count} more")
    # Replaces the level's official label in the badge for these transitions.
    badges: dict[str, Text] = {"cleared": Text(ja="解除", en="All clear"),
                               "deescalated": Text(ja="水位低下", en="Lowered")}
    advice: dict[str, dict[int, Text]] = {}
    all_clear_advice: Text = Text(ja="", en="")

    @model_validator(mode="after")
    def _known_placeholders(self) -> Templates:
        allowed = {"single": {"badge", "headline", "advice"},
                   "basin": {"badge", "basin", "count", "items"},
                   "item": {"station", "level"}, "more": {"count"}}
        check_placeholders(self, allowed)
        return self


class NotifyConfig(_Model):
    network: Network = Network()
    webhooks: list[Webhook] = []
    x: Social = Social()
    mastodon: Social = Social()
    policy: Policy = Policy()
    templates: Templates = Templates()
    basins: dict[str, Text] = {}
    pair_timeout_s: float = Field(default=30.0, gt=0)  # JSON without its CAP (or back)

    @model_validator(mode="after")
    def _unique_webhooks(self) -> NotifyConfig:
        names = [hook.name for hook in self.webhooks]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f"webhooks: name {name!r} is given twice")
        return self

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "<notify>") -> NotifyConfig:
        try:
            document = parse_yaml(text)
        except YamlSyntaxError as exc:
            raise ConfigError(f"{source}: not valid YAML: {exc}") from exc
        try:
            return cls.model_validate(document or {})
        except ValidationError as exc:
            raise ConfigError(f"{source}: {first_error(exc)}") from exc

    @classmethod
    def load(cls, path: Path) -> NotifyConfig:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_yaml_text(text, str(path))
