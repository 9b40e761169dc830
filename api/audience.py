"""What a reader without a key is shown of the alerts: only what residents may be told.

With ``FLOODWATCH_API_PUBLIC_READ`` on, residents' apps read the API without a key. The
alert engine's JSON also carries what is for officers only: offline and data-quality
alerts, escalations a second reading has not confirmed yet, forecast warnings kept for
staff, officers' acknowledgements. A keyless reader gets, on every path (open alerts,
history, one alert, the live feed's events, statuses and snapshot):

- of the alert events, those whose CAP message is Public (the engine's own judgement,
  alerts.model.tells_public, which its JSON carries as ``cap.scope``), the same ones the
  Public CAP feed lists. An event from an engine older than the CAP fields says nothing
  of its audience, so it is held back: judging it here would copy the engine's rules.
  An officer's command (declaring flooding) shows as one, without the officer's name
  and note (free text for staff);
- of each station's status, the alerts residents were told of, at the level they were
  told (a confirmed level, or the status's ``public`` one while a higher level waits
  for its confirmation), of the resident types only. The station's ``offline`` and
  ``no_data`` stay: a dead gauge must never look like a safe one.

A reader with a key (any role) sees everything, as before.
"""

from __future__ import annotations

from typing import Any

from floodwatch.api.auth import ANONYMOUS, Principal

# The alert types residents are told of in a station's status (alerts.model: not the
# staff's offline and data-quality ones, and not a forecast warning, which a status
# does not say whether the rules keep for staff). An allow-list: a type added later
# stays with the officers until it is named here.
RESIDENT_TYPES = frozenset({"river_level", "rate_of_rise", "road_flooding", "road_icing"})

# The alert record's (InfluxDB ``alert_event``, alerts.history) fields and tags for the
# same judgement, so a keyless page is filled from the query rather than cut short after
# it: ``confirmed`` is stored false for an unconfirmed event and for one kept for staff.
# (``public_event`` still decides: an older engine's event passes this, not that.)
PUBLIC_EVENTS_WHERE = ("\"confirmed\" = true AND \"transition\" != 'acknowledged' "
                       "AND \"alert_type\" != 'offline' AND \"alert_type\" != 'data_quality'")


def keyless(principal: Principal) -> bool:
    """A reader let in by public read (no key given), not one holding a key."""
    return principal is ANONYMOUS


def public_event(event: dict[str, Any]) -> bool:
    """Whether residents may be told of this alert event: confirmed, and its CAP message
    Public. Without CAP fields (an older engine) it cannot be told: held back."""
    cap = event.get("cap")
    return event.get("confirmed") is True and isinstance(cap, dict) \
        and cap.get("scope") == "Public"


# What a command's cause says of the officer who gave it (core.alert_messages.CauseMessage).
STAFF_CAUSE_KEYS = frozenset({"officer", "note"})


def residents_event(event: dict[str, Any]) -> dict[str, Any] | None:
    """The alert event as a keyless reader sees it, or None when it is not public."""
    if not public_event(event):
        return None
    cause = event.get("cause")
    if not isinstance(cause, dict) or not STAFF_CAUSE_KEYS & cause.keys():
        return event
    return {**event, "cause": {key: value for key, value in cause.items()
                               if key not in STAFF_CAUSE_KEYS}}


def public_status(status: dict[str, Any]) -> dict[str, Any]:
    """The station's status as residents were told it (see the module's rules)."""
    alerts = status.get("alerts")
    told = [alert for alert in map(_told_alert, alerts if isinstance(alerts, list) else [])
            if alert is not None and alert.get("alert_type") in RESIDENT_TYPES]
    return {**status, "alerts": told}


def _told_alert(alert: object) -> dict[str, Any] | None:
    """An open alert (a status's entry) as residents were told it: itself when its level
    is confirmed, else at the level they were last told of (``public``), else nothing.
    Shown at a told level it is confirmed (that level was) and its ``level_since`` is not
    known (the status gives the unconfirmed level's)."""
    if not isinstance(alert, dict):
        return None
    if alert.get("confirmed") is True:
        return alert
    public = alert.get("public")
    if not isinstance(public, dict):
        return None
    told = {key: value for key, value in alert.items() if key != "public"}
    return {**told, **public, "confirmed": True, "level_since": None}
