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


# One typical problem per status, shown as the example in OpenAPI.
PROBLEM_EXAMPLES: dict[int, tuple[str, str, str]] = {
    400: ("bad-range", "Bad time range", "start must be before end"),
    401: ("unauthorized", "Unauthorized",
          "a valid API key is required (Authorization: Bearer KEY)"),
    403: ("forbidden", "Forbidden", "this needs the officer role"),
    404: ("unknown-station", "Unknown station", "no station 'nowhere' in the registry"),
    409: ("flooding-state", "Flooding already declared",
          "flooding is already declared at 'sukagawa'"),
    413: ("body-too-large", "Request body too large",
          "request bodies are limited to 65536 bytes"),
    422: ("bad-parameter", "Bad parameter", "query.limit: Input should be less than or "
          "equal to 1000"),
    503: ("store-unavailable", "History store unavailable",
          "InfluxDB cannot be reached; the live feed still works"),
}


# For route declarations: which problems a route may answer, shown in OpenAPI.
def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    responses: dict[int | str, dict[str, Any]] = {}
    for status in statuses:
        slug, title, detail = PROBLEM_EXAMPLES[status]
        example = {"type": TYPE_BASE + slug, "title": title, "status": status,
                   "detail": detail}
        responses[status] = {"model": Problem, "description": title,
                             "content": {PROBLEM_MEDIA_TYPE: {"example": example}}}
    return responses


# Errors Starlette/FastAPI raise themselves: 400 is FastAPI's answer to a body it cannot
# read at all (not UTF-8, or not decodable as its content type says).
HTTP_PROBLEMS = {400: ("bad-body", "Unreadable request body"), 404: ("not-found", "Not found"),
                 405: ("method-not-allowed", "Method not allowed")}


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
        slug, title = HTTP_PROBLEMS.get(exc.status_code, (f"http-{exc.status_code}",
                                                          str(exc.detail)))
        response = problem_response(Problem(type=TYPE_BASE + slug, title=title,
                                            status=exc.status_code, detail=str(exc.detail)))
        if exc.headers:
            response.headers.update(exc.headers)
        return response

    _problem_schemas_only(app)
    app.add_exception_handler(ProblemError, on_problem)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)


def _problem_schemas_only(app: FastAPI) -> None:
    """FastAPI files a response ``model`` under application/json; errors are only ever
    sent as application/problem+json, so move the schema there (clients and schemathesis
    then check the body against it)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        for operations in schema.get("paths", {}).values():
            for operation in operations.values():
                for response in operation.get("responses", {}).values():
                    content = response.get("content", {})
                    if PROBLEM_MEDIA_TYPE in content and "application/json" in content:
                        content[PROBLEM_MEDIA_TYPE]["schema"] = (
                            content.pop("application/json")["schema"])
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
