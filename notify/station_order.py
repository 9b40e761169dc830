"""Per station, events go out in sequence order on every event channel.

The engine numbers each station's events (``seq``, also the tail of the event id
``{station}/{seq}``, core.bus.EVENT_ID_RE). On the disaster network and webhooks a
console shows the latest message it got, so a station's clear that overtook its
de-escalation after an outage would leave a stale alert on screen. Hence, per
(channel, station):

- only the *head* -- the unsettled (pending or sending) delivery with the lowest seq --
  may go, and the next one only once it is settled (sent or expired). Ordered by seq,
  not by insertion: an event whose CAP half came late is planned after its successor;
- while an older event of the station is recorded but not yet planned (waiting for its
  other half, at most the pair timeout), the station waits for it;
- an event older than one already sent on the channel (it reached us only after its
  successor went out) is never sent: it would invert the order. It is settled
  ``superseded``, its detail naming the event that overtook it; the station's retained
  status on the network already shows the present state.

Across stations the most urgent station goes first: the priority of its most urgent
live delivery, so a station's pending escalation pulls its older, less urgent head
forward. A head that keeps failing while the channel works holds its station back until
it expires (``retry.expire_s``); the station's later events follow then, in order.
"""

from __future__ import annotations

import structlog

from floodwatch.notify.deliveries import DELIVERY_COLUMNS, Delivery, DeliveryLedger

log = structlog.get_logger("notify")


def seq_of(column: str) -> str:
    """SQL for the seq in an event id column: the number after the '/'."""
    return f"CAST(substr({column}, instr({column}, '/') + 1) AS INTEGER)"


SEQ = seq_of("event_id")
# The heads of a channel's stations: (delivery columns..., seq, next_at, latest seq sent).
# Each station's head and latest sent event are looked up in INDEX (one seek each), not
# found by scanning its history: 3-4 ms with 5,000 waiting over 50 stations and 100,000
# sent, instead of 100.
HEADS = f"""
WITH stations AS (
    -- Through the live deliveries only (without statistics SQLite would rather walk
    -- INDEX: every delivery the channel ever had).
    SELECT station, min({SEQ}) AS head, max(priority) AS urgency
    FROM deliveries INDEXED BY deliveries_due
    WHERE channel = :channel AND state IN ('pending', 'sending') GROUP BY station)
SELECT {", ".join(f"live.{column.strip()}" for column in DELIVERY_COLUMNS.split(","))},
    stations.head, live.next_at,
    (SELECT max({SEQ}) FROM deliveries AS sent WHERE sent.channel = :channel
     AND sent.station = live.station AND sent.state = 'sent') AS sent_seq
FROM stations CROSS JOIN deliveries AS live INDEXED BY deliveries_station_seq
    ON live.channel = :channel AND live.station = stations.station
    AND live.state = 'pending' AND {SEQ} = stations.head
WHERE NOT EXISTS (
    SELECT 1 FROM events WHERE events.planned = 0 AND events.station = live.station
    AND {seq_of("events.event_id")} < stations.head)
"""  # noqa: S608 - no user input: column names and fixed SQL
INDEX = ("CREATE INDEX IF NOT EXISTS deliveries_station_seq ON deliveries "
         f"(channel, station, state, {SEQ})")
COLUMN_COUNT = len(DELIVERY_COLUMNS.split(","))


class StationOrder:
    """Which of an event channel's deliveries may go now (see the module)."""

    def __init__(self, ledger: DeliveryLedger) -> None:
        self._ledger = ledger
        ledger.db.execute(INDEX)

    def due(self, channel: str, now: float, limit: int) -> list[Delivery]:
        """Up to ``limit`` heads due by ``now``, most urgent station first. Heads an
        already sent event overtook are settled on the way (never sent)."""
        while True:
            rows = self._ledger.db.execute(
                HEADS + " AND live.next_at <= :now ORDER BY stations.urgency DESC, live.id "
                "LIMIT :limit", {"channel": channel, "now": now, "limit": limit}).fetchall()
            overtaken = [row for row in rows if row[-1] is not None and row[-1] > row[-3]]
            if not overtaken:
                return [Delivery(*row[:COLUMN_COUNT]) for row in rows]
            for row in overtaken:
                delivery = Delivery(*row[:COLUMN_COUNT])
                newer = f"{delivery.station}/{row[-1]}"
                log.warning("older event not sent: a newer one of its station already was",
                            channel=channel, event_id=delivery.event_id, sent=newer)
                self._ledger.finish([delivery], "superseded", f"not sent: {newer} was already "
                                    "sent and this older event would have overtaken it", now)

    def next_at(self, channel: str) -> float | None:
        """When the earliest waiting head becomes due (None: no head waits)."""
        row = self._ledger.db.execute(f"SELECT min(next_at) FROM ({HEADS})",  # noqa: S608
                                      {"channel": channel}).fetchone()
        return None if row[0] is None else float(row[0])
