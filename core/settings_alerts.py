"""Settings of the alert engine: its rules, its bus session, and what its CAP messages say.

A section of its own because it configures one stage, whose identity (client id,
deployment id) is kept in its state and so must not change under it; the API reads the
deployment id too, for live-feed positions. The advice file leads the section: what
residents are told per alert type and level, read by the alert engine (CAP
<instruction>) and by notify (residents' posts); the settings reference lists it just
before the rules. A mixin of ``floodwatch.core.settings.Settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field

from floodwatch.core.settings_section import SettingsSection


class AlertsSettings(SettingsSection):
    """The advice file and the alert engine."""

    advice: Path = Field(
        default=Path("config/advice.yaml"),
        description="Path of the advice YAML: what residents are told to do, per alert "
        "type and level (residents' posts and CAP <instruction>).",
    )

    # --- alerts ---
    alerts_rules: Path = Field(
        default=Path("config/alert-rules.yaml"),
        description="Path of the alert rules YAML (thresholds, hold times, labels).",
    )
    alerts_client_id: str = Field(
        default="floodwatch-alerts",
        min_length=1,
        max_length=64,
        description="Fixed MQTT client id of the alert engine's session; one engine per id.",
    )
    alerts_receive_maximum: int = Field(
        default=1000, ge=1, le=65_535,
        description="Unacknowledged bus messages the broker may send the alert engine ahead.",
    )
    alerts_tick_s: float = Field(
        default=30.0, ge=0, le=3600,
        description="How often the engine looks at the wall time since the last reading "
        "arrived, to see a silent pipeline (one no-data alert); 0 turns it off (replays: "
        "reading time only).",
    )
    alerts_basins: str | None = Field(
        default=None,
        pattern=r"^[^,\s]+(,[^,\s]+)*$",
        description="Comma-separated basins this engine evaluates, to split stations "
        "across engines (each with its own client id); all stations when unset.",
    )
    deployment_id: str = Field(
        default="local", pattern=r"^[A-Za-z0-9._-]{1,32}$",
        description="Names this deployment in CAP identifiers "
        "(`floodwatch:{deployment_id}:{instance}:{event_id}`, docs/cap.md); set once: "
        "the alert engine's state keeps the one it was created with.")
    alerts_cap_status: Literal["Actual", "Exercise", "System", "Test", "Draft"] = Field(
        default="Actual", description="CAP <status> of rendered alerts (Exercise for drills)."
    )
