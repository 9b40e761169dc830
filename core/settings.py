"""floodwatch's settings: one model, read from the environment once at the process edge.

Every setting is ``FLOODWATCH_<NAME>``. Secrets (passwords, tokens) may also come from
files named after the setting in ``FLOODWATCH_SECRETS_DIR`` (Docker/Kubernetes secrets).
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AnyUrl,
    Field,
    HttpUrl,
    SecretStr,
    UrlConstraints,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from floodwatch.core.mqtt.address import BrokerAddress

ENV_PREFIX = "FLOODWATCH_"

MqttUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["mqtt", "mqtts"], host_required=True)]
InfluxUrl = Annotated[AnyUrl, UrlConstraints(allowed_schemes=["http", "https"], host_required=True)]


class Settings(BaseSettings):
    """All of floodwatch's configuration. Built once per process and passed down."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        extra="ignore",
        frozen=True,
        hide_input_in_errors=True,  # a bad secret must never be echoed in an error
    )

    # --- MQTT (devices and the internal bus share one broker) ---
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

    # --- InfluxDB (v1 HTTP API: /write and /query) ---
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

    # --- forecast ---
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

    # --- api ---
    api_host: str = Field(default="127.0.0.1", min_length=1,
                          description="Address the API server listens on.")
    api_port: int = Field(default=18080, ge=1, le=65_535,
                          description="Port the API server listens on.")
    api_client_id: str = Field(
        default="floodwatch-api",
        min_length=1,
        max_length=48,
        description="Prefix of the API's MQTT client id (a random suffix is added: the "
        "live feed holds no session, so several API processes may run).",
    )
    api_stale_factor: float = Field(
        default=3.0, ge=1, le=100,
        description="A station is stale when nothing arrived for this many reporting "
        "intervals (interval_s).",
    )
    api_max_points: int = Field(
        default=500, ge=10, le=10_000,
        description="Most points a history response holds; a range with more readings "
        "is downsampled over its whole length with GROUP BY time(), never cut short.",
    )
    api_history_cache_s: float = Field(
        default=30.0, ge=0, le=3600,
        description="Downsampled histories are shared by all clients for this long, "
        "then served for as long again while one query refreshes them (0: never "
        "cached); short raw ranges are always fresh.",
    )
    api_max_range_days: float = Field(
        default=31.0, gt=0, le=3660, description="Longest history range one request may ask."
    )
    api_live_queue: int = Field(
        default=1000, ge=10, le=1_000_000,
        description="Live-feed events queued per client; a client that falls this far "
        "behind is disconnected so it never slows the others.",
    )
    api_live_replay_buffer: int = Field(
        default=1000, ge=1, le=1_000_000,
        description="Alert events each API process keeps in memory for live clients that "
        "reconnect with their last event id; older ones are replayed from InfluxDB.",
    )
    api_live_replay_days: int = Field(
        default=92, ge=1, le=36_600,
        description="How far back (by event time) a reconnecting live client's missed "
        "alert events are read from InfluxDB; older ones are named in a `gap` message "
        "for /api/v1/alerts/history. A season, so a drill replaying last season's "
        "typhoon still resumes.",
    )
    api_heartbeat_s: float = Field(
        default=15.0, gt=0, le=300,
        description="Live-feed heartbeat interval when no event is sent.",
    )
    api_keys: SecretStr | None = Field(
        default=None,
        description="API keys as 'role:key' entries separated by commas or newlines; "
        "role is viewer, officer or admin. Best given as the secret file 'api_keys'.",
    )
    api_public_read: bool = Field(
        default=False,
        description="Let anyone read stations, latest values, history and the live feed "
        "without a key (residents' apps); everything else still needs one.",
    )
    api_cors_origins: str | None = Field(
        default=None,
        description="Comma-separated origins allowed by CORS (e.g. https://bousai.example.jp); "
        "none when unset.",
    )
    api_max_body_bytes: int = Field(
        default=65_536, ge=1024, le=16 * 1024**2,
        description="Larger request bodies are refused with 413.",
    )
    api_max_connections_per_client: int = Field(
        default=256, ge=1, le=100_000,
        description="TCP connections one peer address may hold open (idle ones included); "
        "more are answered 429 and closed. Proxies in api_forwarded_allow_ips are not "
        "counted.",
    )
    api_max_requests_per_client: int = Field(
        default=100, ge=1, le=100_000,
        description="Requests one client address may have in progress at once (live "
        "streams included); more are refused with 429 and Retry-After. Behind a reverse "
        "proxy set api_forwarded_allow_ips, or every client shares the proxy's address.",
    )
    api_max_live_per_client: int = Field(
        default=20, ge=1, le=100_000,
        description="Live-feed streams (WebSocket and SSE) one client address may hold "
        "open; more are refused (429, or WebSocket close 1013).",
    )
    api_max_live_clients: int = Field(
        default=2000, ge=1, le=1_000_000,
        description="Live-feed streams (WebSocket and SSE) open at once in this API "
        "process; more are refused with 503 and Retry-After (WebSocket close 1013).",
    )
    api_header_timeout_s: float = Field(
        default=10.0, gt=0, le=300,
        description="A connection that has not sent a complete request line and headers "
        "this long after it opened (or after its first byte following a keep-alive "
        "pause) is closed: half-sent requests cannot hold the server.",
    )
    api_keep_alive_s: int = Field(
        default=5, ge=1, le=300,
        description="Idle keep-alive connections are closed after this long (uvicorn's "
        "timeout_keep_alive).",
    )
    api_ws_compression: bool = Field(
        default=False,
        description="Offer permessage-deflate on the live WebSocket. Off by default: it "
        "doubled each connection's memory (about 50 KiB more of zlib state, measured) for "
        "live messages of a few hundred bytes.",
    )
    api_forwarded_allow_ips: str = Field(
        default="127.0.0.1,::1", min_length=1,
        description="Comma-separated addresses (or CIDR networks, or '*') of reverse "
        "proxies whose X-Forwarded-For/-Proto are trusted (uvicorn's forwarded_allow_ips): "
        "the per-client limits then key on the real client's address.",
    )

    # --- open data (public, keyless: /open-data/v1 and /sta/v1.1) ---
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

    @field_validator("api_keys")
    @classmethod
    def _api_keys_well_formed(cls, keys: SecretStr | None) -> SecretStr | None:
        if keys is None:
            return None
        for number, raw in enumerate(re.split(r"[,\n]", keys.get_secret_value()), 1):
            entry = raw.strip()
            if not entry:
                continue
            role, _, key = entry.partition(":")
            # The message names the entry's position, never its text: it is a secret.
            if role.strip() not in ("viewer", "officer", "admin") or len(key.strip()) < 16:
                raise ValueError(f"entry {number} is not 'viewer|officer|admin:KEY' "
                                 "with a key of at least 16 characters")
        return keys

    # --- dashboard ---
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

    # --- notify ---
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

    # --- operations ---
    state_dir: Path = Field(
        default=Path(".floodwatch"),
        description="Local state: private services' data, spool, SQLite files.",
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
