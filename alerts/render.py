"""The public JSON of alert events (``floodwatch/alerts/{station}``) and of the retained
status (``floodwatch/status/{station}``), with labels from the rules file.

Both are pure functions of the event or state, never of the wall clock, so a replay
produces the same bytes (the SIGKILL test compares them).
"""

from __future__ import annotations

import json
from typing import Any

from floodwatch.alerts.labels import Labels, Text
from floodwatch.alerts.model import AlertType, Event
from floodwatch.alerts.state import StationState
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station

ALERTS_TOPIC = "floodwatch/alerts/{station}"
STATUS_TOPIC = "floodwatch/status/{station}"
CAP_TOPIC = "floodwatch/cap/{station}"  # the same event as CAP 1.2 XML


def _text(text: Text | None) -> dict[str, str] | None:
    return None if text is None else {"ja": text.ja, "en": text.en}


def shown_level(event: Event) -> int:
    """The level a cleared event speaks about is the one it clears."""
    return event.level or event.previous_level


def projection_text(event: Event, labels: Labels) -> dict[str, str] | None:
    if event.projection is None:
        return None
    target = labels.level(AlertType.RIVER_LEVEL, event.projection.level)
    template = labels.templates.projection
    return {lang: getattr(template, lang).format(level=getattr(target, lang),
                                                 minutes=event.projection.minutes)
            for lang in ("ja", "en")}


def headline(event: Event, station: Station, labels: Labels) -> dict[str, str]:
    kind = labels.types[event.alert_type]
    level = labels.level(event.alert_type, shown_level(event))
    transition = labels.transitions[event.transition]
    return {lang: getattr(labels.templates.headline, lang).format(
        station=getattr(station.name, lang), type=getattr(kind, lang),
        level=getattr(level, lang), transition=getattr(transition, lang))
        for lang in ("ja", "en")}


def event_document(event: Event, station: Station, labels: Labels) -> dict[str, Any]:
    level = labels.level(event.alert_type, shown_level(event))
    projection = None
    if event.projection is not None:
        projection = {
            "level": event.projection.level,
            "level_name": labels.level(AlertType.RIVER_LEVEL, event.projection.level).name,
            "minutes": event.projection.minutes,
            "rate_m_per_h": event.projection.rate_m_per_h,
            "text": projection_text(event, labels),
        }
    cause = event.cause.model_dump(mode="json", exclude_none=True)
    if event.cause.reading_ts is not None:
        cause["reading_ts"] = format_ts(event.cause.reading_ts)
    return {
        "event_id": event.event_id,
        "seq": event.seq,
        "station": event.station,
        "kind": station.kind.value,
        "alert_id": event.alert_id,
        "alert_type": event.alert_type.value,
        "transition": event.transition.value,
        "level": event.level,
        "previous_level": event.previous_level,
        "level_name": level.name,
        "label": {"ja": level.ja, "en": level.en},
        "official": _text(level.official),
        "alert_level": level.alert_level,
        "headline": headline(event, station, labels),
        "at": format_ts(event.at),
        "rule": event.rule,
        "detail": event.detail,
        "projection": projection,
        "cause": cause,
    }


def event_payload(event: Event, station: Station, labels: Labels) -> bytes:
    return _dumps(event_document(event, station, labels))


def status_payload(state: StationState, station: Station, labels: Labels) -> bytes:
    alerts = []
    for alert_type in AlertType:
        track = state.alerts.get(alert_type)
        if track is None:
            continue
        level = labels.level(alert_type, track.level)
        alerts.append({
            "alert_id": track.alert_id,
            "alert_type": alert_type.value,
            "level": track.level,
            "level_name": level.name,
            "label": {"ja": level.ja, "en": level.en},
            "official": _text(level.official),
            "alert_level": level.alert_level,
            "raised_at": format_ts(track.raised_at),
            "acknowledged": track.acknowledged,
        })
    return _dumps({
        "station": station.id,
        "kind": station.kind.value,
        "seq": state.seq,
        "offline": AlertType.OFFLINE in state.alerts,
        "flooding_declared": state.flooding_declared,
        "alerts": alerts,
    })


def _dumps(document: dict[str, Any]) -> bytes:
    return json.dumps(document, ensure_ascii=False, separators=(",", ":"),
                      allow_nan=False).encode()
