"""Settings of alert delivery (notify): its bus session, the disaster network broker,
webhooks, X and Mastodon.

A section of its own because it configures one stage, and most of it is credentials of
outside services, each optional: a channel without them is not used. The disaster
network broker's URL and CA file are checked by the same validators as the bus broker's,
declared on ``floodwatch.core.settings.Settings``, of which this is a mixin.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import Field, HttpUrl, SecretStr

from floodwatch.core.settings_backends import MqttUrl
from floodwatch.core.settings_section import SettingsSection


class NotifySettings(SettingsSection):
    """Alert delivery: the bus session, the disaster network, webhooks, X and Mastodon."""

    notify_config: Path = Field(
        default=Path("config/notify.yaml"),
        description="Path of the delivery configuration YAML (channels, policy, budgets, "
        "post templates).",
    )
    notify_client_id: str = Field(
        default="floodwatch-notify", min_length=1, max_length=64,
        description="Fixed MQTT client id of the delivery stage's bus session.",
    )
    notify_receive_maximum: int = Field(
        default=1000, ge=1, le=65_535,
        description="Unacknowledged bus messages the broker may send the delivery stage ahead.",
    )
    notify_network_url: MqttUrl | None = Field(
        default=None,
        description="Disaster network broker (mqtt:// or mqtts://); the bus broker "
        "(FLOODWATCH_MQTT_URL) when unset.",
    )
    notify_network_username: str | None = Field(
        default=None, description="Disaster network broker user name.")
    notify_network_password: SecretStr | None = Field(
        default=None, description="Disaster network broker password.")
    notify_network_ca_file: Path | None = Field(
        default=None, description="CA certificate (PEM) for the disaster network's mqtts://.")
    notify_network_client_id: str = Field(
        default="floodwatch-notify-network", min_length=1, max_length=64,
        description="MQTT client id on the disaster network broker.",
    )
    notify_webhook_secrets: SecretStr | None = Field(
        default=None,
        description="HMAC-SHA256 keys of the webhooks as 'name:secret' entries separated "
        "by commas or newlines (best as the secret file).",
    )
    notify_http_timeout_s: float = Field(
        default=10.0, gt=0, le=120,
        description="Timeout of one webhook, X or Mastodon request.",
    )
    notify_x_consumer_key: SecretStr | None = Field(
        default=None, description="X API key (OAuth 1.0a user context).")
    notify_x_consumer_secret: SecretStr | None = Field(
        default=None, description="X API key secret.")
    notify_x_access_token: SecretStr | None = Field(
        default=None, description="X access token of the posting account.")
    notify_x_access_token_secret: SecretStr | None = Field(
        default=None, description="X access token secret of the posting account.")
    notify_x_api_url: HttpUrl = Field(
        default=HttpUrl("https://api.twitter.com"),
        description="Base URL of the X API v2 (a proxy, or a fake in tests).",
    )
    notify_mastodon_url: HttpUrl | None = Field(
        default=None, description="Mastodon instance base URL, e.g. https://mastodon.example.")
    notify_mastodon_token: SecretStr | None = Field(
        default=None, description="Mastodon access token with the write:statuses scope.")
