"""The scores on hand-made series: RMSE, Nash-Sutcliffe, warning hits, leads and false
warnings (the rules in forecast/scores.py)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from floodwatch.core.crossings import crossing_minutes
from floodwatch.forecast.scores import Issued, Observed, nse, paired, rmse, score_warnings

START = datetime(2026, 10, 12, tzinfo=UTC)
LEADS = (60, 120, 180)


def at(minutes: int) -> datetime:
    return START + timedelta(minutes=minutes)


def test_rmse_and_nse() -> None:
    assert rmse([1.0, 2.0, 3.0], [1.0, 2.0, 5.0]) == pytest.approx(math.sqrt(4 / 3))
    assert nse([1.0, 2.0, 3.0], [1.0, 2.0, 3.0]) == 1.0
    assert nse([2.0, 2.0, 2.0], [1.0, 2.0, 3.0]) == pytest.approx(0.0)  # the mean
    assert math.isnan(rmse([], []))


def test_paired_reads_the_observed_level_at_issue_plus_lead() -> None:
    observed = Observed([(at(m), m / 60) for m in range(0, 300, 10)])
    issued = [Issued(at(0), 0.0, LEADS, [0.5, 2.0, 3.0]),
              Issued(at(250), 250 / 60, LEADS, [9.0, 9.0, 9.0])]  # no reading 1 h later
    forecasts, actuals = paired(issued, observed, 60)
    assert forecasts == [0.5]
    assert actuals == [pytest.approx(1.0)]


def test_crossing_minutes_interpolates_between_leads() -> None:
    assert crossing_minutes(1.0, LEADS, [1.5, 2.5, 3.0], 2.0) == 90
    assert crossing_minutes(1.0, LEADS, [1.5, 1.8, 1.9], 2.0) is None
    assert crossing_minutes(2.5, LEADS, [3.0, 3.0, 3.0], 2.0) is None  # already above


def rising_river() -> Observed:
    # 1 m at 0 min, up 0.5 m/h: 3 m (the threshold below) at 240 min.
    return Observed([(at(m), 1.0 + m / 120) for m in range(0, 360, 10)])


def test_a_warning_held_before_the_crossing_gives_its_lead() -> None:
    observed = rising_river()
    # Forecasts from 90 min on see the crossing within 3 h; one at 130 min misses it,
    # but the warning is held (30 min) so it is the same warning.
    issued = []
    for minutes in range(0, 240, 10):
        level = 1.0 + minutes / 120
        crossing = minutes >= 90 and minutes != 130
        issued.append(Issued(at(minutes), level, LEADS,
                             [level + 0.5, level + 1.0, 3.5 if crossing else level + 0.1]))
    score = score_warnings(issued, observed, 3.0)
    assert score.crossing_leads_min == [240 - 90]
    assert (score.warnings, score.false_warnings) == (1, 0)


def test_a_warning_for_a_level_never_reached_is_false_and_a_crossing_unwarned() -> None:
    observed = rising_river()
    issued = [Issued(at(0), 1.0, LEADS, [1.1, 1.2, 4.5])]  # 4.5 m: never reached
    issued += [Issued(at(m), 1.0 + m / 120, LEADS, [1.0] * 3) for m in range(10, 240, 10)]
    score = score_warnings(issued, observed, 4.0)
    assert (score.warnings, score.false_warnings) == (1, 1)
    assert score_warnings(issued, observed, 3.0).crossing_leads_min == [None]


def test_noise_around_a_threshold_is_one_crossing() -> None:
    levels = [2.9, 3.01, 2.99, 3.02, 2.98, 3.1]
    observed = Observed([(at(10 * i), level) for i, level in enumerate(levels)])
    assert len(observed.crossings(3.0)) == 1
