"""``floodwatch healthcheck``: the container health probe of every stage.

Without ``--url`` it reads the stage's own Prometheus endpoint (``FLOODWATCH_METRICS_PORT``
on ``FLOODWATCH_METRICS_HOST``, through loopback when that is 0.0.0.0) and is healthy only
when every MQTT session of the process is connected (``floodwatch_mqtt_connected``): a
stage that runs but has lost its broker is not doing its job, and the orchestrator should
see that. With ``--url`` (the API's ``/readyz``) any 2xx is healthy. Exit 0 healthy, 1
not, with one line saying why.
"""

from __future__ import annotations

import argparse

import httpx

from floodwatch.core.commandline import EXIT_RUNTIME, fail, settings_or_exit

CONNECTED_GAUGE = "floodwatch_mqtt_connected"


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    parser = commands.add_parser("healthcheck",
                                 help="exit 0 when this container's stage is healthy")
    parser.add_argument("--url", help="probe this URL (2xx = healthy) instead of /metrics")
    parser.add_argument("--timeout", type=float, default=4.0, help="seconds")
    parser.set_defaults(handler=cmd_healthcheck)


def cmd_healthcheck(args: argparse.Namespace) -> None:
    url = args.url
    if url is None:
        settings = settings_or_exit()
        if settings.metrics_port is None:
            fail("FLOODWATCH_METRICS_PORT: must be set for the health check")
        url = f"http://{probe_address(settings.metrics_host)}:{settings.metrics_port}/metrics"
    try:
        response = httpx.get(url, timeout=args.timeout)
    except httpx.HTTPError as exc:
        fail(f"unhealthy: {url}: {exc}", EXIT_RUNTIME)
    if not response.is_success:
        fail(f"unhealthy: {url} answered {response.status_code}", EXIT_RUNTIME)
    if args.url is None:
        problem = disconnected_sessions(response.text)
        if problem is not None:
            fail(f"unhealthy: {problem}", EXIT_RUNTIME)
    print("healthy")


def probe_address(listen: str) -> str:
    """Where to reach a server listening on ``listen`` from the same host: loopback for
    a wildcard address, an IPv6 address in brackets for a URL."""
    host = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(listen, listen)  # noqa: S104
    return f"[{host}]" if ":" in host else host


def disconnected_sessions(metrics: str) -> str | None:
    """Why the sessions in a /metrics text are not all connected, or None."""
    samples = [line for line in metrics.splitlines() if line.startswith(CONNECTED_GAUGE + "{")]
    if not samples:
        return "no MQTT session reported yet (still starting?)"
    down = [line.split("}")[0] + "}" for line in samples if float(line.split()[-1]) != 1.0]
    return f"disconnected from the broker: {', '.join(down)}" if down else None
