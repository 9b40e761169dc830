"""The forecast stage's Prometheus metrics (served on FLOODWATCH_METRICS_PORT when set).

Labels are fixed outcomes, methods, checked fields and quality reasons and the forecaster's fallback
reasons (a short fixed list, docs/forecast.md): bounded cardinality.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

READINGS = Counter(
    "floodwatch_forecast_readings_total",
    "Bus readings of river gauges, by outcome (forecast, flagged, repeated, ...).",
    ["outcome"],
)
ISSUED = Counter(
    "floodwatch_forecast_issued_total", "Forecasts issued, by method (model, trend).",
    ["method"],
)
FALLBACKS = Counter(
    "floodwatch_forecast_fallbacks_total",
    "Forecasts that fell back to the gauge's own trend, by reason.", ["reason"],
)
FLAGGED = Counter(
    "floodwatch_forecast_flagged_inputs_total",
    "Values the quality checks flagged and kept out of the forecasts, by field (level_m: "
    "the whole reading; rain_mm: its rain only) and reason.",
    ["field", "reason"],
)
WITHHELD = Counter(
    "floodwatch_forecast_withheld_total",
    "Forecasts not issued because the gauge's newest reading was flagged.",
)
COMPUTE_SECONDS = Histogram(
    "floodwatch_forecast_compute_seconds", "Time to compute one gauge's forecast.",
    buckets=(0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05),
)
BACKLOG = Gauge(
    "floodwatch_forecast_influx_backlog",
    "Forecast points waiting to be written to InfluxDB (down or slow).",
)
FITTED_AT = Gauge(
    "floodwatch_forecast_fitted_timestamp_seconds",
    "When the models in use were fitted (0: none, every forecast is the trend).",
)
REFITS = Counter(
    "floodwatch_forecast_refits_total",
    "Model refits, by outcome (fitted; kept: the new models were worse, the old stay; failed).",
    ["outcome"],
)
