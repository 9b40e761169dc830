"""Per station, events go out in sequence order (notify.station_order): through the
Dispatcher with a fake event channel that fails for a while, and the ledger's choice of
heads on its own."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from pathlib import Path

import pytest

from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.config import Retry
from floodwatch.notify.deliveries import DeliveryLedger, Planned, StoredEvent
from floodwatch.notify.dispatch import REFUSALS_BEFORE_SKIP, Dispatcher
from floodwatch.notify.station_order import StationOrder
from tests.notify.conftest import until
from tests.notify.support import FakeClock

CHANNEL = "fake"
EXPIRE_S = 3600.0
# As notify.policy ranks them: escalations 100 + 10 x level, clears 50, falls 40 + level.
RAISE_3, ESCALATE_4, ESCALATE_5, FALL_3, FALL_4, CLEAR = 130, 140, 150, 43, 44, 50


class FlakyChannel:
    """An event channel that is down until ``up``, and always refuses ``refused``."""

    name = CHANNEL
    retry = Retry(base_s=1.0, max_s=1.0, expire_s=EXPIRE_S)
    concurrency = 4

    def __init__(self) -> None:
        self.up = False
        self.refused: set[str] = set()
        self.refusing = False  # the receiver answers "no" to ``refused`` (a 4xx)
        self.sent: list[str] = []
        self.failures = 0

    async def deliver(self, event: StoredEvent) -> str:
        # Sends of other stations interleave with this one, as on a real connection.
        await asyncio.sleep(0.001 * (int(event.event_id.split("/")[1]) % 3))
        if not self.up or event.event_id in self.refused:
            self.failures += 1
            raise DeliveryError("refused" if self.up else "down",
                                refused=self.up and self.refusing)
        self.sent.append(event.event_id)
        return "ok"


class Rig:
    def __init__(self, path: Path) -> None:
        self.clock = FakeClock()
        self.ledger = DeliveryLedger(path)
        self.priorities: dict[str, int] = {}

    def receive(self, events: dict[str, int], *, halves: tuple[str, ...] = ("json", "cap")
                ) -> None:
        """Record events (event id -> priority) as the bus brings them, in this order."""
        self.priorities.update(events)

        def plan(event: StoredEvent, _ledger: DeliveryLedger) -> list[Planned]:
            return [Planned(CHANNEL, self.priorities[event.event_id],
                            self.clock() + EXPIRE_S, event.event_id)]

        parts = [(event_id, event_id.split("/")[0], half, b"{}")
                 for event_id in events for half in halves]
        self.ledger.receive(parts, {}, self.clock(), plan, pair_timeout_s=30.0)

    def due(self) -> list[str]:
        return [d.event_id for d in StationOrder(self.ledger).due(CHANNEL, self.clock(), 100)]


@pytest.fixture
def rig(tmp_path: Path) -> Iterator[Rig]:
    built = Rig(tmp_path / "ledger.sqlite3")
    yield built
    built.ledger.close()


def inversions(sent: list[str]) -> int:
    """Arrivals of a station's event after a later one of the same station."""
    latest: dict[str, int] = {}
    count = 0
    for event_id in sent:
        station, seq = event_id.split("/")
        if int(seq) < latest.get(station, -1):
            count += 1
        latest[station] = max(int(seq), latest.get(station, -1))
    return count


def storm(stations: int) -> dict[str, int]:
    """Each station: raised at 3, up to 4, down to 3, cleared; the last one up to 5."""
    events = {}
    for n in range(stations):
        peak = ESCALATE_5 if n == stations - 1 else ESCALATE_4
        for seq, priority in enumerate((RAISE_3, peak, FALL_3, CLEAR), start=1):
            events[f"s{n}/{seq}"] = priority
    return events


def test_after_an_outage_each_station_goes_in_order_the_most_urgent_first(rig: Rig) -> None:
    channel = FlakyChannel()
    rig.receive(storm(8))

    async def scenario() -> None:
        dispatcher = Dispatcher(rig.ledger, channel, rig.clock)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        await until(lambda: channel.failures >= 8, 20, "every station's head to fail")
        channel.up = True  # back: as the network channel's on_connected does
        rig.ledger.retry_now(CHANNEL, rig.clock())
        dispatcher.wake()
        await until(lambda: len(channel.sent) == 32, 20, "every event")
        stop.set()
        dispatcher.wake()
        await running

    asyncio.run(scenario())
    print(f"inversions: {inversions(channel.sent)}")
    assert inversions(channel.sent) == 0
    for n in range(8):
        assert [e for e in channel.sent if e.startswith(f"s{n}/")] == [
            f"s{n}/{seq}" for seq in (1, 2, 3, 4)]
    # s7's pending level 5 makes it the most urgent station: its head goes first.
    assert channel.sent[0] == "s7/1"
    assert set(rig.ledger.states().values()) == {"sent"}


def test_a_head_that_keeps_failing_holds_its_station_until_it_expires(rig: Rig) -> None:
    channel = FlakyChannel()
    channel.up = True
    channel.refused = {"s0/1"}
    rig.receive({"s0/1": RAISE_3, "s1/1": RAISE_3, "s1/2": FALL_3})
    rig.clock.advance(60)
    rig.receive({"s0/2": CLEAR, "s1/3": CLEAR})

    async def scenario() -> list[str]:
        dispatcher = Dispatcher(rig.ledger, channel, rig.clock)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        await until(lambda: len(channel.sent) == 3 and channel.failures >= 1,
                    20, "the other station's events")
        before_expiry = list(channel.sent)
        rig.clock.advance(EXPIRE_S - 30)  # s0/1 expires, s0/2 has a minute more
        rig.ledger.retry_now(CHANNEL, rig.clock())
        dispatcher.wake()
        await until(lambda: "s0/2" in channel.sent, 20, "the station's next event")
        stop.set()
        dispatcher.wake()
        await running
        return before_expiry

    before_expiry = asyncio.run(scenario())
    assert before_expiry == ["s1/1", "s1/2", "s1/3"]  # s0/2 never overtook its head
    assert rig.ledger.states()[("s0/1", CHANNEL)] == "expired"
    assert channel.sent[3:] == ["s0/2"]


@pytest.mark.parametrize("others_taken", [True, False])
def test_a_head_the_receiver_keeps_refusing_is_skipped_while_it_takes_others(
        rig: Rig, others_taken: bool) -> None:
    """A receiver that refuses one event (a 4xx) but takes the others must not hold
    that station's later events (a level 5) for a day; a receiver that refuses
    everything (a wrong key) loses nothing: its heads wait for the fix."""
    channel = FlakyChannel()
    channel.up = True
    channel.refusing = True
    channel.refused = {"s0/1"} if others_taken else {"s0/1", "s0/2", "s1/1"}
    rig.receive({"s0/1": RAISE_3, "s0/2": CLEAR, "s1/1": RAISE_3})

    async def scenario() -> None:
        dispatcher = Dispatcher(rig.ledger, channel, rig.clock)
        stop = asyncio.Event()
        running = asyncio.create_task(dispatcher.run(stop))
        for _ in range(REFUSALS_BEFORE_SKIP + 2):  # each time past the retry's backoff
            await asyncio.sleep(0.2)
            rig.clock.advance(2)
            rig.ledger.retry_now(CHANNEL, rig.clock())
            dispatcher.wake()
        await asyncio.sleep(0.2)
        stop.set()
        dispatcher.wake()
        await running

    asyncio.run(scenario())
    states = rig.ledger.states()
    if others_taken:
        assert states[("s0/1", CHANNEL)] == "expired"
        assert channel.sent == ["s1/1", "s0/2"]
    else:
        assert channel.failures >= REFUSALS_BEFORE_SKIP + 1  # it was asked, and said no
        assert states[("s0/1", CHANNEL)] == "pending"
        assert channel.sent == []


def test_order_is_by_seq_not_by_arrival(rig: Rig) -> None:
    rig.receive({"s0/2": CLEAR})
    rig.receive({"s0/1": FALL_3})  # its event came later (a late half, a redelivery)
    assert rig.due() == ["s0/1"]


def test_a_station_waits_for_its_older_event_still_missing_a_half(rig: Rig) -> None:
    rig.receive({"s0/1": FALL_3}, halves=("json",))  # its CAP is still on the way
    rig.receive({"s0/2": CLEAR, "s1/1": RAISE_3})
    assert rig.due() == ["s1/1"]
    rig.receive({"s0/1": FALL_3}, halves=("cap",))
    assert rig.due() == ["s1/1", "s0/1"]


def test_an_event_overtaken_by_one_already_sent_is_never_sent(rig: Rig) -> None:
    rig.receive({"s0/2": CLEAR})
    [head] = StationOrder(rig.ledger).due(CHANNEL, rig.clock(), 10)
    rig.ledger.finish([head], "sent", "ok", rig.clock())
    rig.receive({"s0/1": FALL_3, "s0/3": RAISE_3})
    assert rig.due() == ["s0/3"]
    states = rig.ledger.states()
    assert states[("s0/1", CHANNEL)] == "superseded"
    detail = rig.ledger.db.execute("SELECT detail FROM deliveries WHERE event_id = 's0/1'"
                                   ).fetchone()[0]
    assert detail.startswith("not sent: s0/2 was already sent")


def test_the_most_urgent_station_first_by_its_most_urgent_live_delivery(rig: Rig) -> None:
    rig.receive({"s0/1": FALL_4, "s1/1": ESCALATE_4, "s2/1": FALL_3, "s0/2": ESCALATE_5})
    assert rig.due() == ["s0/1", "s1/1", "s2/1"]
