"""Who gets what, and the post texts: residents only when asked to act and at the
all-clear; bursts as one post per basin within X's weighted length."""

from __future__ import annotations

from pathlib import Path

from twitter_text import parse_tweet  # type: ignore[import-untyped]

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.compose import X_MAX_WEIGHTED, Composer, fits_x, shorten
from floodwatch.notify.config import NotifyConfig
from floodwatch.notify.notice import Notice
from tests.alerts.conftest import river, rules_with, series
from tests.conftest import generated_registry_yaml
from tests.notify.social_support import SocialRig, social_config
from tests.notify.support import (
    NOTIFY_CONFIG,
    FakeClock,
    bus_messages,
    events_of,
    small_registry,
    small_storm,
)
from tests.notify.test_x import DiesAfterPosting


def test_residents_get_calls_to_act_and_their_all_clear(tmp_path: Path) -> None:
    registry = small_registry()
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), FakeClock())
    events = events_of(registry, small_storm())
    rig.feed(events)
    assert sorted(rig.states()) == sorted([
        # Evacuation judgement, then danger: act -- each once a second reading confirmed
        # it (g1/8, g1/10), never the single reading's escalation (g1/7, g1/9).
        "g1/8", "g1/10",
        "g1/13", "g1/15",  # below evacuation again, then the all-clear (4 -> 3 is not)
        "g2/8", "g2/10", "g2/12",  # the same for the second gauge
        "u1/2", "u1/3",  # the underpass closed (confirmed), and reopened
    ])
    assert {e.alert_type.value for e in events} == {"river_level", "rate_of_rise",
                                                   "road_flooding"}  # rate of rise: staff


def test_a_confirmation_repeats_no_level_residents_already_heard(tmp_path: Path) -> None:
    registry = small_registry()
    levels = [4.2, 4.3, 3.5, 3.5, 3.5, 3.5, 4.1, 4.15, 3.2, 2.5, 2.5, 2.5, 2.5, 3.5, 3.6]
    events = [e for e in events_of(registry, series("g1", levels)) if e.station == "g1"]
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), FakeClock())
    rig.feed(events)
    told = [(e.transition.value, e.level) for e in events if e.event_id in rig.states()]
    assert [(e.transition.value, e.level, e.confirmed) for e in events] == [
        ("raised", 4, False), ("confirmed", 4, True),
        ("deescalated", 3, True),  # still at or above the act level: not posted
        ("escalated", 4, False), ("confirmed", 4, True),  # residents last heard 4
        ("deescalated", 2, True), ("escalated", 3, False), ("confirmed", 3, True)]
    assert told == [("confirmed", 4), ("deescalated", 2), ("confirmed", 3)]


# Residents hear of 3 and of its fall to 2; then one reading (a steep gauge allows its
# 1.6 m jump) takes the alert to 4 for officers only, and it falls back to 2.
HEARD_THE_FALL_THEN_AN_UNCONFIRMED_RISE = [3.2, 3.3] + [2.5] * 4 + [4.1] + [2.5] * 4 \
    + [0.6] * 4


def steep_gauge_events(registry: StationRegistry) -> list[Event]:
    rules = rules_with(registry, "stations: {g1: {quality: {level_m: {max_step: 2.0}}}}")
    engine = Engine(registry, rules)
    return [event for reading in series("g1", HEARD_THE_FALL_THEN_AN_UNCONFIRMED_RISE)
            for event in engine.on_reading(reading).events if event.station == "g1"]


def test_a_fall_residents_already_heard_is_not_posted_again(tmp_path: Path) -> None:
    registry = small_registry()
    events = steep_gauge_events(registry)
    assert [(e.transition.value, e.level, e.previous_level, e.confirmed) for e in events
            if e.alert_type.value == "river_level"] == [
        ("raised", 3, 0, False), ("confirmed", 3, 3, True),
        ("deescalated", 2, 3, True),
        ("escalated", 4, 2, False),  # officers only: no second reading agreed
        ("deescalated", 2, 4, True),  # a fall from 4 to 2: residents heard 2 already
        ("cleared", 0, 2, True)]
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), FakeClock())
    rig.feed(events)
    told = [(e.transition.value, e.level) for e in events if e.event_id in rig.states()]
    assert told == [("confirmed", 3), ("deescalated", 2), ("cleared", 0)]


def test_a_large_burst_is_one_post_listing_the_most_urgent_first() -> None:
    registry = StationRegistry.from_yaml_text(generated_registry_yaml(40))
    events = events_of(registry, [river(f"r-{i:03d}", minutes, level)
                                  for minutes, level in ((0, 0.5), (10, 1.5), (20, 2.5),
                                                         (30, 3.5))
                                  for i in range(40)])
    config = NotifyConfig.load(NOTIFY_CONFIG)
    notices = [Notice.from_json(payload) for topic, payload in bus_messages(registry, events)
               if topic.startswith("floodwatch/alerts/")]
    composer = Composer(config.templates, config.x, registry, config.basins, fits_x)
    text = composer.compose([n for n in notices if n.level >= 3])
    assert parse_tweet(text).weightedLength <= X_MAX_WEIGHTED
    assert text.startswith("【警戒レベル3相当】阿武隈川流域 40地点: ")
    assert "ほか" in text  # the rest counted, not silently dropped
    assert "\n\n" not in text  # English left out: both languages do not fit


def test_shorten_cuts_to_the_weighted_limit() -> None:
    text = "氾濫" * 400
    short = shorten(text, fits_x)
    assert short.endswith("…")
    assert parse_tweet(short).weightedLength <= X_MAX_WEIGHTED
    assert parse_tweet(short + "氾").weightedLength > X_MAX_WEIGHTED - 1


def test_settled_deliveries_are_pruned_after_thirty_days(tmp_path: Path) -> None:
    registry = small_registry()
    clock = FakeClock()
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), clock)
    rig.feed(events_of(registry, small_storm()))
    first = rig.states()
    settled = rig.ledger.due("x", clock.now + 1)[:4]
    rig.ledger.finish(settled, "sent", "", clock())
    assert rig.ledger.prune(clock.now + 29 * 86_400) == 0
    assert rig.ledger.prune(clock.now + 31 * 86_400) == 4
    assert set(rig.states()) == set(first) - {d.event_id for d in settled}  # pending stay
