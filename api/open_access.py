"""What every open-data answer (``/open-data/v1``, ``/sta/v1.1``) carries, whatever route
made it, problems included:

- ``Link: <licence URL>; rel="license"`` (RFC 8288; a route may add more links, e.g.
  ``describedby``): a file or SensorThings answer saved on its own still names its
  licence;
- ``Access-Control-Allow-Origin: *``, with ``ETag``, ``Link`` and ``Content-Disposition`` exposed to
  scripts: a page on another origin (a SensorThings web viewer, a municipality's map)
  may read the data and why a request failed, whatever ``FLOODWATCH_API_CORS_ORIGINS``
  allows for the keyed API. Safe because these routes take no key and no cookie: there
  is no credential a foreign page could ride on.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

from fastapi.routing import APIRoute
from starlette.requests import Request
from starlette.responses import Response

from floodwatch.api.open_data_models import Licence
from floodwatch.api.problems import ProblemError, problem_response
from floodwatch.core.settings import Settings

# ETag too: a foreign page revalidating a day file reads the tag it sends back.
EXPOSED_HEADERS = ("ETag", "Link", "Content-Disposition")
OPEN_HEADERS = {"Access-Control-Allow-Origin": "*",
                "Access-Control-Expose-Headers": ", ".join(EXPOSED_HEADERS)}


def licence(settings: Settings) -> Licence:
    return Licence(name=settings.open_data_licence_name,
                   url=str(settings.open_data_licence_url))


def licence_link(settings: Settings) -> str:
    return f'<{settings.open_data_licence_url}>; rel="license"'


class OpenAccessRoute(APIRoute):
    """An APIRoute whose answers and problems name the licence and any origin may read."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()

        async def open_handler(request: Request) -> Response:
            try:
                response = await handle(request)
            except ProblemError as exc:
                # Answered here, not by the app's handler, so the headers come along.
                response = problem_response(exc.problem)
            response.headers.update(OPEN_HEADERS)
            settings: Settings = request.app.state.services.settings
            response.headers.setdefault("Link", licence_link(settings))
            return response

        return open_handler
