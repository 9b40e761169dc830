"""Who gets what: residents only when asked to act and at the all-clear (the post texts
are tests/notify/test_post_texts.py's)."""

from __future__ import annotations

from pathlib import Path

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, river, rules_with, series
from tests.alerts.forecasts import forecast
from tests.notify.social_support import SocialRig, social_config
from tests.notify.support import (
    FakeClock,
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
        # it (g1/8, g1/11), never the single reading's escalation (g1/7, g1/10).
        "g1/8", "g1/11",
        "g1/14", "g1/16",  # below evacuation again, then the all-clear (4 -> 3 is not)
        "g2/8", "g2/11", "g2/13",  # the same for the second gauge
        "u1/2", "u1/4",  # the underpass closed (confirmed), and reopened; its CAP
    ])                   # renewal (u1/3) is for the disaster network only
    renewals = [e.event_id for e in events if e.transition.value == "renewed"]
    assert "u1/3" in renewals
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
        # A fall from 4 to 2: residents know 2 already, so it is for officers only too
        # (and notify, judging by what residents last heard, would not post it either).
        ("deescalated", 2, 4, False),
        ("cleared", 0, 2, True)]
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), FakeClock())
    rig.feed(events)
    told = [(e.transition.value, e.level) for e in events if e.event_id in rig.states()]
    assert told == [("confirmed", 3), ("deescalated", 2), ("cleared", 0)]


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


def test_forecast_warnings_are_for_officers_only_by_default(tmp_path: Path) -> None:
    from floodwatch.notify.notice import Notice
    from tests.notify.support import bus_messages

    registry = small_registry()
    engine = Engine(registry, AlertRules.load(RULES_FILE, registry))
    events: list[Event] = []
    for minutes, level in ((0, 2.5), (10, 2.6)):
        events += engine.on_reading(river("g1", minutes, level)).events
        events += engine.on_forecast(forecast("g1", minutes, level, 0.6)).events
    warnings = [e for e in events if e.alert_type.value == "forecast"]
    assert [(e.transition.value, e.level, e.confirmed) for e in warnings] == [
        ("raised", 4, False), ("confirmed", 4, True)]
    # As notify reads them: agreed by two forecasts, yet never for residents.
    notices = [Notice.from_json(payload) for topic, payload in bus_messages(registry, warnings)
               if topic.startswith("floodwatch/alerts/")]
    assert [n.confirmed for n in notices] == [False, False]
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), FakeClock())
    rig.feed(events)
    assert not set(rig.states()) & {e.event_id for e in warnings}


def test_a_confirmed_public_forecast_warning_is_never_posted(tmp_path: Path) -> None:
    """Even made public by the alert rules (Public CAP, confirmed) and given an act level
    by a policy the config check would refuse: no social post."""
    from floodwatch.notify.config import Policy
    from floodwatch.notify.notice import Notice
    from floodwatch.notify.policy import DeliveryPolicy
    from tests.notify.support import bus_messages

    registry = small_registry()
    engine = Engine(registry, rules_with(registry, "stations: {g1: {forecast: {public: true}}}"))
    events: list[Event] = []
    for minutes, level in ((0, 2.5), (10, 2.6)):
        events += engine.on_reading(river("g1", minutes, level)).events
        events += engine.on_forecast(forecast("g1", minutes, level, 0.6)).events
    warnings = [e for e in events if e.alert_type.value == "forecast"]
    notices = [Notice.from_json(payload) for topic, payload in bus_messages(registry, warnings)
               if topic.startswith("floodwatch/alerts/")]
    assert [(n.transition, n.level, n.confirmed) for n in notices] == [
        ("raised", 4, False), ("confirmed", 4, True)]
    rig = SocialRig(tmp_path, registry, DiesAfterPosting(), social_config(), FakeClock())
    act_levels = {**rig.config.policy.act_levels, "forecast": 3}
    rig.policy = DeliveryPolicy(Policy(act_levels=act_levels), [rig.route], rig.clock)
    assert not rig.policy.for_residents(notices[1], lambda: None)
    rig.feed(events)
    assert not set(rig.states()) & {e.event_id for e in warnings}
