"""Settings of the two services the stages share: the MQTT broker and InfluxDB.

They belong to no one stage: every stage holds a broker session and writes to or reads
from the same database, so each stage's section leaves them here. The broker URL type is
shared too: notify's disaster network broker is an ``MqttUrl``. Mixins of
``floodwatch.core.settings.Settings``; the checks that a broker URL and a CA file are
usable cover notify's network broker as well, so they are declared on ``Settings``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import AnyUrl, Field, SecretStr, UrlConstraints

from floodwatch.core.settings_section import SettingsSection

MqttUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["mqtt", "mqtts"], host_required=True)]
InfluxUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https"], host_required=True)]


class MqttSettings(SettingsSection):
    """MQTT: devices and the internal bus share one broker."""

    mqtt_url: MqttUrl = Field(
        default=MqttUrl("mqtt://127.0.0.1:11883"),
        description="Broker URL: mqtt://host[:port] (1883) or mqtts://host[:port] (TLS, "
        "8883); user:password@ (percent-encoded) may be given in the URL.",
    )
    mqtt_username: str | None = Field(default=None, description="Broker user name.")
    mqtt_password: SecretStr | None = Field(default=None, description="Broker password.")
    mqtt_ca_file: Path | None = Field(
        default=None, description="CA certificate (PEM) for mqtts://; system CAs when unset."
    )
    mqtt_session_expiry_s: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="How long the broker keeps a disconnected ingest session and its queue.",
    )
    mqtt_keepalive_s: int = Field(default=30, ge=5, le=3600, description="MQTT keep-alive.")


class InfluxSettings(SettingsSection):
    """InfluxDB, through its v1 HTTP API (/write and /query)."""

    influx_url: InfluxUrl = Field(
        default=InfluxUrl("http://127.0.0.1:18086"), description="InfluxDB base URL."
    )
    influx_db: str = Field(
        default="floodwatch",
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$",
        description="Database (or DBRP-mapped bucket) name.",
    )
    influx_token: SecretStr | None = Field(
        default=None, description="Token for InfluxDB 2/3, sent as 'Authorization: Token ...'."
    )
    influx_username: str | None = Field(default=None, description="InfluxDB 1.x user name.")
    influx_password: SecretStr | None = Field(default=None, description="InfluxDB 1.x password.")
    influx_timeout_s: float = Field(default=10.0, gt=0, description="HTTP timeout per request.")
