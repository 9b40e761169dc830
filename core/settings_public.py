"""Settings of what floodwatch shows people: the open-data terms and the dashboard.

The API serves both, but neither tunes the server: they are what readers see -- the
licence and attribution that re-users of the keyless open data (/open-data/v1 and
/sta/v1.1) must honour, and the dashboard's base map, time scale and files. Mixins of
``floodwatch.core.settings.Settings``.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, HttpUrl

from floodwatch.core.settings_section import SettingsSection


class OpenDataSettings(SettingsSection):
    """Open data: public and keyless, at /open-data/v1 and /sta/v1.1."""

    open_data_licence_name: str = Field(
        default="CC BY 4.0", min_length=1, max_length=100, pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Licence of the open-data readings, named in every file and in the "
        "SensorThings root.",
    )
    open_data_licence_url: HttpUrl = Field(
        default=HttpUrl("https://creativecommons.org/licenses/by/4.0/"),
        description="The licence's text, also sent in each file's Link header (rel=license).",
    )
    open_data_attribution: str = Field(
        default="floodwatch", min_length=1, max_length=300, pattern=r"^[^\x00-\x1f\x7f]+$",
        description="Who re-users must credit, e.g. the prefecture's name "
        "(福島県 / Fukushima Prefecture).",
    )
    open_data_days: int = Field(
        default=366, ge=1, le=36_600,
        description="Days (JST, today included) offered as open-data files; set it to no "
        "more than the InfluxDB retention.",
    )


class DashboardSettings(SettingsSection):
    """The dashboard: its base map, its time scale and where its files are."""

    dashboard_tiles_url: str = Field(
        default="https://cyberjapandata.gsi.go.jp/xyz/std/{z}/{x}/{y}.png",
        max_length=500,
        pattern=r"^(https?://[^\s\"'<>]+)?$",
        description="Base map tile URL template ({z}/{x}/{y}, optional {s}) for the "
        "dashboard's map, drawn over the shipped prefecture outline when the server "
        "answers; empty: the outline only (closed networks).",
    )
    dashboard_tiles_attribution: str = Field(
        default='<a href="https://maps.gsi.go.jp/development/ichiran.html">地理院タイル</a>',
        max_length=500,
        description="Attribution (HTML) the tile provider requires, shown on the map.",
    )
    dashboard_time_scale: int = Field(
        default=1, ge=1, le=3600,
        description="Storm seconds per wall second the dashboard assumes: 1 (real time) in "
        "production. The demo profile (`floodwatch demo-config`) sets its compression, so "
        "rates of rise and times to the next level read in storm time, under a banner "
        "that says the page shows a compressed exercise.",
    )
    dashboard_dir: Path | None = Field(
        default=None,
        description="Folder of the dashboard (index.html, app/, node_modules/ from "
        "'npm ci'); when unset the package's own (the wheel carries it; in a checkout, "
        "dashboard/), else ./dashboard.",
    )
