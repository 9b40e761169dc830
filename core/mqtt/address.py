"""Where a broker is and how to log in to it: ``BrokerAddress``."""

from __future__ import annotations

import ssl
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from floodwatch.core.settings import Settings


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None
    ca_file: Path | None

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerAddress:
        parts = urlsplit(str(settings.mqtt_url))
        tls = parts.scheme == "mqtts"
        username, password = settings.mqtt_credentials
        return cls(
            host=parts.hostname or "127.0.0.1",
            port=parts.port or (8883 if tls else 1883),
            tls=tls,
            username=username,
            password=password,
            ca_file=settings.mqtt_ca_file,
        )

    def ssl_context(self) -> ssl.SSLContext | None:
        """For mqtts:// -- the given CA, or the system's; None for plain mqtt://."""
        if not self.tls:
            return None
        return ssl.create_default_context(cafile=str(self.ca_file) if self.ca_file else None)

    def __str__(self) -> str:
        # Never the password: this string goes into logs.
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        return f"{scheme}://{user}{self.host}:{self.port}"
