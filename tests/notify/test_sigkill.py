"""``floodwatch notify`` as a real process, SIGKILLed in the middle of the typhoon and
restarted: every event reaches the disaster network and the webhook (at least once,
with its id), and no post appears twice on X or Mastodon."""

from __future__ import annotations

import contextlib
import json
import signal
import sqlite3
import threading
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import pytest

from floodwatch.core.cap_ids import cap_identifier_event_id
from floodwatch.core.registry import StationRegistry
from floodwatch.services.servers import MosquittoServer
from tests.alerts.process import AlertsProcess, publish_all
from tests.notify.conftest import write_config
from tests.notify.support import (
    DELAY_HEADER,
    Recorded,
    bus_messages,
    fake_http,
    mastodon_server,
    tweet_server,
    typhoon_events,
)
from tests.support import collect, wait_for

pytestmark = pytest.mark.slow

CONFIG = """
network: {cap_topic: "net/cap/{station}", json_topic: "net/json/{station}",
          status_topic: "net/status/{station}"}
webhooks:
  - {name: city, url: "URL/hook", format: cap, retry: {base_s: 0.2, max_s: 1}}
x: {enabled: true, gather_s: 0.5, retry: {base_s: 0.2, max_s: 1, expire_s: 3600}}
mastodon: {enabled: true, gather_s: 0.5, retry: {base_s: 0.2, max_s: 1, expire_s: 3600}}
public_page_url: https://bousai.example.jp/floodwatch/public/stations
basins: {abukuma: {ja: 阿武隈川, en: Abukuma River}}
"""


class NotifyProcess(AlertsProcess):
    """``python -m floodwatch.notify``, configured by its environment."""

    def start(self) -> NotifyProcess:
        import subprocess
        import sys

        from tests.support import REPO_ROOT

        started = len(self.log_events("notify running"))
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "floodwatch.notify"], env=self.env,
                stdout=log, stderr=subprocess.STDOUT, cwd=REPO_ROOT)
        wait_for(lambda: len(self.log_events("notify running")) > started or self.exited(),
                 30, "notify to start")
        assert not self.exited(), self.log_path.read_text(errors="replace")
        return self


def ledger_rows(state_dir: Path, client_id: str, sql: str) -> list[tuple[object, ...]]:
    path = state_dir / "notify" / f"{client_id}.sqlite3"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
        return db.execute(sql).fetchall()


def test_sigkill_and_restart_delivers_everything_and_posts_nothing_twice(
        tmp_path: Path, mosquitto: MosquittoServer, sample_registry: StationRegistry,
        settings_env: Callable[..., dict[str, str]]) -> None:
    events = typhoon_events(sample_registry)
    messages = bus_messages(sample_registry, events)
    x, mastodon = tweet_server(), mastodon_server()
    posting = threading.Event()  # set as X receives a post (it answers a second later)

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        # The platforms take a second to answer: the kill lands between post and answer.
        if request.path.startswith("/2/tweets"):
            status, headers, body = x(request)
            posting.set()
            return status, {**headers, DELAY_HEADER: "1.0"}, body
        if request.path.startswith("/api/v1/statuses"):
            status, headers, body = mastodon(request)
            return status, {**headers, DELAY_HEADER: "1.0"}, body
        return 204, {}, b""

    with fake_http(respond) as fake, collect(mosquitto.port, "net/cap/#") as network:
        client_id = f"notify-{uuid.uuid4().hex[:8]}"
        state_dir = tmp_path / "state"
        env = settings_env(
            notify_config=write_config(tmp_path, CONFIG.replace("URL", fake.url)),
            notify_client_id=client_id, notify_webhook_secrets="city:webhook-secret-1",
            notify_x_consumer_key="key", notify_x_consumer_secret="key-secret",
            notify_x_access_token="token", notify_x_access_token_secret="token-secret",
            notify_x_api_url=fake.url, notify_mastodon_url=fake.url,
            notify_mastodon_token="mastodon-token", state_dir=state_dir)
        first = NotifyProcess(env, tmp_path / "notify-1.log").start()
        chunks = [messages[i:i + 20] for i in range(0, len(messages), 20)]

        def publish_slowly(parts: list[list[tuple[str, bytes]]]) -> None:
            for chunk in parts:
                publish_all(mosquitto.port, chunk)
                time.sleep(0.7)

        publisher = threading.Thread(target=publish_slowly, args=(chunks,))
        publisher.start()
        # Killed while X is answering its first post: published, but not known to be.
        assert posting.wait(30), "no post reached X"
        assert first.stop(signal.SIGKILL) == -signal.SIGKILL
        publisher.join()
        second = NotifyProcess(env, tmp_path / "notify-2.log").start()

        def settled() -> bool:
            rows = ledger_rows(state_dir, client_id,
                               "SELECT channel, state FROM deliveries")
            per_channel = [channel for channel, _ in rows if channel == "network"]
            return (len(per_channel) == len(events)
                    and all(state in ("sent", "unknown", "superseded") for _, state in rows))

        wait_for(settled, 90, "every delivery settled")
        assert second.stop() == 0

    ids = {event.event_id for event in events}
    cap_ids = {cap_identifier_event_id(
        payload.split(b"<identifier>")[1].split(b"<")[0].decode())
        for _, payload, _ in network.messages}
    assert cap_ids == ids
    hook_ids = {r.headers["x-floodwatch-event-id"] for r in fake.recorded("/hook")}
    assert hook_ids == ids

    posts = ledger_rows(state_dir, client_id, "SELECT channel, state, key FROM posts")
    tweets = [json.loads(r.body)["text"] for r in fake.recorded("/2/tweets")]
    x_posts = [row for row in posts if row[0] == "x"]
    # Each accepted tweet is one post of the delivery ledger: none was sent a second time.
    assert len(tweets) == len(x_posts) == len(set(tweets))
    assert all(state in ("sent", "unknown") for _, state, _ in x_posts)
    assert [state for _, state, _ in x_posts].count("unknown") == 1  # the one killed
    assert "post outcome unknown" in (tmp_path / "notify-2.log").read_text()
    keys = [r.headers["idempotency-key"] for r in fake.recorded("/api/v1/statuses")]
    mastodon_posts = {key for channel, state, key in posts if channel == "mastodon"}
    assert set(keys) == mastodon_posts  # repeats carried the same key: one status each
    social = ledger_rows(state_dir, client_id,
                         "SELECT channel, state FROM deliveries WHERE channel != 'network' "
                         "AND channel NOT LIKE 'webhook:%'")
    assert {channel for channel, _ in social} == {"x", "mastodon"}
    # Each delivery was posted, or replaced by its station's later event in a post.
    assert {state for channel, state in social if channel == "mastodon"} <= {"sent",
                                                                             "superseded"}
    assert ("mastodon", "sent") in social
