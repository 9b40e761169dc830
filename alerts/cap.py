"""CAP 1.2 (OASIS Common Alerting Protocol) rendering of an alert event, in floodwatch's
profile (docs/cap.md; the decisions are alerts.cap_profile's).

- ``identifier`` ``floodwatch:{deployment_id}:{instance}:{event_id}``; ``sender`` from
  the rules file; ``sent`` the time the engine issued the event (kept in the event, so
  a re-sent event renders identically); msgType, scope, restriction, references.
- One ``info`` per language (ja-JP, en-US): category and labels from the rules file,
  responseType, urgency/severity per level, certainty Observed, ``effective`` and
  ``onset`` the reading's time (a forecast warning: certainty Likely, ``onset`` the
  expected crossing), ``expires``, ``senderName``, headline and description
  from the templates, ``instruction`` from the advice file, ``web`` and ``contact``,
  parameters with the event id, level name, official alert level and ``confirmed``, and
  the area at risk (core.alert_area): its municipalities' names, its polygon (or the
  station's point as a circle of radius 0) and its geocodes. A renewal issued while
  the station sends no data ends its description with the rules file's
  ``templates.missing_data`` (alerts.renewal).
"""

from __future__ import annotations

from datetime import datetime
from xml.etree import ElementTree as ET

from floodwatch.alerts.cap_profile import CapFields, CapProfile, cap_time
from floodwatch.alerts.model import AlertType, Event
from floodwatch.alerts.render import forecast_text, headline, projection_text, shown_level
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.alert_area import AlertArea, alert_area
from floodwatch.core.readings import JST
from floodwatch.core.registry import Station, StationRegistry

CAP_NS = "urn:oasis:names:tc:emergency:cap:1.2"
LANGUAGES = (("ja", "ja-JP"), ("en", "en-US"))
UNITS = (("level_m", "{:.2f} m"), ("water_depth_cm", "{:.0f} cm"),
         ("surface_temp_c", "{:.1f} °C"), ("rate_m_per_h", "{:.2f} m/h"))


def observed_value(event: Event) -> str:
    for key, pattern in UNITS:
        value = event.detail.get(key)
        if isinstance(value, float):
            return pattern.format(value)
    surface = event.detail.get("surface_state")
    return str(surface) if isinstance(surface, str) else "-"


def _sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
    element = ET.SubElement(parent, f"{{{CAP_NS}}}{tag}")
    if text is not None:
        element.text = text
    return element


def render_cap(event: Event, station: Station, registry: StationRegistry,
               profile: CapProfile, status: str = "Actual") -> bytes:
    rules = profile.rules
    fields = profile.fields(event)
    ET.register_namespace("", CAP_NS)
    alert = ET.Element(f"{{{CAP_NS}}}alert")
    _sub(alert, "identifier", fields.identifier)
    _sub(alert, "sender", rules.cap_sender)
    _sub(alert, "sent", cap_time(fields.sent))
    _sub(alert, "status", status)
    _sub(alert, "msgType", fields.msg_type)
    _sub(alert, "scope", fields.scope)
    if fields.restriction is not None:
        _sub(alert, "restriction", fields.restriction)
    if fields.references is not None:
        _sub(alert, "references", fields.references)
    area = alert_area(station, registry)
    for lang, language in LANGUAGES:
        info = _sub(alert, "info")
        _sub(info, "language", language)
        _info(info, event, station, rules, fields=fields, lang=lang)
        _area(_sub(info, "area"), area, lang)
    document: bytes = ET.tostring(alert, encoding="utf-8", xml_declaration=True)
    return document


def _info(info: ET.Element, event: Event, station: Station, rules: AlertRules, *,
          fields: CapFields, lang: str) -> None:
    """One language's info block, from its category to its parameters (CAP's order)."""
    labels = rules.labels
    kind = labels.types[event.alert_type]
    level = labels.level(event.alert_type, shown_level(event))
    _sub(info, "category", kind.category)
    _sub(info, "event", getattr(kind, lang))
    _sub(info, "responseType", fields.response_type)
    _sub(info, "urgency", fields.urgency)
    _sub(info, "severity", fields.severity)
    _sub(info, "certainty", fields.certainty)
    _sub(info, "effective", cap_time(event.at))
    _sub(info, "onset", cap_time(fields.onset_at(event)))
    _sub(info, "expires", cap_time(fields.expires))
    _sub(info, "senderName", getattr(rules.cap.sender_name, lang))
    _sub(info, "headline", getattr(headline(event, station, labels), lang))
    if event.alert_type is AlertType.FORECAST:
        # Its own sentence: the description template's "(all clear)" must never end a
        # hand-over, whose text says the level was reached.
        description = getattr(forecast_text(event, station, labels), lang)
    else:
        projection = projection_text(event, labels)
        official = getattr(level.official, lang) if level.official is not None else ""
        description = getattr(labels.templates.description, lang).format(
            station=getattr(station.name, lang), type=getattr(kind, lang),
            level=getattr(level, lang),
            transition=getattr(labels.transitions[event.transition], lang),
            value=observed_value(event), official=official,
            projection="" if projection is None else getattr(projection, lang))
    if event.detail.get("data_missing"):
        missing = getattr(labels.templates.missing_data, lang).format(
            last_reading=_jst_minute(event.detail.get("last_reading")))
        description = description.strip() + ("" if lang == "ja" else " ") + missing
    _sub(info, "description", description.strip())
    if fields.instruction is not None:
        _sub(info, "instruction", getattr(fields.instruction, lang))
    web = rules.cap.web_for(station.id)
    if web is not None:
        _sub(info, "web", web)
    if rules.cap.contact is not None:
        _sub(info, "contact", getattr(rules.cap.contact, lang))
    for name, value in (("event_id", event.event_id), ("alert_type", event.alert_type.value),
                        ("level_name", level.name), ("level", str(event.level)),
                        ("alert_level", str(level.alert_level or "")),
                        ("confirmed", "true" if event.confirmed and not event.restricted
                         else "false")):
        if value:
            parameter = _sub(info, "parameter")
            _sub(parameter, "valueName", name)
            _sub(parameter, "value", value)


def _jst_minute(moment: object) -> str:
    if not isinstance(moment, str):
        return "-"
    return f"{datetime.fromisoformat(moment).astimezone(JST):%Y-%m-%d %H:%M} JST"


def _area(shape: ET.Element, area: AlertArea, lang: str) -> None:
    _sub(shape, "areaDesc", getattr(area.description, lang))
    for polygon in area.polygons:
        _sub(shape, "polygon", polygon)
    if area.circle is not None:
        _sub(shape, "circle", area.circle)
    for value_name, value in area.geocodes:
        geocode = _sub(shape, "geocode")
        _sub(geocode, "valueName", value_name)
        _sub(geocode, "value", value)
