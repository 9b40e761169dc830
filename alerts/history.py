"""Alert history in InfluxDB: measurement ``alert_event``, one point per event.

Tags (only registry values and rule names, never free text): the station's registry
tags (``station``, ``basin``, ``river`` or ``route``), ``kind``, ``alert_type``,
``transition``, ``level_name`` and ``rule``. Fields: ``event_id``, ``alert_id``
(strings), ``seq``, ``level``, ``previous_level`` (integers), ``confirmed`` (boolean:
false when residents' channels must not carry the event), ``payload`` (the event's
JSON, which may hold an officer's note), ``cap_xml`` (the event as CAP 1.2 XML, which the
API serves and lists in its public Atom feed) and, when known, ``value``, ``threshold``,
``rate_m_per_h`` (floats) and ``projection_minutes`` (integer). The timestamp is the
event time plus ``seq`` nanoseconds, so two events of one station at the same instant
never overwrite each other.

The engine's no-data alerts (alerts.silence) go to measurement ``no_data_event``: tags
``scope`` and ``transition``; fields ``event_id``, ``alert_id``, ``silent``, ``total`` and
``payload`` (the event's JSON); the time is the event time plus ``seq`` nanoseconds.

Each suspect reading (alerts.quality) is stored too, as measurement ``reading_flag`` at
the reading's own time: tags are the station's registry tags, ``kind``, ``field`` and
``reason``; fields ``value`` (float), ``alert_id`` (the data-quality alert it belongs to)
and, on the reading that raised that alert, ``event_id``. Ingest stored the value itself
in the station's measurement; this point says it was not believed, and why.

Lines are queued in SQLite with the event itself and written by ``history_writer``; while
InfluxDB is down they wait there and the engine carries on.
"""

from __future__ import annotations

from floodwatch.alerts import metrics
from floodwatch.alerts.labels import Labels
from floodwatch.alerts.model import Event, NoDataEvent
from floodwatch.alerts.quality import FlaggedReading
from floodwatch.alerts.render import shown_level
from floodwatch.alerts.store import AlertStore
from floodwatch.core.influx import InfluxClient
from floodwatch.core.line_queue import QueuedLineWriter
from floodwatch.core.lineprotocol import event_time_ns, format_point
from floodwatch.core.registry import Station

MEASUREMENT = "alert_event"
NO_DATA_MEASUREMENT = "no_data_event"
FLAG_MEASUREMENT = "reading_flag"
VALUE_KEYS = ("level_m", "water_depth_cm", "surface_temp_c", "value")
THRESHOLD_KEYS = ("threshold_m", "threshold_cm", "threshold_c", "threshold_m_per_h")


def history_line(event: Event, station: Station, labels: Labels, payload: bytes,
                 cap_xml: bytes | None = None) -> str:
    tags = dict(station.tags)
    tags.update(kind=station.kind.value, alert_type=event.alert_type.value,
                transition=event.transition.value, rule=event.rule,
                level_name=labels.level(event.alert_type, shown_level(event)).name)
    fields: dict[str, float | str | int | bool] = {
        "event_id": event.event_id, "alert_id": event.alert_id, "seq": event.seq,
        "level": event.level, "previous_level": event.previous_level,
        "confirmed": event.confirmed and not event.restricted, "payload": one_line_json(payload),
    }
    if cap_xml is not None:
        fields["cap_xml"] = one_line_xml(cap_xml)
    for name, keys in (("value", VALUE_KEYS), ("threshold", THRESHOLD_KEYS)):
        found = next((event.detail[k] for k in keys
                      if isinstance(event.detail.get(k), float)), None)
        if isinstance(found, float):
            fields[name] = found
    rate = event.detail.get("rate_m_per_h")
    if isinstance(rate, float):
        fields["rate_m_per_h"] = rate
    if event.projection is not None:
        fields["projection_minutes"] = event.projection.minutes
    return format_point(MEASUREMENT, tags, fields, _event_ns(event))


def no_data_history_line(event: NoDataEvent, payload: bytes) -> str:
    return format_point(
        NO_DATA_MEASUREMENT, {"scope": event.scope, "transition": event.transition.value},
        {"event_id": event.event_id, "alert_id": event.alert_id, "silent": event.silent,
         "total": event.total, "payload": one_line_json(payload)},
        event_time_ns(event.at, event.seq))


def flag_line(flagged: FlaggedReading, station: Station) -> str:
    flag = flagged.flag
    tags = dict(station.tags)
    tags.update(kind=station.kind.value, field=flag.field, reason=flag.reason.value)
    fields: dict[str, float | str | int] = {"value": flag.value, "alert_id": flagged.alert_id}
    if flagged.event_id is not None:
        fields["event_id"] = flagged.event_id
    return format_point(FLAG_MEASUREMENT, tags, fields, event_time_ns(flagged.at, 0))


# Line protocol refuses C0 control characters, and a record must never be lost for one
# (commands are validated, core.text, but a history line must not depend on every
# producer being right). In XML content a character reference is the same character
# once parsed, and in a JSON string so is a \u escape (JSON has control characters
# nowhere else): the stored documents mean exactly what was published.
_CONTROL_CODES = [*range(0x20), *range(0x7f, 0xa0)]
_XML_CONTROL_REFERENCES = str.maketrans({code: f"&#{code};" for code in _CONTROL_CODES})
_JSON_CONTROL_ESCAPES = str.maketrans({code: f"\\u{code:04x}" for code in _CONTROL_CODES})


def one_line_json(payload: bytes) -> str:
    return payload.decode().translate(_JSON_CONTROL_ESCAPES)


def one_line_xml(document: bytes) -> str:
    text = document.decode()
    if text.startswith("<?xml"):
        # References are not allowed outside the root element: drop the declaration's
        # line break instead (insignificant whitespace there).
        declaration, _, rest = text.partition("?>")
        text = f"{declaration}?>{rest.lstrip()}"
    return text.translate(_XML_CONTROL_REFERENCES)


def _event_ns(event: Event) -> int:
    return event_time_ns(event.at, event.seq)


class HistoryQueue:
    """The store's history lines, as the queue the writer drains."""

    def __init__(self, store: AlertStore) -> None:
        self.batch = store.history_batch
        self.written = store.history_written
        self.backlog = store.history_backlog


def history_writer(store: AlertStore, influx: InfluxClient) -> QueuedLineWriter:
    """Alert history into InfluxDB; the engine never waits for it."""
    return QueuedLineWriter(HistoryQueue(store), influx, what="alert history",
                            on_backlog=metrics.HISTORY_BACKLOG.set)
