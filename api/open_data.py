"""``/open-data/v1``: every station's readings per local day as CSV and JSON, public and
keyless (even with FLOODWATCH_API_PUBLIC_READ off), under a licence the operator sets.

Days are JST days (00:00-24:00 +09:00), as the prefecture's offices and residents count
them; each file states its UTC bounds. A file carries the licence: the JSON in its body,
the CSV in ``Link: <licence>; rel="license"`` and ``rel="describedby"`` pointing at the
station index, which holds licence, attribution, units and URL templates (a comment line
in the CSV would break CSV readers). Values the alert engine flagged as suspect are
marked per reading (``suspect``), never mixed in unmarked.

Caching: today's file grows (60 s); a finished day can still gain late readings for as
long as ingest accepts them (FLOODWATCH_MAX_AGE_DAYS: 1 h); after that it is immutable.
Every answer has an ETag (api.http_cache): a mirror or page revalidating a file that
has not changed gets a 304 without the day's readings again.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from fastapi import APIRouter, Path, Request, Response

from floodwatch.api.deps import InfluxDep, RegistryDep, SettingsDep
from floodwatch.api.http_cache import NOT_MODIFIED, conditional
from floodwatch.api.open_access import OpenAccessRoute, licence, licence_link
from floodwatch.api.open_data_files import (
    DayInfo,
    Row,
    day_csv,
    day_json,
    day_rows,
    field_infos,
)
from floodwatch.api.open_data_models import DayFile, StationFiles, StationIndex
from floodwatch.api.problems import (
    ProblemError,
    influx_unavailable,
    problem_responses,
    unknown_station,
)
from floodwatch.api.stations import StationId
from floodwatch.core.influx import DatabaseNotFound, InfluxError
from floodwatch.core.readings import JST
from floodwatch.core.registry import Names, Station, StationRegistry
from floodwatch.core.settings import Settings

router = APIRouter(prefix="/open-data/v1", tags=["open data"], route_class=OpenAccessRoute)

TODAY_MAX_AGE_S = 60
RECENT_MAX_AGE_S = 3600
INDEX_MAX_AGE_S = 300
IMMUTABLE = "public, max-age=31536000, immutable"
DayParam = Path(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", examples=["2026-11-01"],
                description="Local day in JST (YYYY-MM-DD): 00:00-24:00 +09:00.")


class CSVResponse(Response):
    media_type = "text/csv"


def bad_day(detail: str) -> ProblemError:
    return ProblemError(400, "bad-day", "Day not offered", detail)


def offered_days(settings: Settings, now: datetime) -> tuple[date, date]:
    today = now.astimezone(JST).date()
    return today - timedelta(days=settings.open_data_days - 1), today


def parse_day(text: str, settings: Settings, now: datetime) -> date:
    try:
        day = date.fromisoformat(text)
    except ValueError as exc:
        raise bad_day(f"{text!r} is not a calendar day (YYYY-MM-DD)") from exc
    first, today = offered_days(settings, now)
    if day > today:
        raise bad_day(f"{day} is in the future; the newest day is today, {today} (JST)")
    if day < first:
        raise bad_day(f"{day} is older than the {settings.open_data_days} days kept; the "
                      f"oldest day offered is {first}")
    return day


def day_bounds(day: date) -> tuple[datetime, datetime]:
    """The JST day's [start, end) in UTC."""
    start = datetime.combine(day, time(0), JST).astimezone(UTC)
    return start, start + timedelta(days=1)


def cache_control(end: datetime, now: datetime, settings: Settings) -> str:
    if end > now:
        return f"public, max-age={TODAY_MAX_AGE_S}"
    if now - end < timedelta(days=settings.max_age_days):
        return f"public, max-age={RECENT_MAX_AGE_S}"
    return IMMUTABLE


def _names(names: Names | None) -> dict[str, str] | None:
    return None if names is None else {"ja": names.ja, "en": names.en}


def _station_files(request: Request, registry: StationRegistry,
                   station: Station) -> StationFiles:
    base = str(request.url_for("open_data_index")) + f"/{station.id}/readings/{{day}}"
    return StationFiles.model_validate({
        "id": station.id, "kind": station.kind.value, "name": _names(station.name),
        "basin": station.basin, "river": _names(registry.river_name(station)),
        "route": station.route, "municipality": _names(registry.municipality_name(station)),
        "location": station.location.model_dump(), "interval_s": station.interval_s,
        "fields": field_infos(station), "csv": base + ".csv", "json": base + ".json"})


@router.get("/stations", name="open_data_index", response_model=StationIndex,
            summary="Open data: stations, licence and day-file URLs (no key)",
            responses=NOT_MODIFIED)
async def open_data_index(request: Request, settings: SettingsDep,
                          registry: RegistryDep) -> Response:
    first, today = offered_days(settings, datetime.now(UTC))
    index = StationIndex(
        licence=licence(settings), attribution=settings.open_data_attribution,
        timezone="Asia/Tokyo (+09:00)", first_day=first.isoformat(),
        last_day=today.isoformat(),
        stations=[_station_files(request, registry, s) for s in registry])
    return conditional(request, index.model_dump_json(by_alias=True).encode(),
                       "application/json", f"public, max-age={INDEX_MAX_AGE_S}")


async def _day(settings: Settings, registry: StationRegistry, influx: InfluxDep,
               station_id: str, day_text: str) -> tuple[DayInfo, list[Row], str]:
    station = registry.get(station_id)
    if station is None:
        raise unknown_station(station_id)
    now = datetime.now(UTC)
    day = parse_day(day_text, settings, now)
    start, end = day_bounds(day)
    try:
        rows = await day_rows(influx, station, start, end)
    except DatabaseNotFound:
        rows = []  # before ingest created the database there is nothing to offer yet
    except InfluxError as exc:
        raise influx_unavailable() from exc
    info = DayInfo(station=station, day=day.isoformat(), start=start, end=end,
                   complete=end <= now, licence=licence(settings),
                   attribution=settings.open_data_attribution)
    return info, rows, cache_control(end, now, settings)


def _day_file(request: Request, settings: Settings, info: DayInfo, *, cache: str,
              body: bytes, media_type: str, suffix: str) -> Response:
    """The file, or 304 when the client holds it (its ETag): with its licence and name
    either way, so a 304 tells a cache nothing different from the 200 it refreshes."""
    response = conditional(request, body, media_type, cache)
    index = request.url_for("open_data_index")
    response.headers.update({
        "Link": f'{licence_link(settings)}, <{index}>; rel="describedby"',
        "Content-Disposition": f'inline; filename="{info.station.id}_{info.day}.{suffix}"'})
    return response


@router.get("/stations/{station_id}/readings/{day}.json", response_model=DayFile,
            summary="Open data: one station's readings of one JST day as JSON (no key)",
            responses={**problem_responses(400, 404, 422, 503), **NOT_MODIFIED})
async def day_file_json(*, request: Request, settings: SettingsDep, registry: RegistryDep,
                        influx: InfluxDep, station_id: str = StationId,
                        day: str = DayParam) -> Response:
    info, rows, cache = await _day(settings, registry, influx, station_id, day)
    return _day_file(request, settings, info, cache=cache, body=day_json(info, rows),
                     media_type="application/json", suffix="json")


@router.get("/stations/{station_id}/readings/{day}.csv", response_class=CSVResponse,
            summary="Open data: one station's readings of one JST day as CSV (no key)",
            description="Columns: `time` (UTC), the station's fields, `suspect` "
            "(`field:reason` of flagged values). Licence in the `Link` header.",
            responses={**problem_responses(400, 404, 422, 503), **NOT_MODIFIED,
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}}}})
async def day_file_csv(*, request: Request, settings: SettingsDep, registry: RegistryDep,
                       influx: InfluxDep, station_id: str = StationId,
                       day: str = DayParam) -> Response:
    info, rows, cache = await _day(settings, registry, influx, station_id, day)
    return _day_file(request, settings, info, cache=cache, body=day_csv(info.station, rows),
                     media_type="text/csv; charset=utf-8; header=present", suffix="csv")
