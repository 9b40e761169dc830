"""Liveness, readiness and Prometheus metrics, outside /api/v1 where probes expect them."""

from __future__ import annotations

from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from floodwatch.api.deps import InfluxDep, LiveDep
from floodwatch.api.models import Health

router = APIRouter(tags=["operations"])


@router.get("/healthz", summary="Liveness: the process answers")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


@router.get("/readyz", summary="Readiness: broker and InfluxDB state",
            responses={503: {"model": Health, "description": "A dependency is down."}})
async def readyz(influx: InfluxDep, live: LiveDep) -> JSONResponse:
    health = Health(status="ok", broker=live.subscribed, influxdb=await influx.ping())
    # The live feed needs only the broker; without InfluxDB the API is degraded
    # (no history) but still worth routing to, so only a missing broker is 503.
    if not health.influxdb:
        health = health.model_copy(update={"status": "degraded"})
    status = 200 if health.broker else 503
    if not health.broker:
        health = health.model_copy(update={"status": "degraded"})
    return JSONResponse(health.model_dump(), status_code=status)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics() -> Response:
    return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
