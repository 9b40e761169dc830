"""The delivery stage's Prometheus metrics. Labels are channel names and fixed states."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

DELIVERIES = Counter("floodwatch_notify_deliveries_total",
                     "Delivery state changes, by channel and state.", ["channel", "state"])
UNKNOWN = Counter("floodwatch_notify_unknown_total",
                  "Deliveries whose outcome is unknown after a crash: an officer must check "
                  "the channel (never re-posted automatically).", ["channel"])
BACKLOG = Gauge("floodwatch_notify_backlog", "Deliveries not yet sent, by channel.", ["channel"])
STATUS_BACKLOG = Gauge("floodwatch_notify_status_backlog",
                       "Delivery status points waiting for InfluxDB.")
CHANNEL_PROBLEMS = Gauge("floodwatch_notify_channel_problems",
                         "Configuration problems found at start (channel disabled).")
RATE_LIMITED = Gauge("floodwatch_notify_rate_limited_until",
                     "Epoch seconds until which the platform asked us to wait.", ["channel"])
