"""``GET /public/stations``: the page residents' posts link to -- every station with an
open alert of a type at a level or above, from the alert engine's retained status.

It carries only what residents are told, so it needs no key even when public read is
off: alerts of the public types (not offline or data-quality, which are staff's) that
are confirmed -- an escalation on a single reading is not shown until the next reading
agrees; meanwhile the level residents were last told of (the status's ``public``) is.
A station that is offline, in a no-data alert, or stale is shown as 欠測 / no data --
beside its alert, or in its own list -- never left out as if it were safe. While the
engine doubts a station's data (an open data-quality alert: a spike, a stuck or an
impossible value), its latest value is not shown, only that it is being checked: a bad
reading must not reach residents, not even as a number beside an alert.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, get_args

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse

from floodwatch.api.audience import RESIDENT_TYPES, public_status
from floodwatch.api.deps import LiveDep, RegistryDep, SettingsDep, StoredLatestDep
from floodwatch.api.latest_store import Latest
from floodwatch.api.levels import is_stale
from floodwatch.api.live import LiveCache
from floodwatch.api.problems import problem_responses
from floodwatch.api.public_page import PAGE
from floodwatch.core.readings import JST
from floodwatch.core.registry import Names, Station, StationKind, StationRegistry

router = APIRouter(prefix="/public", tags=["public"])

PublicType = Literal["river_level", "rate_of_rise", "road_flooding", "road_icing"]
KIND_OF: dict[str, StationKind] = {
    "river_level": StationKind.RIVER, "rate_of_rise": StationKind.RIVER,
    "road_flooding": StationKind.ROAD, "road_icing": StationKind.ROAD}
# The page's types are the ones residents are told of in a status (api.audience).
if set(KIND_OF) != RESIDENT_TYPES or set(get_args(PublicType)) != RESIDENT_TYPES:
    raise RuntimeError("api.public_stations' types must be api.audience.RESIDENT_TYPES")
CACHE_CONTROL = "public, max-age=30"
UNKNOWN = {"ja": "—", "en": "-"}
CHECKING = {"ja": "観測値を確認中", "en": "reading being checked"}


@dataclass(frozen=True, slots=True)
class Row:
    station: str
    name: dict[str, str]
    river: dict[str, str]
    municipality: dict[str, str]
    no_data: bool
    at: str | None  # the newest reading, JST
    level: int = 0
    alert_level: int | None = None
    label: dict[str, str] | None = None
    value: dict[str, str] | None = None


@router.get("/stations", response_class=HTMLResponse,
            summary="Residents' page: stations with an open public alert (HTML, no key)",
            description="Every station with an open, confirmed alert of `alert_type` at "
            "`level` or above (without them: every open public alert), highest level "
            "first, with stations without data listed as such. Japanese and English; "
            "no key needed even when public read is off.",
            responses=problem_responses(422))
async def public_stations(
    *, settings: SettingsDep, registry: RegistryDep, live: LiveDep, stored: StoredLatestDep,
    alert_type: Annotated[PublicType | None, Query(examples=["river_level"])] = None,
    level: Annotated[int, Query(ge=1, le=5, examples=[3])] = 1,
) -> HTMLResponse:
    now = datetime.now(UTC)
    rows: list[Row] = []
    no_data: list[Row] = []
    for station in registry:
        if alert_type is not None and station.kind is not KIND_OF[alert_type]:
            continue
        newest = _newest(station, stored.latest or {}, live)
        status = live.status(station.id) or {}
        silent = (status.get("offline") is True or status.get("no_data") is not None
                  or is_stale(station, newest[0] if newest else None, now,
                              settings.api_stale_factor))
        base = _base(registry, station, newest, silent=silent)
        told = [alert for alert in public_status(status)["alerts"]
                if (alert_type is None or alert.get("alert_type") == alert_type)
                and isinstance(alert.get("level"), int) and alert["level"] >= level]
        doubtful = any(isinstance(alert, dict) and alert.get("alert_type") == "data_quality"
                       for alert in status.get("alerts", []))
        rows += [_with_alert(base, alert, station, newest, doubtful=doubtful)
                 for alert in told]
        if silent and not told:
            no_data.append(base)
    rows.sort(key=lambda row: -row.level)  # stable: registry order within a level
    body = PAGE.render(title=TITLE, asked=_asked(alert_type, level), now=_jst(now),
                       current=live.subscribed, rows=rows, no_data=no_data)
    return HTMLResponse(body, headers={"Cache-Control": CACHE_CONTROL})


TITLE = {"ja": "警戒中の観測所", "en": "Stations on alert"}
TYPE_NAMES = {"river_level": ("河川水位", "river level"), "rate_of_rise": ("急激な水位上昇",
              "rapid rise"), "road_flooding": ("道路冠水", "road flooding"),
              "road_icing": ("路面凍結", "road icing")}


def _asked(alert_type: str | None, level: int) -> dict[str, str]:
    if alert_type is None:
        return {"ja": "発表中のすべての警戒情報", "en": "Every alert now in force"}
    ja, en = TYPE_NAMES[alert_type]
    return {"ja": f"{ja}：レベル{level}以上", "en": f"{en}: level {level} or above"}


def _jst(moment: datetime) -> str:
    return moment.astimezone(JST).strftime("%Y-%m-%d %H:%M")


def _names(names: Names | None) -> dict[str, str]:
    return UNKNOWN if names is None else {"ja": names.ja, "en": names.en}


def _newest(station: Station, stored: Latest, live: LiveCache
            ) -> tuple[datetime, dict[str, Any]] | None:
    newest = stored.get(station.id)
    reading = live.latest(station.id)
    if reading is not None and (newest is None or reading.ts >= newest[0]):
        return reading.ts, dict(reading.values)
    return newest


def _base(registry: StationRegistry, station: Station,
          newest: tuple[datetime, dict[str, Any]] | None, *, silent: bool) -> Row:
    river = registry.river_name(station)
    return Row(station=station.id, name=_names(station.name),
               river=_names(river) if river is not None or station.route is None
               else {"ja": station.route, "en": station.route},
               municipality=_names(registry.municipality_name(station)), no_data=silent,
               at=_jst(newest[0]) if newest else None)


def _with_alert(base: Row, alert: dict[str, Any], station: Station,
                newest: tuple[datetime, dict[str, Any]] | None, *, doubtful: bool) -> Row:
    label = alert.get("official") or alert.get("label") or {}
    alert_level = alert.get("alert_level")
    return Row(**{**_fields(base), "level": int(alert["level"]),
                  "alert_level": alert_level if isinstance(alert_level, int) else None,
                  "label": {"ja": str(label.get("ja", "")), "en": str(label.get("en", ""))},
                  "value": CHECKING if doubtful else _value(station, newest[1] if newest else {},
                                                            no_data=base.no_data)})


def _fields(row: Row) -> dict[str, Any]:
    return {name: getattr(row, name) for name in Row.__slots__}


def _value(station: Station, values: dict[str, Any], *, no_data: bool) -> dict[str, str]:
    prefix = ("最後の観測 ", "last reading ") if no_data else ("", "")
    if station.kind is StationKind.RIVER and isinstance(values.get("level_m"), float | int):
        metres = f"{values['level_m']:.2f} m"
        return {"ja": f"{prefix[0]}水位 {metres}", "en": f"{prefix[1]}water level {metres}"}
    depth = values.get("water_depth_cm")
    if isinstance(depth, float | int):
        return {"ja": f"{prefix[0]}冠水 {depth:.0f} cm", "en": f"{prefix[1]}water {depth:.0f} cm"}
    temperature = values.get("surface_temp_c")
    if isinstance(temperature, float | int):
        return {"ja": f"{prefix[0]}路面温度 {temperature:.1f} ℃",
                "en": f"{prefix[1]}road surface {temperature:.1f} °C"}
    return {"ja": "観測値なし", "en": "no reading"}
