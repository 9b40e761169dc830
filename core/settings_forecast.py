"""Settings of the forecast stage: its bus session and how its models are fitted.

A section of its own because it configures one stage, whose refit interval, history
window and warm start trade the models' freshness against InfluxDB load together
(docs/forecast.md). A mixin of ``floodwatch.core.settings.Settings``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field

from floodwatch.core.settings_section import SettingsSection


class ForecastSettings(SettingsSection):
    """The forecast stage: bus session, model file, refits and warm start."""

    forecast_client_id: str = Field(
        default="floodwatch-forecast", min_length=1, max_length=64,
        description="Fixed MQTT client id of the forecast stage's session; one stage per id.",
    )
    forecast_receive_maximum: int = Field(
        default=1000, ge=1, le=65_535,
        description="Unacknowledged bus readings the broker may send the forecast stage ahead.",
    )
    forecast_models: Path | None = Field(
        default=None,
        description="The fitted forecast models (JSON), loaded at start and replaced "
        "atomically at each refit; {state_dir}/forecast/models.json when unset.",
    )
    forecast_refit_h: float = Field(
        default=24.0, gt=0, le=24 * 30,
        description="Hours between refits of the forecast models from InfluxDB history "
        "(in a worker thread; the stage forecasts on meanwhile).",
    )
    forecast_history_days: float = Field(
        default=60.0, gt=0, le=3650,
        description="Days of InfluxDB river history a refit learns from: long enough to "
        "hold storms of every kind the basin gets (a refit whose window holds too little "
        "rising water, or whose models forecast it worse, keeps the models in use).",
    )
    forecast_warm_h: float = Field(
        default=48.0, gt=0, le=72,
        description="Hours of each gauge's readings read back from InfluxDB at start, so "
        "the first forecasts after a restart have their inputs (the storm's rain total "
        "reads 48 h back, docs/forecast.md).",
    )
