"""The event's CAP in its EDXL-DE 1.0 envelope, for the channels configured to send it
(a network ``edxl_topic``, a webhook with ``format: edxl``).

The envelope is the alerts engine's own (core.edxl wraps the CAP bytes unchanged, with
the area of core.alert_area), built here from the CAP notify already holds: an event's
deliveries never wait for a third message from the bus.
"""

from __future__ import annotations

from floodwatch.core.alert_area import alert_area
from floodwatch.core.edxl import EnvelopeError, is_public, render_edxl
from floodwatch.core.registry import StationRegistry
from floodwatch.notify.channels.base import DeliveryError
from floodwatch.notify.deliveries import StoredEvent


def edxl_envelope(event: StoredEvent, registry: StationRegistry) -> bytes | None:
    """The envelope for partners; None when the CAP is Restricted (staff-only or
    unconfirmed: partners relay to the public). Raises DeliveryError when there is
    nothing to wrap yet (the CAP half never arrived) or it cannot be wrapped (refused:
    sending it again will not help)."""
    if event.cap is None:
        raise DeliveryError("the event's CAP never arrived: no EDXL-DE envelope")
    station = registry.get(event.station)
    if station is None:
        raise DeliveryError(f"station {event.station!r} is not in the registry: no "
                            "area for its EDXL-DE envelope", refused=True)
    try:
        if not is_public(event.cap):
            return None
        return render_edxl(event.cap, alert_area(station, registry))
    except EnvelopeError as exc:
        raise DeliveryError(f"no EDXL-DE envelope: {exc}", refused=True) from exc
