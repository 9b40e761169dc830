"""Data quality in the alert engine: the per-field checks themselves are core.quality's
(shared with the forecast stage); here is what a flag does to alerts. A flagged
(suspect) value never moves a level alert: it is kept out of the level rules and the
rate-of-rise window, the hold timers of the alerts it would feed stand still over it,
and it raises a data-quality alert of its own, cleared after ``clear_readings`` good
readings in a row.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from floodwatch.alerts.machine import Step
from floodwatch.alerts.model import AlertType
from floodwatch.core.quality import Flag

# The alerts each checked field feeds: their hold timers stand still over its flags.
ALERTS_OF_FIELD: dict[str, tuple[AlertType, ...]] = {
    "level_m": (AlertType.RIVER_LEVEL, AlertType.RATE_OF_RISE),
    "water_depth_cm": (AlertType.ROAD_FLOODING,),
    "surface_temp_c": (AlertType.ROAD_ICING,),
}


@dataclass(frozen=True, slots=True)
class FlaggedReading:
    """A flag as stored: ``alert_id`` of the data-quality alert it belongs to, and
    ``event_id`` of the event the reading caused (the raise), if any."""

    station: str
    at: datetime
    flag: Flag
    alert_id: str
    event_id: str | None


def hold_still(step: Step, fields: Iterable[str], since: datetime | None,
               at: datetime) -> None:
    """Flagged values say nothing about the water: the reading time from the previous
    reading (``since``) to this one does not count towards the hold of the open alerts
    these fields feed -- their hold timers are moved on by it."""
    if since is None:
        return
    for name in fields:
        for alert_type in ALERTS_OF_FIELD.get(name, ()):
            track = step.state.alerts.get(alert_type)
            if track is not None and track.below_since is not None:
                step.put_track(alert_type, track.model_copy(
                    update={"below_since": track.below_since + (at - since)}))
