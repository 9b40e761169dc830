"""X through tweepy, faked at its HTTP boundary with ``responses``: weighted length,
coalescing, budget, 429 for ten minutes, 5xx, timeouts, and a crash between the post
and its confirmation -- never a post twice."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import requests
import responses
from twitter_text import parse_tweet  # type: ignore[import-untyped]

from floodwatch.alerts.model import Event
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.channels.x import XPlatform, x_client
from floodwatch.notify.compose import X_MAX_WEIGHTED
from floodwatch.notify.deliveries import DeliveryLedger
from floodwatch.notify.status import StatusLines
from tests.alerts.conftest import river
from tests.notify.social_support import SocialRig, social_config
from tests.notify.support import FakeClock, events_of, typhoon_events

X_API = "https://api.x.test"
TWEETS = f"{X_API}/2/tweets"

TWO_BASINS = StationRegistry.from_yaml_text("""
stations:
  - {id: n1, kind: river, name: {ja: 北一, en: North one}, river: kita, basin: kita,
     location: {lat: 38.0, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}}
  - {id: n2, kind: river, name: {ja: 北二, en: North two}, river: kita, basin: kita,
     location: {lat: 38.1, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}}
  - {id: s1, kind: river, name: {ja: 南一, en: South one}, river: minami, basin: minami,
     location: {lat: 37.0, lon: 140.4}, interval_s: 600,
     levels_m: {standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0, flooding: 5.0}}
""")


def platform() -> XPlatform:
    return XPlatform(x_client(X_API, 5.0, consumer_key="k", consumer_secret="ks",
                              access_token="t", access_token_secret="ts"))


def posted_texts(calls: responses.CallList) -> list[str]:
    return [json.loads(call.request.body or b"{}")["text"] for call in calls
            if isinstance(call.response, requests.Response) and call.response.status_code == 201]


def thread_starts(calls: responses.CallList) -> list[str]:
    """The first post of each thread: posted, and not a reply."""
    bodies = [json.loads(call.request.body or b"{}") for call in calls
              if isinstance(call.response, requests.Response)
              and call.response.status_code == 201]
    return [body["text"] for body in bodies if "reply" not in body]


def created(counter: list[int]) -> tuple[int, dict[str, str], str]:
    counter.append(1)
    return 201, {}, json.dumps({"data": {"id": str(1000 + len(counter)), "text": "x"}})


@responses.activate
def test_typhoon_posts_fit_x_and_bursts_are_coalesced(tmp_path: Path,
                                                      sample_registry: StationRegistry) -> None:
    counter: list[int] = []
    responses.add_callback(responses.POST, TWEETS, callback=lambda _r: created(counter))
    clock = FakeClock()
    rig = SocialRig(tmp_path, sample_registry, platform(), social_config(), clock)
    events = typhoon_events(sample_registry)
    start, origin = clock.now, events[0].at

    async def storm() -> None:
        for event in events:  # in event time, one sender step per simulated minute
            due = start + (event.at - origin).total_seconds()
            while clock.now < due:
                await rig.sender.step()
                clock.advance(60)
            rig.feed([event])
        await rig.run_for(600, 60)

    asyncio.run(storm())
    states = rig.states()
    assert len(states) >= 25  # levels >= 3, road closures, and their all-clears
    assert set(states.values()) <= {"sent", "superseded"}
    texts = posted_texts(responses.calls)
    for text in texts:
        assert parse_tweet(text).weightedLength <= X_MAX_WEIGHTED, text
        assert "http" not in text  # no URL unless configured
    # Every event residents were told is in a post naming its station; an event not
    # posted was superseded by a later one of its station that was.
    sent = [event_id for event_id, state in states.items() if state == "sent"]
    assert len(thread_starts(responses.calls)) <= len(sent)
    for event_id, state in states.items():
        station_id, number = event_id.split("/")
        if state == "superseded":
            assert any(other.split("/")[0] == station_id and int(other.split("/")[1]) > int(number)
                       for other in sent), event_id
    for event_id in sent:
        station = sample_registry.get(event_id.split("/")[0])
        assert station is not None
        assert any(station.name.ja in text for text in texts), event_id
    assert any(text.startswith("【警戒レベル5相当】") for text in texts)


def storm_events(levels: dict[str, list[float]]) -> list[Event]:
    """One engine over every gauge's readings, one every 10 minutes each."""
    steps = max(len(series) for series in levels.values())
    return events_of(TWO_BASINS, [river(station, 10 * step, series[min(step, len(series) - 1)])
                                  for step in range(steps)
                                  for station, series in levels.items()])


# Residents hear of a level once a second reading confirms it: each series ends with
# one reading more than it takes to reach its highest level.
STORM = storm_events({"n1": [0.5, 1.5, 2.5, 3.2, 3.3, 3.6, 4.1],
                      "n2": [0.5, 1.5, 2.5, 3.1],
                      "s1": [0.5, 0.5, 0.5, 1.5, 2.5, 3.5, 4.5, 5.3, 5.4]})
NORTH = [e for e in STORM if e.station != "s1" and e.at <= river("n1", 40, 0).ts]
LATER = [e for e in STORM if e not in NORTH]
SOUTH_EVACUATE = storm_events({"s1": [0.5, 1.5, 2.5, 3.5, 3.6]})


@responses.activate
def test_429_for_ten_minutes_loses_nothing_and_goes_out_by_priority(tmp_path: Path) -> None:
    clock = FakeClock()
    reopen = clock.now + 600

    def answer(_request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if clock.now < reopen:
            return 429, {"x-rate-limit-remaining": "0",
                         "x-rate-limit-reset": str(int(reopen))}, "{}"
        return created(counter)

    counter: list[int] = []
    responses.add_callback(responses.POST, TWEETS, callback=answer)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(),
                    social_config(budget={"window_s": 900, "per_window": 30, "per_day": 100}),
                    clock)
    # North: two gauges reach evacuation level; X answers 429.
    rig.feed(NORTH)

    async def scenario() -> None:
        await rig.run_for(30)
        assert len(responses.calls) == 1  # tried once, told to wait
        # While X refuses: South floods (more urgent), North one climbs to danger.
        rig.feed(LATER)
        await rig.run_for(560)
        assert len(responses.calls) == 1  # nothing sent into the closed window
        await rig.run_for(120)

    asyncio.run(scenario())
    states = rig.states()
    # Events still waiting when their station moved on (North one's evacuation level,
    # South one's climb) were replaced by the station's current state.
    superseded = {e for e, state in states.items() if state == "superseded"}
    sent = {e for e, state in states.items() if state == "sent"}
    assert sent | superseded == set(states)
    assert {e.event_id for e in NORTH if e.station == "n1" and e.level == 3} & superseded
    assert {e.split("/")[0] for e in sent} == {"n1", "n2", "s1"}  # one each
    assert len(sent) == 3
    texts = thread_starts(responses.calls)
    assert len(texts) == 3  # one thread per level, most urgent first (English replies)
    assert "南一" in texts[0]
    assert "氾濫発生" in texts[0]
    assert "北一" in texts[1]  # North one's current level, not the stale one
    assert "氾濫危険水位" in texts[1]
    assert "北二" in texts[2]
    assert "北一" not in texts[2]


@pytest.mark.parametrize(("failure", "outcome", "calls"), [
    # Calls: the failed one, then the thread (Japanese, English as its reply) when sent.
    (503, "sent", 3),  # over capacity: not processed, so it is retried
    (500, "unknown", 1),  # may have been posted: an officer checks, no retry
    (requests.ReadTimeout("read timed out"), "unknown", 1),
    (requests.ConnectTimeout("connect timed out"), "sent", 3),
])
@responses.activate
def test_failures_are_retried_only_when_not_posted(
        tmp_path: Path, failure: int | Exception, outcome: str, calls: int,
        capsys: pytest.CaptureFixture[str]) -> None:
    if isinstance(failure, int):
        responses.add(responses.POST, TWEETS, status=failure, json={"title": "error"})
    else:
        responses.add(responses.POST, TWEETS, body=failure)
    counter: list[int] = []
    responses.add_callback(responses.POST, TWEETS, callback=lambda _r: created(counter))
    clock = FakeClock()
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(900, 5))
    assert set(rig.states().values()) == {outcome}
    assert len(responses.calls) == calls
    if outcome == "unknown":
        assert "post outcome unknown" in capsys.readouterr().out


class DiesAfterPosting:
    """X accepts the post, then the process dies before recording it."""

    name = "x"
    idempotent = False

    def __init__(self) -> None:
        self.inner = platform()

    async def post(self, text: str, key: str, *, reply_to: str | None = None) -> str:
        await self.inner.post(text, key, reply_to=reply_to)
        raise asyncio.CancelledError


@responses.activate
def test_crash_between_post_and_confirm_is_reported_never_reposted(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    counter: list[int] = []
    responses.add_callback(responses.POST, TWEETS, callback=lambda _r: created(counter))
    clock = FakeClock()
    dying = SocialRig(tmp_path, TWO_BASINS, DiesAfterPosting(), social_config(), clock)
    dying.feed(SOUTH_EVACUATE)
    with pytest.raises(asyncio.CancelledError):
        asyncio.run(dying.run_for(60))
    dying.ledger.close()
    assert len(counter) == 1

    restarted = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    restarted.sender.recover()
    asyncio.run(restarted.run_for(900, 5))
    assert set(restarted.states().values()) == {"unknown"}
    assert len(counter) == 1  # never posted a second time
    assert "post outcome unknown" in capsys.readouterr().out
    lines = StatusLines(DeliveryLedger(tmp_path / "deliveries.sqlite3").db).batch(100)[1]
    assert any('state="unknown"' in line and "channel=x" in line for line in lines)
