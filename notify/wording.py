"""One post's words: a badge, a sentence saying where, what and when, and the advice --
from the office's templates (notify.templates), the event's JSON and the registry's
names. How many stations a post lists, and in how many posts, is notify.compose's job.

A group is the latest event of each station of one alert type, all escalating or all
lowered/cleared, listed most urgent first. Times are JST (the events' ``at`` is UTC).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

from floodwatch.core.readings import JST
from floodwatch.core.registry import Station, StationKind, StationRegistry
from floodwatch.notify.notice import Notice
from floodwatch.notify.templates import AlertWording, Sentences, Templates, Text

MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov",
             "Dec")
# detail key -> the unit it is quoted in (the first one an event has is its value)
UNITS = (("level_m", "{:.2f}m", "{:.2f} m"), ("water_depth_cm", "{:.0f}cm", "{:.0f} cm"),
         ("surface_temp_c", "{:.1f}°C", "{:.1f} °C"))

NameMap = Mapping[str, str]  # station id -> the name a post uses (official, short or cut)


def text(value: object, lang: str) -> str:
    return str(getattr(value, lang))


def situation(notice: Notice) -> str:
    if notice.escalating:
        return "escalating"
    return "cleared" if notice.transition == "cleared" else "lowered"


def station_name(station: Station | None, notice: Notice, lang: str, short: bool) -> str:
    if station is None:
        return notice.station
    names = station.short_name if short and station.short_name is not None else station.name
    return text(names, lang)


@dataclass(frozen=True)
class Wording:
    templates: Templates
    registry: StationRegistry
    basins: Mapping[str, Text]
    public_page_url: str | None = None

    def post(self, group: Sequence[Notice], listed: Sequence[Notice], hidden: int,
             lang: str, names: NameMap) -> str:
        """One post of ``group``: ``listed`` named, then the next ``hidden`` of the
        group counted as "N more"."""
        covered = [*listed, *group[len(group) - hidden:]] if hidden else list(listed)
        first = covered[0]
        wording = self.templates.alerts.get(first.alert_type)
        if wording is None:  # a type the office has not worded (notify --check says so)
            body = text(first.headline, lang)
        else:
            body = self._body(wording, group, listed, covered, lang=lang, names=names)
        filled = text(self.templates.post, lang).format(
            badge=self._badge(wording, covered, lang), body=body,
            advice=self._advice(wording, covered, lang))
        return re.sub(" {2,}", " ", filled).strip()  # an empty part leaves two spaces

    def link(self, group: Sequence[Notice]) -> str | None:
        """The public page listing every station of the group's alert type at or above
        its lowest level (level 1 for all-clears: what is still on alert)."""
        if self.public_page_url is None:
            return None
        query = urlencode({"alert_type": group[0].alert_type,
                           "level": max(1, min(notice.level for notice in group))})
        return f"{self.public_page_url}?{query}"

    def _sentences(self, wording: AlertWording, covered: Sequence[Notice]) -> Sentences:
        kind = situation(covered[0])
        if kind != "escalating":
            return wording.lowered if kind == "lowered" else wording.cleared
        levels = {notice.level for notice in covered}
        if len(levels) == 1 and (level := levels.pop()) in wording.escalating_at:
            return wording.escalating_at[level]
        return wording.escalating

    def _body(self, wording: AlertWording, group: Sequence[Notice], listed: Sequence[Notice],
              covered: Sequence[Notice], *, lang: str, names: NameMap) -> str:
        hidden = len(covered) - len(listed)
        sentences = self._sentences(wording, covered)
        when = self._time(max(notice.at for notice in covered), lang)
        level = self._level(covered, lang)
        if len(listed) == 1 and not hidden:
            notice = listed[0]
            station = self.registry.get(notice.station)
            filled = text(sentences.one, lang).format(
                place=self._place(notice, station, None, lang, names),
                municipality=self._municipality(station, lang), time=when, level=level,
                value=self._value(notice, lang), trend=self._trend(notice, lang))
        else:
            municipality = self._one_municipality(group)
            items = self._items(listed, lang, names, with_municipality=municipality is None,
                                with_level=len({n.level for n in covered}) > 1)
            if hidden:
                items.append(text(self.templates.more, lang).format(count=hidden))
            area = (self._municipality(self.registry.get(group[0].station), lang)
                    if municipality is not None else self._basin(group[0], lang))
            filled = text(sentences.many, lang).format(
                area=area, items=text(self.templates.separator, lang).join(items),
                time=when, level=level, count=len(covered))
        # A value an event lacks leaves empty brackets behind: dropped.
        return filled.replace("（）", "").replace(" ()", "").strip()

    def _items(self, listed: Sequence[Notice], lang: str, names: NameMap, *,
               with_municipality: bool, with_level: bool) -> list[str]:
        items: list[str] = []
        previous_river: str | None = None
        for notice in listed:
            station = self.registry.get(notice.station)
            place = self._place(notice, station, previous_river, lang, names)
            previous_river = station.river if station is not None else None
            notes = []
            if with_municipality and station is not None \
                    and station.municipality is not None:
                notes.append(self._municipality(station, lang))
            if with_level:
                notes.append(self._label(notice, lang))
            value = self._value(notice, lang)
            if value and station is not None and station.kind is StationKind.RIVER:
                notes.append(value)
            if notes:
                place += f"（{' '.join(notes)}）" if lang == "ja" else f" ({', '.join(notes)})"
            items.append(place)
        return items

    def _place(self, notice: Notice, station: Station | None, previous_river: str | None,
               lang: str, names: NameMap) -> str:
        name = names.get(notice.station, notice.station)
        places = self.templates.places
        if station is None or station.kind is StationKind.ROAD:
            return text(places.road, lang).format(station=name)
        river_names = self.registry.river_name(station)
        river = text(river_names, lang) if river_names is not None else None
        # Said once for a run of its gauges, and not at all when the name says it.
        if river is None or station.river == previous_river \
                or text(station.name, lang).startswith(river):
            return text(places.river_named, lang).format(station=name)
        return text(places.river, lang).format(river=river, station=name)

    def _municipality(self, station: Station | None, lang: str) -> str:
        names = self.registry.municipality_name(station) if station is not None else None
        if names is None:
            return self._basin_of(station, lang)
        return text(names, lang)

    def _one_municipality(self, group: Sequence[Notice]) -> str | None:
        codes = set()
        for notice in group:
            station = self.registry.get(notice.station)
            codes.add(station.municipality if station is not None else None)
        return codes.pop() if len(codes) == 1 else None

    def _basin(self, notice: Notice, lang: str) -> str:
        return self._basin_of(self.registry.get(notice.station), lang)

    def _basin_of(self, station: Station | None, lang: str) -> str:
        basin = station.basin if station is not None else ""
        names = self.basins.get(basin)
        return text(self.templates.basin_area, lang).format(
            basin=text(names, lang) if names is not None else basin)

    def _label(self, notice: Notice, lang: str) -> str:
        label = text(notice.label, lang)
        # Mid-sentence in English: "reached the flood danger level".
        return label[:1].lower() + label[1:] if lang == "en" else label

    def _level(self, covered: Sequence[Notice], lang: str) -> str:
        lowest = min(covered, key=lambda notice: notice.level)
        label = self._label(lowest, lang)
        if len({notice.level for notice in covered}) == 1:
            return label
        return text(self.templates.at_least, lang).format(level=label)

    def _badge(self, wording: AlertWording | None, covered: Sequence[Notice],
               lang: str) -> str:
        sentences = self._sentences(wording, covered) if wording is not None else None
        if sentences is not None and sentences.badge is not None:
            return text(sentences.badge, lang)
        lowest = min(covered, key=lambda notice: notice.level)
        official = text(lowest.official or lowest.label, lang)
        if len({notice.level for notice in covered}) == 1:
            return official
        return text(self.templates.at_least, lang).format(level=official)

    def _advice(self, wording: AlertWording | None, covered: Sequence[Notice],
                lang: str) -> str:
        advice = self.templates.advice
        if wording is None or advice is None:
            return ""
        alert_type = covered[0].alert_type
        if not covered[0].escalating:
            given = advice.all_clear_for(alert_type)
        else:
            # Mixed levels: the advice of the highest, the safe side.
            given = advice.advice_for(alert_type, max(notice.level for notice in covered))
        return getattr(given, lang) if given is not None else ""

    def _time(self, at: str, lang: str) -> str:
        moment = datetime.fromisoformat(at).astimezone(JST)
        return text(self.templates.time, lang).format(
            month=moment.month, day=moment.day, hhmm=f"{moment:%H:%M}",
            mon=MONTHS_EN[moment.month - 1])

    def _value(self, notice: Notice, lang: str) -> str:
        for key, ja, en in UNITS:
            value = notice.detail.get(key)
            if isinstance(value, int | float) and not isinstance(value, bool):
                return (ja if lang == "ja" else en).format(value)
        return ""

    def _trend(self, notice: Notice, lang: str) -> str:
        rate = notice.detail.get("rate_m_per_h")
        if not isinstance(rate, int | float) or isinstance(rate, bool) or rate == 0:
            return ""
        trends = self.templates.trends
        return text(trends.rising if rate > 0 else trends.falling, lang)
