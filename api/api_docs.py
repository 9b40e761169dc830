"""Swagger UI at /docs and ReDoc at /redoc from this process, not from a CDN.

FastAPI's own pages load their scripts from jsDelivr (and ReDoc's fonts from Google): on
the prefecture's closed network they stay blank. ``npm ci`` in dashboard/ installs
swagger-ui-dist and redoc next to the dashboard's libraries; their files are served
under /docs/vendor/, and the pages come from FastAPI's own builders pointed at them
(the app is created with ``docs_url=None, redoc_url=None``).

Each page carries a Content-Security-Policy that allows only this origin: Swagger UI's
one inline start-up script by its hash, ReDoc's worker (a blob: URL) and the inline
styles both libraries inject.
"""

from __future__ import annotations

import base64
import hashlib
import re
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse

from floodwatch.api.dashboard import RevalidatedFiles, dashboard_dir
from floodwatch.api.problems import ProblemError
from floodwatch.core.settings import Settings

log = structlog.get_logger("api.docs")

SWAGGER_UI = "/docs/vendor/swagger-ui"
REDOC = "/docs/vendor/redoc"
# URL path -> folder under the dashboard directory (only these files are served).
VENDOR_FOLDERS = {
    SWAGGER_UI: "node_modules/swagger-ui-dist",
    REDOC: "node_modules/redoc/bundles",
}
INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def content_security_policy(html: str) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in INLINE_SCRIPT.findall(html))
    return "; ".join([
        "default-src 'self'",
        f"script-src 'self' {hashes}".rstrip(),
        # Both libraries style their elements with injected <style> and style attributes.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        # ReDoc runs its search index in a worker it builds from a blob: URL.
        "worker-src 'self' blob:",
        "connect-src 'self'",
        "frame-ancestors 'none'",
        "base-uri 'none'",
        "form-action 'none'",
    ])


def with_policy(page: HTMLResponse) -> HTMLResponse:
    html = bytes(page.body).decode()
    page.headers["Content-Security-Policy"] = content_security_policy(html)
    page.headers["Cache-Control"] = "no-cache"
    return page


def install(app: FastAPI, settings: Settings) -> None:
    """Routes for /docs and /redoc; without the npm packages they answer 503 with what
    to run, like the dashboard (the API works without them)."""
    root = dashboard_dir(settings)
    missing = [folder for folder in VENDOR_FOLDERS.values() if not (root / folder).exists()]
    if missing:
        log.warning("API docs assets missing: run 'make install' (npm ci in dashboard/)",
                    directory=str(root), missing=missing)
    else:
        for path, folder in VENDOR_FOLDERS.items():
            app.mount(path, RevalidatedFiles(directory=root / folder), name=path.strip("/"))
    title = app.title
    openapi_url = app.openapi_url or "/openapi.json"

    async def swagger_ui(request: Request) -> HTMLResponse:
        _installed(root, missing)
        return with_policy(get_swagger_ui_html(
            openapi_url=_rooted(request, openapi_url), title=f"{title} - Swagger UI",
            swagger_js_url=_rooted(request, f"{SWAGGER_UI}/swagger-ui-bundle.js"),
            swagger_css_url=_rooted(request, f"{SWAGGER_UI}/swagger-ui.css"),
            swagger_favicon_url=_rooted(request, f"{SWAGGER_UI}/favicon-32x32.png"),
            # Swagger UI would otherwise send the document to validator.swagger.io.
            swagger_ui_parameters={"validatorUrl": None}))

    async def redoc(request: Request) -> HTMLResponse:
        _installed(root, missing)
        return with_policy(get_redoc_html(
            openapi_url=_rooted(request, openapi_url), title=f"{title} - ReDoc",
            redoc_js_url=_rooted(request, f"{REDOC}/redoc.standalone.js"),
            redoc_favicon_url=_rooted(request, f"{SWAGGER_UI}/favicon-32x32.png"),
            with_google_fonts=False))

    app.add_api_route("/docs", swagger_ui, include_in_schema=False)
    app.add_api_route("/redoc", redoc, include_in_schema=False)


def _rooted(request: Request, path: str) -> str:
    """Behind a proxy that mounts the API under a prefix (uvicorn --root-path)."""
    return str(request.scope.get("root_path", "")).rstrip("/") + path


def _installed(root: Path, missing: list[str]) -> None:
    if missing:
        raise ProblemError(503, "docs-not-installed", "API docs not installed",
                           f"missing under {root}: {', '.join(missing)}; run 'make install' "
                           "(npm ci in dashboard/)")
