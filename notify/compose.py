"""Post texts for residents: Japanese first, English after it as configured, within
X's weighted length (280, where kana and kanji count 2 and a URL 23), counted with
twitter-text-parser, the port of X's own counting rules.

One station: the ``single`` template. Several stations of one basin at once: one
``basin`` post listing them by urgency, with "and N more" when they do not all fit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from twitter_text import parse_tweet  # type: ignore[import-untyped]

from floodwatch.core.registry import StationRegistry
from floodwatch.notify.config import Social, Templates, Text
from floodwatch.notify.notice import Notice
from floodwatch.notify.policy import priority

X_MAX_WEIGHTED = 280
MASTODON_MAX_CHARS = 500
ELLIPSIS = "…"

Fits = Callable[[str], bool]


def x_weighted_length(text: str) -> int:
    return int(parse_tweet(text).weightedLength)


def fits_x(text: str) -> bool:
    return x_weighted_length(text) <= X_MAX_WEIGHTED


def fits_mastodon(text: str) -> bool:
    return len(text) <= MASTODON_MAX_CHARS


def shorten(text: str, fits: Fits) -> str:
    """Cut at the end (with an ellipsis) until it fits."""
    if fits(text):
        return text
    low, high = 0, len(text)
    while low < high:  # the longest prefix that fits, by bisection
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


@dataclass(frozen=True)
class Composer:
    templates: Templates
    social: Social
    registry: StationRegistry
    basins: dict[str, Text]
    fits: Fits

    def compose(self, notices: Sequence[Notice]) -> str:
        latest: dict[str, Notice] = {}
        for notice in notices:  # the current state of each station is what matters
            if notice.station not in latest or notice.seq > latest[notice.station].seq:
                latest[notice.station] = notice
        ordered = sorted(latest.values(), key=lambda n: (-priority(n), n.station))
        texts = [self._text(ordered, lang) for lang in self.social.languages]
        suffix = f"\n{self.social.url}" if self.social.url else ""
        # As many languages as fit, in the configured order; the first is always kept.
        body = texts[0]
        for text in texts[1:]:
            if self.fits(body + "\n\n" + text + suffix):
                body += "\n\n" + text
        if self.fits(body + suffix):
            return body + suffix
        return shorten(body, lambda candidate: self.fits(candidate + suffix)) + suffix

    def thread(self, notices: Sequence[Notice], *, max_posts: int = 1) -> list[str]:
        """The posts (the first, then its replies in order) that tell residents about
        ``notices`` -- each the latest event of its station, all of one group the social
        sender formed (one alert type and municipality, or a basin's summary). Every
        post fits the platform and carries the advice; at most ``max_posts``: when the
        stations do not all fit, the last post summarises and links the public page.

        Interface for the social sender; the text itself is being rewritten (issue 20).
        """
        del max_posts
        return [self.compose(notices)]

    def _text(self, notices: list[Notice], lang: str) -> str:
        first = notices[0]
        badge = self._badge(first, lang)
        if len(notices) == 1:
            return " ".join(_get(self.templates.single, lang).format(
                badge=badge, headline=_get(first.headline, lang),
                advice=self._advice(first, lang)).split())
        station = self.registry.get(first.station)
        basin_id = station.basin if station is not None else first.station
        basin = self.basins.get(basin_id)
        head = _get(self.templates.basin, lang)
        items: list[str] = []
        for index, notice in enumerate(notices):
            item = _get(self.templates.item, lang).format(
                station=self._station(notice, lang), level=self._level(notice, lang))
            rest = len(notices) - index - 1
            more = _get(self.templates.more, lang).format(count=rest) if rest else ""
            candidate = ", ".join([*items, item, *([more] if more else [])])
            text = head.format(badge=badge, basin=_get(basin, lang) if basin else basin_id,
                               count=len(notices), items=candidate)
            if items and not self.fits(text):
                more = _get(self.templates.more, lang).format(count=len(notices) - index)
                items.append(more)
                break
            items.append(item)
        return head.format(badge=badge, basin=_get(basin, lang) if basin else basin_id,
                           count=len(notices), items=", ".join(items))

    def _badge(self, notice: Notice, lang: str) -> str:
        if not notice.escalating:
            word = self.templates.badges.get(notice.transition)
            if word is not None:
                return _get(word, lang)
        if notice.official is not None:
            return _get(notice.official, lang)
        return _get(notice.label, lang)

    def _advice(self, notice: Notice, lang: str) -> str:
        if not notice.escalating:
            return _get(self.templates.all_clear_advice, lang)
        advice = self.templates.advice.get(notice.alert_type, {}).get(notice.level)
        return _get(advice, lang) if advice is not None else ""

    def _station(self, notice: Notice, lang: str) -> str:
        station = self.registry.get(notice.station)
        return _get(station.name, lang) if station is not None else notice.station

    def _level(self, notice: Notice, lang: str) -> str:
        label = _get(notice.label, lang)
        if notice.escalating:
            return label
        badge = self._badge(notice, lang)
        return f"{label}（{badge}）" if lang == "ja" else f"{label} ({badge})"


def _get(text: Text | object, lang: str) -> str:
    return str(getattr(text, lang))
