"""Locust users for bench/api_load.py, run by it as ``locust --headless -f`` (a separate
process: locust's gevent must not share a process with asyncio).

Each user paces itself with ``constant_throughput`` so users x rate is the offered load
(requests per second) whatever the latency, as long as a request takes less than
1/rate. Configured through the environment by api_load.py:

- API_BENCH_SCENARIO: ``latest`` (GET /api/v1/latest) or ``history`` (a random
  station's readings over the last API_BENCH_DAYS days);
- API_BENCH_RATE_PER_USER: requests per second of one user;
- API_BENCH_STATIONS, API_BENCH_DAYS, API_BENCH_KEY.
"""

from __future__ import annotations

import os
import random
from datetime import UTC, datetime, timedelta
from urllib.parse import urlencode

from locust import FastHttpUser, constant_throughput, task

SCENARIO = os.environ.get("API_BENCH_SCENARIO", "latest")
RATE_PER_USER = float(os.environ.get("API_BENCH_RATE_PER_USER", "4"))
STATIONS = int(os.environ.get("API_BENCH_STATIONS", "500"))
DAYS = float(os.environ.get("API_BENCH_DAYS", "30"))
HEADERS = {"Authorization": f"Bearer {os.environ.get('API_BENCH_KEY', '')}"}


class ApiUser(FastHttpUser):
    wait_time = constant_throughput(RATE_PER_USER)

    @task
    def request(self) -> None:
        if SCENARIO == "latest":
            self.client.get("/api/v1/latest", headers=HEADERS, name="latest")
            return
        station = f"r-{random.randrange(STATIONS):03d}"  # noqa: S311 -- load, not secrets
        end = datetime.now(UTC)
        query = urlencode({"start": (end - timedelta(days=DAYS)).isoformat(),
                           "end": end.isoformat()})
        self.client.get(f"/api/v1/stations/{station}/readings?{query}", headers=HEADERS,
                        name="history")
