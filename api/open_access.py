"""Routes any web page may read: the open data (``/open-data/v1``, ``/sta/v1.1``).

Their answers carry ``Access-Control-Allow-Origin: *`` -- problems included, so a page
on another origin (a SensorThings web viewer, a municipality's map) can read why a
request failed -- whatever ``FLOODWATCH_API_CORS_ORIGINS`` allows for the keyed API.
Safe because these routes take no key and no cookie: there is no credential a foreign
page could ride on. ``Link`` (the licence) is exposed to scripts too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from floodwatch.api.problems import ProblemError, problem_response

OPEN_HEADERS = {"Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": "Link, Content-Disposition"}


class OpenAccessRoute(APIRoute):
    """An APIRoute whose answers and problems any origin may read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def open_handler(request: Request) -> Response:
            try:
                response = await handle(request)
            except ProblemError as exc:
                # Answered here, not by the app's handler, so the headers come along.
                response = problem_response(exc.problem)
            response.headers.update(OPEN_HEADERS)
            return response

        return open_handler
