"""Storm planning for residents' posts (notify.storm): each station's current state,
grouped by municipality, alert type and level; summaries only when the budget is short;
a station's older events superseded, never posted after their successor; and the live
escalation first when X reopens after a 429."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from pathlib import Path

import requests
import responses

from floodwatch.core.registry import StationRegistry
from floodwatch.notify.deliveries import Delivery
from floodwatch.notify.notice import Notice
from floodwatch.notify.policy import priority
from floodwatch.notify.storm import Waiting, plan_posts
from tests.notify.social_support import SocialRig, social_config
from tests.notify.support import FakeClock
from tests.notify.test_x import (
    SOUTH_EVACUATE,
    TWEETS,
    TWO_BASINS,
    created,
    platform,
    storm_events,
    thread_starts,
)

ACT = {"river_level": 3, "road_flooding": 2}
LEVELS = "{standby: 1.0, caution: 2.0, evacuation: 3.0, danger: 4.0}"


def town_registry() -> StationRegistry:
    """Two towns of one basin, six gauges each, and a road in the first town."""
    rivers = "\n".join(
        f"  - {{id: {town}-{n}, kind: river, name: {{ja: {town}{n}, en: {town} {n}}}, "
        f"municipality: \"{code}\", river: abukuma, basin: abukuma, "
        f"location: {{lat: 37.5, lon: 140.4}}, interval_s: 600, levels_m: {LEVELS}}}"
        for town, code in (("suka", "072079"), ("kori", "072036")) for n in range(6))
    return StationRegistry.from_yaml_text(f"""
municipalities:
  "072079": {{ja: 須賀川市, en: Sukagawa City}}
  "072036": {{ja: 郡山市, en: Koriyama City}}
stations:
{rivers}
  - {{id: underpass, kind: road, name: {{ja: 地下道, en: Underpass}}, municipality: "072079",
     route: r4, basin: abukuma, location: {{lat: 37.5, lon: 140.4}}, interval_s: 600}}
""")


class Events:
    """Waiting deliveries as the ledger would hold them, numbered in arrival order."""

    def __init__(self) -> None:
        self.items: list[Waiting] = []

    def add(self, station: str, seq: int, level: int, transition: str = "confirmed",
            alert_type: str = "river_level") -> Waiting:
        notice = Notice.model_validate({
            "event_id": f"{station}/{seq}", "seq": seq, "station": station,
            "kind": "road" if alert_type.startswith("road") else "river",
            "alert_id": f"{station}/1", "alert_type": alert_type, "transition": transition,
            "level": level, "previous_level": max(0, level - 1), "level_name": f"l{level}",
            "label": {"ja": f"レベル{level}", "en": f"level {level}"},
            "headline": {"ja": station, "en": station}, "at": "2026-10-12T00:00:00Z",
            "confirmed": True})
        index = len(self.items) + 1
        delivery = Delivery(index, notice.event_id, "x", station, notice.alert_id,
                            priority(notice, ACT.get(alert_type)), "pending", 0, 0.0, 1e12)
        item = Waiting(delivery, notice)
        self.items.append(item)
        return item


def one_post_per_three(notices: Sequence[Notice], max_posts: int) -> list[str]:
    """Stands in for the composer: three stations per post, one post when summarising."""
    names = [n.station for n in notices]
    if max_posts == 1:
        return [f"summary {len(names)}: " + " ".join(names)]
    return [" ".join(names[i:i + 3]) for i in range(0, len(names), 3)]


def test_each_town_level_and_alert_type_gets_its_own_post_most_urgent_first() -> None:
    events = Events()
    for n in range(3):
        events.add(f"suka-{n}", 5, 3)
        events.add(f"kori-{n}", 5, 3)
    events.add("suka-5", 7, 4)
    events.add("underpass", 2, 2, alert_type="road_flooding")
    threads = plan_posts(events.items, town_registry(), 60, one_post_per_three)
    told = [sorted(d.station for d in thread.live) for thread in threads]
    assert told == [["suka-5"],  # danger first
                    ["suka-0", "suka-1", "suka-2"],  # then the act level, by arrival:
                    ["kori-0", "kori-1", "kori-2"],  # each town on its own
                    ["underpass"]]  # the road closure ranks with a river at its act level
    assert all(thread.texts for thread in threads)


def test_a_short_budget_summarises_the_least_urgent_by_basin_and_loses_no_station() -> None:
    events = Events()
    for n in range(6):
        events.add(f"suka-{n}", 5, 4)  # two posts in full
        events.add(f"kori-{n}", 5, 3)  # two posts in full
    events.add("underpass", 2, 2, alert_type="road_flooding")
    full = plan_posts(events.items, town_registry(), 60, one_post_per_three)
    assert [len(thread.texts) for thread in full] == [2, 2, 1]
    # A round spends half the budget left: 7 posts leave 4 for this burst.
    short = plan_posts(events.items, town_registry(), 7, one_post_per_three)
    # The danger-level town in full; the rest summarised, rivers and the road apart.
    assert [thread.texts[0].split(":")[0] for thread in short] == [
        "suka-0 suka-1 suka-2", "summary 6", "summary 1"]
    told = {d.station for thread in short for d in thread.live}
    assert told == {item.delivery.station for item in events.items}
    tiny = plan_posts(events.items, town_registry(), 2, one_post_per_three)
    assert [len(thread.texts) for thread in tiny] == [1]  # the rest waits, urgent first
    assert {d.station for d in tiny[0].live} >= {f"suka-{n}" for n in range(6)}


def test_a_grave_burst_may_spend_the_whole_budget_and_summaries_keep_their_level() -> None:
    events = Events()
    for n in range(6):
        events.add(f"suka-{n}", 5, 5)  # 氾濫発生: two posts in full
        events.add(f"kori-{n}", 5, 3 + n % 2)  # levels 3 and 4
    grave = plan_posts(events.items, town_registry(), 4, one_post_per_three)
    # No reserve kept: four posts name every station (half would have been two).
    assert [len(thread.texts) for thread in grave] == [2, 1, 1]
    told = {d.station for thread in grave for d in thread.live}
    assert told == {item.delivery.station for item in events.items}
    short = plan_posts(events.items, town_registry(), 3, one_post_per_three)
    # Three posts: a summary per level, the badge of each true to what it lists.
    assert [thread.texts[0].split(":")[0] for thread in short] == [
        "summary 6", "summary 3", "summary 3"]
    levels = [{w.notice.level for w in events.items if w.delivery in thread.live}
              for thread in short]
    assert levels == [{5}, {4}, {3}]


def test_a_flood_is_never_hidden_by_its_own_all_clear() -> None:
    events = Events()
    flood = events.add("suka-0", 5, 5)
    clear = events.add("suka-0", 7, 0, transition="cleared")
    threads = plan_posts(events.items, town_registry(), 60, one_post_per_three)
    assert [[d.event_id for d in thread.live] for thread in threads] == [
        [flood.delivery.event_id], [clear.delivery.event_id]]
    assert all(not thread.superseded for thread in threads)


def test_older_events_of_a_station_are_superseded_by_its_current_state() -> None:
    events = Events()
    stale = events.add("suka-0", 5, 4)
    current = events.add("suka-0", 6, 3, transition="deescalated")
    other_type = events.add("underpass", 2, 2, alert_type="road_flooding")
    threads = plan_posts(events.items, town_registry(), 60, one_post_per_three)
    live = [d for thread in threads for d in thread.live]
    superseded = [d for thread in threads for d in thread.superseded]
    assert live == [other_type.delivery, current.delivery]  # the road closure is urgent
    assert superseded == [stale.delivery]
    assert plan_posts(events.items, town_registry(), 0, one_post_per_three) == []


@responses.activate
def test_the_live_escalation_posts_first_when_x_reopens(tmp_path: Path) -> None:
    """North one was told at danger; while X answers 429 it floods and then clears, and
    South one reaches danger: South's live escalation goes first, then North's flood
    (never hidden by its own clear), then North's all-clear."""
    clock = FakeClock()
    closed_until = [0.0]
    counter: list[int] = []

    def answer(_request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if clock.now < closed_until[0]:
            return 429, {"x-rate-limit-reset": str(int(closed_until[0]))}, "{}"
        return created(counter)

    events = storm_events({
        "n1": [0.5, 1.5, 2.5, 3.5, 4.1, 4.2, 5.2, 5.3, 4.5, 3.5, 2.5, 1.5, 0.5, 0.5, 0.5, 0.5],
        "s1": [0.5] * 9 + [1.5, 2.5, 3.5, 4.2, 4.3]})
    told_danger = next(i for i, e in enumerate(events)
                       if e.station == "n1" and e.level == 4 and e.confirmed)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    responses.add_callback(responses.POST, TWEETS, callback=answer)
    rig.feed(events[:told_danger + 1])
    asyncio.run(rig.run_for(30))
    first = thread_starts(responses.calls)
    assert len(first) == 1
    assert "北一" in first[0]
    responses.calls.reset()
    closed_until[0] = clock.now + 1200
    rig.feed(events[told_danger + 1:])
    asyncio.run(rig.run_for(1500, 10))
    texts = thread_starts(responses.calls)
    assert len(texts) == 3
    assert "南一" in texts[0]  # the live escalation
    assert "北一" in texts[1]  # then North's flood, which residents never heard of:
    assert "氾濫が発生しました" in texts[1]  # a flood stays news after its water falls
    assert "北一" in texts[2]  # then its all-clear
    assert "解除" in texts[2]
    states = rig.states()
    flooding = [e.event_id for e in events
                if e.station == "n1" and e.level == 5 and e.confirmed]
    assert [states[e] for e in flooding] == ["sent"]
    # North's unconfirmed 5 and its fall below the act level were superseded.
    assert "superseded" in states.values()


def x_closing_at_the_first_reply(clock: FakeClock) -> list[float]:
    """A fake X that publishes, until the first reply: that one and everything after it
    get 429 for ten minutes. Returns [when it reopens] (0 until it closes)."""
    closed_until = [0.0]
    counter: list[int] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "reply" in json.loads(request.body or b"{}") and not closed_until[0]:
            closed_until[0] = clock.now + 600
        if clock.now < closed_until[0]:
            return 429, {"x-rate-limit-reset": str(int(closed_until[0]))}, "{}"
        return created(counter)

    responses.add_callback(responses.POST, TWEETS, callback=answer)
    return closed_until


@responses.activate
def test_a_429_in_the_middle_of_a_thread_keeps_what_was_published_and_goes_on(
        tmp_path: Path) -> None:
    """The Japanese post is published, X refuses its English reply for ten minutes:
    the reply follows the published post when X reopens -- nothing re-posted, nothing
    re-composed -- and the delivery is sent only then."""
    clock = FakeClock()
    x_closing_at_the_first_reply(clock)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(300, 5))
    bodies = [json.loads(call.request.body or b"{}") for call in responses.calls]
    assert len(bodies) == 2  # the Japanese post, then its refused reply
    assert set(rig.states().values()) == {"sending"}  # not told in full yet
    asyncio.run(rig.run_for(600, 5))
    bodies = [json.loads(call.request.body or b"{}") for call in responses.calls]
    assert len(bodies) == 3
    first_id = json.loads(responses.calls[0].response.text)["data"]["id"]  # type: ignore[union-attr]
    assert bodies[2]["reply"] == {"in_reply_to_tweet_id": first_id}
    assert bodies[2]["text"] == bodies[1]["text"]  # the same reply, not re-composed
    assert bodies[0]["text"].startswith("【警戒レベル3相当】")
    assert bodies[2]["text"].startswith("[Alert level 3 equivalent]")
    assert set(rig.states().values()) == {"sent"}


@responses.activate
def test_an_event_that_reaches_notify_after_a_later_one_was_posted_is_never_posted(
        tmp_path: Path) -> None:
    """North one's flooding event arrives late (its other half held up), after its
    all-clear went out: posting it now would leave residents with a flood as the
    station's newest post. It is settled superseded."""
    counter: list[int] = []
    responses.add_callback(responses.POST, TWEETS, callback=lambda _r: created(counter))
    clock = FakeClock()
    events = storm_events({
        "n1": [0.5, 1.5, 2.5, 3.5, 4.1, 4.2, 5.2, 5.3, 4.5, 3.5, 2.5, 1.5, 0.5, 0.5, 0.5, 0.5]})
    late = next(e for e in events if e.station == "n1" and e.level == 5 and e.confirmed)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed([e for e in events if e is not late])
    asyncio.run(rig.run_for(60))
    assert "解除" in thread_starts(responses.calls)[-1]
    posted = len(responses.calls)
    rig.feed([late])
    asyncio.run(rig.run_for(60))
    assert len(responses.calls) == posted
    assert rig.states()[late.event_id] == "superseded"


@responses.activate
def test_a_reply_refused_until_its_deliveries_expire_is_given_up(tmp_path: Path) -> None:
    counter: list[int] = []

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        if "reply" in json.loads(request.body or b"{}"):
            return 403, {}, json.dumps({"title": "Forbidden", "detail": "duplicate"})
        return created(counter)

    responses.add_callback(responses.POST, TWEETS, callback=answer)
    clock = FakeClock()
    rig = SocialRig(tmp_path, TWO_BASINS, platform(),
                    social_config(retry={"base_s": 5, "max_s": 60, "expire_s": 600}), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(900, 5))
    assert set(rig.states().values()) == {"expired"}
    assert len(counter) == 1  # the Japanese post stays; it was never posted again
    replies = [c for c in responses.calls if "reply" in json.loads(c.request.body or b"{}")]
    assert 1 < len(replies) < 30  # retried with backoff, then given up
    assert [state for state, _ in rig.sender._posts.texts("x")] == ["sent", "expired"]


@responses.activate
def test_a_new_flood_goes_before_the_rest_of_a_thread_a_429_interrupted(
        tmp_path: Path) -> None:
    """South one's level-3 post is out, X refuses its English reply; meanwhile North
    one floods. When X reopens, North's 氾濫発生 goes first, then South's reply."""
    clock = FakeClock()
    closed_until = x_closing_at_the_first_reply(clock)
    rig = SocialRig(tmp_path, TWO_BASINS, platform(), social_config(), clock)
    rig.feed(SOUTH_EVACUATE)
    asyncio.run(rig.run_for(120, 5))
    assert closed_until[0]  # the reply was refused
    flood = storm_events({"n1": [0.5, 1.5, 2.5, 3.5, 4.3, 5.2, 5.3]})
    rig.feed(flood)
    asyncio.run(rig.run_for(900, 5))
    accepted = [json.loads(call.request.body or b"{}") for call in responses.calls
                if isinstance(call.response, requests.Response)
                and call.response.status_code == 201]
    assert "南一" in accepted[0]["text"]  # before the 429
    after = accepted[1:]
    assert "北一" in after[0]["text"]
    assert "氾濫" in after[0]["text"]
    assert "reply" not in after[0]
    assert after[-1]["text"].startswith("[Alert level 3 equivalent]")  # South's reply, last
    assert set(rig.states().values()) <= {"sent", "superseded"}
