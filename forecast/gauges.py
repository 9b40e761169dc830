"""What the forecast stage knows of every river gauge, and which forecasts a reading issues.

Each reading goes through the alert engine's quality checks (forecast.screening): a
reading whose level is flagged never enters a gauge's history, so it is never an input,
and while a gauge's newest level is flagged no forecast of it is issued (it would start
from an older level than the gauge now shows). A flagged rain value is left out (the
reading enters with no rain) and the level still issues its forecasts. An accepted
reading issues the gauge's forecast and re-issues its downstream gauge's, whose upstream
input it is -- when that forecast changed (the downstream gauge's newest reading may be
newer than the upstream one, which its forecast then cannot see yet).

Pure and synchronous: the processor feeds it the bus; tests feed it directly.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import structlog

from floodwatch.core.quality import FieldQuality, Flag
from floodwatch.core.readings import Reading
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.forecast import metrics
from floodwatch.forecast.forecaster import Forecast, Forecaster
from floodwatch.forecast.history import GaugeHistory
from floodwatch.forecast.screening import LEVEL, RAIN, GaugeScreen, RawReading, screened

log = structlog.get_logger("forecast")


@dataclass
class Outcome:
    """What one reading did: the forecasts to issue, or why it issued none."""

    forecasts: list[Forecast] = field(default_factory=list)
    ignored: str | None = None  # "repeated", "not_river", "no_level", "flagged", ...
    flag: Flag | None = None  # the level's
    rain_flag: Flag | None = None  # left out of the history; the level still counts


class Gauges:
    """Every river gauge's screened history, quality memory and newest forecast.

    ``seen``: each gauge's newest reading taken (epoch seconds); a reading at or before
    it is a repeat (redelivered) or out of order, and issues nothing."""

    def __init__(self, registry: StationRegistry,
                 rules: Mapping[str, Mapping[str, FieldQuality]], forecaster: Forecaster,
                 seen: Mapping[str, float] | None = None) -> None:
        self.registry = registry
        self.forecaster = forecaster
        self.seen: dict[str, float] = dict(seen or {})
        self.histories: dict[str, GaugeHistory] = {}
        self._screens = {station.id: GaugeScreen(rules.get(station.id, {}),
                                                 station.interval_s)
                         for station in registry if station.kind is StationKind.RIVER}
        self._downstream = {station.id: station.downstream for station in registry
                            if station.kind is StationKind.RIVER}
        self._last: dict[str, Forecast] = {}

    def warm(self, station: str, readings: Iterable[RawReading]) -> int:
        """Fill ``station``'s history with its stored readings (oldest first), screened
        as live ones are; returns how many values (levels and rain) were flagged."""
        accepted, flagged = screened(readings, self._screens[station])
        history = self._history(station)
        for observation in accepted:
            history.add(observation)
        return flagged.levels + flagged.rain

    def on_reading(self, reading: Reading) -> Outcome:
        station = reading.station
        screen = self._screens.get(station)
        if screen is None:
            return Outcome(ignored="not_river")
        level = reading.values.get(LEVEL)
        if not isinstance(level, float):
            return Outcome(ignored="no_level")
        moment = reading.ts.timestamp()
        if moment <= self.seen.get(station, float("-inf")):
            return Outcome(ignored="repeated")
        self.seen[station] = moment
        rain = reading.values.get(RAIN)
        result = screen.check(reading.ts, level, rain if isinstance(rain, float) else None)
        if result.rain_flag is not None:
            metrics.FLAGGED.labels(RAIN, result.rain_flag.reason.value).inc()
            log.info("flagged rain kept out of the forecasts; the level still counts",
                     station=station, ts=str(reading.ts), rain_mm=rain,
                     reason=result.rain_flag.reason.value)
        if result.observation is None:
            flag = result.level_flag
            assert flag is not None
            metrics.FLAGGED.labels(LEVEL, flag.reason.value).inc()
            log.info("flagged reading kept out of the forecasts; no forecast issued on it",
                     station=station, ts=str(reading.ts), level_m=level,
                     reason=flag.reason.value)
            return Outcome(ignored="flagged", flag=flag, rain_flag=result.rain_flag)
        if not self._history(station).add(result.observation):
            return Outcome(ignored="out_of_order")  # older than a reading warmed at start
        outcome = Outcome(rain_flag=result.rain_flag)
        self._issue(station, outcome, always=True)
        downstream = self._downstream[station]
        if downstream is not None:
            self._issue(downstream, outcome, always=False)
        return outcome

    def _issue(self, station: str, outcome: Outcome, *, always: bool) -> None:
        history = self.histories.get(station)
        if history is None or history.newest is None:
            return
        if self._screens[station].newest_flagged:
            metrics.WITHHELD.inc()
            log.info("forecast withheld: the gauge's newest reading was flagged",
                     station=station)
            return
        started = time.perf_counter()
        forecast = self.forecaster.forecast(station, self.histories)
        metrics.COMPUTE_SECONDS.observe(time.perf_counter() - started)
        if not always and self._last.get(station) == forecast:
            return
        self._last[station] = forecast
        outcome.forecasts.append(forecast)

    def _history(self, station: str) -> GaugeHistory:
        history = self.histories.get(station)
        if history is None:
            history = self.histories[station] = GaugeHistory()
        return history
