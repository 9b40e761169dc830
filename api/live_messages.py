"""The live feed's messages as a schema, for app developers and their code generators.

``LiveMessage`` is the union of every message the feed sends; the SSE route's 200
response has it as the schema of its text/event-stream (each event's ``data:``), which
puts it into the OpenAPI document's components. OpenAPI has no WebSocket operations, so
the WebSocket URL is also an HTTP GET operation: a plain GET answers 426 (Upgrade
Required) with a problem document, and its documented 101 response names LiveMessage.
Tests validate real messages against the published schema.

The ``data`` of readings, alerts and status is the bus message as published (docs/
api.md, docs/alerts.md), kept open here: the engine adds fields over time and a client
must pass over those it does not know. A forecast's ``data`` is the forecast stage's
message as published too; its schema (api.forecast_models.Forecast) names the fields
the API checked and leaves room for more.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field, RootModel

from floodwatch.api.forecast_models import Forecast
from floodwatch.api.problems import PROBLEM_MEDIA_TYPE, TYPE_BASE, Problem

EventId = Annotated[str, Field(
    description="Opaque: keep the last one received and send it back as since= (or "
    "Last-Event-ID) when reconnecting.", max_length=8192)]


class _Message(BaseModel):
    # Closed at the top level: a field added here is a documented change of the feed.
    model_config = ConfigDict(extra="forbid")


class ReadingMessage(_Message):
    type: Literal["reading"]
    station: str
    data: dict[str, Any] = Field(description="The validated reading as on the bus.")


class AlertMessage(_Message):
    type: Literal["alert"]
    station: str
    data: dict[str, Any] = Field(
        description="The alert engine's event JSON (event_id, seq, transition, level...).")
    id: EventId | None = Field(default=None,
                               description="Absent only for an event without a seq.")


class StatusMessage(_Message):
    type: Literal["status"]
    station: str
    data: dict[str, Any] = Field(description="The engine's retained status of the station.")


class ForecastMessage(_Message):
    type: Literal["forecast"]
    station: str
    data: Forecast = Field(description=(
        "The river gauge's newest level forecast as the forecast stage published it "
        "(docs/forecast.md). It is current until the station's next reading; a client "
        "shows one issued before the station's newest reading, or of a stale station, as "
        "outdated (GET /api/v1/stations/{id}/forecast says which)."))


class SnapshotMessage(_Message):
    type: Literal["snapshot"]
    events: list[ReadingMessage | StatusMessage | ForecastMessage] = Field(
        description="Latest reading, current status and newest forecast of each station "
        "the filter lets through.")
    id: EventId


class HeartbeatMessage(_Message):
    type: Literal["heartbeat"]


class DroppedMessage(_Message):
    type: Literal["dropped"]
    reason: str = Field(description="Why the server closes the connection next.")


class MissingRange(_Message):
    station: str
    from_seq: int = Field(ge=1, description="The first alert event seq missing.")
    to_seq: int | None = Field(ge=1, description="The last seq missing, inclusive; null: "
                               "any after from_seq too (a replay cut off by its bound).")


class GapMessage(_Message):
    type: Literal["gap"]
    reason: str = Field(description="Why alert events are missing (before the replayed "
                        "ones, or skipped on the live stream), and what to do.")
    missing: list[MissingRange] = Field(description=(
        "The alert events (station, seq range) this client will not be sent: read them "
        "from /api/v1/alerts/history?station=... . Empty when they cannot be named (an "
        "id that could not be used: the client started afresh)."))


class ErrorMessage(_Message):
    type: Literal["error"]
    problem: Problem


class LiveMessage(RootModel[Annotated[
        SnapshotMessage | ReadingMessage | AlertMessage | StatusMessage | ForecastMessage
        | HeartbeatMessage | DroppedMessage | GapMessage | ErrorMessage,
        Field(discriminator="type")]]):
    """One message of the live feed (WebSocket text frame, or SSE ``data:``)."""


class EventStreamResponse(StreamingResponse):
    """So that OpenAPI files the SSE route's model (LiveMessage) under text/event-stream:
    each event's ``data:`` is one."""

    media_type = "text/event-stream"


UPGRADE_REQUIRED = Problem(
    type=TYPE_BASE + "upgrade-required", title="Upgrade required", status=426,
    detail="this is a WebSocket endpoint: connect with a WebSocket client "
    "(or use /api/v1/live/sse)")


def document_websocket(router: APIRouter) -> None:
    """The GET twin of the WebSocket route on ``router`` (see the module docstring)."""

    @router.get("/ws", summary="Live feed as a WebSocket (messages: LiveMessage)",
                description="Connect with a WebSocket client (`ws://` or `wss://`), with the "
                "same query parameters as /live/sse and `since` to resume. Each text frame "
                "is one LiveMessage JSON. A plain GET answers 426.",
                response_class=JSONResponse, responses={
                    # No "model": FastAPI refuses one on a 101. The schema is in the
                    # components through the SSE route (EventStreamResponse).
                    101: {"description": "Switching to WebSocket; every message after is "
                          "one LiveMessage.", "content": {"application/json": {
                              "schema": {"$ref": "#/components/schemas/LiveMessage"}}}},
                    426: {"model": Problem, "description": UPGRADE_REQUIRED.title,
                          "content": {PROBLEM_MEDIA_TYPE: {
                              "example": UPGRADE_REQUIRED.model_dump()}}}})
    async def live_ws_over_http() -> JSONResponse:
        return JSONResponse(UPGRADE_REQUIRED.model_dump(), status_code=426,
                            media_type=PROBLEM_MEDIA_TYPE, headers={"Upgrade": "websocket"})
