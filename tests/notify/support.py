"""Alert events as the engine puts them on the bus, fake clocks, and a local HTTP server
that plays a webhook receiver, X or Mastodon in the tests."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.alerts.render import event_payload
from floodwatch.alerts.rules import AlertRules
from floodwatch.core import bus
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import REGISTRY_YAML, RULES_FILE, river, road
from tests.alerts.test_typhoon import typhoon_readings
from tests.cap_support import cap_fields, cap_of

DELAY_HEADER = "x-test-delay"  # in a fake's answer: wait this long before answering
NOTIFY_CONFIG = Path(__file__).resolve().parents[2] / "config" / "notify.yaml"


def events_of(registry: StationRegistry, readings: list[Reading]) -> list[Event]:
    engine = Engine(registry, AlertRules.load(RULES_FILE, registry))
    return [event for reading in readings for event in engine.on_reading(reading).events]


def bus_messages(registry: StationRegistry, events: list[Event]) -> list[tuple[str, bytes]]:
    """Each event as JSON then CAP, in the engine's order (alerts.processor)."""
    rules = AlertRules.load(RULES_FILE, registry)
    messages = []
    for event in events:
        station = registry.get(event.station)
        assert station is not None
        messages.append((bus.ALERTS.name(station=event.station),
                         event_payload(event, station, rules.labels,
                                       cap_fields(event, rules))))
        messages.append((bus.CAP.name(station=event.station),
                         cap_of(event, registry, rules)))
    return messages


def small_registry() -> StationRegistry:
    return StationRegistry.from_yaml_text(REGISTRY_YAML)


def small_storm() -> list[Reading]:
    """g1 up to danger and back to all-clear, g2 to evacuation, the underpass floods."""
    # No jump of more than the 1 m a 10-minute gauge may move between readings (the
    # alert engine's data-quality max_step), or the held level would be a dropout.
    levels_g1 = [0.5, 1.2, 2.1, 3.1, 4.1, 3.5, 2.6, 1.6, 0.6] + [0.5] * 4
    levels_g2 = [0.4, 1.1, 2.05, 3.05, 3.3, 2.4, 1.5, 0.6] + [0.4] * 5
    readings: list[Reading] = []
    for step, (one, two) in enumerate(zip(levels_g1, levels_g2, strict=True)):
        for repeat in range(4):  # every 10 minutes, each level held 40 minutes
            minutes = 40 * step + 10 * repeat
            depth = 25.0 if step in (3, 4) else 0.0
            readings += [river("g1", minutes, one), river("g2", minutes, two),
                         road("u1", minutes, water_depth_cm=depth)]
    return readings


def typhoon_events(registry: StationRegistry) -> list[Event]:
    return events_of(registry, typhoon_readings(registry))


class FakeClock:
    """An injectable wall clock that only moves when the test says so."""

    def __init__(self, start: float = 1_790_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Recorded:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class FakeHttp:
    """Records every request; ``respond`` decides each answer (status, headers, body)."""

    respond: Callable[[Recorded], tuple[int, dict[str, str], bytes]]
    requests: list[Recorded] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    url: str = ""

    def recorded(self, path_prefix: str = "") -> list[Recorded]:
        with self.lock:
            return [r for r in self.requests if r.path.startswith(path_prefix)]


@contextmanager
def fake_http(respond: Callable[[Recorded], tuple[int, dict[str, str], bytes]]
              ) -> Iterator[FakeHttp]:
    fake = FakeHttp(respond)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            record = Recorded("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                              self.rfile.read(length))
            with fake.lock:
                fake.requests.append(record)
                status, headers, body = fake.respond(record)
            delay = float(headers.pop(DELAY_HEADER, "0"))
            if delay:
                time.sleep(delay)  # outside the lock: only this request is slow
            self.send_response(status)
            for key, value in {"Content-Type": "application/json", **headers}.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    fake.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield fake
    finally:
        server.shutdown()
        server.server_close()


def tweet_server() -> Callable[[Recorded], tuple[int, dict[str, str], bytes]]:
    """X's POST /2/tweets: every accepted request is a new, public post."""
    counter = iter(range(1_000_000, 10_000_000))

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        text = json.loads(request.body)["text"]
        return 201, {}, json.dumps({"data": {"id": str(next(counter)), "text": text}}).encode()

    return respond


def mastodon_server() -> Callable[[Recorded], tuple[int, dict[str, str], bytes]]:
    """Mastodon's POST /api/v1/statuses, honouring Idempotency-Key as the instance does."""
    by_key: dict[str, bytes] = {}
    counter = iter(range(1, 10_000_000))

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        key = request.headers.get("idempotency-key", "")
        if key not in by_key:
            by_key[key] = json.dumps({"id": str(next(counter)), "content": "",
                                      "created_at": "2026-10-12T00:00:00.000Z"}).encode()
        return 200, {}, by_key[key]

    return respond
