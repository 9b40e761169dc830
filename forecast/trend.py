"""The baseline: a gauge's own trend, carried forward.

The least-squares slope of the gauge's readings over the last hour, extended from the
newest level at every lead time. It is the forecast to beat (bench/forecast_skill.py)
and the one given when no fitted model can be used (docs/forecast.md).
"""

from __future__ import annotations

from collections.abc import Sequence

TREND_WINDOW_S = 3600.0


def slope_m_per_h(times: Sequence[float], levels: Sequence[float]) -> float | None:
    """The least-squares slope (m/h) of ``levels`` over ``times`` (epoch seconds);
    None with fewer than two readings or no spread in time."""
    count = len(times)
    if count < 2 or count != len(levels):
        return None
    # Plain sums: a handful of points, where numpy's call overhead is most of the cost.
    mean_t = sum(times) / count
    mean_h = sum(levels) / count
    sxx = sxy = 0.0
    for moment, level in zip(times, levels, strict=True):
        dt = moment - mean_t
        sxx += dt * dt
        sxy += dt * (level - mean_h)
    if sxx <= 0.0:
        return None
    return sxy / sxx * 3600.0


def trend_band_half_width(slope_m_h: float, lead_h: float) -> float:
    """Half the width of the trend forecast's band at ``lead_h`` hours ahead: 5 cm plus
    half the change the trend forecasts. The trend has no residuals of its own to learn a
    band from; this keeps its band honest about growing with lead and with the rate."""
    return 0.05 + 0.5 * abs(slope_m_h) * lead_h
