"""Places in the alert record: the alert history's cursor, and the order in which the
live feed replays the events of several stations from InfluxDB.

An alert event's key is (time, station, seq) of its ``alert_event`` point in InfluxDB:
``time`` is the event time plus ``seq`` nanoseconds (alerts.history), ``seq`` the
station's own event number. Why this and not a counter of the API process:

- It is the engine's, not the API's: every API replica and every restart computes the
  same key for the same event, from the bus message or from InfluxDB alike, so a cursor
  from one works on any other.
- It is an order InfluxDB can answer (``time``, then station and seq for events of
  several stations at one instant), so the history pages by it without losing events
  that share a timestamp.

(The live feed's ids are not these: events reach the API in an order of their own, not
the record's; see api.live_position.)

On the wire a key is an opaque token (base64url of ``time.seq.station``): clients keep
and send it back, never build or compare one. A token is parsed strictly (digits and a
registry-shaped station id only) before any part of it is used, so a forged one is
refused with a problem and nothing of it reaches InfluxQL but integers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from floodwatch.api.problems import ProblemError
from floodwatch.core.lineprotocol import event_time_ns

_PLAIN = re.compile(r"^(?P<time>[0-9]{1,19})\.(?P<seq>[0-9]{1,18})\."
                    r"(?P<station>[a-z0-9][a-z0-9-]{0,63})$")
TOKEN_MAX_LENGTH = 220


@dataclass(frozen=True, order=True, slots=True)
class EventKey:
    """Orders as the record does: time, then station, then seq."""

    time_ns: int
    station: str
    seq: int

    @property
    def token(self) -> str:
        plain = f"{self.time_ns}.{self.seq}.{self.station}".encode()
        return base64.urlsafe_b64encode(plain).decode().rstrip("=")

    @classmethod
    def parse(cls, token: str) -> EventKey:
        """The key a token names; ValueError for anything this module did not write."""
        if len(token) > TOKEN_MAX_LENGTH or not token.isascii():
            raise ValueError("not an event id")
        try:
            plain = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_",
                                     validate=True).decode("ascii")
        except (binascii.Error, UnicodeDecodeError) as exc:
            raise ValueError("not an event id") from exc
        found = _PLAIN.match(plain)
        if found is None:
            raise ValueError("not an event id")
        return cls(int(found["time"]), found["station"], int(found["seq"]))

    @classmethod
    def of_event(cls, event: dict[str, Any], time_ns: int | None = None) -> EventKey | None:
        """The key of an alert event as the engine published it (None when it lacks the
        fields: a tolerant reader passes such an event on without an id). ``time_ns``:
        the stored point's time, when read from InfluxDB."""
        station, seq = event.get("station"), event.get("seq")
        if not isinstance(station, str) or not isinstance(seq, int) or seq < 0:
            return None
        if time_ns is None:
            at = event.get("at")
            if not isinstance(at, str):
                return None
            try:
                when = datetime.fromisoformat(at)
            except ValueError:
                return None
            if when.tzinfo is None:
                return None
            # The stored point's time, so the key read from the bus equals the stored one.
            time_ns = event_time_ns(when, seq)
        return cls(time_ns, station, seq)


def query_cursor(key: EventKey, query: str) -> str:
    """The history's cursor: ``key`` and a digest of the query it pages (station, start,
    end), so a cursor reused with another query is refused instead of silently paging
    a different record from a place in this one."""
    return f"{key.token}.{_digest(query)}"


def parse_query_cursor(token: str, query: str, name: str) -> EventKey:
    """The key of a cursor ``query_cursor`` gave out for ``query``, or a 422 problem."""
    key_token, dot, digest = token.rpartition(".")
    if not dot:
        raise ProblemError(422, "bad-cursor", "Bad event id or cursor",
                           f"{name}: not a cursor this API gave out")
    key = parse_token(key_token, name)
    if not hmac.compare_digest(digest, _digest(query)):
        raise ProblemError(422, "bad-cursor", "Bad event id or cursor",
                           f"{name}: given out for another query (station, start or end "
                           "differ): ask again with the same ones, or without a cursor")
    return key


def _digest(query: str) -> str:
    # Not a secret (the query is the client's own); a short hash tells queries apart.
    digest = hashlib.sha256(query.encode()).digest()[:9]
    return base64.urlsafe_b64encode(digest).decode()


def parse_token(token: str, name: str) -> EventKey:
    """``token`` from the request parameter ``name``, or a 422 problem saying so."""
    try:
        return EventKey.parse(token)
    except ValueError:
        raise ProblemError(422, "bad-cursor", "Bad event id or cursor",
                           f"{name}: not an id or cursor this API gave out") from None
