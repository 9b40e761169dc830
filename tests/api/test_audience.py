"""What a keyless reader is shown (api.audience), judged against the alert engine's own
code: every event the engine renders is public to the API exactly when the engine calls
it public (its CAP scope), and a status shows the level residents were told of.
In-process, through the module and the live feed's seams (the real stack: test_public_read)."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from typing import Any

import pytest

from floodwatch.alerts.model import AlertType, Event, Transition
from floodwatch.api.audience import public_event, public_status, residents_event
from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import LiveEvent, LiveFilter
from floodwatch.api.live_position import Position
from floodwatch.core.registry import StationKind, StationRegistry
from tests.api.alert_points import StoredAlerts, event
from tests.api.live_support import sent_after_join

AT = datetime(2026, 11, 28, 1, 0, tzinfo=UTC)
ROAD_TYPES = (AlertType.ROAD_FLOODING, AlertType.ROAD_ICING)


def _engine_events(registry: StationRegistry) -> list[Event]:
    """One event of every type, transition, confirmation and staff policy the engine
    can issue, at a level each type labels."""
    river = next(s.id for s in registry if s.kind is StationKind.RIVER)
    road = next(s.id for s in registry if s.kind is StationKind.ROAD)
    events = []
    for alert_type, transition, confirmed, restricted in itertools.product(
            AlertType, Transition, (True, False), (True, False)):
        level = 3 if alert_type is AlertType.FORECAST else 1
        made = event(road if alert_type in ROAD_TYPES else river, 2, 1, transition,
                     0 if transition is Transition.CLEARED else level, AT,
                     alert_type=alert_type, previous_level=level, confirmed=confirmed)
        events.append(made.model_copy(update={"restricted": restricted}))
    return events


def test_an_event_is_public_exactly_when_the_engine_says_so(
    sample_registry: StationRegistry,
) -> None:
    alerts = StoredAlerts(sample_registry)
    events = _engine_events(sample_registry)
    judged = [(e, public_event(alerts.document(e))) for e in events]
    assert [(e.alert_type, e.transition, e.confirmed, e.restricted) for e, shown in judged
            if shown != e.public] == []
    # Both answers occur (a constant would not pass the line above).
    assert {shown for _, shown in judged} == {True, False}


def test_an_event_without_cap_fields_is_held_back(sample_registry: StationRegistry) -> None:
    """An engine older than the CAP fields: its events do not say their audience, and
    the API does not guess it with a copy of the engine's rules."""
    alerts = StoredAlerts(sample_registry)
    shown = [made for made in _engine_events(sample_registry) if public_event(
        {k: v for k, v in alerts.document(made).items() if k != "cap"})]
    assert shown == []
    assert any(made.public for made in _engine_events(sample_registry))  # with CAP: some


def _alert(alert_type: str, level: int, *, confirmed: bool,
           public: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"alert_id": f"x/{level}", "alert_type": alert_type, "level": level,
            "level_name": f"level{level}", "label": {"ja": "j", "en": "e"}, "official": None,
            "alert_level": None, "raised_at": "2026-11-28T00:00:00Z",
            "level_since": "2026-11-28T00:50:00Z", "acknowledged": False,
            "confirmed": confirmed, "public": public}


def test_a_status_shows_what_residents_were_told() -> None:
    told_at_3 = {"level": 3, "level_name": "level3", "label": {"ja": "三", "en": "three"},
                 "official": None, "alert_level": 3}
    status: dict[str, Any] = {"station": "sukagawa", "kind": "river", "seq": 9, "offline": True,
              "flooding_declared": False, "no_data": {"alert_id": "no_data:all/1"},
              "alerts": [
                  _alert("river_level", 4, confirmed=False, public=told_at_3),
                  _alert("rate_of_rise", 1, confirmed=True),
                  _alert("road_flooding", 2, confirmed=False),  # never told: left out
                  _alert("offline", 1, confirmed=True),  # staff's own
                  _alert("data_quality", 1, confirmed=True),  # staff's own
                  _alert("forecast", 3, confirmed=True),  # policy not in a status
                  "not an alert"]}
    shown = public_status(status)
    assert [(a["alert_type"], a["level"]) for a in shown["alerts"]] == [
        ("river_level", 3), ("rate_of_rise", 1)]
    held_back = shown["alerts"][0]
    assert held_back["label"] == {"ja": "三", "en": "three"}
    assert held_back["confirmed"] is True
    assert held_back["level_since"] is None
    assert "public" not in held_back
    # A dead gauge stays a dead gauge.
    assert shown["offline"] is True
    assert shown["no_data"] == {"alert_id": "no_data:all/1"}
    assert status["alerts"][0]["level"] == 4  # the engine's own status is untouched


def _live(seq: int, alert_type: str, *, confirmed: bool) -> LiveEvent:
    data = {"event_id": f"sukagawa/{seq}", "seq": seq, "station": "sukagawa",
            "kind": "river", "alert_id": "sukagawa/1", "alert_type": alert_type,
            "transition": "escalated", "level": 3, "confirmed": confirmed,
            "at": f"2026-11-28T01:00:{seq:02d}.000000Z",
            "cap": {"scope": "Public" if confirmed and alert_type == "river_level"
                    else "Restricted"}}
    key = EventKey.of_event(data)
    assert key is not None
    return LiveEvent("alert", "sukagawa", "river", data, key)


@pytest.mark.parametrize("residents_only", [True, False])
def test_a_keyless_client_skips_staff_events_without_a_gap(residents_only: bool) -> None:
    """Seq 6 (unconfirmed) and 7 (offline) are staff's: a keyless client's id still moves
    past them, so 8 is no gap, and its id says it has everything up to 8."""
    messages = sent_after_join(
        [_live(5, "river_level", confirmed=True)],
        [_live(6, "river_level", confirmed=False), _live(7, "offline", confirmed=True),
         _live(8, "river_level", confirmed=True)],
        LiveFilter(residents_only=residents_only))
    shown = [text for kind, text, _ in messages if kind == "alert"]
    expected = ["sukagawa/8"] if residents_only else ["sukagawa/6", "sukagawa/7",
                                                      "sukagawa/8"]
    assert [next(e for e in expected if f'"event_id":"{e}"' in text) for text in shown] == (
        expected)
    assert len(shown) == len(expected)
    assert "gap" not in [kind for kind, _, _ in messages]
    assert Position.parse(messages[-1][2] or "").seqs == {"sukagawa": 8}


def test_a_command_shows_without_the_officer_and_the_note() -> None:
    declared = {**_live(9, "river_level", confirmed=True).data, "cause": {
        "kind": "command", "command_id": "c-1", "officer": "佐藤", "note": "call 090"}}
    shown = residents_event(declared)
    assert shown is not None
    assert shown["cause"] == {"kind": "command", "command_id": "c-1"}
    assert declared["cause"]["officer"] == "佐藤"  # the bus's own message is untouched
    live = LiveEvent("alert", "sukagawa", "river", declared, EventKey.of_event(declared))
    assert live.for_residents is not None
    assert live.for_residents.data == shown
    assert live.for_residents.key == live.key  # the client's position still moves
    plain = _live(10, "river_level", confirmed=True)
    assert plain.for_residents is plain  # nothing to hide: the one encoding is shared
