"""The rate-of-rise window stays small whatever a device's rate, and keeps the rate."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from floodwatch.alerts.river import WINDOW_POINTS, rate_m_per_h, rate_window
from floodwatch.alerts.rules import RateRule

RULE = RateRule(threshold_m_per_h=0.5, deadband_m_per_h=0.1, window_s=3600, min_span_s=1200,
                hold_s=1800, projection_horizon_s=21600)
START = datetime(2026, 10, 12, tzinfo=UTC)


def test_a_gauge_reporting_every_second_keeps_a_bounded_window() -> None:
    window: tuple[tuple[datetime, float], ...] = ()
    for second in range(3 * 3600):
        window = rate_window(window, START + timedelta(seconds=second), second / 3600, RULE)
    # Any two consecutive gaps together span at least window/WINDOW_POINTS.
    assert len(window) <= 2 * WINDOW_POINTS + 2
    # A steady 1 m/h rise is still measured as 1 m/h, over very nearly the whole window.
    rate = rate_m_per_h(window, RULE)
    assert rate is not None
    assert abs(rate - 1.0) < 1e-9
    assert (window[-1][0] - window[0][0]).total_seconds() > 3600 - 3600 / WINDOW_POINTS - 1


@given(st.lists(st.floats(min_value=1, max_value=900), min_size=2, max_size=300))
def test_the_oldest_point_is_never_older_than_the_window(gaps: list[float]) -> None:
    window: tuple[tuple[datetime, float], ...] = ()
    at = START
    for index, gap in enumerate(gaps):
        at += timedelta(seconds=gap)
        window = rate_window(window, at, float(index), RULE)
        assert window[-1] == (at, float(index))  # the newest reading is always the last
        assert (at - window[0][0]).total_seconds() <= RULE.window_s
        assert list(window) == sorted(window)
