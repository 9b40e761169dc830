"""Where a broker is and how to log in to it: ``BrokerAddress`` and the one parser of
broker URLs.

Every MQTT connection floodwatch makes -- the bus (``FLOODWATCH_MQTT_URL``), the disaster
network (``FLOODWATCH_NOTIFY_NETWORK_URL``), the simulators' broker -- is described by a
``BrokerAddress`` parsed here, so a URL means the same thing everywhere:
``mqtt://`` or ``mqtts://`` (TLS), a host, an optional port (1883 and 8883 by default),
optionally ``user:password@`` (percent-encoded, so a password may contain ``@`` or
``:``), and nothing else: a path, query or fragment is refused instead of ignored, since
it usually means a URL of another kind was pasted. User name and password given
separately (settings, secret files) win over those in the URL.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import SplitResult, unquote, urlsplit

from floodwatch.core.mqtt.errors import BrokerAddressError

if TYPE_CHECKING:  # settings validate their URLs with this module: no import at run time
    from floodwatch.core.settings import Settings

DEFAULT_PORTS = {"mqtt": 1883, "mqtts": 8883}


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool
    username: str | None = None
    password: str | None = field(default=None, repr=False)  # repr() ends up in logs
    ca_file: Path | None = None

    @classmethod
    def from_url(cls, url: str, *, username: str | None = None,
                 password: str | None = None, ca_file: Path | None = None) -> BrokerAddress:
        """Parse ``mqtt[s]://[user[:password]@]host[:port]``; ``username``/``password``
        replace those in the URL when given, ``ca_file`` is the CA for ``mqtts://``
        (the system's CAs when None). Raises BrokerAddressError saying what is wrong."""
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        if scheme not in DEFAULT_PORTS:
            raise BrokerAddressError(
                f"broker URL {_redacted(parts)!r} must start with mqtt:// or mqtts://")
        if not parts.hostname:
            raise BrokerAddressError(f"broker URL {_redacted(parts)!r} names no host")
        try:
            port = parts.port  # None when not given; ValueError when not a number
            if port == 0:
                raise ValueError("port 0")
        except ValueError as exc:
            raise BrokerAddressError(f"broker URL {_redacted(parts)!r}: the port must be "
                                     "a number from 1 to 65535") from exc
        if parts.path not in ("", "/") or parts.query or parts.fragment:
            raise BrokerAddressError(
                f"broker URL {_redacted(parts)!r} must not have a path, query or fragment")
        # An empty user name in the URL or the settings means none; an empty password
        # given separately is still a password (some brokers take user names only).
        url_username = unquote(parts.username) if parts.username else None
        url_password = unquote(parts.password) if parts.password else None
        return cls(
            host=parts.hostname,
            port=port or DEFAULT_PORTS[scheme],
            tls=scheme == "mqtts",
            username=username or url_username,
            password=password if password is not None else url_password,
            ca_file=ca_file,
        )

    @classmethod
    def from_settings(cls, settings: Settings) -> BrokerAddress:
        """The bus broker: FLOODWATCH_MQTT_URL, _USERNAME, _PASSWORD and _CA_FILE."""
        password = settings.mqtt_password
        return cls.from_url(
            str(settings.mqtt_url), username=settings.mqtt_username,
            password=password.get_secret_value() if password is not None else None,
            ca_file=settings.mqtt_ca_file)

    def ssl_context(self) -> ssl.SSLContext | None:
        """For mqtts:// -- the given CA, or the system's; None for plain mqtt://."""
        if not self.tls:
            return None
        try:
            return ssl.create_default_context(
                cafile=str(self.ca_file) if self.ca_file else None)
        except (OSError, ssl.SSLError) as exc:
            # Not a connection problem to retry for ever: the file is missing or no CA.
            raise BrokerAddressError(
                f"CA file {self.ca_file} for {self}: {exc.strerror or exc}") from exc

    def __str__(self) -> str:
        # Never the password: this string goes into logs.
        scheme = "mqtts" if self.tls else "mqtt"
        user = f"{self.username}@" if self.username else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{user}{host}:{self.port}"


def _redacted(parts: SplitResult) -> str:
    """The URL for an error message, its password replaced (it may be in a log)."""
    if parts.password is None:
        return parts.geturl()
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return parts._replace(netloc=netloc).geturl()
