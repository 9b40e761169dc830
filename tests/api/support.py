"""Running the API app in-process (lifespan included) against the real test services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import uvicorn
from pydantic import SecretStr

from floodwatch.api.app import create_app
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port

VIEWER_KEY = "viewer-key-0123456789"
OFFICER_KEY = "officer-key-0123456789"
ADMIN_KEY = "admin-key-0123456789ab"
TEST_KEYS = f"viewer:{VIEWER_KEY},officer:{OFFICER_KEY}\nadmin:{ADMIN_KEY}"
VIEWER_HEADERS = {"Authorization": f"Bearer {VIEWER_KEY}"}


def with_keys(settings: Settings) -> Settings:
    """The test keys, unless the test configured its own."""
    if settings.api_keys is not None:
        return settings
    return settings.model_copy(update={"api_keys": SecretStr(TEST_KEYS)})


@asynccontextmanager
async def api_client(settings: Settings, registry: StationRegistry, *,
                     headers: dict[str, str] | None = None
                     ) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client bound to the app, sending the viewer key unless ``headers`` are
    given. ASGITransport does not run the lifespan, so we do."""
    app = create_app(with_keys(settings), registry)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://api.test",
                          headers=VIEWER_HEADERS if headers is None else headers) as client,
    ):
        yield client


async def eventually(check: Callable[[], Awaitable[Any]], what: str,
                     timeout_s: float = 15.0) -> Any:
    """Poll ``check`` until it returns something truthy; fails the test on timeout."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while loop.time() < deadline:
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout_s}s waiting for {what}")


@asynccontextmanager
async def api_server(settings: Settings, registry: StationRegistry) -> AsyncIterator[str]:
    """The app behind a real uvicorn on a free port (WebSocket and SSE need a server);
    yields its base URL, e.g. ``http://127.0.0.1:PORT``."""
    port = free_port()
    config = uvicorn.Config(create_app(with_keys(settings), registry), host="127.0.0.1", port=port,
                            log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="test-api-server")
    try:
        await eventually(_started(server, task), "uvicorn to start")
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task


def _started(server: uvicorn.Server, task: asyncio.Task[Any]) -> Callable[[], Awaitable[bool]]:
    async def check() -> bool:
        if task.done():
            task.result()  # raises what stopped it
            raise AssertionError("uvicorn exited before starting")
        return bool(server.started)

    return check
