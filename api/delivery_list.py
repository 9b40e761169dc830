"""``GET /api/v1/deliveries``: the latest state of each (event, channel) delivery, from
the notifiers' ``alert_delivery`` points, so officers find at once the posts whose
outcome is lost (``unknown``: check the account by hand) and those failed or pending.

Staff data: it needs a key even when public read is on (a failure detail may name an
endpoint, and residents are told through the channels, not through their plumbing).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Literal

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from floodwatch.api.alert_store import DELIVERIES, EVENTS, query_rows, quoted
from floodwatch.api.deps import InfluxDep, KeyedReader, RegistryDep, SettingsDep
from floodwatch.api.models import UtcTime
from floodwatch.api.problems import problem_responses, unknown_station
from floodwatch.api.store import ns_to_datetime
from floodwatch.api.time_params import QueryTime, time_window
from floodwatch.core.influx import InfluxClient, as_float

router = APIRouter(prefix="/api/v1/deliveries", tags=["alerts"])

DeliveryStateName = Literal["pending", "sent", "failed", "expired", "unknown", "superseded"]
DEFAULT_STATES: list[DeliveryStateName] = ["failed", "unknown", "pending"]
DEFAULT_RANGE = timedelta(days=7)
# An event is stored before its deliveries start; its alert id is looked up this far
# before the range (deliveries expire long before).
EVENT_LOOKBACK = timedelta(days=1)
CHANNEL_PATTERN = r"^(network|x|mastodon|webhook:[a-z0-9][a-z0-9_-]{0,31})$"


class ListedDelivery(BaseModel):
    station: str = Field(examples=["sukagawa"])
    event_id: str = Field(examples=["sukagawa/2"])
    alert_id: str | None = Field(
        description="The alert the event belongs to (null: its event is not stored in "
        "the range's day before).", examples=["sukagawa/1"])
    channel: str = Field(examples=["x"])
    state: str = Field(description="The latest state: pending (waiting or retrying), "
                       "sent, failed (will be retried), expired (not delivered in time), "
                       "unknown (the outcome was lost in a crash: check the account by "
                       "hand; never re-posted), superseded (replaced by a newer event).",
                       examples=["unknown"])
    attempts: int | None = Field(examples=[1])
    detail: str | None = Field(examples=["outcome lost; check the account"])
    at: UtcTime = Field(description="When the delivery reached this state.")


class DeliveryList(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"deliveries": [{
        "station": "sukagawa", "event_id": "sukagawa/2", "alert_id": "sukagawa/1",
        "channel": "x", "state": "unknown", "attempts": 1,
        "detail": "outcome lost; check the account", "at": "2026-11-28T01:00:02Z"}],
        "truncated": False}]})

    deliveries: list[ListedDelivery] = Field(description="Newest state change first.")
    truncated: bool = Field(description="More deliveries matched than `limit`.")


@router.get("", summary="Deliveries by their latest state (failed, unknown, pending by "
            "default); staff only",
            description="The latest state of each (event, channel) delivery whose state "
            "changed in [since, until), i.e. its state at `until`. Needs a viewer key "
            "even when public read is on.",
            responses=problem_responses(400, 401, 403, 404, 422, 503))
async def list_deliveries(
    *, _: KeyedReader, settings: SettingsDep, registry: RegistryDep, influx: InfluxDep,
    state: Annotated[list[DeliveryStateName] | None, Query(
        description="Repeat for several; default failed, unknown and pending.")] = None,
    channel: Annotated[str | None, Query(pattern=CHANNEL_PATTERN, examples=["x"])] = None,
    station: Annotated[str | None, Query(max_length=64, examples=["sukagawa"])] = None,
    since: Annotated[QueryTime | None, Query(
        description="ISO 8601 with offset; default: until - 7 days.")] = None,
    until: Annotated[QueryTime | None, Query(
        description="ISO 8601 with offset; default: now.")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> DeliveryList:
    since_at, until_at = time_window(since, until, names=("since", "until"),
                                     default=DEFAULT_RANGE,
                                     max_days=settings.api_max_range_days)
    if station is not None and station not in registry:
        raise unknown_station(station)
    wanted = set(state or DEFAULT_STATES)
    latest = await latest_deliveries(influx, since_at, until_at, station=station,
                                     channel=channel)
    matching = sorted((d for d in latest if d.state in wanted), key=lambda d: d.at,
                      reverse=True)
    if matching:
        alerts = await alert_ids(influx, min(d.at for d in matching[:limit]) - EVENT_LOOKBACK,
                                 until_at, station)
        for delivery in matching[:limit]:
            delivery.alert_id = alerts.get(delivery.event_id)
    return DeliveryList(deliveries=matching[:limit], truncated=len(matching) > limit)


def _time_range(since: datetime, until: datetime) -> str:
    return (f"time >= {int(since.timestamp() * 1e6)}000 "
            f"AND time < {int(until.timestamp() * 1e6)}000")


async def latest_deliveries(influx: InfluxClient, since: datetime, until: datetime, *,
                            station: str | None, channel: str | None) -> list[ListedDelivery]:
    """The latest point of each (event, channel) in the range (the event id is a field,
    so the newest per event is picked here, in ascending time)."""
    where = _time_range(since, until)
    if station is not None:  # a registry id
        where += f' AND "station" = {quoted(station)}'
    if channel is not None:  # pattern-checked
        where += f' AND "channel" = {quoted(channel)}'
    rows = await query_rows(
        influx, 'SELECT "event_id", "state", "attempts", "detail" '  # noqa: S608
                f'FROM "{DELIVERIES}" WHERE {where} GROUP BY "station", "channel" '
                "ORDER BY time ASC")
    latest: dict[tuple[str, str], ListedDelivery] = {}
    for row in rows:
        event_id, row_channel = row.get("event_id"), row.get("channel")
        if not isinstance(event_id, str) or not isinstance(row_channel, str):
            continue
        attempts = as_float(row.get("attempts"))
        detail = row.get("detail")
        latest[(event_id, row_channel)] = ListedDelivery(
            station=str(row.get("station")), event_id=event_id, alert_id=None,
            channel=row_channel, state=str(row.get("state") or "unknown"),
            attempts=None if attempts is None else int(attempts),
            detail=detail if isinstance(detail, str) else None,
            at=ns_to_datetime(int(row["time"])))
    return list(latest.values())


async def alert_ids(influx: InfluxClient, since: datetime, until: datetime,
                    station: str | None) -> dict[str, str]:
    """event id -> alert id of the events stored in the range."""
    where = _time_range(since, until)
    if station is not None:
        where += f' AND "station" = {quoted(station)}'
    rows = await query_rows(influx, f'SELECT "event_id", "alert_id" FROM "{EVENTS}" '  # noqa: S608
                                    f"WHERE {where}")
    return {row["event_id"]: row["alert_id"] for row in rows
            if isinstance(row.get("event_id"), str) and isinstance(row.get("alert_id"), str)}
