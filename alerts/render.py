"""The public JSON of alert events (``bus.AlertEventMessage`` on ``bus.ALERTS``) and of
the retained status (``bus.StatusMessage`` on ``bus.STATUS``), with labels from the rules
file.

Both are pure functions of the event or state, never of the wall clock, so a replay
produces the same bytes (the SIGKILL test compares them): an event's CAP fields (its
``sent`` is the time it was issued) are the event's own, decided once by the engine.
"""

from __future__ import annotations

import math
from datetime import datetime
from typing import Any

from floodwatch.alerts.labels import Labels, LevelLabel, Text
from floodwatch.alerts.model import AlertType, Event, NoDataEvent, Transition
from floodwatch.alerts.state import NoDataTrack, StationState
from floodwatch.core import bus
from floodwatch.core.readings import JST, format_ts
from floodwatch.core.registry import Station


def _text(text: Text | None) -> bus.LocalText | None:
    return None if text is None else bus.LocalText(ja=text.ja, en=text.en)


def _level_fields(level: LevelLabel) -> dict[str, Any]:
    """How an event and a status both name a level: the rules file's labels."""
    return {"level_name": level.name, "label": bus.LocalText(ja=level.ja, en=level.en),
            "official": _text(level.official), "alert_level": level.alert_level}


def shown_level(event: Event) -> int:
    """The level a cleared event speaks about is the one it clears."""
    return event.level or event.previous_level


def projection_text(event: Event, labels: Labels) -> bus.LocalText | None:
    if event.projection is None:
        return None
    target = labels.level(AlertType.RIVER_LEVEL, event.projection.level)
    template = labels.templates.projection
    minutes = event.projection.minutes
    return bus.LocalText(ja=template.ja.format(level=target.ja, minutes=minutes),
                         en=template.en.format(level=target.en, minutes=minutes))


def forecast_text(event: Event, station: Station, labels: Labels) -> bus.LocalText:
    """A forecast warning's sentence (alerts.forecast): expected to reach {level} at
    {time} (in {minutes} min); the level reached (the hand-over: never an all-clear); no
    longer expected.

    {minutes} counts from the event's own time, not the forecast's issue: a renewal (or
    any event repeating an older forecast's detail) must not say "in 96 min" of a
    crossing 96 minutes after a forecast issued hours ago. Once the expected time has
    passed with the warning still open (the gauge silent, the forecasts stopped),
    ``forecast_overdue`` says by when it was expected and by which forecast."""
    level = labels.level(event.alert_type, shown_level(event))
    # Its ordinary end is no all-clear: the word says the level is no longer expected.
    transition = labels.forecast_cleared if event.transition is Transition.CLEARED \
        else labels.transitions[event.transition]
    templates = labels.templates
    expected = _moment(event.detail.get("expected_at"))
    issued = _moment(event.detail.get("issued_at")) or event.at
    left = None if expected is None else math.floor(
        (expected - event.at).total_seconds() / 60 + 0.5)
    if event.handed_over:
        template = templates.forecast_reached
    elif event.transition is Transition.CLEARED:
        template = templates.forecast_ended
    elif left is not None and left <= 0:
        template = templates.forecast_overdue
    else:
        template = templates.forecast
    return bus.LocalText(**{lang: getattr(template, lang).format(
        station=getattr(station.name, lang), level=getattr(level, lang),
        time="-" if expected is None else f"{expected.astimezone(JST):%H:%M}",
        minutes="-" if left is None else str(left),
        issued=f"{issued.astimezone(JST):%H:%M}",
        transition=getattr(transition, lang)) for lang in ("ja", "en")})


def _moment(value: float | str | None) -> datetime | None:
    return datetime.fromisoformat(value) if isinstance(value, str) else None


def headline(event: Event, station: Station, labels: Labels) -> bus.LocalText:
    if event.alert_type is AlertType.FORECAST:
        return forecast_text(event, station, labels)
    kind = labels.types[event.alert_type]
    level = labels.level(event.alert_type, shown_level(event))
    transition = labels.transitions[event.transition]
    template = labels.templates.headline
    return bus.LocalText(
        ja=template.ja.format(station=station.name.ja, type=kind.ja, level=level.ja,
                              transition=transition.ja),
        en=template.en.format(station=station.name.en, type=kind.en, level=level.en,
                              transition=transition.en))


def event_message(event: Event, station: Station, labels: Labels,
                  cap: bus.CapFieldsMessage | None = None) -> bus.AlertEventMessage:
    """``cap``: the event's CAP fields (alerts.cap_profile); the engine always gives
    them, tests that look at the rest may not."""
    level = labels.level(event.alert_type, shown_level(event))
    projection = None
    if event.projection is not None:
        basis = event.projection.basis
        projection = bus.ProjectionMessage(
            level=event.projection.level,
            level_name=labels.level(AlertType.RIVER_LEVEL, event.projection.level).name,
            minutes=event.projection.minutes,
            rate_m_per_h=event.projection.rate_m_per_h,
            text=projection_text(event, labels),
            basis=bus.ProjectionBasisMessage(method=basis.method, readings=basis.readings,
                                             since=format_ts(basis.since),
                                             span_s=basis.span_s))
    cause = event.cause
    return bus.AlertEventMessage(
        event_id=event.event_id,
        seq=event.seq,
        station=event.station,
        kind=station.kind.value,
        alert_id=event.alert_id,
        alert_type=event.alert_type.value,
        transition=event.transition.value,
        level=event.level,
        previous_level=event.previous_level,
        **_level_fields(level),
        headline=headline(event, station, labels),
        at=format_ts(event.at),
        rule=event.rule,
        detail=event.detail,
        projection=projection,
        cause=bus.CauseMessage(
            kind=cause.kind, values=cause.values, command_id=cause.command_id,
            officer=cause.officer, note=cause.note,
            reading_ts=None if cause.reading_ts is None else format_ts(cause.reading_ts)),
        # The contract's meaning: whether residents' channels may carry it. An event
        # kept for staff by policy never may, however many forecasts agreed.
        confirmed=event.confirmed and not event.restricted,
        cap=cap,
    )


def event_payload(event: Event, station: Station, labels: Labels,
                  cap: bus.CapFieldsMessage | None = None) -> bytes:
    return bus.encode(event_message(event, station, labels, cap))


def status_payload(state: StationState, station: Station, labels: Labels,
                   no_data: tuple[str, NoDataTrack] | None = None) -> bytes:
    """``no_data``: (scope, alert) of the open no-data alert that found it silent."""
    alerts = []
    for alert_type in AlertType:
        track = state.alerts.get(alert_type)
        if track is None:
            continue
        level = labels.level(alert_type, track.level)
        alerts.append(bus.StatusAlert(
            alert_id=track.alert_id,
            alert_type=alert_type.value,
            level=track.level,
            **_level_fields(level),
            raised_at=format_ts(track.raised_at),
            level_since=None if track.level_since is None else format_ts(track.level_since),
            acknowledged=track.acknowledged,
            # Kept for staff by policy: residents are never told of it.
            confirmed=track.confirmed and not track.restricted,
            public=None if track.confirmed or track.restricted or track.confirmed_level <= 0
            else bus.StatusPublicLevel(level=track.confirmed_level, **_level_fields(
                labels.level(alert_type, track.confirmed_level))),
        ))
    return bus.encode(bus.StatusMessage(
        station=station.id,
        kind=station.kind.value,
        seq=state.seq,
        offline=AlertType.OFFLINE in state.alerts,
        flooding_declared=state.flooding_declared,
        alerts=alerts,
        no_data=None if no_data is None else bus.StatusNoData(
            alert_id=no_data[1].alert_id, scope=no_data[0],
            raised_at=format_ts(no_data[1].raised_at),
            last_reading=None if no_data[1].last_reading is None
            else format_ts(no_data[1].last_reading)),
    ))


def no_data_payload(event: NoDataEvent, labels: Labels) -> bytes:
    words = labels.no_data
    if event.scope.startswith("basin/"):
        basin = event.scope.removeprefix("basin/")
        scope = bus.LocalText(ja=words.basin.ja.format(basin=basin),
                              en=words.basin.en.format(basin=basin))
    else:  # every station of this engine
        scope = bus.LocalText(ja=words.all.ja, en=words.all.en)
    transition = labels.transitions[event.transition]
    headline = bus.LocalText(**{
        lang: getattr(words.headline, lang).format(
            scope=getattr(scope, lang), silent=event.silent, total=event.total,
            transition=getattr(transition, lang))
        for lang in ("ja", "en")})
    return bus.encode(bus.NoDataMessage(
        event_id=event.event_id, alert_id=event.alert_id, scope=event.scope,
        transition=event.transition.value, at=format_ts(event.at),
        stations=list(event.stations), silent=event.silent, total=event.total,
        last_reading=None if event.last_reading is None else format_ts(event.last_reading),
        headline=headline))
