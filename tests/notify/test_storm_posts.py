"""The storm residents must hear of, through a real ``floodwatch notify`` process and
fake X and Mastodon servers on loopback: 40 Abukuma gauges with long official names
reach 避難判断水位 or above within minutes, and an underpass floods in the middle of it.

Every gauge at an act level is named in some post, or counted in a summarising post
that links the public page listing it; every post carries its advice; no post is too
long for X (twitter-text) or Mastodon; the road closure is posted on its own."""

from __future__ import annotations

import contextlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from twitter_text import parse_tweet  # type: ignore[import-untyped]

from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.config import NotifyConfig
from floodwatch.services.servers import MosquittoServer
from tests.alerts.conftest import river, road
from tests.alerts.process import publish_all
from tests.cap_support import SHIPPED_ADVICE
from tests.notify.conftest import write_config
from tests.notify.support import (
    NOTIFY_CONFIG,
    Recorded,
    bus_messages,
    events_of,
    fake_http,
    mastodon_server,
    tweet_server,
)
from tests.support import NotifyStageProcess, wait_for

pytestmark = pytest.mark.slow

PUBLIC_PAGE = "https://bousai.example.jp/floodwatch/public/stations"
TOWNS = {"072079": "須賀川市", "072036": "郡山市", "072141": "本宮市", "072109": "二本松市",
         "072133": "伊達市"}
LEVELS = "{standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}"


def storm_registry_text() -> str:
    """40 gauges, eight per town, named as MLIT names them (30-40 characters), and an
    underpass."""
    towns = list(TOWNS.items())
    lines = ["municipalities:"]
    lines += [f'  "{code}": {{ja: {name}, en: {name}}}' for code, name in towns]
    lines += ["rivers:", "  abukuma: {ja: 阿武隈川, en: Abukuma River}", "stations:"]
    for number in range(40):
        code, town = towns[number % len(towns)]
        official = f"阿武隈川水系阿武隈川右岸{town}大字第{number}地区字下河原地先水位観測所"
        lines.append(
            f"  - {{id: g{number:02d}, kind: river, name: {{ja: {official}, "
            f"en: Abukuma right bank {town} district {number} gauge}}, "
            f"short_name: {{ja: {town[:-1]}第{number}, en: Gauge {number}}}, "
            f'municipality: "{code}", river: abukuma, basin: abukuma, '
            f"location: {{lat: 37.5, lon: 140.4}}, interval_s: 600, levels_m: {LEVELS}}}")
    lines.append('  - {id: underpass, kind: road, name: {ja: 国道4号 郡山駅前アンダーパス, '
                 'en: Route 4 Koriyama Station underpass}, municipality: "072036", '
                 "route: r4, basin: abukuma, location: {lat: 37.4, lon: 140.4}, "
                 "interval_s: 600}")
    return "\n".join(lines) + "\n"


def storm_readings() -> list[Reading]:
    """Each gauge climbs about 0.9 m per 10 minutes (under the 1 m data-quality step)
    to level 3, 4 or 5, starting a few minutes apart, and holds; the underpass floods."""
    readings = []
    for step in range(12):
        for number in range(40):
            top = 3.2 + number % 3  # evacuation, danger, flooding
            rise = max(0, step - number % 4)
            readings.append(river(f"g{number:02d}", 10 * step, min(top, 0.5 + 0.9 * rise)))
        depth = 30.0 if step >= 5 else 0.0
        readings.append(road("underpass", 10 * step, water_depth_cm=depth))
    return readings


def test_a_storm_names_every_gauge_at_an_act_level_and_every_post_carries_advice(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    registry = StationRegistry.from_yaml_text(storm_registry_text())
    registry_path = tmp_path / "stations.yaml"
    registry_path.write_text(storm_registry_text(), encoding="utf-8")
    events = events_of(registry, storm_readings())
    config = NotifyConfig.load(NOTIFY_CONFIG, advice=SHIPPED_ADVICE)
    x, mastodon = tweet_server(), mastodon_server()

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        return x(request) if request.path.startswith("/2/tweets") else mastodon(request)

    client_id, state_dir = f"notify-{uuid.uuid4().hex[:8]}", tmp_path / "state"
    with fake_http(respond) as fake:
        notify_yaml = (f"network: {{enabled: false}}\npublic_page_url: {PUBLIC_PAGE}\n"
                       "basins: {abukuma: {ja: 阿武隈川, en: Abukuma River}}\n"
                       "x: {enabled: true, gather_s: 2}\n"
                       "mastodon: {enabled: true, gather_s: 2}\n")
        env = settings_env(
            notify_config=write_config(tmp_path, notify_yaml), stations=registry_path,
            notify_client_id=client_id, state_dir=state_dir,
            notify_x_consumer_key="key", notify_x_consumer_secret="key-secret",
            notify_x_access_token="token", notify_x_access_token_secret="token-secret",
            notify_x_api_url=fake.url, notify_mastodon_url=fake.url,
            notify_mastodon_token="mastodon-token")
        notify = NotifyStageProcess(env, tmp_path / "notify.log").start()
        publish_all(mosquitto.port, bus_messages(registry, events))

        def settled() -> bool:
            rows = ledger_rows(state_dir, client_id, "SELECT state FROM deliveries")
            return bool(rows) and all(row[0] in ("sent", "superseded") for row in rows)

        wait_for(settled, 120, "every social delivery posted")
        assert notify.stop() == 0

    # Each station's highest level residents must hear of: its delivery was posted, in
    # a thread that names the station or links the public page at or below that level.
    highest: dict[tuple[str, str], int] = {}
    for event in events:
        act = config.policy.act_levels.get(event.alert_type.value)
        escalating = event.transition.value in ("raised", "escalated", "confirmed")
        if event.confirmed and escalating and act is not None and event.level >= act:
            slot = (event.station, event.alert_type.value)
            highest[slot] = max(highest.get(slot, 0), event.level)
    assert len({station for station, _ in highest if station.startswith("g")}) == 40
    assert ("underpass", "road_flooding") in highest
    for channel, fits in (("x", lambda t: parse_tweet(t).weightedLength <= 280),
                          ("mastodon", lambda t: len(t) <= 500)):
        threads = thread_texts(state_dir, client_id, channel)
        parts = [part for texts in threads.values() for part in texts]
        print(f"{channel}: {len(threads)} threads, {len(parts)} posts")
        told = told_events(state_dir, client_id, channel)
        alert_types = {e.event_id: e.alert_type.value for e in events}
        for thread, texts in threads.items():
            # Every post carries the advice of its own alert type (a road's says 迂回).
            [alert_type] = {alert_types[e] for e, t in told.items() if t == thread}
            for text in texts:
                assert fits(text), (channel, text)
                assert has_advice(config, alert_type, text), (channel, text)
        for (station, alert_type), level in highest.items():
            event_id = next(e.event_id for e in events if e.station == station
                            and e.alert_type.value == alert_type and e.level == level
                            and e.confirmed)
            assert event_id in told, (channel, station)
            texts = threads[told[event_id]]
            assert any(mentions(registry, station, text) for text in texts) or any(
                links_level(text, alert_type, level) for text in texts), (channel, station)
        road = [texts for texts in threads.values()
                if any("アンダーパス" in text for text in texts)]
        assert road, channel
        assert all("阿武隈川" not in text for texts in road for text in texts)


def ledger_rows(state_dir: Path, client_id: str, sql: str) -> list[tuple[object, ...]]:
    path = state_dir / "notify" / f"{client_id}.sqlite3"
    if not path.exists():
        return []
    with contextlib.closing(sqlite3.connect(path, timeout=5)) as db:
        return db.execute(sql).fetchall()


def thread_texts(state_dir: Path, client_id: str, channel: str) -> dict[int, list[str]]:
    rows = ledger_rows(state_dir, client_id, "SELECT thread, text FROM posts WHERE channel = "
                       f"'{channel}' AND state = 'sent' ORDER BY thread, part")
    threads: dict[int, list[str]] = {}
    for thread, text in rows:
        threads.setdefault(int(str(thread)), []).append(str(text))
    return threads


def told_events(state_dir: Path, client_id: str, channel: str) -> dict[str, int]:
    """event id -> the thread that told it."""
    rows = ledger_rows(state_dir, client_id, "SELECT event_id, post_id FROM deliveries "
                       f"WHERE channel = '{channel}' AND state = 'sent'")
    return {str(event_id): int(str(post)) for event_id, post in rows}


def has_advice(config: NotifyConfig, alert_type: str, text: str) -> bool:
    advice = config.templates.advice
    assert advice is not None
    per_type = advice.alerts[alert_type]
    return any(given.ja in text or given.en in text
               for given in [*per_type.advice.values(), per_type.all_clear])


def mentions(registry: StationRegistry, station_id: str, text: str) -> bool:
    station = registry.get(station_id)
    assert station is not None
    names = [station.name.ja, station.name.en]
    if station.short_name is not None:
        names += [station.short_name.ja, station.short_name.en]
    return any(name in text for name in names)


def links_level(text: str, alert_type: str, level: int) -> bool:
    for word in text.split():
        if word.startswith(PUBLIC_PAGE):
            query = parse_qs(urlsplit(word).query)
            if query.get("alert_type") == [alert_type] and int(
                    query.get("level", ["99"])[0]) <= level:
                return True
    return False


TWO_RIVERS = """
rivers:
  kita: {ja: 北川, en: Kita River}
  minami: {ja: 南川, en: Minami River}
stations:
  - {id: n1, kind: river, name: {ja: 北一, en: North one}, river: kita, basin: kita,
     location: {lat: 38.0, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}}
  - {id: s1, kind: river, name: {ja: 南一, en: South one}, river: minami, basin: minami,
     location: {lat: 37.0, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}}
"""


def test_while_x_is_paused_by_429_the_live_escalation_posts_before_a_basin_that_cleared(
        tmp_path: Path, mosquitto: MosquittoServer,
        settings_env: Callable[..., dict[str, str]]) -> None:
    """A real notify process and a fake X on loopback: North one was told at danger;
    X answers 429 for a while; meanwhile North floods and clears and South reaches
    danger. When X reopens, South's live escalation is posted first -- then North's
    flood (never hidden by its clear), then North's all-clear."""
    registry = StationRegistry.from_yaml_text(TWO_RIVERS)
    registry_path = tmp_path / "stations.yaml"
    registry_path.write_text(TWO_RIVERS, encoding="utf-8")
    levels = {"n1": [0.5, 1.5, 2.5, 3.5, 4.1, 4.2, 5.2, 5.3, 4.5, 3.5, 2.5, 1.5,
                     0.5, 0.5, 0.5, 0.5],
              "s1": [0.5] * 9 + [1.5, 2.5, 3.5, 4.2, 4.3]}
    events = events_of(registry, [river(station, 10 * step, series[min(step, len(series) - 1)])
                                  for step in range(16) for station, series in levels.items()])
    told = next(i for i, e in enumerate(events)
                if e.station == "n1" and e.level == 4 and e.confirmed)
    x = tweet_server()
    closed_until = [0.0]
    accepted: list[dict[str, Any]] = []  # the bodies X published, in order
    refused: list[str] = []

    def respond(request: Recorded) -> tuple[int, dict[str, str], bytes]:
        if time.time() < closed_until[0]:
            refused.append(json.loads(request.body)["text"])
            return 429, {"x-rate-limit-remaining": "0",
                         "x-rate-limit-reset": str(int(closed_until[0]) + 1)}, b"{}"
        accepted.append(json.loads(request.body))
        return x(request)

    client_id, state_dir = f"notify-{uuid.uuid4().hex[:8]}", tmp_path / "state"
    with fake_http(respond) as fake:
        notify_yaml = (f"network: {{enabled: false}}\npublic_page_url: {PUBLIC_PAGE}\n"
                       "basins: {kita: {ja: 北川, en: Kita}, minami: {ja: 南川, en: Minami}}\n"
                       "x: {enabled: true, gather_s: 1}\n")
        env = settings_env(
            notify_config=write_config(tmp_path, notify_yaml), stations=registry_path,
            notify_client_id=client_id, state_dir=state_dir,
            notify_x_consumer_key="key", notify_x_consumer_secret="key-secret",
            notify_x_access_token="token", notify_x_access_token_secret="token-secret",
            notify_x_api_url=fake.url)
        notify = NotifyStageProcess(env, tmp_path / "notify.log").start()

        def started() -> list[str]:
            return [body["text"] for body in accepted if "reply" not in body]

        publish_all(mosquitto.port, bus_messages(registry, events[:told + 1]))
        wait_for(lambda: len(started()) == 1, 30, "North's danger posted")
        closed_until[0] = time.time() + 15
        publish_all(mosquitto.port, bus_messages(registry, events[told + 1:]))
        wait_for(lambda: len(started()) == 4, 60, "the posts after X reopened")
        assert notify.stop() == 0
    assert refused  # X did refuse while the storm went on
    posts = started()
    assert "南一" in posts[1]  # the live escalation first
    assert "北一" in posts[2]
    assert "氾濫が発生しました" in posts[2]
    assert "北一" in posts[3]
    assert "解除" in posts[3]
