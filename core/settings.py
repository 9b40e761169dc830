"""floodwatch's settings: one model, read from the environment once at the process edge.

Every setting is ``FLOODWATCH_<NAME>``. Secrets (passwords, tokens) may also come from
files named after the setting in ``FLOODWATCH_SECRETS_DIR`` (Docker/Kubernetes secrets).

``Settings`` is composed of one mixin per section (core/settings_backends.py,
settings_ingest.py, settings_alerts.py, settings_forecast.py, settings_api.py,
settings_public.py, settings_notify.py; their base: settings_section.py); it holds the
process's own settings (state, logs, metrics), how the sources are read, and the checks
that span sections.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

from pydantic import AnyUrl, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from floodwatch.core.mqtt.address import BrokerAddress
from floodwatch.core.settings_alerts import AlertsSettings
from floodwatch.core.settings_api import ApiSettings
from floodwatch.core.settings_backends import InfluxSettings, MqttSettings
from floodwatch.core.settings_forecast import ForecastSettings
from floodwatch.core.settings_ingest import IngestSettings
from floodwatch.core.settings_notify import NotifySettings
from floodwatch.core.settings_public import DashboardSettings, OpenDataSettings

ENV_PREFIX = "FLOODWATCH_"


# pydantic lists the fields of the bases from the last to the first (it walks the MRO
# backwards), then the class's own: so the sections are named here last-first, and
# Settings.model_fields -- the order of the generated settings reference -- reads MQTT
# first and the process's own settings last.
class Settings(
    NotifySettings,
    DashboardSettings,
    OpenDataSettings,
    ApiSettings,
    ForecastSettings,
    AlertsSettings,
    IngestSettings,
    InfluxSettings,
    MqttSettings,
    BaseSettings,
):
    """All of floodwatch's configuration. Built once per process and passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,  # a bad secret must never be echoed in an error
        # The sections' defer_build (settings_section.py) would be inherited: this model is
        # the one that validates, built at import as it always was.
        defer_build=False,
    )

    # --- operations ---
    state_dir: Path = Field(
        default=Path(".floodwatch"),
        description="Local state: private services' data, spool, SQLite files, the parsed station "
        "registry (cache/, keyed by the file's hash).",
    )
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", description="Least severe log level written (stderr)."
    )
    log_format: Literal["console", "json"] = Field(
        default="console", description="console: lines for people; json: for log collectors."
    )
    metrics_port: int | None = Field(
        default=None, ge=1, le=65_535, description="Serve Prometheus metrics on this port."
    )
    metrics_host: str = Field(
        default="127.0.0.1", min_length=1,
        description="Address the metrics port listens on: loopback by default (the metrics "
        "need no key); 0.0.0.0 where Prometheus scrapes from another host or container "
        "(docker-compose.yml).",
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The environment is read by load_settings() at the process edge, never implicitly,
        # so a test's Settings(...) is exactly what it says.
        return (init_settings, file_secret_settings)

    # The two checks below name a field of the backends' MQTT section and one of notify's,
    # so they are declared here, where pydantic sees both (tests/core/test_settings.py).
    @field_validator("mqtt_url", "notify_network_url")
    @classmethod
    def _broker_url_usable(cls, url: AnyUrl | None) -> AnyUrl | None:
        # The one broker-URL parser (core.mqtt.address), so a URL the stages would refuse
        # at connect time is refused here, in one line naming the variable.
        if url is not None:
            BrokerAddress.from_url(str(url))
        return url

    @field_validator("mqtt_ca_file", "notify_network_ca_file")
    @classmethod
    def _ca_file_usable(cls, path: Path | None) -> Path | None:
        # Read now, as the sessions will: a missing file or one without a certificate is
        # a setting to fix (exit 2, its variable named), not a connection to retry.
        if path is not None:
            BrokerAddress(host="ca-file-check", port=8883, tls=True, ca_file=path).ssl_context()
        return path


class SettingsError(Exception):
    """A setting is missing or wrong; the message names it in one line."""


def load_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """Build the settings from ``environ`` (default: the process environment).

    Raises SettingsError with one line per wrong setting, each naming its variable.
    """
    env = dict(os.environ if environ is None else environ)
    secrets_dir = env.get(f"{ENV_PREFIX}SECRETS_DIR")
    if secrets_dir is not None and not Path(secrets_dir).is_dir():
        raise SettingsError(f"{ENV_PREFIX}SECRETS_DIR: {secrets_dir!r} is not a directory")
    known = {f"{ENV_PREFIX}{name}".upper() for name in Settings.model_fields}
    values = {
        key[len(ENV_PREFIX) :].lower(): value
        for key, value in env.items()
        if key.upper() in known
    }
    try:
        # Values are strings from the environment; pydantic converts and checks them.
        if secrets_dir is not None:
            values["_secrets_dir"] = secrets_dir
        return Settings.model_validate(values)
    except ValidationError as exc:
        raise SettingsError(_describe(exc)) from exc


def _describe(exc: ValidationError) -> str:
    lines = []
    for error in exc.errors(include_input=False, include_url=False):
        name = str(error["loc"][0]) if error["loc"] else "?"
        lines.append(f"{ENV_PREFIX}{name.upper()}: {error['msg']}")
    return "\n".join(lines)

