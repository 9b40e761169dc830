"""The fan-out itself: filters, and a slow client cut off without touching the others."""

from __future__ import annotations

import asyncio

import pytest

from floodwatch.api.hub import SLOW_REASON, ClientDropped, LiveEvent, LiveFilter, LiveHub


def _reading(station: str, kind: str = "river") -> LiveEvent:
    return LiveEvent("reading", station, kind, {"station": station})


def test_filters() -> None:
    alert = LiveEvent("alert", "a", None, {})
    assert LiveFilter().matches(_reading("a"))
    assert not LiveFilter(stations=frozenset({"b"})).matches(_reading("a"))
    assert not LiveFilter(kinds=frozenset({"road"})).matches(_reading("a"))
    assert LiveFilter(kinds=frozenset({"road"})).matches(alert)
    assert not LiveFilter(alerts_only=True).matches(_reading("a"))
    assert LiveFilter(alerts_only=True).matches(alert)


def test_slow_client_is_dropped_with_a_reason_others_keep_everything() -> None:
    async def scenario() -> None:
        hub = LiveHub(queue_size=3)
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
        client = LiveHub(queue_size=3).join(LiveFilter())
        assert await client.next(0.01) is None

    asyncio.run(scenario())
