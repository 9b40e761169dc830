"""A live client's place in the feed: the last alert event seq it has of each station.
This is the live feed's event id (SSE ``id:``, WebSocket ``id``), as an opaque token.

Why a seq per station, and not one number or one event's (time, station, seq):

- The alert engine numbers events per station (``seq``); events of one station reach
  every API in that order, but across stations there is no order every API agrees on:
  the engine decides on readings in the order they arrive, with the devices' own times
  (a gauge's logged readings come in hours late), and the engine may be partitioned by
  station. One position in a global order would replay, on another replica or after a
  restart, events the client already has, or skip some (the typhoon test found both).
- Per station the position is exact everywhere: missed = that station's events with a
  greater seq, read from any API's memory or from InfluxDB (``alert_event`` has
  ``station`` and ``seq``), and a live event with a seq the client has is a duplicate.
  The engine re-sends an event with its seq after a restart; that is skipped too.

A station missing from a token has seq 0. The token is ``p2.{deployment_id}.`` then
base64url of zlib-compressed ``station:seq`` pairs (about 10 bytes a station that has had
alerts; a client's position holds only the stations of its filter). The deployment id
(FLOODWATCH_DEPLOYMENT_ID) makes an id of another deployment, whose seqs mean other
events, unusable here instead of silently skipping ours. Parsing is strict (size-bounded
inflate, registry stations only, at most one pair a station, digits), so a forged token
is refused, never put into InfluxQL; the live feed then starts the client afresh and
tells it why (a ``gap`` message), never a 4xx that would stop EventSource for good.
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from collections import OrderedDict
from collections.abc import Container

PREFIX = "p2."
# Last-Event-ID is a header, and proxies cap a request's headers near 8 KB: an id longer
# than this is refused (fresh start + gap). Ids name only the client's filter stations;
# docs/api.md tells clients of very many stations to filter (1,000 take about 6 KB).
TOKEN_MAX_LENGTH = 8_192
_PLAIN_MAX = 200_000
_PAIR = re.compile(r"^([a-z0-9][a-z0-9-]{0,63}):([0-9]{1,18})$")


# Clients mostly hold the same positions (all that see every event are at the API's
# own), and compressing one costs 60-170 us: thousands of clients on one alert event
# would hold up the event loop for a good part of a second. The token after an advance
# is a function of the token before it, so it is looked up here first.
_NEXT_TOKENS: OrderedDict[tuple[str, str, int], str] = OrderedDict()
_NEXT_TOKENS_MAX = 4096


class Position:
    """Mutable: each connection advances its own as it sends events."""

    def __init__(self, seqs: dict[str, int] | None = None, deployment: str = "") -> None:
        self.seqs: dict[str, int] = dict(seqs or {})
        self.deployment = deployment
        self._token: str | None = None  # the token of seqs as they are, once computed

    def seq(self, station: str) -> int:
        return self.seqs.get(station, 0)

    def advance(self, station: str, seq: int) -> bool:
        """Record an event sent; False if the client already had it (a duplicate)."""
        if seq <= self.seq(station):
            return False
        before = self._token
        self.seqs[station] = seq
        self._token = None
        if before is not None:
            step = (before, station, seq)
            self._token = _NEXT_TOKENS.get(step)
            if self._token is None:
                _NEXT_TOKENS[step] = self.token
                if len(_NEXT_TOKENS) > _NEXT_TOKENS_MAX:
                    _NEXT_TOKENS.popitem(last=False)
        return True

    def copy(self) -> Position:
        copied = Position(self.seqs, self.deployment)
        copied._token = self._token
        return copied

    def only(self, stations: frozenset[str] | None) -> Position:
        """A copy with just ``stations`` (all when None): a client's id names only the
        stations it asked for, so it stays short."""
        if stations is None:
            return self.copy()
        return Position({s: q for s, q in self.seqs.items() if s in stations},
                        self.deployment)

    @property
    def token(self) -> str:
        if self._token is None:
            plain = ",".join(f"{station}:{seq}"
                             for station, seq in sorted(self.seqs.items()) if seq > 0)
            packed = base64.urlsafe_b64encode(zlib.compress(plain.encode()))
            self._token = f"{PREFIX}{self.deployment}.{packed.decode().rstrip('=')}"
        return self._token

    @classmethod
    def parse(cls, token: str, deployment: str = "",
              stations: Container[str] | None = None) -> Position:
        """The position a token names; ValueError (its text says why) for anything this
        module did not write for ``deployment``, too long, or naming a station not in
        ``stations`` (the registry; None: any)."""
        if len(token) > TOKEN_MAX_LENGTH:
            raise ValueError(f"event id longer than {TOKEN_MAX_LENGTH} characters")
        if not token.isascii() or not token.startswith(PREFIX):
            raise ValueError("not an event id")
        issuer, _, body = token.removeprefix(PREFIX).rpartition(".")
        if issuer != deployment:
            raise ValueError("an event id of another deployment")
        try:
            packed = base64.b64decode(body + "=" * (-len(body) % 4), altchars=b"-_",
                                      validate=True)
            inflater = zlib.decompressobj()
            plain = inflater.decompress(packed, _PLAIN_MAX)
            if inflater.unconsumed_tail or not inflater.eof:
                raise ValueError("not an event id")
            text = plain.decode("ascii")
        except (binascii.Error, zlib.error, UnicodeDecodeError) as exc:
            raise ValueError("not an event id") from exc
        seqs: dict[str, int] = {}
        for pair in text.split(",") if text else []:
            found = _PAIR.match(pair)
            if found is None or found[1] in seqs:
                raise ValueError("not an event id")
            if stations is not None and found[1] not in stations:
                raise ValueError("an event id naming a station not in the registry")
            seqs[found[1]] = int(found[2])
        return cls(seqs, deployment)
