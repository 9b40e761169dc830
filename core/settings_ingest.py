"""Settings of ingest: the station registry, the MQTT session, batching, which readings
are accepted, and the disk spool.

A section of its own because it configures one stage, and its numbers are tuned
together (batch size and pause, receive maximum, spool bound) against InfluxDB's write
rate. The station registry's path leads it: every stage loads the registry, but ingest
is where readings are first checked against it, and the settings reference lists it
here. A mixin of ``floodwatch.core.settings.Settings``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from floodwatch.core.settings_section import SettingsSection


class IngestSettings(SettingsSection):
    """The station registry and ingest: from device messages to InfluxDB batches."""

    # --- station registry ---
    stations: Path = Field(
        default=Path("config/stations.yaml"), description="Path of the station registry YAML."
    )

    # --- ingest ---
    ingest_client_id: str = Field(
        default="floodwatch-ingest",
        min_length=1,
        max_length=64,
        description="Fixed MQTT client id of the ingest session; unique per ingest process.",
    )
    ingest_share_group: str | None = Field(
        default=None,
        pattern=r"^[A-Za-z0-9_-]{1,64}$",
        description="Shared-subscription group: ingest processes in one group split the stream.",
    )
    ingest_batch_size: int = Field(
        default=5000, ge=1, le=100_000, description="Write a batch when it holds this many."
    )
    ingest_batch_interval_s: float = Field(
        default=0.5, gt=0, le=60, description="Write a non-empty batch at least this often."
    )
    ingest_batch_pause_s: float = Field(
        default=0.05, gt=0, le=60,
        description="Write a non-empty batch as soon as no device message has arrived for "
        "this long (the end of a burst), without waiting for the interval.",
    )
    ingest_receive_maximum: int = Field(
        default=20_000,
        ge=1,
        le=65_535,
        description="Unacknowledged messages the broker may send ahead (MQTT 5 Receive "
        "Maximum); bounds how much is in flight between broker and InfluxDB.",
    )
    max_payload_bytes: int = Field(
        default=16_384, ge=64, le=1_048_576, description="Larger device messages are rejected."
    )
    max_future_s: float = Field(
        default=300.0, ge=0, description="Readings stamped further ahead than this are rejected."
    )
    max_age_days: float = Field(
        default=30.0, gt=0, description="Readings stamped further back than this are rejected."
    )

    spool_max_bytes: int = Field(
        default=2 * 1024**3, ge=1024**2,
        description="Bound of the disk spool that holds readings while InfluxDB is down.",
    )
    spool_alarm_ratio: float = Field(
        default=0.5, gt=0, lt=1,
        description="Log an error and flag the metric when the spool passes this share.",
    )
