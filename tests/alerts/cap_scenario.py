"""A storm that goes through every transition floodwatch's CAP profile distinguishes
(docs/cap.md): a river gauge with an area at risk (two municipalities, river and gauge
codes, a polygon) rising through every level to 氾濫発生, acknowledged by an officer,
falling back and cleared; an underpass closed by flooding and reopened; a gauge whose
reading jumps (data quality); a gauge that falls silent (offline).

Events are issued by a wall clock that runs two minutes behind the readings' arrival:
``sent`` is that clock, ``effective``/``onset`` the readings' time."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from floodwatch.alerts.commands import parse_command
from floodwatch.alerts.engine import Engine
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE, T0, river, road

REGISTRY_YAML = """
rivers: {abukuma: {ja: 阿武隈川, en: Abukuma River}}
municipalities:
  "072079": {ja: 須賀川市, en: Sukagawa City}
  "072036": {ja: 郡山市, en: Koriyama City}
stations:
  - id: sukagawa
    kind: river
    name: {ja: 須賀川, en: Sukagawa}
    municipality: "072079"
    area:
      municipalities: ["072079", "072036"]
      river_code: "8302010001"
      gauge_code: "302041282207010"
      polygon: {type: Polygon, coordinates: [[[140.37, 37.28], [140.39, 37.28],
                                              [140.39, 37.30], [140.37, 37.28]]]}
    river: abukuma
    basin: abukuma
    location: {lat: 37.2867, lon: 140.38}
    interval_s: 600
    levels_m: {standby: 2.5, caution: 3.5, evacuation: 4.6, danger: 5.2, flooding: 6.0}
  - id: motomiya
    kind: river
    name: {ja: 本宮, en: Motomiya}
    municipality: "072036"
    river: abukuma
    basin: abukuma
    location: {lat: 37.51, lon: 140.39}
    interval_s: 600
    levels_m: {standby: 2.5, caution: 3.5, evacuation: 4.6, danger: 5.2}
  - id: underpass
    kind: road
    name: {ja: 郡山駅前アンダーパス, en: Koriyama station underpass}
    municipality: "072036"
    route: route-4
    basin: abukuma
    location: {lat: 37.398, lon: 140.388}
    interval_s: 600
"""

# Every 10 minutes: up through each level (each confirmed by the next reading), 氾濫発生,
# then down, held below each deadband, to the all-clear.
SUKAGAWA = [2.0, 2.6, 2.7, 3.6, 3.7, 4.7, 4.8, 5.3, 5.4, 6.1, 6.2,
            5.5, 5.45, 5.4, 5.35, 4.9, 4.3, 4.0, 3.95, 3.9, 3.3, 2.7, 2.2,
            2.0, 1.95, 1.9, 1.85, 1.8]
UNDERPASS = [0.0, 15.0, 25.0, 26.0, 12.0, 3.0, *[0.0] * 22]
# Motomiya reads a jump no river makes in ten minutes, then falls silent (offline).
MOTOMIYA = [2.0, 2.02, 9.5, 2.03]
ACKNOWLEDGED_AFTER = 10  # readings: the officer acknowledges the level-5 alert


@dataclass
class WallClock:
    """The issue clock: set before each input, as the wall clock would be."""

    now: datetime

    def __call__(self) -> datetime:
        return self.now


def registry() -> StationRegistry:
    return StationRegistry.from_yaml_text(REGISTRY_YAML)


def rules(stations: StationRegistry) -> AlertRules:
    return AlertRules.load(RULES_FILE, stations)


def _inputs() -> list[Reading]:
    readings = [river("sukagawa", 10 * n, level) for n, level in enumerate(SUKAGAWA)]
    readings += [road("underpass", 10 * n + 1, water_depth_cm=depth)
                 for n, depth in enumerate(UNDERPASS)]
    readings += [river("motomiya", 10 * n + 2, level) for n, level in enumerate(MOTOMIYA)]
    return sorted(readings, key=lambda reading: reading.ts)


def storm(stations: StationRegistry, alert_rules: AlertRules) -> list[Event]:
    """Every event of the storm, in the engine's order."""
    clock = WallClock(T0)
    engine = Engine(stations, alert_rules, issue_clock=clock)
    events: list[Event] = []
    for reading in _inputs():
        clock.now = reading.ts + timedelta(minutes=2)
        events += engine.on_reading(reading).events
        if reading.station == "sukagawa" and \
                reading.ts == T0 + timedelta(minutes=10 * ACKNOWLEDGED_AFTER):
            issued = reading.ts + timedelta(minutes=5)
            clock.now = issued
            body = (f'{{"command_id": "c1", "issued_at": "{issued.isoformat()}", '
                    f'"officer": "tanaka", "alert_id": "sukagawa/1"}}').encode()
            events += engine.on_command(parse_command(
                "floodwatch/commands/acknowledge/sukagawa", body, stations)).events
    return events
