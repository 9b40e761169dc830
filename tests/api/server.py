"""The API behind the uvicorn configuration ``floodwatch api`` itself uses
(api.service.server_config: header timeout, keep-alive, proxy headers), on a free port,
in this process, against the real test services."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import uvicorn

from floodwatch.api.service import server_config
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from tests.api.support import eventually, with_keys


@asynccontextmanager
async def service_server(settings: Settings, registry: StationRegistry
                         ) -> AsyncIterator[tuple[str, int]]:
    """Yields (host, port) of the running server."""
    port = free_port()
    config = server_config(with_keys(settings).model_copy(
        update={"api_host": "127.0.0.1", "api_port": port, "log_level": "warning"}),
        registry)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(), name="test-service-server")

    async def started() -> bool:
        if task.done():
            task.result()
            raise AssertionError("uvicorn exited before starting")
        return bool(server.started)

    try:
        await eventually(started, "uvicorn to start")
        yield "127.0.0.1", port
    finally:
        server.should_exit = True
        await task
