"""Property-based run of the API's own OpenAPI schema with schemathesis, against the app
served by uvicorn with real Mosquitto and InfluxDB and an officer key: valid and
invalid requests for every operation (but the endless SSE stream), asserting no 5xx
and that every answer -- status, content type and body -- is one the schema documents.

Bounded (``MAX_EXAMPLES`` per operation and generation mode) so it runs in seconds; the
CLI equivalent for a longer run is in docs/api.md.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import hypothesis
import schemathesis
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.result import Err
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from floodwatch.alerts.model import Transition
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.services.servers import MosquittoServer
from tests.api.alert_points import StoredAlerts, event, retain_status
from tests.api.support import OFFICER_KEY, api_server

MAX_EXAMPLES = 20
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_schema_conformance]
HEADERS = {"Authorization": f"Bearer {OFFICER_KEY}"}
NOW = datetime.now(UTC).replace(microsecond=0)


def run_schemathesis(base_url: str
                     ) -> tuple[int, Counter[int], Counter[tuple[str, int]], list[str]]:
    """Every operation in both generation modes; returns (operations, statuses seen,
    statuses per first path segment, e.g. ("sta", 200), failures)."""
    # An SSE response never ends: it is tested in test_live.py instead.
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json").exclude(
        path_regex=r"/live/sse$")
    failures: list[str] = []
    statuses: Counter[int] = Counter()
    areas: Counter[tuple[str, int]] = Counter()
    operations = 0
    for result in schema.get_all_operations():
        if isinstance(result, Err):
            failures.append(f"schema: {result.err()}")
            continue
        operation = result.ok()
        operations += 1
        area = operation.path.split("/")[1]
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @hypothesis.settings(
                max_examples=MAX_EXAMPLES, deadline=None, database=None, derandomize=True,
                suppress_health_check=list(hypothesis.HealthCheck),
                phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate])
            @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
            def conforms(case: schemathesis.Case[Any]) -> None:
                response = case.call(base_url=base_url, headers=HEADERS, timeout=30)
                statuses[response.status_code] += 1
                areas[area, response.status_code] += 1  # noqa: B023 (called right here)
                case.validate_response(response, checks=CHECKS, headers=HEADERS)

            try:
                conforms()
            except hypothesis.errors.Unsatisfiable as exc:
                # An operation without parameters or body has no invalid input.
                if mode is not GenerationMode.NEGATIVE:
                    failures.append(f"{operation.label} ({mode.value}): {exc}")
            except (Exception, BaseExceptionGroup) as exc:  # every failure is collected
                failures.append(f"{operation.label} ({mode.value}): {exc}")
    return operations, statuses, areas, failures


def test_openapi_schema_holds(make_settings: Callable[..., Settings],
                              sample_registry: StationRegistry,
                              mosquitto: MosquittoServer) -> None:
    # Data behind the generated requests, so they reach more than the empty paths.
    alerts = StoredAlerts(sample_registry)
    events = [event("sukagawa", 1, 1, Transition.RAISED, 3, NOW - timedelta(hours=2)),
              event("sukagawa", 2, 1, Transition.ESCALATED, 4, NOW - timedelta(hours=1),
                    previous_level=3)]
    retain_status(mosquitto.port, "sukagawa", [{"alert_id": "sukagawa/1", "level": 4}])
    # Every generated day in range, so day files answer 200 (empty or not), not only 400.
    settings = make_settings(api_public_read=True, open_data_days=36_600)

    async def scenario() -> tuple[int, Counter[int], Counter[tuple[str, int]], list[str]]:
        async with InfluxClient.from_settings(settings) as influx:
            await influx.create_database()
            await influx.write([alerts.line(e) for e in events] + [
                f"river,station=fushiguro level_m={2 + i / 100} "
                f"{int((NOW - timedelta(minutes=10 * i)).timestamp())}000000000"
                for i in range(200)])
        async with api_server(settings, sample_registry) as base_url:
            return await asyncio.to_thread(run_schemathesis, base_url)

    operations, statuses, areas, failures = asyncio.run(scenario())
    assert not failures, "\n\n".join(failures)
    # It really ran: every operation (14 and up of /api/v1, probes and pages, and 26 of
    # open data and SensorThings), both answers and refusals.
    assert operations >= 40, operations
    assert areas["open-data", 200] >= 1, areas
    assert areas["open-data", 400] + areas["open-data", 404] + areas["open-data", 422] >= 20, areas
    assert areas["sta", 200] >= 20, areas
    assert areas["sta", 400] + areas["sta", 404] >= 20, areas
    assert statuses[200] >= 20, statuses
    assert statuses[202] >= 1, statuses
    assert statuses[404] + statuses[422] >= 50, statuses
