"""The SensorThings query options floodwatch serves, parsed strictly:

- ``$top`` (page size, at most ``MAX_PAGE``), ``$skip``, ``$count=true|false``;
- ``$orderby=phenomenonTime|resultTime [asc|desc]`` (Observations only);
- ``$filter`` of time comparisons joined by ``and``, e.g.
  ``phenomenonTime ge 2026-11-01T00:00:00Z and phenomenonTime lt 2026-11-02T00:00:00+09:00``
  (Observations only; ``ge gt le lt eq``; each comparison may be parenthesised);
- ``$expand`` of navigation properties, with ``/`` paths and nested options in
  parentheses separated by ``;``, e.g. ``Datastreams/Observations($top=1;$orderby=
  phenomenonTime desc)``.

Anything else is a 400 ``bad-query`` problem naming it. A filter's times reach InfluxQL
only as datetimes this module parsed and range-checked, printed again by ``format_ts``.

Written here rather than with an OData library: the subset is small, and the parsers on
PyPI translate to SQL, not InfluxQL, and accept far more than this view can answer.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from floodwatch.api.problems import ProblemError
from floodwatch.api.time_params import storable_utc
from floodwatch.core.readings import format_ts

DEFAULT_PAGE = 100
MAX_PAGE = 1000
MAX_EXPAND_DEPTH = 3
OPTIONS = ("$top", "$skip", "$count", "$orderby", "$filter", "$expand")

_INTEGER = re.compile(r"[0-9]{1,9}")
_ORDER = re.compile(r"(?:phenomenonTime|resultTime)(?:\s+(asc|desc))?")
_TIME = (r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}(?::[0-9]{2}(?:\.[0-9]{1,9})?)?"
         r"(?:Z|[+-][0-9]{2}:[0-9]{2})")
_COMPARISON = re.compile(
    rf"\(?\s*(?:phenomenonTime|resultTime)\s+(ge|gt|le|lt|eq)\s+({_TIME})\s*\)?")
_AND = re.compile(r"\s+and\s+")
_NAVIGATION = re.compile(r"[A-Za-z]{1,32}(?:/[A-Za-z]{1,32})*")


def bad_query(detail: str) -> ProblemError:
    return ProblemError(400, "bad-query", "Unsupported or malformed query", detail)


@dataclass(frozen=True, slots=True)
class TimeRange:
    """Bounds on phenomenonTime (= resultTime here); None: unbounded."""

    lower: datetime | None = None
    lower_inclusive: bool = True
    upper: datetime | None = None
    upper_inclusive: bool = False

    def influxql(self) -> str:
        """`` AND time ...`` conditions (empty when unbounded)."""
        parts = []
        if self.lower is not None:
            parts.append(f" AND time {'>=' if self.lower_inclusive else '>'} "
                         f"'{format_ts(self.lower)}'")
        if self.upper is not None:
            parts.append(f" AND time {'<=' if self.upper_inclusive else '<'} "
                         f"'{format_ts(self.upper)}'")
        return "".join(parts)


@dataclass(frozen=True, slots=True)
class Options:
    top: int | None = None
    skip: int = 0
    count: bool = False
    descending: bool = False
    ordered: bool = False  # $orderby was given
    time: TimeRange | None = None
    expand: tuple[Expand, ...] = ()
    raw: Mapping[str, str] = field(default_factory=dict)  # as asked, for @iot.nextLink

    @property
    def page(self) -> int:
        return min(self.top if self.top is not None else DEFAULT_PAGE, MAX_PAGE)


@dataclass(frozen=True, slots=True)
class Expand:
    name: str
    options: Options


def parse_options(params: Mapping[str, str], depth: int = 0) -> Options:
    unknown = sorted(name for name in params if name.startswith("$") and name not in OPTIONS)
    if unknown:
        raise bad_query(f"{', '.join(unknown)} is not supported; this view serves "
                        f"{', '.join(OPTIONS)}")
    raw = {name: value for name, value in params.items() if name in OPTIONS}
    order = params.get("$orderby")
    return Options(
        top=_integer(params, "$top"), skip=_integer(params, "$skip") or 0,
        count=_boolean(params.get("$count")), descending=_descending(order),
        ordered=order is not None, time=_time_range(params.get("$filter")),
        expand=_expand(params.get("$expand"), depth), raw=raw)


def _integer(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not _INTEGER.fullmatch(text):
        raise bad_query(f"{name} must be a whole number from 0 to 999999999, not {text!r}")
    return int(text)


def _boolean(text: str | None) -> bool:
    if text is None or text == "false":
        return False
    if text == "true":
        return True
    raise bad_query(f"$count must be true or false, not {text!r}")


def _descending(text: str | None) -> bool:
    if text is None:
        return False
    match = _ORDER.fullmatch(text.strip())
    if match is None:
        raise bad_query(f"$orderby {text!r} is not supported; use phenomenonTime (or "
                        "resultTime) asc or desc")
    return match.group(1) == "desc"


def _moment(text: str) -> datetime:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError as exc:
        raise bad_query(f"{text!r} is not a time") from exc
    try:
        return storable_utc(moment)
    except ValueError as exc:
        raise bad_query(f"{text!r} {exc}") from exc


def _time_range(text: str | None) -> TimeRange | None:
    if text is None:
        return None
    lower: tuple[datetime, bool] | None = None
    upper: tuple[datetime, bool] | None = None
    for clause in _AND.split(text.strip()):
        match = _COMPARISON.fullmatch(clause.strip())
        if match is None or clause.count("(") != clause.count(")"):
            raise bad_query(f"$filter {text!r} is not supported; use comparisons of "
                            "phenomenonTime with ge, gt, le, lt or eq and an ISO time "
                            "with offset, joined by 'and'")
        operator, moment = match.group(1), _moment(match.group(2))
        # The tighter bound wins; at the same time an exclusive bound is tighter.
        if operator in ("ge", "gt", "eq"):
            bound = (moment, operator != "gt")
            if lower is None or (bound[0], not bound[1]) > (lower[0], not lower[1]):
                lower = bound
        if operator in ("le", "lt", "eq"):
            bound = (moment, operator != "lt")
            if upper is None or (bound[0], bound[1]) < (upper[0], upper[1]):
                upper = bound
    return TimeRange(lower=lower[0] if lower else None,
                     lower_inclusive=lower[1] if lower else True,
                     upper=upper[0] if upper else None,
                     upper_inclusive=upper[1] if upper else False)


def split_top_level(text: str, separator: str) -> list[str]:
    """``text`` split at ``separator`` outside parentheses."""
    parts, depth, start = [], 0, 0
    for at, char in enumerate(text):
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth < 0:
                raise bad_query(f"unbalanced parentheses in {text!r}")
        elif char == separator and depth == 0:
            parts.append(text[start:at])
            start = at + 1
    if depth != 0:
        raise bad_query(f"unbalanced parentheses in {text!r}")
    parts.append(text[start:])
    return parts


def _expand(text: str | None, depth: int) -> tuple[Expand, ...]:
    if text is None:
        return ()
    if depth >= MAX_EXPAND_DEPTH:
        raise bad_query(f"$expand nests at most {MAX_EXPAND_DEPTH} levels")
    items = []
    for part in split_top_level(text, ","):
        item = part.strip()
        path, _, rest = item.partition("(")
        if not _NAVIGATION.fullmatch(path) or (rest and not rest.endswith(")")):
            raise bad_query(f"$expand item {item!r} is not a navigation property "
                            "(with options in parentheses)")
        names = path.split("/")
        if depth + len(names) > MAX_EXPAND_DEPTH:
            raise bad_query(f"$expand nests at most {MAX_EXPAND_DEPTH} levels")
        inner = _inner_options(rest[:-1], depth + len(names)) if rest else Options()
        # A/B(options) is A($expand=B(options)).
        for name in reversed(names[1:]):
            inner = Options(expand=(Expand(name, inner),))
        items.append(Expand(names[0], inner))
    return tuple(items)


def _inner_options(text: str, depth: int) -> Options:
    params: dict[str, str] = {}
    for part in split_top_level(text, ";"):
        name, equals, value = part.strip().partition("=")
        if not equals or not name.startswith("$"):
            raise bad_query(f"$expand option {part!r} is not $name=value")
        if name in params:
            raise bad_query(f"$expand option {name} given twice")
        params[name] = value
    return parse_options(params, depth)
