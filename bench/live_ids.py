"""Cost of the live feed's ids (api.live_position) when one alert event goes to many
clients: each client's id is its own position, so each gets a token of its own.

    python -m bench.live_ids [--clients 2000]

Prints, for a small and a large registry: one token computed from scratch, and one alert
event's ids for every client (the shared next-token cache of api.live_position), the
figure that holds up the event loop.
"""

from __future__ import annotations

import argparse
import time
from typing import cast

from floodwatch.api.event_keys import EventKey
from floodwatch.api.hub import LiveClient, LiveEvent
from floodwatch.api.live_position import Position
from floodwatch.api.live_session import Joined, event_messages


def _per_event_ms(stations: int, clients: int, events: int = 20) -> tuple[float, float, int]:
    seqs = {f"station-{index:03d}": 100 + index for index in range(stations)}
    started = time.perf_counter()
    for _ in range(200):
        token = Position(seqs).token
    fresh_us = (time.perf_counter() - started) / 200 * 1e6
    # As the API does: the hub's position, with its token, copied for each client as it
    # joins; on each event the hub advances first, then every client.
    hub = Position(seqs)
    _ = hub.token
    connected = [hub.copy() for _ in range(clients)]
    started = time.perf_counter()
    for seq in range(1000, 1000 + events):
        hub.advance("station-001", seq)
        for position in connected:
            position.advance("station-001", seq)
            _ = position.token
    per_event_ms = (time.perf_counter() - started) / events * 1000
    return fresh_us, per_event_ms, len(token)


def _sent_per_event_ms(stations: int, clients: int, events: int = 20) -> float:
    """One alert event through the stream's per-client step
    (api.live_session.event_messages: the duplicate check, the one-compare seq-jump
    check, the id), for every client."""
    seqs = {f"station-{index:03d}": 100 + index for index in range(stations)}
    hub = Position(seqs)
    _ = hub.token
    joined = [Joined(cast(LiveClient, None), {}, hub.copy(), hub.copy(), [], Position())
              for _ in range(clients)]
    started = time.perf_counter()
    for seq in range(102, 102 + events):
        key = EventKey(seq, "station-001", seq)
        event = LiveEvent("alert", "station-001", "river", {"seq": seq}, key)
        hub.advance("station-001", seq)
        for one in joined:
            event_messages(event, one)
    return (time.perf_counter() - started) / events * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=2000)
    args = parser.parse_args()
    print(f"{'stations':>8} {'id chars':>8} {'one token':>10} "
          f"{'one alert event, ' + str(args.clients) + ' clients':>28} "
          f"{'via event_messages':>22}")
    for stations in (14, 300):
        fresh_us, per_event_ms, chars = _per_event_ms(stations, args.clients)
        sent_ms = _sent_per_event_ms(stations, args.clients)
        print(f"{stations:>8} {chars:>8} {fresh_us:>8.0f} us {per_event_ms:>25.2f} ms "
              f"{sent_ms:>19.2f} ms")


if __name__ == "__main__":
    main()
