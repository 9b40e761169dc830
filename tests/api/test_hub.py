"""The fan-out itself: filters, and a slow client cut off without touching the others."""

from __future__ import annotations

import asyncio

import pytest

from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import SLOW_REASON, ClientDropped, LiveEvent, LiveFilter, LiveHub
from floodwatch.api.replay_buffer import received_after


def _reading(station: str, kind: str = "river") -> LiveEvent:
    return LiveEvent("reading", station, kind, {"station": station})


def test_filters() -> None:
    alert = LiveEvent("alert", "a", "river", {})
    assert LiveFilter().matches(_reading("a"))
    assert not LiveFilter(stations=frozenset({"b"})).matches(_reading("a"))
    assert not LiveFilter(kinds=frozenset({"road"})).matches(_reading("a"))
    assert not LiveFilter(alerts_only=True).matches(_reading("a"))
    assert LiveFilter(alerts_only=True).matches(alert)


def test_kinds_apply_to_alerts_and_status_by_the_station_kind() -> None:
    # Issue 21: kinds=road used to pass every river alert and status through.
    roads = LiveFilter(kinds=frozenset({"road"}))
    for kind in ("alert", "status"):
        assert not roads.matches(LiveEvent(kind, "sukagawa", "river", {}))
        assert roads.matches(LiveEvent(kind, "koriyama-r4-underpass", "road", {}))
        assert LiveFilter(kinds=frozenset({"river", "road"})).matches(
            LiveEvent(kind, "sukagawa", "river", {}))


def test_the_replay_buffer_keeps_the_newest_alert_events_in_arrival_order() -> None:
    async def scenario() -> None:
        hub = LiveHub(queue_size=10, replay_size=3)
        keys = [EventKey(1_000 - index, "sukagawa", index) for index in range(5)]
        hub.publish(_reading("sukagawa"))
        for key in keys:  # arrival order, not key order: the buffer keeps arrival
            hub.publish(LiveEvent("alert", "sukagawa", "river", {}, key))
        buffered = hub.replay.copy()
        assert [event.key for event in buffered] == keys[2:]
        assert hub.replay.newest() == keys[4]
        after = received_after(buffered, keys[2])
        assert after is not None
        assert [event.key for event in after] == keys[3:]
        assert received_after(buffered, keys[1]) is None  # fell out: InfluxDB's turn

    asyncio.run(scenario())


def test_slow_client_is_dropped_with_a_reason_others_keep_everything() -> None:
    async def scenario() -> None:
        hub = LiveHub(queue_size=3, replay_size=10)
        slow = hub.join(LiveFilter())
        fast = hub.join(LiveFilter())
        received = []
        for index in range(10):
            hub.publish(_reading(f"s{index}"))
            event = await fast.next(1.0)
            assert event is not None
            received.append(event.station)
        assert received == [f"s{index}" for index in range(10)]
        assert slow.dropped == SLOW_REASON
        with pytest.raises(ClientDropped, match="slow consumer"):
            await slow.next(1.0)

    asyncio.run(scenario())


def test_idle_client_gets_none_for_a_heartbeat() -> None:
    async def scenario() -> None:
        client = LiveHub(queue_size=3, replay_size=10).join(LiveFilter())
        assert await client.next(0.01) is None

    asyncio.run(scenario())
