"""The words of residents' posts (``templates:`` in the delivery configuration): every
sentence is a ja/en ``str.format`` template the office may edit, checked at load for
placeholders that will never be given. The defaults here are the shipped wording
(config/notify.yaml repeats them so they can be edited there; a test keeps both equal).

A post is ``post`` filled with a badge, a body and the advice (from the advice file,
config/advice.yaml: core.advice). The body is, per alert
type and situation (escalating, lowered, cleared), ``one`` for a single station or
``many`` for a list of them (``{items}``), each named through ``places``.
"""

from __future__ import annotations

import string

from pydantic import BaseModel, ConfigDict, Field, model_validator

from floodwatch.core.advice import Advice


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Text(_Model):
    ja: str
    en: str


def _t(ja: str, en: str) -> Text:
    return Text(ja=ja, en=en)


# The placeholders each template is given (a template may use any subset of them).
ONE = {"place", "municipality", "time", "level", "value", "trend"}
MANY = {"area", "items", "time", "level", "count"}


class Sentences(_Model):
    """How a post tells of one situation: ``one`` station, or ``many`` listed."""

    # Replaces the level's official label (警戒レベル4相当) in the badge, e.g. 解除.
    badge: Text | None = None
    one: Text
    many: Text


class AlertWording(_Model):
    """Everything residents read about one alert type."""

    escalating: Sentences
    # A level that needs other words than "reached": river level 5 is 氾濫発生.
    escalating_at: dict[int, Sentences] = {}
    lowered: Sentences  # fell below the act level
    cleared: Sentences


class Places(_Model):
    """How a station is named: a gauge with its river, a gauge whose name (or the item
    before it in a list) already says the river, a road sensor."""

    river: Text = _t("{river}の{station}観測所", "{river} at {station}")
    river_named: Text = _t("{station}観測所", "{station}")
    road: Text = _t("{station}", "{station}")


class Trends(_Model):
    rising: Text = _t("水位は上昇中です。", ", rising")
    falling: Text = _t("水位は下降中です。", ", falling")


RIVER = AlertWording(
    escalating=Sentences(
        one=_t("{place}（{municipality}）の水位が{time}に{level}（{value}）に到達しました。{trend}",
               "{place} ({municipality}) reached the {level} ({value}) at {time}{trend}."),
        many=_t("{area}で{items}の水位が{time}までに{level}に到達しました。",
                "In {area}, {items} reached the {level} by {time}.")),
    escalating_at={5: Sentences(
        one=_t("{place}（{municipality}）で{time}に氾濫が発生しました（{level}、水位{value}）。",
               "Flooding at {place} ({municipality}) at {time} ({value})."),
        many=_t("{area}で{items}において{time}までに氾濫が発生しました（{level}）。",
                "Flooding in {area} at {items} by {time}."))},
    lowered=Sentences(
        badge=_t("水位低下", "Water falling"),
        one=_t("{place}（{municipality}）の水位が{time}に{level}まで下がりました（{value}）。{trend}",
               "{place} ({municipality}) fell to the {level} ({value}) at {time}{trend}."),
        many=_t("{area}で{items}の水位が{time}までに{level}まで下がりました。",
                "In {area}, {items} fell to the {level} by {time}.")),
    cleared=Sentences(
        badge=_t("解除", "All clear"),
        one=_t("{place}（{municipality}）の水位が{time}に{level}を下回り、警戒を解除しました。",
               "{place} ({municipality}) fell below the {level} at {time}: all clear."),
        many=_t("{area}で{items}の水位が{time}までに{level}を下回り、警戒を解除しました。",
                "In {area}, {items} fell below the {level} by {time}: all clear.")),
)

ROAD_FLOODING = AlertWording(
    escalating=Sentences(
        one=_t("{place}（{municipality}）は冠水のため通行止めです（{time}）。",
               "{place} ({municipality}) is closed by flooding ({time})."),
        many=_t("{area}で{items}が冠水のため通行止めです（{time}）。",
                "In {area}, {items} are closed by flooding ({time}).")),
    lowered=Sentences(
        badge=_t("通行止め解除", "Reopened"),
        one=_t("{place}（{municipality}）の冠水による通行止めを解除しました（{time}）。",
               "{place} ({municipality}) has reopened after flooding ({time})."),
        many=_t("{area}で{items}の冠水による通行止めを解除しました（{time}）。",
                "In {area}, {items} have reopened after flooding ({time}).")),
    cleared=Sentences(
        badge=_t("解除", "All clear"),
        one=_t("{place}（{municipality}）の冠水は解消しました（{time}）。",
               "The flooding at {place} ({municipality}) has cleared ({time})."),
        many=_t("{area}で{items}の冠水は解消しました（{time}）。",
                "In {area}, the flooding at {items} has cleared ({time}).")),
)

ROAD_ICING = AlertWording(
    escalating=Sentences(
        one=_t("{place}（{municipality}）の路面が凍結しています（{time}）。",
               "{place} ({municipality}) is icy ({time})."),
        many=_t("{area}で{items}の路面が凍結しています（{time}）。",
                "In {area}, {items} are icy ({time}).")),
    lowered=Sentences(
        badge=_t("凍結解消", "Ice cleared"),
        one=_t("{place}（{municipality}）の路面凍結は解消しました（{time}）。",
               "The ice at {place} ({municipality}) has cleared ({time})."),
        many=_t("{area}で{items}の路面凍結は解消しました（{time}）。",
                "In {area}, the ice at {items} has cleared ({time}).")),
    cleared=Sentences(
        badge=_t("解除", "All clear"),
        one=_t("{place}（{municipality}）の路面凍結は解消しました（{time}）。",
               "The ice at {place} ({municipality}) has cleared ({time})."),
        many=_t("{area}で{items}の路面凍結は解消しました（{time}）。",
                "In {area}, the ice at {items} has cleared ({time}).")),
)


class Templates(_Model):
    """The words of residents' posts (see the module)."""

    post: Text = _t("【{badge}】{body}{advice}", "[{badge}] {body} {advice}")
    # Mixed levels in one post: the lowest, "or above" (badge and sentence).
    at_least: Text = _t("{level}以上", "{level} or above")
    # The last item of a summary: the stations it could not name (the link follows).
    more: Text = _t("ほか{count}地点", "{count} more")
    separator: Text = _t("、", ", ")
    # Times are JST; {mon} is the English month abbreviation.
    time: Text = _t("{month}月{day}日 {hhmm}", "{hhmm} on {day} {mon}")
    # Where a post lists stations of several municipalities (a basin's summary).
    basin_area: Text = _t("{basin}流域", "the {basin} basin")
    places: Places = Places()
    trends: Trends = Trends()
    alerts: dict[str, AlertWording] = Field(default_factory=lambda: {
        "river_level": RIVER, "road_flooding": ROAD_FLOODING, "road_icing": ROAD_ICING})
    # What residents are told to do: not notify.yaml's but the advice file's
    # (FLOODWATCH_ADVICE, core.advice), which CAP's instruction reads too. Set by
    # NotifyConfig's loaders; None leaves posts without advice.
    advice: Advice | None = None

    @model_validator(mode="after")
    def _known_placeholders(self) -> Templates:
        checks: list[tuple[str, Text, set[str]]] = [
            ("post", self.post, {"badge", "body", "advice"}),
            ("at_least", self.at_least, {"level"}), ("more", self.more, {"count"}),
            ("separator", self.separator, set()),
            ("time", self.time, {"month", "day", "hhmm", "mon"}),
            ("basin_area", self.basin_area, {"basin"}),
            ("places.river", self.places.river, {"river", "station"}),
            ("places.river_named", self.places.river_named, {"station"}),
            ("places.road", self.places.road, {"station"}),
            ("trends.rising", self.trends.rising, set()),
            ("trends.falling", self.trends.falling, set())]
        for alert_type, wording in self.alerts.items():
            situations = {"escalating": wording.escalating, "lowered": wording.lowered,
                          "cleared": wording.cleared,
                          **{f"escalating_at.{level}": sentences
                             for level, sentences in wording.escalating_at.items()}}
            for name, sentences in situations.items():
                where = f"alerts.{alert_type}.{name}"
                checks += [(f"{where}.one", sentences.one, ONE),
                           (f"{where}.many", sentences.many, MANY)]
                if sentences.badge is not None:
                    checks.append((f"{where}.badge", sentences.badge, set()))
        for where, text, allowed in checks:
            for lang in ("ja", "en"):
                _check(f"{where}.{lang}", getattr(text, lang), allowed)
        return self


def _check(where: str, template: str, allowed: set[str]) -> None:
    try:
        fields = {field for _, field, _, _ in string.Formatter().parse(template)
                  if field is not None}
    except ValueError as exc:  # a lone brace
        raise ValueError(f"{where}: not a valid template: {exc}") from exc
    extra = fields - allowed
    if extra:
        raise ValueError(f"{where}: unknown placeholder {{{sorted(extra)[0]}}} (allowed: "
                         f"{', '.join(sorted(allowed)) or 'none'})")
