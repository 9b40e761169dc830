"""The officers' dashboard at ``/``: the page, its ES modules and the two libraries that
``npm ci`` installed in dashboard/node_modules (Leaflet, uPlot), all served by this
process, so nothing is fetched from a CDN at run time. Everything the page shows comes
from the public REST API and the live feed; this module only adds the page's settings
and the registry's coordinates and reference levels, which /api/v1/stations leaves out.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import structlog
from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.responses import Response
from starlette.staticfiles import PathLike
from starlette.types import Scope

from floodwatch.api.deps import RegistryDep, SettingsDep, public_reader
from floodwatch.api.problems import ProblemError
from floodwatch.core.settings import Settings

log = structlog.get_logger("api.dashboard")

# The checkout's dashboard/, or in an installed wheel the package's floodwatch/dashboard
# (package data with the npm libraries, built in by setup.py).
REPOSITORY_DASHBOARD = Path(__file__).resolve().parent.parent / "dashboard"
# URL path -> folder under the dashboard directory. Only these are served: never
# package.json or the rest of node_modules.
STATIC_FOLDERS = {
    "/dashboard/app": "app",
    "/dashboard/vendor/leaflet": "node_modules/leaflet/dist",
    "/dashboard/vendor/uplot": "node_modules/uplot/dist",
}
NO_STORE = {"Cache-Control": "no-store"}

router = APIRouter(include_in_schema=False)


class RevalidatedFiles(StaticFiles):
    """Static files a browser must revalidate (a cheap 304 by ETag) before reuse, so
    after an upgrade no screen runs a mix of old and new modules from its cache."""

    def file_response(self, full_path: PathLike, stat_result: os.stat_result, scope: Scope,
                      status_code: int = 200) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        response.headers["Cache-Control"] = "no-cache"
        return response


def dashboard_dir(settings: Settings) -> Path:
    """The setting, else the package's (the wheel's, or the checkout's dashboard/ in an
    editable install), else ./dashboard."""
    if settings.dashboard_dir is not None:
        return settings.dashboard_dir
    for candidate in (REPOSITORY_DASHBOARD, Path.cwd() / "dashboard"):
        if (candidate / "index.html").exists():
            return candidate
    return REPOSITORY_DASHBOARD


def missing_files(root: Path) -> list[str]:
    """What ``npm ci`` (or the checkout) should have put under ``root``."""
    needed = ["index.html", *STATIC_FOLDERS.values()]
    return [name for name in needed if not (root / name).exists()]


def install(app: FastAPI, settings: Settings) -> None:
    """Serve the dashboard from ``app``; without its files ``/`` explains what to run
    instead of the API failing to start (the API is useful without the page)."""
    root = dashboard_dir(settings)
    missing = missing_files(root)
    if missing:
        log.warning("dashboard files missing: run 'make install' (npm ci in dashboard/)",
                    directory=str(root), missing=missing)
        app.add_api_route("/", _not_installed(root, missing), include_in_schema=False)
        return
    app.include_router(router)
    for path, folder in STATIC_FOLDERS.items():
        app.mount(path, RevalidatedFiles(directory=root / folder), name=path.strip("/"))


def _not_installed(root: Path, missing: list[str]) -> Any:
    async def dashboard_not_installed() -> None:
        raise ProblemError(503, "dashboard-not-installed", "Dashboard not installed",
                           f"missing under {root}: {', '.join(missing)}; run 'make install' "
                           "(npm ci in dashboard/)")

    return dashboard_not_installed


def content_security_policy(settings: Settings, request: Request) -> str:
    """Scripts only from here; images also from the tile server; the live feed's
    WebSocket on this host (named explicitly: older browsers do not count ws: as
    'self')."""
    tiles = ""
    if settings.dashboard_tiles_url:
        parts = urlsplit(settings.dashboard_tiles_url)
        tiles = f" {parts.scheme}://{parts.netloc.replace('{s}', '*')}"
    websocket = "wss" if request.url.scheme == "https" else "ws"
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        # Leaflet and uPlot position their elements with inline styles.
        "style-src 'self' 'unsafe-inline'",
        f"img-src 'self' data:{tiles}",
        f"connect-src 'self' {websocket}://{request.url.netloc}",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


@router.get("/")
async def page(request: Request, settings: SettingsDep) -> FileResponse:
    headers = {
        **NO_STORE,
        "Content-Security-Policy": content_security_policy(settings, request),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
    }
    return FileResponse(dashboard_dir(settings) / "index.html", media_type="text/html",
                        headers=headers)


@router.get("/dashboard/config.json")
async def config(settings: SettingsDep) -> JSONResponse:
    """What the page needs before it has a key: nothing here is secret."""
    return JSONResponse({
        "tiles_url": settings.dashboard_tiles_url,
        "tiles_attribution": settings.dashboard_tiles_attribution,
        "public_read": settings.api_public_read,
        "heartbeat_s": settings.api_heartbeat_s,
        "stale_factor": settings.api_stale_factor,
        "time_scale": settings.dashboard_time_scale,
    }, headers=NO_STORE)


@router.get("/dashboard/stations.json", dependencies=[Depends(public_reader)])
async def stations(registry: RegistryDep) -> JSONResponse:
    """The registry data the map and chart need for every station at once (the REST
    detail endpoint would cost one request, and one InfluxDB query, per station)."""
    return JSONResponse({"stations": [{
        "id": station.id,
        "kind": station.kind.value,
        "name": station.name.model_dump(),
        "river": station.river,
        # The river's names (registry ``rivers``) for the river view's tabs.
        "river_name": None if (river := registry.river_name(station)) is None
        else river.model_dump(),
        "route": station.route,
        "basin": station.basin,
        "location": station.location.model_dump(),
        "interval_s": station.interval_s,
        "levels_m": station.levels_m.model_dump() if station.levels_m else None,
    } for station in registry]}, headers=NO_STORE)
