"""The fan-out itself: filters, and a slow client cut off without touching the others."""

from __future__ import annotations

import asyncio
import base64
import zlib

import pytest

from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import SLOW_REASON, ClientDropped, LiveEvent, LiveFilter, LiveHub
from floodwatch.api.live_position import Position
from floodwatch.api.replay_buffer import missed_in_buffer


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


def test_the_replay_buffer_answers_only_when_it_holds_everything_missed() -> None:
    async def scenario() -> None:
        hub = LiveHub(queue_size=20, replay_size=3)
        # Arrival order is not time order (a late gauge): the buffer keeps arrival.
        events = [LiveEvent("alert", station, "river", {}, EventKey(time, station, seq))
                  for station, seq, time in [("a", 1, 10), ("b", 1, 5), ("a", 2, 20),
                                             ("b", 2, 8), ("a", 3, 30)]]
        hub.publish(_reading("a"))
        for event in events:
            hub.publish(event)
        buffered = hub.replay.copy()
        assert buffered == events[2:]
        assert hub.position.seqs == {"a": 3, "b": 2}
        everything = LiveFilter()
        # Had a/1 and b/1: a/2, b/2, a/3 are all in the buffer, in arrival order.
        found = missed_in_buffer(buffered, hub.position, Position({"a": 1, "b": 1}),
                                 everything)
        assert found == events[2:]
        # Had only a/1: b/1 fell out of the buffer, so InfluxDB must answer.
        assert missed_in_buffer(buffered, hub.position, Position({"a": 1}),
                                everything) is None
        # ... unless the client does not want station b.
        assert missed_in_buffer(buffered, hub.position, Position({"a": 1}),
                                LiveFilter(stations=frozenset({"a"}))) == [events[2],
                                                                           events[4]]

    asyncio.run(scenario())


def test_a_position_survives_its_token_and_refuses_forgeries() -> None:
    position = Position({"sukagawa": 12, "koriyama-r4-underpass": 3, "akutsu": 0})
    again = Position.parse(position.token)
    assert again.seqs == {"sukagawa": 12, "koriyama-r4-underpass": 3}
    assert not again.advance("sukagawa", 12)  # a duplicate
    assert again.advance("sukagawa", 13)
    assert Position.parse(Position().token).seqs == {}
    # Tokens after an advance come from a shared cache: still those of the positions.
    hub, client = Position({"a": 1}), Position({"a": 1})
    _ = hub.token, client.token
    for seq in (2, 3):
        hub.advance("b", seq)
        client.advance("b", seq)
        assert client.token == hub.token == Position({"a": 1, "b": seq}).token
    other = Position({"a": 5})
    _ = other.token
    other.advance("b", 3)
    assert Position.parse(other.token).seqs == {"a": 5, "b": 3}
    bomb = base64.urlsafe_b64encode(zlib.compress(b"a:1," * 1_000_000)).decode()
    forged = ["", "p2..", "p2..!!!!", "nonsense", "p2.." + bomb[:8000], "p2.." + bomb,
              "p2.." + base64.urlsafe_b64encode(zlib.compress(b"x' OR 1=1:1")).decode(),
              "p2.." + base64.urlsafe_b64encode(zlib.compress(b"a:1,a:2")).decode(),
              "p2.." + base64.urlsafe_b64encode(b"a:1").decode()]
    for token in forged:
        with pytest.raises(ValueError, match="event id"):
            Position.parse(token)


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
