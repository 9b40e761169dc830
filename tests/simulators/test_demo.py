"""The demo profile's simulator side (simulators/demo.py): the storm on a compressed wall
clock, stamped as it is sent, at the intervals the demo registry says."""

from __future__ import annotations

import re
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.demo_config import demo_registry_text
from floodwatch.ingest.validate import MessageValidator
from floodwatch.simulators.clock import CompressedClock
from floodwatch.simulators.demo import DemoRun, build_demo
from floodwatch.simulators.messages import Event
from floodwatch.simulators.scenario import ScenarioError
from tests.conftest import SAMPLE_REGISTRY
from tests.support import REPO_ROOT

NOW = datetime(2026, 12, 7, 15, 0, 12, 345678, tzinfo=UTC)


def makefile_default(name: str) -> str:
    """``make demo``'s own setting, so this checks the demo a newcomer gets."""
    match = re.search(rf"^{name} \?= (\S+)$", (REPO_ROOT / "Makefile").read_text(), re.M)
    assert match is not None, name
    return match[1]


COMPRESS = int(makefile_default("DEMO_COMPRESS"))
SKIP_S = {"7h": 7 * 3600.0}[makefile_default("DEMO_SKIP")]


@pytest.fixture(scope="module")
def demo_registry() -> StationRegistry:
    text = demo_registry_text(SAMPLE_REGISTRY.read_text(encoding="utf-8"), COMPRESS)
    return StationRegistry.from_yaml_text(text)


@pytest.fixture(scope="module")
def typhoon_demo(demo_registry: StationRegistry) -> tuple[DemoRun, list[Event]]:
    demo = build_demo(demo_registry, "typhoon", compress=COMPRESS, skip_s=SKIP_S, seed=1,
                      now=NOW)
    return demo, list(demo.simulation.events())


moments = st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1),
                       timezones=st.just(UTC))


@given(sim_anchor=moments, wall_anchor=moments, factor=st.integers(1, 3600),
       offset_s=st.floats(-10 * 86_400, 10 * 86_400, allow_nan=False))
def test_the_compressed_clock_runs_factor_times_slower_and_never_stamps_ahead(
        sim_anchor: datetime, wall_anchor: datetime, factor: int, offset_s: float) -> None:
    clock = CompressedClock(sim_anchor, wall_anchor, factor)
    sim_time = sim_anchor + timedelta(seconds=offset_s)
    exact = wall_anchor + timedelta(seconds=offset_s) / factor
    stamped = clock.wall(sim_time)
    # Cut to the millisecond a device stamp carries: never later than the exact instant
    # (a reading sent on time is never in the future), never a millisecond earlier.
    assert exact - timedelta(milliseconds=1) < stamped <= exact + timedelta(microseconds=1)
    assert stamped.microsecond % 1000 == 0
    assert clock.wall(sim_time + timedelta(seconds=factor)) - stamped \
        == pytest.approx(timedelta(seconds=1), abs=timedelta(milliseconds=1))
    assert abs(clock.sim(stamped) - sim_time) <= timedelta(milliseconds=factor)


def test_the_clock_refuses_slowing_down_and_naive_anchors() -> None:
    with pytest.raises(ValueError, match="at least 1"):
        CompressedClock(NOW, NOW, 0.5)
    with pytest.raises(ValueError, match="timezone"):
        CompressedClock(NOW.replace(tzinfo=None), NOW, 60)


def test_every_demo_reading_is_stamped_no_later_than_it_is_sent(
        typhoon_demo: tuple[DemoRun, list[Event]], validator: MessageValidator) -> None:
    demo, events = typhoon_demo
    late = []
    for event in events:
        sent = demo.clock.wall(event.sim_time)  # the pacer sends it then, at best
        for reading in validator.validate(event.topic, event.payload, sent).readings:
            if reading.ts > sent:
                late.append((event.topic, reading.ts, sent))
    assert late == []
    assert len(events) > 1000


def test_devices_report_at_the_demo_registrys_intervals_on_the_wall_clock(
        typhoon_demo: tuple[DemoRun, list[Event]], demo_registry: StationRegistry,
        validator: MessageValidator) -> None:
    _, events = typhoon_demo
    stamps: dict[str, set[datetime]] = defaultdict(set)
    for event in events:
        for reading in validator.validate(event.topic, event.payload, NOW + timedelta(days=1)
                                          ).readings:
            stamps[reading.station].add(reading.ts)
    assert set(stamps) == {station.id for station in demo_registry}
    for station in demo_registry:
        ordered = sorted(stamps[station.id])
        gaps = {later - earlier for earlier, later in pairwise(ordered)}
        # The registry the stack judges staleness by is what the devices do.
        assert gaps == {timedelta(seconds=station.interval_s)}, station.id
    sukagawa = demo_registry.get("sukagawa")
    assert sukagawa is not None
    assert sukagawa.interval_s == 600 // COMPRESS


def test_the_lead_in_is_back_filled_just_before_the_demo_starts(
        typhoon_demo: tuple[DemoRun, list[Event]]) -> None:
    demo, events = typhoon_demo
    assert demo.clock.wall_anchor == NOW.replace(microsecond=0)
    history = [event for event in events if event.sim_time < demo.clock.sim_anchor]
    stamps = [demo.clock.wall(event.sim_time) for event in history]
    assert min(stamps) >= demo.clock.wall_anchor - timedelta(seconds=SKIP_S / COMPRESS)
    assert max(stamps) < demo.clock.wall_anchor
    # Every device has a reading in the interval before the live part starts.
    last = {event.device: demo.clock.wall(event.sim_time) for event in history}
    assert len(last) == 14
    assert min(last.values()) >= demo.clock.wall_anchor - timedelta(seconds=5)


def test_the_typhoon_peaks_in_the_first_minutes_and_ends_within_half_an_hour(
        typhoon_demo: tuple[DemoRun, list[Event]],
        demo_registry: StationRegistry, validator: MessageValidator) -> None:
    demo, events = typhoon_demo
    peaks: dict[str, tuple[float, datetime]] = {}
    for event in events:
        for reading in validator.validate(event.topic, event.payload, NOW + timedelta(days=1)
                                          ).readings:
            level = reading.values.get("level_m")
            if isinstance(level, float) and level > peaks.get(reading.station, (-99.0,))[0]:
                peaks[reading.station] = (level, reading.ts)
    start = demo.clock.wall_anchor
    minutes = {station: (ts - start).total_seconds() / 60 for station, (_, ts) in peaks.items()}
    print("peak, minutes into the demo:", {s: round(m, 1) for s, m in minutes.items()})
    rivers = [s.id for s in demo_registry if s.kind is StationKind.RIVER]
    assert set(minutes) == set(rivers)
    assert all(0 < minute <= 12.5 for minute in minutes.values()), minutes
    assert sorted(minutes.values())[len(minutes) // 2] <= 10  # most of them by minute 10
    assert max(minutes.values()) == minutes["iwanuma"]  # the wave reaches the sea last
    end = demo.clock.wall(demo.simulation.end)
    assert (end - start).total_seconds() <= 30 * 60


def test_a_skip_as_long_as_the_run_is_refused(demo_registry: StationRegistry) -> None:
    with pytest.raises(ScenarioError, match="--skip"):
        build_demo(demo_registry, "typhoon", compress=COMPRESS, skip_s=48 * 3600, now=NOW)
