"""The station registry: which stations exist, what they are, and their reference levels.

Loaded from one YAML file (setting FLOODWATCH_STATIONS). Every InfluxDB tag comes from
here, never from a device payload, so the registry is validated strictly: a tag value
that could break line protocol or explode series cardinality is refused at load time.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from enum import StrEnum
from itertools import pairwise
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from floodwatch.core.config_cache import parse_yaml_cached
from floodwatch.core.config_files import YamlSyntaxError, first_error

STATION_ID_PATTERN = r"^[a-z0-9][a-z0-9-]{0,63}$"
STATION_ID_RE = re.compile(STATION_ID_PATTERN)

# Printable, no control characters or backslashes: safe to escape into line protocol
# (see core.lineprotocol) and to show.
TagText = Annotated[
    str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f\\]+$")
]


class StationKind(StrEnum):
    RIVER = "river"
    ROAD = "road"


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Names(_Frozen):
    ja: str = Field(min_length=1)
    en: str = Field(min_length=1)


class Location(_Frozen):
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class Polygon(_Frozen):
    """A GeoJSON Polygon (RFC 7946): its rings as [lon, lat] positions, each closed."""

    type: Literal["Polygon"]
    coordinates: list[list[tuple[float, float]]] = Field(min_length=1)

    @model_validator(mode="after")
    def _closed_rings(self) -> Polygon:
        for ring in self.coordinates:
            if len(ring) < 4 or ring[0] != ring[-1]:
                raise ValueError("a polygon ring needs 4 or more positions, the last "
                                 "equal to the first")
            if any(not (-180 <= lon <= 180 and -90 <= lat <= 90) for lon, lat in ring):
                raise ValueError("polygon positions are [lon, lat] in degrees")
        return self


class StationArea(_Frozen):
    """The area at risk that a station's alerts speak for (CAP and EDXL-DE areas)."""

    # 全国地方公共団体コード of the municipalities at risk; empty: the station's own.
    municipalities: list[str] = []
    # 河川コード and the 水文水質データベース 観測所記号, as MLIT publishes them.
    river_code: str | None = Field(default=None, pattern=r"^[0-9]{4,20}$")
    gauge_code: str | None = Field(default=None, pattern=r"^[0-9]{4,20}$")
    polygon: Polygon | None = None  # the inundation area; the station's point when absent


class ReferenceLevels(_Frozen):
    """MLIT reference water levels in metres above the gauge datum, strictly increasing."""

    standby: float
    caution: float
    evacuation: float
    danger: float
    flooding: float | None = Field(
        default=None, description="Overtopping level, where the bank is known."
    )

    @model_validator(mode="after")
    def _increasing(self) -> ReferenceLevels:
        levels = [self.standby, self.caution, self.evacuation, self.danger]
        if self.flooding is not None:
            levels.append(self.flooding)
        if any(low >= high for low, high in pairwise(levels)):
            raise ValueError("reference levels must increase: standby < caution < "
                             "evacuation < danger (< flooding)")
        return self


def municipality_code_problem(code: str) -> str | None:
    """全国地方公共団体コード: the 5 digits of JIS X 0402 and the check digit that the
    Ministry of Internal Affairs adds (weights 6..2, 11 minus the remainder mod 11, its
    last digit) -- the 6-digit form L-Alert and the 公共情報コモンズ use."""
    if not re.fullmatch(r"[0-9]{6}", code):
        return f"municipality code {code!r} is not 6 digits (JIS X 0402 and check digit)"
    total = sum(int(digit) * weight for digit, weight in zip(code[:5], range(6, 1, -1),
                                                             strict=True))
    if (11 - total % 11) % 10 != int(code[5]):
        return f"municipality code {code!r} has a wrong check digit"
    return None


class Station(_Frozen):
    id: str = Field(pattern=STATION_ID_PATTERN)
    kind: StationKind
    name: Names
    # For residents' posts, where the official name is too long (X counts kanji twice).
    short_name: Names | None = None
    # Where the station stands (a code of the registry's ``municipalities``): residents'
    # posts are grouped by it, and CAP areas carry it.
    municipality: str | None = None
    area: StationArea = StationArea()
    basin: TagText
    river: TagText | None = None
    route: TagText | None = None
    location: Location
    interval_s: int = Field(gt=0, le=86_400, description="Expected reporting interval.")
    levels_m: ReferenceLevels | None = None
    # The next river gauge the water of this one reaches (None: none in the registry).
    # The forecast learns travel time and gain along these links (docs/forecast.md).
    downstream: str | None = Field(default=None, pattern=STATION_ID_PATTERN)

    @model_validator(mode="after")
    def _fits_kind(self) -> Station:
        if self.kind is StationKind.RIVER:
            if self.river is None or self.levels_m is None:
                raise ValueError("a river station needs 'river' and 'levels_m'")
        elif self.route is None:
            raise ValueError("a road station needs 'route'")
        elif self.downstream is not None:
            raise ValueError("only a river station has a 'downstream' gauge")
        return self

    @property
    def tags(self) -> dict[str, str]:
        """InfluxDB tags for this station's points (sorted keys, as InfluxDB prefers)."""
        tags = {"basin": self.basin, "station": self.id}
        if self.river is not None:
            tags["river"] = self.river
        if self.route is not None:
            tags["route"] = self.route
        return dict(sorted(tags.items()))


class RegistryError(Exception):
    """The registry file is missing, unreadable or invalid."""


class StationRegistry:
    """Immutable lookup of stations by id, and the names of their municipalities and
    rivers (``municipalities``: code -> names; ``rivers``: the stations' river id ->
    names)."""

    def __init__(self, stations: list[Station], *,
                 municipalities: dict[str, Names] | None = None,
                 rivers: dict[str, Names] | None = None, sample: bool = False) -> None:
        # ``sample: true`` in the file: made-up reference levels (the shipped sample and
        # what `floodwatch init` writes from it), until the office deletes the line.
        self.sample = sample
        self.municipalities: dict[str, Names] = dict(municipalities or {})
        self.rivers: dict[str, Names] = dict(rivers or {})
        for code in self.municipalities:
            problem = municipality_code_problem(code)
            if problem is not None:
                raise RegistryError(f"municipalities: {problem}")
        by_id: dict[str, Station] = {}
        for station in stations:
            if station.id in by_id:
                raise RegistryError(f"station {station.id!r} is listed twice")
            for where in filter(None, [station.municipality, *station.area.municipalities]):
                if where not in self.municipalities:
                    raise RegistryError(f"station {station.id}: municipality {where!r} is "
                                        "not in the registry's municipalities (code: {ja, en})")
            by_id[station.id] = station
        self._by_id = by_id
        self._check_river_network()

    def _check_river_network(self) -> None:
        """Each ``downstream`` names another river station, and following them never
        comes back to where it started: the river network is a tree flowing to outlets."""
        for station in self._by_id.values():
            target = station.downstream
            if target is None:
                continue
            found = self._by_id.get(target)
            if found is None or found.kind is not StationKind.RIVER or target == station.id:
                raise RegistryError(f"station {station.id}: downstream {target!r} is not "
                                    "another river station of the registry")
        for station in self._by_id.values():
            seen = {station.id}
            current = station.downstream
            while current is not None:
                if current in seen:
                    raise RegistryError(f"station {station.id}: its downstream gauges "
                                        f"come back to {current!r} (a loop)")
                seen.add(current)
                current = self._by_id[current].downstream

    def upstream(self, station_id: str) -> list[Station]:
        """The river stations whose ``downstream`` is this one, in registry order."""
        return [s for s in self._by_id.values() if s.downstream == station_id]

    def municipality_name(self, station: Station) -> Names | None:
        return None if station.municipality is None else self.municipalities[station.municipality]

    def river_name(self, station: Station) -> Names | None:
        return None if station.river is None else self.rivers.get(station.river)

    def get(self, station_id: str) -> Station | None:
        return self._by_id.get(station_id)

    def __contains__(self, station_id: object) -> bool:
        return station_id in self._by_id

    def __iter__(self) -> Iterator[Station]:
        return iter(self._by_id.values())

    def __len__(self) -> int:
        return len(self._by_id)

    @classmethod
    def from_yaml_text(cls, text: str, source: str = "<registry>", *,
                       cache_dir: Path | None = None) -> StationRegistry:
        """``cache_dir``: where the parsed document may be kept (core.config_cache)."""
        try:
            document = parse_yaml_cached(text, cache_dir)
        except YamlSyntaxError as exc:
            raise RegistryError(f"{source}: not valid YAML: {exc}") from exc
        if not isinstance(document, dict) or not isinstance(document.get("stations"), list):
            raise RegistryError(f"{source}: expected a mapping with a 'stations' list")
        unknown = sorted(set(document) - {"stations", "municipalities", "rivers", "sample"})
        if unknown:
            raise RegistryError(f"{source}: unknown section {unknown[0]!r} (expected "
                                "stations, municipalities, rivers, sample)")
        sample = document.get("sample", False)
        if not isinstance(sample, bool):
            raise RegistryError(f"{source}: sample: expected true or false")
        names = {section: _names_table(document.get(section), section, source)
                 for section in ("municipalities", "rivers")}
        stations = []
        for index, entry in enumerate(document["stations"]):
            try:
                stations.append(Station.model_validate(entry))
            except ValidationError as exc:
                ident = entry.get("id", f"#{index}") if isinstance(entry, dict) else f"#{index}"
                raise RegistryError(f"{source}: station {ident}: {first_error(exc)}") from exc
        try:
            return cls(stations, municipalities=names["municipalities"],
                       rivers=names["rivers"], sample=sample)
        except RegistryError as exc:
            raise RegistryError(f"{source}: {exc}") from exc

    @classmethod
    def load(cls, path: Path, *, cache_dir: Path | None = None) -> StationRegistry:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as exc:
            raise RegistryError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        return cls.from_yaml_text(text, source=str(path), cache_dir=cache_dir)


def _names_table(table: object, section: str, source: str) -> dict[str, Names]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise RegistryError(f"{source}: {section}: expected a mapping of id: {{ja, en}}")
    result = {}
    for key, value in table.items():
        if not isinstance(key, str):  # YAML reads an unquoted 072079 as a number
            raise RegistryError(f"{source}: {section}: key {key!r} must be quoted text")
        try:
            result[key] = Names.model_validate(value)
        except ValidationError as exc:
            raise RegistryError(f"{source}: {section}: {key}: {first_error(exc)}") from exc
    return result
