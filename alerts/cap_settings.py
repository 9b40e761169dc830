"""The ``cap:`` section of the rules file: what floodwatch's CAP profile (docs/cap.md)
leaves to the office -- how long a message stays valid, who sends it and where to ask,
and the responseType each level calls for.

Durations are written ``90m``, ``6h``, ``1d`` (or plain seconds): receivers such as
L-Alert take ``expires`` as the end of the message's display, so it is chosen per alert
type, and each update renews it (expires = sent + duration).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from floodwatch.alerts.labels import Text
from floodwatch.alerts.model import REQUIRED_LEVELS, AlertType

# CAP 1.2 ``responseType`` values (the OASIS schema's enumeration).
ResponseType = Literal["Shelter", "Evacuate", "Prepare", "Execute", "Avoid", "Monitor",
                       "Assess", "AllClear", "None"]

_DURATION = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")
_UNIT_S = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def _duration(value: object) -> object:
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match is None:
            raise ValueError(f"{value!r} is not a duration (e.g. 90m, 6h, 1d)")
        return timedelta(seconds=int(match[1]) * _UNIT_S[match[2]])
    if isinstance(value, int) and not isinstance(value, bool):
        return timedelta(seconds=value)
    return value


Duration = Annotated[timedelta, BeforeValidator(_duration)]


class _Section(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Expiry(_Section):
    """How long a message of each alert type is valid after it is sent. An alert that
    outlives it is renewed by its next message; one whose gauge falls silent gets an
    offline alert, never a silent expiry posing as an all-clear."""

    river_level: Duration = timedelta(hours=6)
    rate_of_rise: Duration = timedelta(hours=3)
    road_flooding: Duration = timedelta(hours=3)
    road_icing: Duration = timedelta(hours=6)
    offline: Duration = timedelta(hours=6)
    data_quality: Duration = timedelta(hours=6)
    # A forecast is re-issued on every reading; 3 h is its whole reach.
    forecast: Duration = timedelta(hours=3)
    # An all-clear is news for a short while, then nothing is in force.
    all_clear: Duration = timedelta(hours=1)

    @model_validator(mode="after")
    def _positive(self) -> Expiry:
        for name, value in self:
            if value <= timedelta(0):
                raise ValueError(f"{name}: must be longer than 0")
        return self

    def of(self, alert_type: AlertType) -> timedelta:
        duration: timedelta = getattr(self, alert_type.value)
        return duration


def _default_responses() -> dict[AlertType, dict[int, ResponseType]]:
    # From a level up, until a higher level has its own (as the advice texts).
    # 警戒レベル3-4相当 call for evacuation (高齢者等避難, 避難指示); 氾濫発生 (警戒レベル5相当,
    # 緊急安全確保) for immediate safety where one is: going out to a shelter may
    # already be deadly, so Shelter, not Evacuate.
    return {AlertType.RIVER_LEVEL: {1: "Monitor", 2: "Prepare", 3: "Evacuate",
                                    5: "Shelter"},
            AlertType.RATE_OF_RISE: {1: "Monitor"},
            AlertType.ROAD_FLOODING: {1: "Monitor", 2: "Avoid"},
            AlertType.ROAD_ICING: {1: "Monitor", 2: "Prepare"},
            # Expected, not yet there: watch below evacuation, get ready from it up --
            # the level alert says Evacuate once the water is there (docs/cap.md).
            AlertType.FORECAST: {1: "Monitor", 3: "Prepare"},
            # For staff: look into the gauge or the data.
            AlertType.OFFLINE: {1: "Assess"},
            AlertType.DATA_QUALITY: {1: "Assess"}}


class CapSection(_Section):
    """``cap:`` in the rules file (docs/cap.md)."""

    sender_name: Text = Text(ja="floodwatch 河川・道路防災情報", en="floodwatch flood information")
    contact: Text | None = Field(
        default=None, description="who to call or write about a message, per language")
    web: str | None = Field(
        default=None, pattern=r"^https?://\S+$",
        description="a page with more; {station} is replaced by the station id")
    expires: Expiry = Expiry()
    response_types: dict[AlertType, dict[int, ResponseType]] = Field(
        default_factory=_default_responses)

    @model_validator(mode="before")
    @classmethod
    def _over_the_defaults(cls, data: object) -> object:
        # An office changes one alert type's responses without restating the others.
        if isinstance(data, dict) and isinstance(data.get("response_types"), dict):
            merged: dict[object, object] = {
                key.value: value for key, value in _default_responses().items()}
            merged.update(data["response_types"])
            data = {**data, "response_types": merged}
        return data

    @model_validator(mode="after")
    def _every_level_answered(self) -> CapSection:
        for alert_type, levels in REQUIRED_LEVELS.items():
            given = self.response_types.get(alert_type)
            if not given or min(given) > min(levels):
                raise ValueError(f"response_types.{alert_type.value}: needs a response "
                                 f"from level {min(levels)}")
        if self.web is not None and self.web.replace("{station}", "").count("{"):
            raise ValueError("web: the only placeholder is {station}")
        return self

    def response_type(self, alert_type: AlertType, level: int) -> ResponseType:
        given = self.response_types[alert_type]
        return given[max(at for at in given if at <= max(level, min(given)))]

    def web_for(self, station: str) -> str | None:
        return None if self.web is None else self.web.replace("{station}", station)
