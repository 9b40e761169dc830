"""The simulated clock: where it starts, and how it is paced against the wall clock.

``speed`` is simulated seconds per real second: 1 is real time, 60 runs a simulated hour
per real minute, 0 runs unpaced (as fast as the broker acknowledges).

Device timestamps are simulated time, and ingest refuses readings stamped more than
``FLOODWATCH_MAX_FUTURE_S`` (5 minutes) ahead of its clock. A run faster than real time
that started *now* would soon stamp the future, so by default the simulated clock starts
early enough to meet the wall clock just as the run ends:
``start = now - duration * (1 - 1 / speed)`` (``now - duration`` when unpaced). A scenario
with ``local_start: "17:00"`` moves that default back to the latest 17:00 in Japan at or
before it, for weather that depends on the time of day. ``--start`` overrides both.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from datetime import time as time_of_day

from floodwatch.core.readings import JST


def default_start(duration_s: float, speed: float, now: datetime,
                  local_start: time_of_day | None = None) -> datetime:
    """The start of the simulated clock that never stamps readings ahead of ``now``'s
    wall clock, on a whole minute (and at ``local_start`` JST when given)."""
    lead = duration_s if speed <= 0 else max(0.0, duration_s * (1 - 1 / speed))
    start = (now - timedelta(seconds=lead)).astimezone(UTC).replace(second=0, microsecond=0)
    if local_start is None:
        return start
    local = start.astimezone(JST)
    anchored = local.replace(hour=local_start.hour, minute=local_start.minute)
    if anchored > local:
        anchored -= timedelta(days=1)
    return anchored.astimezone(UTC)


class Pacer:
    """Sleeps until a simulated instant is due on the wall clock, unless stopped."""

    def __init__(self, sim_origin: datetime, speed: float, stop: threading.Event,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if speed < 0:
            raise ValueError("speed must be 0 (unpaced) or positive")
        self.sim_origin = sim_origin
        self.speed = speed
        self.stop = stop
        self._clock = clock
        self.real_origin = clock()

    def due_in(self, sim_time: datetime) -> float:
        """Real seconds until ``sim_time`` is due (negative: late)."""
        if self.speed == 0:
            return 0.0
        sim_elapsed = (sim_time - self.sim_origin).total_seconds()
        return self.real_origin + sim_elapsed / self.speed - self._clock()

    def wait_for(self, sim_time: datetime) -> bool:
        """True when ``sim_time`` is due; False when stopped first."""
        delay = self.due_in(sim_time)
        if delay > 0.0005:
            return not self.stop.wait(delay)
        return not self.stop.is_set()


class CompressedClock:
    """Simulated time laid onto the wall clock ``factor`` times faster (the demo profile,
    simulators/demo.py): simulated ``sim_anchor`` is wall ``wall_anchor``, and a simulated
    hour later is ``3600 / factor`` wall seconds later.

    Devices stamp their readings with ``wall(sim_time)`` while the pacer sends each at
    ``sim_time`` run at ``speed = factor`` from the same anchor, so a reading is stamped
    with the wall time it is sent (never later: ``wall_anchor`` is taken before the pacer
    starts, and stamps are cut to the millisecond, never rounded up)."""

    def __init__(self, sim_anchor: datetime, wall_anchor: datetime, factor: float) -> None:
        if sim_anchor.tzinfo is None or wall_anchor.tzinfo is None:
            raise ValueError("anchors must be timezone-aware")
        if not factor >= 1:
            raise ValueError("factor must be at least 1")
        self.sim_anchor = sim_anchor.astimezone(UTC)
        self.wall_anchor = wall_anchor.astimezone(UTC)
        self.factor = factor

    def wall(self, sim_time: datetime) -> datetime:
        wall = self.wall_anchor + (sim_time - self.sim_anchor) / self.factor
        return wall.replace(microsecond=wall.microsecond // 1000 * 1000)

    def sim(self, wall_time: datetime) -> datetime:
        """The simulated instant a wall time stands for (for logs and tests)."""
        return self.sim_anchor + (wall_time - self.wall_anchor) * self.factor
