"""CAP 1.2 (OASIS Common Alerting Protocol) rendering of an alert event.

Mapping (documented in docs/alerts.md):

- ``identifier`` ``floodwatch:{event_id}``; ``sender`` from the rules file; ``sent``
  the event time in JST (+09:00), so a re-sent event renders identically.
- ``msgType``: raised -> Alert; escalated, de-escalated, acknowledged, confirmed ->
  Update; cleared -> Cancel. Updates and cancels carry ``references`` to the raise.
  The public, though, never saw a raise that was Restricted (unconfirmed): a Public
  message follows the alert's Public messages only. The first of them (the alert's
  first confirmed event, usually its ``confirmed`` one) is an Alert without
  ``references``, and later Public ones reference it, not the raise.
- ``scope``: Public for river and road hazards; Restricted (with the configured
  ``restriction``) for offline and data-quality alerts, which are for staff, and for
  an event residents must not be told of yet (``confirmed`` false: an escalation no
  second reading has confirmed), with ``cap_unconfirmed_restriction``.
- One ``info`` per language (ja-JP, en-US): category and labels from the rules file,
  urgency/severity per level (Past/Minor and responseType AllClear when cleared),
  certainty Observed, headline and description from the templates, parameters with
  the event id, level name, official alert level and ``confirmed``, and the station as a point
  (a circle of radius 0) in ``area``.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from xml.etree import ElementTree as ET

from floodwatch.alerts.labels import Labels
from floodwatch.alerts.model import AlertType, Event, EventRef, Transition
from floodwatch.alerts.render import headline, projection_text, shown_level
from floodwatch.alerts.rules import AlertRules
from floodwatch.core import bus
from floodwatch.core.registry import Station

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
JST = timezone(timedelta(hours=9), "JST")
LANGUAGES = (("ja", "ja-JP"), ("en", "en-US"))
STAFF_ONLY = {AlertType.OFFLINE, AlertType.DATA_QUALITY}
MSG_TYPES = {Transition.RAISED: "Alert", Transition.CLEARED: "Cancel"}
UNITS = (("level_m", "{:.2f} m"), ("water_depth_cm", "{:.0f} cm"),
         ("surface_temp_c", "{:.1f} °C"), ("rate_m_per_h", "{:.2f} m/h"))


def _sent(moment: datetime) -> str:
    # CAP's dateTime allows neither "Z" nor fractions of a second.
    return moment.astimezone(JST).replace(microsecond=0).isoformat()


def observed_value(event: Event) -> str:
    for key, pattern in UNITS:
        value = event.detail.get(key)
        if isinstance(value, float):
            return pattern.format(value)
    surface = event.detail.get("surface_state")
    return str(surface) if isinstance(surface, str) else "-"


def _referenced(event: Event, *, public: bool) -> EventRef | None:
    """The message this one updates or cancels: None when it begins an account of the
    alert (a CAP Alert) -- the raise for staff, the first confirmed event for the public."""
    if public:
        first = event.first_confirmed
        assert first is not None  # a confirmed event always names it (model.Event)
        return None if first.event_id == event.event_id else first
    if event.transition is Transition.RAISED:
        return None
    return EventRef(event_id=event.alert_id, at=event.raised_at)


def render_cap(event: Event, station: Station, rules: AlertRules,
               status: str = "Actual") -> bytes:
    labels: Labels = rules.labels
    ET.register_namespace("", CAP_NS)

    def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
        if text is not None:
            element.text = text
        return element

    alert = ET.Element(f"{{{CAP_NS}}}alert")
    sub(alert, "identifier", bus.cap_identifier(event.event_id))
    sub(alert, "sender", rules.cap_sender)
    sub(alert, "sent", _sent(event.at))
    sub(alert, "status", status)
    staff_only = event.alert_type in STAFF_ONLY
    public = event.confirmed and not staff_only
    referenced = _referenced(event, public=public)
    sub(alert, "msgType", "Alert" if referenced is None
        else MSG_TYPES.get(event.transition, "Update"))
    sub(alert, "scope", "Public" if public else "Restricted")
    if staff_only:
        sub(alert, "restriction", rules.cap_restriction)
    elif not event.confirmed:
        sub(alert, "restriction", rules.cap_unconfirmed_restriction)
    if referenced is not None:
        sub(alert, "references", f"{rules.cap_sender},{bus.cap_identifier(referenced.event_id)},"
                                 f"{_sent(referenced.at)}")
    kind = labels.types[event.alert_type]
    level = labels.level(event.alert_type, shown_level(event))
    cleared = event.transition is Transition.CLEARED
    headlines = headline(event, station, labels).model_dump()
    projection = projection_text(event, labels)
    projections = {} if projection is None else projection.model_dump()
    for lang, language in LANGUAGES:
        info = sub(alert, "info")
        sub(info, "language", language)
        sub(info, "category", kind.category)
        sub(info, "event", getattr(kind, lang))
        sub(info, "responseType", "AllClear" if cleared else "Monitor")
        sub(info, "urgency", "Past" if cleared else level.urgency)
        sub(info, "severity", "Minor" if cleared else level.severity)
        sub(info, "certainty", "Observed")
        sub(info, "headline", headlines[lang])
        official = getattr(level.official, lang) if level.official is not None else ""
        description = getattr(labels.templates.description, lang).format(
            station=getattr(station.name, lang), type=getattr(kind, lang),
            level=getattr(level, lang),
            transition=getattr(labels.transitions[event.transition], lang),
            value=observed_value(event), official=official,
            projection=projections.get(lang, ""))
        sub(info, "description", description.strip())
        for name, value in (("event_id", event.event_id), ("alert_type", event.alert_type.value),
                            ("level_name", level.name), ("level", str(event.level)),
                            ("alert_level", str(level.alert_level or "")),
                            ("confirmed", "true" if event.confirmed else "false")):
            if value:
                parameter = sub(info, "parameter")
                sub(parameter, "valueName", name)
                sub(parameter, "value", value)
        area = sub(info, "area")
        sub(area, "areaDesc", getattr(station.name, lang))
        sub(area, "circle", f"{station.location.lat},{station.location.lon} 0")
    document: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return document
