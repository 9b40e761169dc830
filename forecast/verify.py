"""``floodwatch forecast verify``: the stored forecasts scored against what happened.

The forecasts issued in [start, end] (InfluxDB measurement ``forecast``) against the
river readings stored beside them, screened by the same quality checks as the stage's
inputs (a spike is not what happened). Scored by forecast/scores.py, as the benchmark
scores simulated storms:

- per lead time: RMSE of the median over every gauge's forecasts, and Nash-Sutcliffe
  efficiency per gauge, averaged over the gauges where it is defined (one pooled NSE
  would credit the forecast with the differences between gauges' datums);
- per reference level (evacuation, danger): the crossings observed in [start, end], how
  many a forecast warning was running for (hit rate) and how early it was raised (mean
  lead), and the warnings raised, how many false (the gauge did not reach the level
  within the horizon and an hour of grace).
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from statistics import fmean

from rich.console import Console
from rich.table import Table

from floodwatch.core.influx import InfluxClient
from floodwatch.core.quality import FieldQuality
from floodwatch.core.registry import StationKind, StationRegistry
from floodwatch.core.settings import Settings
from floodwatch.forecast.model import LEADS_MIN
from floodwatch.forecast.scores import (
    DEFAULT_GRACE_MIN,
    DEFAULT_HORIZON_MIN,
    RECROSSING_S,
    Issued,
    Observed,
    WarningScore,
    nse,
    paired,
    rmse,
    score_warnings,
)
from floodwatch.forecast.screening import GaugeScreen, screened
from floodwatch.forecast.storage import StoredPoint, read_forecasts, read_river, time_ns

LEVELS = (("evacuation", 3), ("danger", 4))


@dataclass(frozen=True)
class LeadScore:
    lead_min: int
    pairs: int
    rmse_m: float
    nse: float  # the mean of the gauges' NSE (nan: none defined)


@dataclass(frozen=True)
class LevelScore:
    name: str
    crossings: int
    warned: int
    warnings: int
    false_warnings: int
    mean_lead_min: float  # nan: no crossing warned

    @property
    def hit_rate(self) -> float:
        return self.warned / self.crossings if self.crossings else math.nan

    @property
    def false_alarm_rate(self) -> float:
        return self.false_warnings / self.warnings if self.warnings else math.nan


@dataclass
class Report:
    start: datetime
    end: datetime
    band: str
    forecasts: int = 0
    gauges: int = 0
    leads: list[LeadScore] = field(default_factory=list)
    levels: list[LevelScore] = field(default_factory=list)


async def verify(settings: Settings, registry: StationRegistry,
                 rules: Mapping[str, Mapping[str, FieldQuality]], start: datetime, end: datetime,
                 *, band: str = "median") -> Report:
    after = timedelta(minutes=DEFAULT_HORIZON_MIN + DEFAULT_GRACE_MIN)
    async with InfluxClient.from_settings(settings) as influx:
        points = await read_forecasts(influx, time_ns(start), time_ns(end))
        stored = await read_river(influx, time_ns(start - timedelta(seconds=RECROSSING_S)),
                                  time_ns(end + after))
    observed = {}
    for station in registry:
        if station.kind is StationKind.RIVER and station.id in stored:
            accepted, _ = screened(stored[station.id],
                                   GaugeScreen(rules.get(station.id, {}), station.interval_s))
            observed[station.id] = [(o.at, o.level_m) for o in accepted]
    return score(registry, points, observed, start, end, band=band)


def score(registry: StationRegistry, points: Sequence[StoredPoint],
          observed: Mapping[str, Sequence[tuple[datetime, float]]], start: datetime,
          end: datetime, *, band: str = "median") -> Report:
    """The report of ``points`` against each gauge's ``observed`` (accepted) levels."""
    report = Report(start, end, band)
    medians = _issued(points, observed, "median")
    chosen = medians if band == "median" else _issued(points, observed, band)
    report.forecasts = sum(len(issued) for issued in medians.values())
    report.gauges = len(medians)
    for lead in LEADS_MIN:
        forecasts: list[float] = []
        actuals: list[float] = []
        efficiencies = []
        for station, issued in medians.items():
            f, a = paired(issued, Observed(observed[station]), lead)
            forecasts += f
            actuals += a
            efficiency = nse(f, a)
            if not math.isnan(efficiency):
                efficiencies.append(efficiency)
        report.leads.append(LeadScore(lead, len(forecasts), rmse(forecasts, actuals),
                                      fmean(efficiencies) if efficiencies else math.nan))
    for name, _ in LEVELS:
        total = WarningScore()
        for station, issued in chosen.items():
            info = registry.get(station)
            threshold = getattr(info.levels_m, name, None) if info is not None else None
            if threshold is None:
                continue
            readings = observed[station]
            total.warnings += (whole := score_warnings(issued, Observed(readings), threshold)
                               ).warnings
            total.false_warnings += whole.false_warnings
            # Crossings are counted in [start, end] only: none later can have been warned
            # by a forecast of the period, none earlier belongs to it.
            within = Observed([r for r in readings if r[0] <= end])
            leads = [lead for moment, lead in zip(within.crossings(threshold), score_warnings(
                issued, within, threshold).crossing_leads_min, strict=True)
                if moment >= start.timestamp()]
            total.crossing_leads_min += leads
        warned = [lead for lead in total.crossing_leads_min if lead is not None]
        report.levels.append(LevelScore(name, len(total.crossing_leads_min), len(warned),
                                        total.warnings, total.false_warnings,
                                        fmean(warned) if warned else math.nan))
    return report


def _issued(points: Sequence[StoredPoint],
            observed: Mapping[str, Sequence[tuple[datetime, float]]], band: str
            ) -> dict[str, list[Issued]]:
    """Each gauge's forecasts, with the level they were issued on (the accepted reading
    at the issue time: the forecast stage issues only on one)."""
    grouped: dict[str, dict[datetime, dict[int, StoredPoint]]] = defaultdict(
        lambda: defaultdict(dict))
    for point in points:
        grouped[point.station][point.issued_at][point.lead_min] = point
    issued: dict[str, list[Issued]] = {}
    for station, forecasts in grouped.items():
        levels = dict(observed.get(station, ()))
        made = []
        for issued_at, by_lead in sorted(forecasts.items()):
            level = levels.get(issued_at)
            if level is None:
                continue
            leads = sorted(by_lead)
            made.append(Issued(issued_at, level, leads,
                               [by_lead[lead].level_m if band == "median"
                                else by_lead[lead].low_m for lead in leads]))
        if made:
            issued[station] = made
    return issued


def print_report(report: Report, console: Console | None = None) -> None:
    console = console or Console()
    console.print(f"Forecasts issued {report.start.isoformat()} to {report.end.isoformat()}: "
                  f"{report.forecasts} forecasts of {report.gauges} "
                  f"gauge{'' if report.gauges == 1 else 's'}")
    leads = Table(title="Level forecast skill by lead time (median)")
    for column in ("lead (min)", "pairs", "RMSE (m)", "NSE (mean of gauges)"):
        leads.add_column(column, justify="right")
    for row in report.leads:
        leads.add_row(str(row.lead_min), str(row.pairs), _number(row.rmse_m, 3),
                      _number(row.nse, 2))
    console.print(leads)
    levels = Table(title=f"Forecast warnings ({report.band}, {DEFAULT_HORIZON_MIN} min "
                         "horizon)")
    for column in ("level", "crossings", "warned", "hit rate", "warnings", "false",
                   "false-alarm rate", "mean lead (min)"):
        levels.add_column(column, justify="right")
    for level in report.levels:
        levels.add_row(level.name, str(level.crossings), str(level.warned),
                       _number(level.hit_rate, 2), str(level.warnings),
                       str(level.false_warnings), _number(level.false_alarm_rate, 2),
                       _number(level.mean_lead_min, 0))
    console.print(levels)


def _number(value: float, decimals: int) -> str:
    return "-" if math.isnan(value) else f"{value:.{decimals}f}"
