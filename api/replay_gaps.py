"""Alert events a live client should have and will not get: named, never skipped.

The engine numbers each station's events 1, 2, 3, ... and they reach every API in that
order, so a client's events of one station must follow on one by one from the seq in its
id. A step of more than one (between replayed events, at the end of a replay short of
the newest seq the API knows of, or on the live stream after a broker reconnect lost
events) is a hole: the client is sent a ``gap`` naming the station and the seq range,
which it reads from /api/v1/alerts/history (station, start/end around the events).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from floodwatch.api.hub import LiveEvent
    from floodwatch.api.live_position import Position

HISTORY_ADVICE = ("read /api/v1/alerts/history?station=ID for the missing seq ranges "
                  "(each alert event's data has its seq)")


@dataclass(frozen=True, slots=True)
class Missing:
    """Alert events ``first``..``last`` (seq, inclusive) of ``station`` not sent;
    ``last`` None: and any after it (a replay cut off by its size bound)."""

    station: str
    first: int
    last: int | None

    def as_message(self) -> dict[str, Any]:
        return {"station": self.station, "from_seq": self.first, "to_seq": self.last}


def gap_message(reason: str, missing: Iterable[Missing]) -> dict[str, Any]:
    return {"type": "gap", "reason": f"{reason}: {HISTORY_ADVICE}",
            "missing": [m.as_message() for m in missing]}


def holes(events: Iterable[LiveEvent], position: Position, newest: Position,
          stations: Iterable[str]) -> list[Missing]:
    """What ``events`` (each station's in seq order) leave out after ``position``: the
    steps between them, and for each of ``stations`` the seqs up to ``newest``'s
    (the newest this API knows of, from events and the engine's status) after them."""
    expected = {station: position.seq(station) for station in stations}
    found: list[Missing] = []
    for event in events:
        assert event.key is not None
        had = expected.get(event.station, position.seq(event.station))
        if event.key.seq > had + 1:
            found.append(Missing(event.station, had + 1, event.key.seq - 1))
        expected[event.station] = max(had, event.key.seq)
    for station, had in sorted(expected.items()):
        if newest.seq(station) > had:
            found.append(Missing(station, had + 1, newest.seq(station)))
    return found
