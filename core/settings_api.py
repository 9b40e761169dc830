"""Settings of the API server: where it listens, its keys, its history and live-feed
bounds, and the per-client limits that keep one client from holding the server.

A section of its own because it configures one process, and its limits are sized against
each other (connections, requests and live streams per client; the live feed's queue
and replay buffer). The open-data terms and the dashboard's map, which the API serves
too, are in ``floodwatch.core.settings_public``. A mixin of
``floodwatch.core.settings.Settings``.
"""

from __future__ import annotations

import re

from pydantic import Field, SecretStr, field_validator

from floodwatch.core.settings_section import SettingsSection


class ApiSettings(SettingsSection):
    """The API server and its live feed."""

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
        description="Let anyone read stations, latest values, history, the live feed and "
        "the alerts residents may be told of without a key (residents' apps); staff-only "
        "alerts, delivery status and everything else still need one.",
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
