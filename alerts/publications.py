"""What one alert event publishes, in the order consumers get it: its JSON, its CAP 1.2
message, and -- when the CAP is Public (partners relay to residents) -- the CAP in its
EDXL-DE 1.0 envelope; and its history line, which keeps the CAP (the API serves it, and
its Atom feed, from there)."""

from __future__ import annotations

from dataclasses import dataclass

from floodwatch.alerts.cap import render_cap
from floodwatch.alerts.cap_profile import CapProfile
from floodwatch.alerts.history import history_line
from floodwatch.alerts.labels import Labels
from floodwatch.alerts.model import Event
from floodwatch.alerts.render import event_payload
from floodwatch.alerts.store import EventPublication
from floodwatch.core import bus
from floodwatch.core.alert_area import alert_area
from floodwatch.core.edxl import render_edxl
from floodwatch.core.registry import Station, StationRegistry


@dataclass(frozen=True)
class Publisher:
    registry: StationRegistry
    labels: Labels
    profile: CapProfile
    cap_status: str  # Actual, or Exercise in a drill

    def render(self, event: Event, station: Station) -> tuple[list[EventPublication], str]:
        fields = self.profile.fields(event)
        payload = event_payload(event, station, self.labels, fields.message())
        cap = render_cap(event, station, self.registry, self.profile, self.cap_status)
        at = {"station": event.station}
        publications = [EventPublication(event.event_id, bus.ALERTS.name(**at), payload),
                        EventPublication(f"{event.event_id}/cap", bus.CAP.name(**at), cap)]
        if fields.scope == "Public":
            envelope = render_edxl(cap, alert_area(station, self.registry))
            publications.append(EventPublication(f"{event.event_id}/edxl",
                                                 bus.EDXL.name(**at), envelope))
        return publications, history_line(event, station, self.labels, payload, cap)
