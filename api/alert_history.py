"""Alerts to read: open alerts from the alert engine's retained status (so they keep
answering while InfluxDB is down), and history from InfluxDB's ``alert_event``
measurement (docs/alerts.md: each point's ``payload`` is the event JSON as published).
One alert also carries its delivery status, from the notifiers' ``alert_delivery``.
A reader without a key (public read) is shown only what residents may be told
(api.audience), and no delivery status (staff data).

Filters reach InfluxQL only after validation against the registry or strict patterns.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, JsonValue

from floodwatch.api.alert_pages import read_page
from floodwatch.api.alert_store import delivery_states, event_payloads, quoted
from floodwatch.api.audience import PUBLIC_EVENTS_WHERE, keyless, residents_event
from floodwatch.api.auth import Principal
from floodwatch.api.deps import InfluxDep, LiveDep, PublicReader, RegistryDep, SettingsDep
from floodwatch.api.event_keys import TOKEN_MAX_LENGTH, parse_query_cursor, query_cursor
from floodwatch.api.http_cache import cache_control
from floodwatch.api.problems import ProblemError, problem_responses, unknown_station
from floodwatch.api.time_params import QueryTime, time_window
from floodwatch.core.registry import STATION_ID_PATTERN
from floodwatch.core.settings import Settings

router = APIRouter(prefix="/api/v1/alerts", tags=["alerts"])

DEFAULT_RANGE = timedelta(days=7)
EXAMPLE_EVENT: dict[str, JsonValue] = {"event_id": "sukagawa/2", "seq": 2, "station": "sukagawa",
                 "alert_id": "sukagawa/1", "alert_type": "river_level",
                 "transition": "escalated", "level": 3, "previous_level": 2,
                 "level_name": "evacuation", "at": "2026-11-28T01:00:00Z"}

StationPath = Annotated[str, Path(pattern=STATION_ID_PATTERN, examples=["sukagawa"])]
AlertNumber = Annotated[int, Path(ge=1, le=999_999_999_999, examples=[1],
                                  description="The seq of the event that raised the alert.")]


class AlertEvents(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "events": [EXAMPLE_EVENT], "next": "MTc2NDI5MTYwMDAwMDAwMDAwMi4yLnN1a2FnYXdh"}]})

    events: list[dict[str, Any]] = Field(description="Event JSON as the engine published it.")
    next: str | None = Field(
        default=None, description="Cursor of the next page (pass it as `cursor` with the "
        "same station, start and end); null on the last page.")


class Delivery(BaseModel):
    event_id: str = Field(examples=["sukagawa/2"])
    channel: str = Field(examples=["mastodon"])
    state: str = Field(description="pending, sent, failed, expired or unknown.",
                       examples=["sent"])
    attempts: int | None = Field(examples=[1])
    detail: str | None = Field(examples=["https://social.example/@bousai/1"])
    at: datetime = Field(description="When the delivery reached this state.")


class AlertDetail(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "alert_id": "sukagawa/1", "events": [EXAMPLE_EVENT],
        "delivery": [{"event_id": "sukagawa/2", "channel": "mastodon", "state": "sent",
                      "attempts": 1, "detail": None, "at": "2026-11-28T01:00:02Z"}]}]})

    alert_id: str
    events: list[dict[str, Any]] = Field(description="Every event, newest first.")
    delivery: list[Delivery] = Field(
        description="Latest delivery state per event and channel (newest event first).")


class OpenAlerts(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"alerts": [{
        "station": "sukagawa", "alert_id": "sukagawa/1", "alert_type": "river_level",
        "level": 3, "level_name": "evacuation", "raised_at": "2026-11-28T01:00:00Z",
        "level_since": "2026-11-28T03:10:00Z", "acknowledged": False}]}]})

    alerts: list[dict[str, Any]] = Field(
        description="Each open alert as in the engine's status, plus its station.")
    no_data: list[dict[str, Any]] = Field(
        default_factory=list,
        description="The engine's open no-data alerts (most stations of a basin, or of "
        "all, silent at once): each station status's `no_data`, once per alert, with its "
        "`stations`.")


KEYLESS = ("Without a key (public read on): only what residents may be told -- "
           "docs/api.md, public read.")


@router.get("/open", summary="Open alerts of every station (from the engine's status)",
            description=KEYLESS, responses=problem_responses(401))
async def open_alerts(live: LiveDep, settings: SettingsDep, reader: PublicReader,
                      response: Response) -> OpenAlerts:
    _by_reader(response, settings, reader)
    return OpenAlerts(alerts=[{"station": station, **alert} for station, alert
                              in live.open_alerts(residents_only=keyless(reader))],
                      no_data=live.open_no_data())


@router.get("/history", summary="Alert events, newest first (by time, station, seq)",
            description=KEYLESS, responses=problem_responses(400, 401, 404, 422, 503))
async def history(
    *, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep, reader: PublicReader,
    response: Response,
    station: Annotated[str | None, Query(examples=["sukagawa"], max_length=64)] = None,
    start: Annotated[QueryTime | None, Query(description="Default: end - 7 days.")] = None,
    end: Annotated[QueryTime | None, Query(description="Default: now.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(
        description="`next` of the previous page: the page after it, in the same order.",
        max_length=TOKEN_MAX_LENGTH)] = None,
) -> AlertEvents:
    _by_reader(response, settings, reader)
    start_at, end_at = time_window(start, end, names=("start", "end"),
                                   default=DEFAULT_RANGE,
                                   max_days=settings.api_max_range_days)
    where = (f"time >= {int(start_at.timestamp() * 1e6)}000 "
             f"AND time < {int(end_at.timestamp() * 1e6)}000")
    if station is not None:
        if station not in registry:
            raise unknown_station(station)
        where += f' AND "station" = {quoted(station)}'
    if keyless(reader):
        where += f" AND {PUBLIC_EVENTS_WHERE}"
    # The query as asked (end absent: "now", moving between pages, which the cursor's
    # position makes harmless): a cursor pages only the query that gave it out.
    query = f"{station}|{start and start.isoformat()}|{end and end.isoformat()}"
    after = None if cursor is None else parse_query_cursor(cursor, query, "cursor")
    page = await read_page(influx, where, after=after, limit=limit, newest_first=True)
    shown = [keyed.event for keyed in page.events] if not keyless(reader) else [
        event for keyed in page.events if (event := residents_event(keyed.event)) is not None]
    return AlertEvents(events=shown,
                       next=query_cursor(page.events[-1].key, query) if page.more else None)


@router.get("/{station_id}/{number}",
            summary="One alert: its events (newest first) and delivery status",
            description=f"{KEYLESS} No delivery status without a key.",
            responses=problem_responses(401, 404, 422, 503))
async def one_alert(*, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
                    reader: PublicReader, response: Response, station_id: StationPath,
                    number: AlertNumber) -> AlertDetail:
    _by_reader(response, settings, reader)
    if station_id not in registry:
        raise unknown_station(station_id)
    alert_id = f"{station_id}/{number}"
    where = f'"station" = {quoted(station_id)} AND "alert_id" = {quoted(alert_id)}'
    if keyless(reader):
        # Residents' part of it only (an alert they were never told of is unknown to
        # them), and no delivery status: that is staff data (api.delivery_list).
        told = [event for row in await event_payloads(
            influx, f"{where} AND {PUBLIC_EVENTS_WHERE}", 1000)
            if (event := residents_event(row.event)) is not None]
        if not told:
            raise unknown_alert(alert_id)
        return AlertDetail(alert_id=alert_id, events=told, delivery=[])
    stored = await event_payloads(influx, where, 1000)
    if not stored:
        raise unknown_alert(alert_id)
    event_ids = {str(s.event.get("event_id")) for s in stored}
    deliveries = await delivery_states(influx, station_id, event_ids,
                                       since_ns=min(s.time_ns for s in stored))
    return AlertDetail(
        alert_id=alert_id, events=[s.event for s in stored],
        delivery=[Delivery(event_id=d.event_id, channel=d.channel, state=d.state,
                           attempts=d.attempts, detail=d.detail, at=d.at)
                  for d in deliveries])


def _by_reader(response: Response, settings: Settings, reader: Principal) -> None:
    """A key sees more than a keyless reader (api.audience): no shared cache may hand
    one's answer to the other, and an answer is asked for again, not reused."""
    response.headers["Cache-Control"] = cache_control(settings, "no-cache",
                                                      public_content=keyless(reader))
    response.headers["Vary"] = "Authorization, X-API-Key"


def unknown_alert(alert_id: str) -> ProblemError:
    return ProblemError(404, "unknown-alert", "Unknown alert", f"no events of {alert_id!r}")
