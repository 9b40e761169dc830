"""Labels and the official alert-level mapping, read from the rules file.

The official Japanese labels changed in 2026 and may change again, so every word an
officer or a resident reads -- level names, the 警戒レベル equivalent, transition words,
headline and projection templates -- comes from configuration, never from code.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from floodwatch.alerts.model import REQUIRED_LEVELS, AlertType, Transition
from floodwatch.core.config_files import check_placeholders

Severity = Literal["Extreme", "Severe", "Moderate", "Minor", "Unknown"]
Urgency = Literal["Immediate", "Expected", "Future", "Past", "Unknown"]
Category = Literal["Geo", "Met", "Safety", "Security", "Rescue", "Fire", "Health", "Env",
                   "Transport", "Infra", "CBRNE", "Other"]


class _Labels(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Labels):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)


class LevelLabel(_Labels):
    # A rule name, also used as an InfluxDB tag: lower-case identifiers only.
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,31}$")
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)
    official: Text | None = None
    alert_level: int | None = Field(default=None, ge=1, le=5)
    severity: Severity = "Moderate"
    urgency: Urgency = "Expected"

    def text(self) -> Text:
        return Text(ja=self.ja, en=self.en)


class TypeLabels(_Labels):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)
    category: Category = "Met"
    levels: dict[int, LevelLabel]


class Templates(_Labels):
    """str.format templates. projection: {level} {minutes}; headline: {station} {type}
    {level} {transition}; description adds {value} and {official}. ``missing_data``
    ends the description of a renewal issued while no data arrives from the station
    (offline, or a no-data alert), with {last_reading} (JST): the level said again is
    the last one known, never an all-clear. A forecast warning's text (alerts.forecast):
    ``forecast`` {station} {level} {time} (JST) {minutes} (from the event's time)
    {transition}; ``forecast_overdue`` once the expected time has passed and the
    warning is still open, {station} {level} {time} {issued} (the forecast's, JST)
    {transition};
    ``forecast_reached`` when the level alert took over (never an all-clear) and
    ``forecast_ended`` when the forecast no longer crosses, {station} {level}
    {transition}."""

    projection: Text
    headline: Text
    description: Text
    missing_data: Text = Text(
        ja="観測データが届いていません（最終観測 {last_reading}）。この情報は最終観測時点の"
           "ものです。",
        en="No data from the gauge since {last_reading}: this is the last level known.")
    # Defaults for a rules file written before forecast warnings.
    forecast: Text = Text(
        ja="{station}: {time}頃に{level}に到達する見込み（約{minutes}分後、{transition}）",
        en="{station}: expected to reach {level} at {time} (in {minutes} min, "
           "{transition})")
    forecast_overdue: Text = Text(
        ja="{station}: {issued}時点の予測では{time}頃までに{level}に到達する見込み（{transition}）",
        en="{station}: expected to reach {level} by {time} (forecast of {issued}, "
           "{transition})")
    forecast_reached: Text = Text(
        ja="{station}: {level}に到達しました（水位情報に引き継ぎ）",
        en="{station}: {level} reached: the river level alert takes over")
    forecast_ended: Text = Text(
        ja="{station}: {level}への到達見込みはなくなりました（{transition}）",
        en="{station}: {level} is {transition}")

    @model_validator(mode="after")
    def _known_placeholders(self) -> Templates:
        allowed = {"projection": {"level", "minutes"},
                   "headline": {"station", "type", "level", "transition"},
                   "description": {"station", "type", "level", "transition", "value",
                                   "official", "projection"},
                   "missing_data": {"last_reading"},
                   "forecast": {"station", "level", "time", "minutes", "transition"},
                   "forecast_overdue": {"station", "level", "time", "issued",
                                        "transition"},
                   "forecast_reached": {"station", "level", "transition"},
                   "forecast_ended": {"station", "level", "transition"}}
        check_placeholders(self, allowed)
        return self


class NoDataLabels(_Labels):
    """The no-data alert (alerts.silence): ``all`` names every station; ``basin`` is a
    template with {basin}; ``headline`` has {scope} {silent} {total} {transition}."""

    all: Text
    basin: Text
    headline: Text

    @model_validator(mode="after")
    def _known_placeholders(self) -> NoDataLabels:
        check_placeholders(self, {"all": set(), "basin": {"basin"},
                                  "headline": {"scope", "silent", "total", "transition"}})
        return self


LATER_TRANSITIONS = {Transition.RENEWED.value: {"ja": "継続", "en": "still in force"},
                     Transition.UPDATED.value: {"ja": "更新", "en": "updated"}}
FORECAST_LABELS = {
    "ja": "水位予測", "en": "Forecast warning", "category": "Met",
    "levels": {3: {"name": "evacuation", "ja": "避難判断水位", "en": "Evacuation judgement level",
                   "severity": "Severe", "urgency": "Expected"},
               4: {"name": "danger", "ja": "氾濫危険水位", "en": "Flood danger level",
                   "severity": "Severe", "urgency": "Expected"}}}


class Labels(_Labels):
    types: dict[AlertType, TypeLabels]
    transitions: dict[Transition, Text]
    templates: Templates
    no_data: NoDataLabels
    # The word of a forecast warning's ordinary end (its {transition}), in place of
    # ``transitions.cleared``: the forecast no longer reaches the level, which says
    # nothing of the river now -- 解除 / "all clear" would read as the all-clear.
    forecast_cleared: Text = Text(ja="見込み解消", en="no longer expected")

    @model_validator(mode="before")
    @classmethod
    def _later_words_by_default(cls, data: object) -> object:
        # "renewed", "updated" and the forecast warning came after the rest: a rules
        # file written before them still loads, with these words.
        if not isinstance(data, dict):
            return data
        transitions = data.get("transitions")
        if isinstance(transitions, dict):
            data = {**data, "transitions": {**LATER_TRANSITIONS, **transitions}}
        types = data.get("types")
        if isinstance(types, dict) and AlertType.FORECAST.value not in types:
            data = {**data, "types": {**types, AlertType.FORECAST.value: FORECAST_LABELS}}
        return data

    @model_validator(mode="after")
    def _complete(self) -> Labels:
        for alert_type, levels in REQUIRED_LEVELS.items():
            labels = self.types.get(alert_type)
            if labels is None:
                raise ValueError(f"types.{alert_type.value}: missing")
            missing = [level for level in levels if level not in labels.levels]
            if missing:
                raise ValueError(f"types.{alert_type.value}.levels.{missing[0]}: missing")
        for transition in Transition:
            if transition not in self.transitions:
                raise ValueError(f"transitions.{transition.value}: missing")
        return self

    def level(self, alert_type: AlertType, level: int) -> LevelLabel:
        return self.types[alert_type].levels[level]
