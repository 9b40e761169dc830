from __future__ import annotations

import asyncio
from collections.abc import Callable

from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.process import free_port
from tests.api.support import api_client


def test_health_ready_and_metrics(make_settings: Callable[..., Settings],
                                  sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            assert (await client.get("/healthz")).json() == {"status": "ok"}
            ready = await client.get("/readyz")
            assert ready.status_code == 200
            assert ready.json() == {"status": "ok", "broker": True, "influxdb": True}
            metrics = await client.get("/metrics")
            assert metrics.status_code == 200
            assert "floodwatch_mqtt_connected" in metrics.text

    asyncio.run(scenario())


def test_not_ready_without_broker(make_settings: Callable[..., Settings],
                                  sample_registry: StationRegistry) -> None:
    settings = make_settings(mqtt_url=f"mqtt://127.0.0.1:{free_port()}")

    async def scenario() -> None:
        async with api_client(settings, sample_registry) as client:
            ready = await client.get("/readyz")
            assert ready.status_code == 503
            assert ready.json()["broker"] is False
            # Liveness does not depend on the broker: restarting would not help.
            assert (await client.get("/healthz")).status_code == 200

    asyncio.run(scenario())


def test_unknown_path_is_a_problem(make_settings: Callable[..., Settings],
                                   sample_registry: StationRegistry) -> None:
    async def scenario() -> None:
        async with api_client(make_settings(), sample_registry) as client:
            response = await client.get("/api/v1/nothing-here")
            assert response.status_code == 404
            assert response.headers["content-type"] == "application/problem+json"

    asyncio.run(scenario())
