"""Machine-readable errors: every 4xx the API answers is an RFC 9457 problem document.

Clients (dashboards, residents' apps) branch on ``type``; people read ``title`` and
``detail``. FastAPI's own validation errors are turned into the same shape so a client
handles one format only.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "https://floodwatch.example/problems/"


class Problem(BaseModel):
    type: str = Field(examples=[f"{TYPE_BASE}unknown-station"])
    title: str = Field(examples=["Unknown station"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["no station 'nowhere' in the registry"])


class ProblemError(Exception):
    """Raise from a route to answer with a problem document."""

    def __init__(self, status: int, slug: str, title: str, detail: str) -> None:
        super().__init__(detail)
        self.problem = Problem(type=TYPE_BASE + slug, title=title, status=status, detail=detail)


def unknown_station(station_id: str) -> ProblemError:
    return ProblemError(404, "unknown-station", "Unknown station",
                        f"no station {station_id!r} in the registry")


def bad_range(detail: str) -> ProblemError:
    return ProblemError(400, "bad-range", "Bad time range", detail)


def influx_unavailable() -> ProblemError:
    return ProblemError(503, "store-unavailable", "History store unavailable",
                        "InfluxDB cannot be reached; the live feed still works")


def problem_response(problem: Problem) -> JSONResponse:
    return JSONResponse(problem.model_dump(), status_code=problem.status,
                        media_type=PROBLEM_MEDIA_TYPE)


# For route declarations: which problems a route may answer, shown in OpenAPI.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": Problem, "content": {PROBLEM_MEDIA_TYPE: {}}}
            for status in statuses}


def install(app: FastAPI) -> None:
    async def on_problem(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ProblemError)
        response = problem_response(exc.problem)
        if exc.problem.status == 401:
            response.headers["WWW-Authenticate"] = 'Bearer realm="floodwatch"'
        return response

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        parts = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()))
            parts.append(f"{where}: {error.get('msg', 'invalid')}")
        return problem_response(Problem(type=TYPE_BASE + "bad-parameter",
                                        title="Bad parameter", status=422,
                                        detail="; ".join(parts) or "invalid request"))

    async def on_http(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        slug = "not-found" if exc.status_code == 404 else f"http-{exc.status_code}"
        response = problem_response(Problem(type=TYPE_BASE + slug, title=str(exc.detail),
                                            status=exc.status_code, detail=str(exc.detail)))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
