"""Storm planning for residents' posts (notify.storm): each station's current state,
grouped by municipality, alert type and level; summaries only when the budget is short;
a station's older events superseded (X refusing and reopening: test_storm_x_reopens.py)."""

from __future__ import annotations

from collections.abc import Sequence

from floodwatch.core.registry import StationRegistry
from floodwatch.notify.deliveries import Delivery
from floodwatch.notify.notice import Notice
from floodwatch.notify.policy import priority
from floodwatch.notify.storm import Waiting, plan_posts

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
