"""The alert engine's Prometheus metrics (served on FLOODWATCH_METRICS_PORT when set).

Labels are alert types, transitions, the rules file's field names and fixed reasons only:
bounded cardinality.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

READINGS = Counter(
    "floodwatch_alerts_readings_total", "Bus readings evaluated, by outcome.", ["outcome"]
)
FORECASTS = Counter(
    "floodwatch_alerts_forecasts_total",
    "Forecasts received, by outcome: evaluated, undecodable, or why a gate ignored it "
    "(stale, ahead, flagged, mismatch, offline, data_quality, short_trend, duplicate, "
    "late, ...).",
    ["outcome"]
)
EVENTS = Counter(
    "floodwatch_alerts_events_total", "Alert events produced.", ["alert_type", "transition"]
)
COMMANDS = Counter(
    "floodwatch_alerts_commands_total", "Officers' commands, by outcome.", ["outcome"]
)
FLAGS = Counter(
    "floodwatch_alerts_flags_total", "Suspect values (data quality), by field and reason.",
    ["field", "reason"]
)
OPEN_ALERTS = Gauge(
    "floodwatch_alerts_open", "Open alerts, by type.", ["alert_type"]
)
HISTORY_BACKLOG = Gauge(
    "floodwatch_alerts_history_backlog",
    "Alert events and reading flags waiting to be written to InfluxDB (down or slow).",
)
COMMIT_SECONDS = Histogram(
    "floodwatch_alerts_commit_seconds",
    "Time to persist one batch of inputs to SQLite (before acknowledging it).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
EVALUATION_SECONDS = Histogram(
    "floodwatch_alerts_evaluation_seconds",
    "Time to evaluate one batch of bus messages (without persisting).",
    buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1),
)
