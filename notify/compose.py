"""Residents' posts for a group of stations, within the platform's length: X's weighted
280 (kana and kanji count 2, a URL 23; counted with twitter-text-parser, the port of X's
own rules) or Mastodon's 500 characters.

How a group becomes a thread (the words are notify.wording's):
- every post carries the badge and the advice; nothing cuts the advice;
- as few posts as name every station: official names first, then the registry's
  ``short_name``s, then more posts (replies) up to ``max_posts``;
- when they still do not all fit, the last post names what it can and says
  「ほかN地点」 / "N more" with the link to the public page that lists them all;
- the first language (``languages``) comes first; another one joins the post when both
  fit, else follows as replies while ``max_posts`` allows;
- a name too long for a post of its own is cut at a word (in English; Japanese has no
  spaces) with "…" -- never the advice.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from twitter_text import parse_tweet  # type: ignore[import-untyped]

from floodwatch.core.registry import StationRegistry
from floodwatch.notify.config import Social, Templates, Text
from floodwatch.notify.notice import Notice
from floodwatch.notify.policy import priority
from floodwatch.notify.wording import Wording, station_name

X_MAX_WEIGHTED = 280
MASTODON_MAX_CHARS = 500
ELLIPSIS = "…"

Fits = Callable[[str], bool]


def x_weighted_length(text: str) -> int:
    return int(parse_tweet(text).weightedLength)


def fits_x(text: str) -> bool:
    # Counting takes milliseconds (twitter-text's URL pattern) and packing a storm asks
    # often: sure answers first. No character weighs more than 2, and a URL (which has
    # a dot) at most 23 more than its characters; none weighs less than 1 but a URL.
    if 2 * len(text) + 23 * text.count(".") <= X_MAX_WEIGHTED:
        return True
    if "." not in text and len(text) > X_MAX_WEIGHTED:
        return False
    return _weighted_length(text) <= X_MAX_WEIGHTED


@lru_cache(maxsize=4096)
def _weighted_length(text: str) -> int:
    return x_weighted_length(text)


def fits_mastodon(text: str) -> bool:
    return len(text) <= MASTODON_MAX_CHARS


def shorten(text: str, fits: Fits) -> str:
    """The longest start of ``text`` that fits, with an ellipsis: the last resort for a
    post the templates made too long (logged as an error where it is used)."""
    low, high = 0, len(text)
    while low < high:  # bisection: fits is monotonic in the length
        middle = (low + high + 1) // 2
        if fits(text[:middle].rstrip() + ELLIPSIS):
            low = middle
        else:
            high = middle - 1
    return text[:low].rstrip() + ELLIPSIS


def cut_name(name: str) -> str | None:
    """``name`` a step shorter, with an ellipsis: a word less where it has spaces, else a
    character less; None when nothing is left to cut."""
    bare = name.removesuffix(ELLIPSIS)
    words = bare.split()
    if len(words) > 1:
        return " ".join(words[:-1]) + ELLIPSIS
    return bare[:-1] + ELLIPSIS if len(bare) > 1 else None


@dataclass(frozen=True)
class Draft:
    body: str
    link: str | None  # the public page: only on a post that counts stations it omits


@dataclass(frozen=True)
class Composer:
    templates: Templates
    social: Social
    registry: StationRegistry
    basins: dict[str, Text]
    fits: Fits
    public_page_url: str | None = None

    @property
    def wording(self) -> Wording:
        return Wording(self.templates, self.registry, self.basins, self.public_page_url)

    def thread(self, notices: Sequence[Notice], *, max_posts: int = 1) -> list[str]:
        """The posts (the first, then its replies in order) that tell residents about
        ``notices`` -- each the latest event of its station, all of one group the social
        sender formed (one alert type, escalating or not). At most ``max_posts``, each
        fitting the platform and carrying the advice (see the module)."""
        group = self._ordered(notices)
        first, *others = self.social.languages
        drafts = self._drafts(group, first, max(1, max_posts))
        if others and len(drafts) == 1 and drafts[0].link is None:
            # Both languages in one post when they fit (the link, if any, at the end).
            other = self._drafts(group, others[0], 1)
            joined = Draft(drafts[0].body + "\n\n" + other[0].body, other[0].link)
            if len(other) == 1 and other[0].link is None and self.fits(self._finish(joined)):
                return [self._finish(joined)]
        for lang in others:
            room = max_posts - len(drafts)
            if room < 1:
                break
            drafts += self._drafts(group, lang, room)
        return [self._finish(draft) for draft in drafts]

    def _ordered(self, notices: Sequence[Notice]) -> list[Notice]:
        def key(notice: Notice) -> tuple[int, str, str]:
            station = self.registry.get(notice.station)
            river = (station.river or "") if station is not None else ""
            return -priority(notice), river, notice.station
        return sorted(notices, key=key)

    def _finish(self, draft: Draft) -> str:
        tail = draft.link or self.social.url
        return f"{draft.body}\n{tail}" if tail else draft.body

    def _drafts(self, group: list[Notice], lang: str, budget: int) -> list[Draft]:
        """The fewest posts naming every station in ``lang`` -- official names before
        short ones -- or, when ``budget`` posts cannot, the summary ending with the
        link."""
        # Greedy packing in order takes the fewest posts for a set of names.
        plans = [self._pack(group, lang, len(group), short) for short in (False, True)]
        (official, official_complete), (short, short_complete) = plans
        if official_complete and len(official) <= min(budget, len(short)):
            return official
        if short_complete and len(short) <= budget:
            return short
        return self._pack(group, lang, budget, short=True)[0]

    def _pack(self, group: list[Notice], lang: str, budget: int,
              short: bool) -> tuple[list[Draft], bool]:
        """Posts filled in order, at most ``budget``; and whether they name every
        station in full (none counted in "N more", no name cut)."""
        names = {notice.station: station_name(self.registry.get(notice.station), notice,
                                              lang, short) for notice in group}
        link = self.wording.link(group)
        drafts: list[Draft] = []
        start = 0
        complete = True
        while start < len(group) and len(drafts) < budget:
            last = len(drafts) == budget - 1

            def draft(end: int, last: bool = last, begin: int = start) -> Draft:
                hidden = len(group) - end if last else 0
                body = self.wording.post(group, group[begin:end], hidden, lang, names)
                return Draft(body, link if hidden else None)

            taken = self._most_that_fit(draft, start, len(group), last)
            if taken is None and last and len(group) > 1:
                # A summary counts what it cannot name (the page lists it) rather than
                # cut a name; a lone station's name is cut instead.
                taken = start
            if taken is None:  # not even one station: its name is cut until it fits
                taken, complete = start + 1, False
                while not self.fits(self._finish(draft(taken))):
                    shorter = cut_name(names[group[start].station])
                    if shorter is None:
                        break
                    names[group[start].station] = shorter
            drafts.append(draft(taken))
            start = taken
        return drafts, complete and start == len(group) and drafts[-1].link is None

    def _most_that_fit(self, draft: Callable[[int], Draft], start: int, end: int,
                       last: bool) -> int | None:
        """The end of the longest run from ``start`` whose post fits (on the last post,
        with the rest counted and linked); None if not even one station fits."""
        if last and self.fits(self._finish(draft(end))):
            return end  # all the rest, no "N more" needed
        best: int | None = None  # a post naming none: only once a name cannot be cut more
        for stop in range(start + 1, end + 1):
            if not self.fits(self._finish(draft(stop))):
                break
            best = stop
        return best
