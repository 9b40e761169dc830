"""The live feed's ids and the history's cursors: what this API writes it reads back,
and anything else is refused with ValueError (a problem document, never a 500)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.api.event_keys import EventKey
from floodwatch.api.live_position import Position

STATION = st.from_regex(r"[a-z0-9][a-z0-9-]{0,63}", fullmatch=True)


@given(st.integers(0, 2**63 - 1), STATION, st.integers(0, 10**18 - 1))
def test_a_cursor_reads_back_as_written(time_ns: int, station: str, seq: int) -> None:
    key = EventKey(time_ns, station, seq)
    assert EventKey.parse(key.token) == key


@given(st.dictionaries(STATION, st.integers(1, 10**18 - 1), max_size=50))
def test_an_id_reads_back_as_written(seqs: dict[str, int]) -> None:
    assert Position.parse(Position(seqs).token).seqs == seqs


@given(st.text(max_size=300))
def test_anything_else_is_refused_cleanly(token: str) -> None:
    # Before: the loop caught ValueError and never asserted one was raised.
    for parse in (EventKey.parse, Position.parse):
        with pytest.raises(ValueError, match="event id"):
            parse(token)


@given(st.dictionaries(STATION, st.integers(1, 10**18 - 1), min_size=1, max_size=5))
def test_an_id_of_another_deployment_is_refused(seqs: dict[str, int]) -> None:
    with pytest.raises(ValueError, match="another deployment"):
        Position.parse(Position(seqs, "prefecture-a").token, "prefecture-b")
    assert Position.parse(Position(seqs, "prefecture-a").token, "prefecture-a").seqs == seqs


def test_the_record_order_is_time_then_station_then_seq() -> None:
    keys = [EventKey(2, "a", 1), EventKey(1, "b", 9), EventKey(1, "a", 2), EventKey(1, "a", 1)]
    assert sorted(keys) == [EventKey(1, "a", 1), EventKey(1, "a", 2), EventKey(1, "b", 9),
                            EventKey(2, "a", 1)]


def test_a_bus_event_has_the_key_of_its_stored_point() -> None:
    # alerts.history stores the point at the event time plus seq nanoseconds.
    key = EventKey.of_event({"station": "sukagawa", "seq": 7,
                             "at": "2026-11-28T01:00:00.123456Z"})
    assert key == EventKey(1_795_827_600_123_456_007, "sukagawa", 7)
    assert EventKey.of_event({"station": "sukagawa", "seq": 7, "at": "2026-11-28T01:00:00Z"}
                             ) == EventKey(1_795_827_600_000_000_007, "sukagawa", 7)
    for broken in ({"station": "sukagawa", "seq": "7", "at": "2026-11-28T01:00:00Z"},
                   {"station": "sukagawa", "seq": 7, "at": "yesterday"},
                   {"station": "sukagawa", "seq": 7, "at": "2026-11-28T01:00:00"},
                   {"seq": 7, "at": "2026-11-28T01:00:00Z"}):
        assert EventKey.of_event(broken) is None


@pytest.mark.parametrize("token", ["MTc2NDI5MTYwMDAwMDAwMDAwMi4yLnN1a2FnYXdh"])
def test_a_cursor_is_not_an_id(token: str) -> None:
    assert EventKey.parse(token) == EventKey(1_764_291_600_000_000_002, "sukagawa", 2)
    with pytest.raises(ValueError, match="not an event id"):
        Position.parse(token)
