"""When an alert reached its current level (``level_since``), as the status tells the
dashboard: an officer reads "flooding since 08:00", not the time the alert was raised at
standby (issue 22)."""

from __future__ import annotations

import json

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import AlertType
from floodwatch.alerts.render import status_payload
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.state import Track
from floodwatch.core.bus import StatusMessage
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import at, feed, series


def river_status(engine: Engine, registry: StationRegistry,
                 rules: AlertRules) -> dict[str, str | None]:
    station = registry.get("g1")
    assert station is not None
    status = json.loads(status_payload(engine.states["g1"], station, rules.labels))
    StatusMessage.model_validate(status)  # the bus contract accepts it
    (alert,) = [a for a in status["alerts"] if a["alert_type"] == "river_level"]
    return {"raised_at": alert["raised_at"], "level_since": alert["level_since"]}


def test_level_since_follows_each_escalation_and_deescalation(
        engine: Engine, registry: StationRegistry, rules: AlertRules) -> None:
    # standby at 0, caution at 10, evacuation at 20, then steady, then down to caution.
    feed(engine, series("g1", [2.5, 3.5, 4.5, 4.5]), only="g1")
    track = engine.states["g1"].alerts[AlertType.RIVER_LEVEL]
    assert (track.level, track.raised_at, track.level_since) == (4, at(0), at(20))
    assert river_status(engine, registry, rules) == {
        "raised_at": "2026-10-12T00:00:00Z", "level_since": "2026-10-12T00:20:00Z"}
    feed(engine, series("g1", [3.5] * 6, start=40), only="g1")
    # The hold timer keeps evacuation until the reading at 70 minutes.
    assert river_status(engine, registry, rules) == {
        "raised_at": "2026-10-12T00:00:00Z", "level_since": "2026-10-12T01:10:00Z"}


def test_a_track_saved_before_level_since_reads_as_unknown() -> None:
    saved = {"alert_id": "g1/1", "level": 3, "raised_at": "2026-10-12T00:00:00Z",
             "confirmed_level": 3}
    assert Track.model_validate(saved).level_since is None
