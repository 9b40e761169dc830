"""Alert events as the alert engine stores them in ``alert_event`` (payload JSON and
CAP XML, rendered by the engine's own code), and the retained status it publishes, for
API tests that need alerts without running the engine."""

from __future__ import annotations

import json
import subprocess
from datetime import datetime
from typing import Any

from floodwatch.alerts.history import history_line
from floodwatch.alerts.model import AlertType, Cause, Event, EventRef, Transition
from floodwatch.alerts.render import event_message, event_payload
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.registry import StationRegistry
from tests.cap_support import cap_fields, cap_of
from tests.support import REPO_ROOT

RULES_FILE = REPO_ROOT / "config" / "alert-rules.yaml"


def event(station: str, seq: int, alert_seq: int, transition: Transition, level: int,  # noqa: PLR0917
          at: datetime, alert_type: AlertType = AlertType.RIVER_LEVEL,
          previous_level: int = 0, confirmed: bool = True,
          first_confirmed: Event | None = None) -> Event:
    """``first_confirmed``: the alert's first confirmed event (None: this one, when it is
    confirmed)."""
    first = None if first_confirmed is None else EventRef(
        event_id=first_confirmed.event_id, at=first_confirmed.at)
    if first is None and confirmed:
        first = EventRef(event_id=f"{station}/{seq}", at=at)
    return Event(
        station=station, seq=seq, alert_id=f"{station}/{alert_seq}", alert_type=alert_type,
        transition=transition, level=level, previous_level=previous_level, at=at,
        raised_at=at, cause=Cause(kind="reading", reading_ts=at, values={"level_m": 5.5}),
        rule=alert_type.value, detail={"level_m": 5.5, "threshold_m": 5.2},
        confirmed=confirmed, first_confirmed=first)


class StoredAlerts:
    """Renders events with the engine's code and returns what the engine would write."""

    def __init__(self, registry: StationRegistry) -> None:
        self.registry = registry
        self.rules = AlertRules.load(RULES_FILE, registry)

    def line(self, event: Event, *, with_cap: bool = True) -> str:
        station = self.registry.get(event.station)
        assert station is not None
        return history_line(event, station, self.rules.labels,
                            event_payload(event, station, self.rules.labels,
                                          cap_fields(event, self.rules)),
                            self.cap(event) if with_cap else None)

    def cap(self, event: Event) -> bytes:
        return cap_of(event, self.registry, self.rules)

    def document(self, event: Event) -> dict[str, Any]:
        station = self.registry.get(event.station)
        assert station is not None
        return event_message(event, station, self.rules.labels,
                             cap_fields(event, self.rules)).model_dump(mode="json")


def retain_status(port: int, station: str, alerts: list[dict[str, Any]], *,
                  flooding_declared: bool = False, kind: str = "river",
                  offline: bool = False, seq: int = 1) -> None:
    """Publish a retained engine status for ``station`` with these open alerts, as of
    its event ``seq``."""
    status = {"station": station, "kind": kind, "seq": seq, "offline": offline,
              "flooding_declared": flooding_declared, "alerts": alerts}
    subprocess.run(["mosquitto_pub", "-p", str(port), "-q", "1", "-r",
                    "-t", f"floodwatch/status/{station}", "-s"],
                   input=json.dumps(status).encode(), check=True, timeout=10)
