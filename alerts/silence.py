"""Silence: a gauge that stops reporting, and data that stops arriving at all.

Both look the same to one gauge's timer, but they are different news for officers:

- A gauge silent while its neighbours report is **offline**: one alert for that gauge,
  due ``factor x interval_s`` after it was last heard from. Decided on reading time only
  (the watermark, the newest reading of any station), so a replay or a broker's backlog
  finds exactly the gauges that were silent live, at the same moments.
- Most of a basin's stations, or most of all of them, silent at once is **no data**: the
  pipeline stopped (ingest, the broker, a network or a power failure), not thirteen
  gauges. One alert for officers, and no offline alert for the gauges it covers. For
  this count a station is silent once it has missed one report (1.5 x its interval),
  well before its own alert is due: gauges that report at different minutes fall
  silent at different minutes, and the first one due must already find the others
  quiet, or each would be blamed on its own.

Wall time enters only as the time elapsed since the last reading arrived: the live tick
looks at watermark + elapsed, never at the wall clock itself, which may be minutes ahead
of the readings (a backlog, a device buffering, a simulator's past timestamps). Time
with no reading arriving at all can never make one gauge offline: a dead gauge and a
dead pipeline cannot be told apart then, and the answer is no data.

When readings resume after a no-data alert with a gap -- the first one back is newer
than the alert's last reading by more than a missed report, so what came between was
lost -- the stations it covered count as heard at that reading: their silence was the
pipeline's. A broker's backlog resumes where the outage began (no gap), so a gauge that
really was silent through it is still found at its own due time.

A station already offline on its own counts in no scope: one dead gauge does not make
the rest of its basin "most". A saved alert of a scope that no longer exists (a basin
renamed, a partition changed) is cleared at the first look.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from floodwatch.alerts.machine import Step
from floodwatch.alerts.model import AlertType, Cause, Event, NoDataEvent, Transition
from floodwatch.alerts.rules import AlertRules
from floodwatch.alerts.state import NoDataState, NoDataTrack, StationState
from floodwatch.core.readings import format_ts
from floodwatch.core.registry import Station, StationRegistry

ALL = "all"
MISSED_REPORTS = 1.5  # intervals without a report before a station counts as silent


def basin_scope(basin: str) -> str:
    return f"basin/{basin}"


def partition_scope(basins: str) -> str:
    """The scope of all the stations of an engine that evaluates only ``basins``
    (FLOODWATCH_ALERTS_BASINS): named by them, so partitions never share a scope."""
    return "basins/" + ",".join(sorted(basins.split(",")))


@dataclass
class Swept:
    """What one look at the silence decided."""

    events: list[Event] = field(default_factory=list)
    states: list[StationState] = field(default_factory=list)
    no_data_events: list[NoDataEvent] = field(default_factory=list)
    no_data_changed: bool = False


@dataclass(frozen=True)
class Census:
    live: set[str]  # not offline on their own
    silent: set[str]  # of those, the ones that missed a report


class Silence:
    """Offline gauges and no-data scopes, from the stations' states and the clock."""

    def __init__(self, registry: StationRegistry, rules: AlertRules,
                 no_data: NoDataState, everything: str = ALL) -> None:
        self.registry = registry
        self.everything = everything  # the name of the scope of all this engine's stations
        self.no_data = no_data
        self._rule = rules.no_data
        self._expiry = rules.cap.expires
        self._silence = {s.id: timedelta(seconds=rules.offline(s.id).factor * s.interval_s)
                         for s in registry}
        self._interval = {s.id: timedelta(seconds=s.interval_s) for s in registry}
        # A station counts as silent for the scopes once it has missed one report, long
        # before its own offline alert is due: gauges of a basin whose link failed fall
        # silent at different minutes, and the first one due must already find the others
        # quiet, or each would be blamed on its own.
        self._missed = {s.id: min(self._interval[s.id] * MISSED_REPORTS,
                                  self._silence[s.id]) for s in registry}
        members: dict[str, list[str]] = defaultdict(list)
        for station in registry:
            members[basin_scope(station.basin)].append(station.id)
        self._members: dict[str, tuple[str, ...]] = {
            everything: tuple(s.id for s in registry),
            **{k: tuple(v) for k, v in members.items()}}
        # Earliest moment a station can fall silent: with no no-data alert open, nothing
        # can change before it, so the sweep over every station is skipped until then.
        self._next_due: datetime | None = None

    def covering(self, station_id: str) -> tuple[str, NoDataTrack] | None:
        """The open no-data alert that found ``station_id`` silent, with its scope."""
        for scope, track in sorted(self.no_data.open.items()):
            if station_id in track.stations:
                return scope, track
        return None

    def forget_schedule(self) -> None:
        self._next_due = None

    def resume(self, station_id: str, reading_ts: datetime,
               states: dict[str, StationState]) -> list[StationState]:
        """A reading arrived from a station a no-data alert found silent: the flow is
        back. If readings were lost in between (the first one back is newer than the
        alert's last reading by more than a missed report), the scope's stations count
        as heard now (see the module's rules)."""
        changed = []
        for scope, track in self.no_data.open.items():
            if station_id not in track.stations:
                continue  # a station that kept reporting tells nothing of the others
            for member in self._members.get(scope, ()):
                state = states[member]
                lost = track.last_reading is None \
                    or reading_ts - track.last_reading > self._missed[member]
                if not lost or AlertType.OFFLINE in state.alerts or \
                        (state.heard_at is not None and state.heard_at >= reading_ts):
                    continue
                heard = reading_ts
                state = state.model_copy(update={"heard_at": heard})
                states[member] = state
                changed.append(state)
        return changed

    def sweep(self, states: dict[str, StationState], *, origin: datetime,
              watermark: datetime, now: datetime, exclude: str | None,
              issued: datetime | None = None) -> Swept:
        """``now`` is the watermark plus the wall time since the last reading arrived
        (the watermark itself when a reading is being evaluated, ``exclude`` its
        station); ``issued``: the wall clock, for the offline events' ``sent``
        (alerts.machine.Step). Only a reading can clear a no-data alert: a tick after a restart
        knows nothing of the time the engine was down, and data flowing again is the
        only evidence that the outage is over."""
        if not self.no_data.open and self._next_due is not None and now < self._next_due:
            return Swept()
        live: set[str] = set()
        silent: set[str] = set()  # missed a report, by `now`
        overdue: list[tuple[Station, datetime]] = []  # due while readings move on
        next_due: datetime | None = None
        for station in self.registry:
            state = states[station.id]
            if AlertType.OFFLINE in state.alerts:
                continue
            live.add(station.id)
            heard = state.heard_at or origin
            missed, due = heard + self._missed[station.id], heard + self._silence[station.id]
            # The station just heard is scheduled too: its next silence may come first.
            if station.id == exclude or now < missed:
                next_due = missed if next_due is None else min(next_due, missed)
                continue
            silent.add(station.id)
            if watermark >= due:
                overdue.append((station, due))
            else:
                next_due = due if next_due is None else min(next_due, due)
        # None (every station offline) means: sweep again on the next input.
        self._next_due = next_due
        swept = Swept()
        wanted = self._scopes(live, silent)
        if exclude is None:  # a tick: keep what is open, cleared or not by this look
            wanted = {**{scope: track.stations for scope, track in self.no_data.open.items()
                         if scope in self._members}, **wanted}
        self._update_no_data(wanted, Census(live, silent), now, watermark, swept)
        covered = {member for scope in wanted for member in self._members[scope]}
        for station, due in overdue:
            if station.id not in covered:
                self._offline(station, states, due, swept, issued)
        return swept

    def _scopes(self, live: set[str], silent: set[str]) -> dict[str, tuple[str, ...]]:
        """The scopes that are mostly silent, each with its silent stations: all
        stations, or else each basin with enough stations of its own."""
        more_than = self._rule.more_than
        if live and len(silent) / len(live) > more_than:
            return {self.everything: tuple(sorted(silent))}
        wanted = {}
        for scope, members in self._members.items():
            if scope == self.everything:
                continue
            reporting = [m for m in members if m in live]
            quiet = tuple(m for m in reporting if m in silent)
            if len(reporting) >= self._rule.basin_min_stations \
                    and len(quiet) / len(reporting) > more_than:
                wanted[scope] = quiet
        return wanted

    def _update_no_data(self, wanted: dict[str, tuple[str, ...]], census: Census,
                        now: datetime, watermark: datetime, swept: Swept) -> None:
        state = self.no_data
        opened = dict(state.open)
        seq = state.seq
        changed = False
        for scope in sorted(set(opened) | set(wanted)):
            track = opened.get(scope)
            if track is not None and scope in wanted:
                # Still silent, perhaps wider: a station that fell silent a moment after
                # the raise (its last reading came late) is covered too -- no new event,
                # but its status must say so, and it is not blamed on its own.
                wider = tuple(sorted(set(track.stations) | set(wanted[scope])))
                if wider != track.stations:
                    opened[scope] = track.model_copy(update={"stations": wider})
                    changed = True
                continue
            if track is None and scope not in wanted:
                continue
            seq += 1
            reporting = [m for m in self._members.get(scope, ()) if m in census.live]
            quiet = [m for m in reporting if m in census.silent]
            if track is None:
                event = NoDataEvent(scope=scope, seq=seq, alert_id=f"no_data:{scope}/{seq}",
                                    transition=Transition.RAISED, at=now,
                                    stations=wanted[scope], silent=len(quiet),
                                    total=len(reporting), last_reading=watermark)
                opened[scope] = NoDataTrack(alert_id=event.alert_id, raised_at=now,
                                            stations=wanted[scope], last_reading=watermark)
            else:
                # A clear is never stamped before its raise, though the readings that
                # ended it may be older than the moment the silence was noticed.
                event = NoDataEvent(scope=scope, seq=seq, alert_id=track.alert_id,
                                    transition=Transition.CLEARED,
                                    at=max(now, track.raised_at), stations=track.stations,
                                    silent=len(quiet), total=len(reporting),
                                    last_reading=watermark)
                del opened[scope]
            swept.no_data_events.append(event)
        if swept.no_data_events or changed:
            self.no_data = NoDataState(seq=seq, open=opened)
            swept.no_data_changed = True

    def _offline(self, station: Station, states: dict[str, StationState], due: datetime,
                 swept: Swept, issued: datetime | None) -> None:
        state = states[station.id]
        step = Step(state, issued, self._expiry)
        step.move(AlertType.OFFLINE, 1, at=due, cause=Cause(kind="clock"),
                  rule=AlertType.OFFLINE.value,
                  detail={"silent_s": self._silence[station.id].total_seconds(),
                          "interval_s": station.interval_s,
                          "last_reading": None if state.last_ts is None
                          else format_ts(state.last_ts)})
        states[station.id] = step.state
        swept.events.extend(step.events)
        swept.states.append(step.state)
