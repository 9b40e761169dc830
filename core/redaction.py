"""Secrets kept out of every log line, whoever writes it.

uvicorn logs each WebSocket handshake with its query string, and the dashboard (like any
browser client) can only pass its key there (``?access_token=``); exceptions may carry a
URL with a token or a ``user:password@``. Rather than fixing each writer, every line goes
through one structlog processor (``SecretRedactor.processor``) before it is rendered --
floodwatch's own events and, through core.logging, every stdlib logger's records -- and
that processor rewrites, in every string of the event:

- query parameters named like a credential (``access_token=[redacted]``), even when the
  name is percent-encoded;
- credential headers as they appear in messages or reprs (``Authorization: [redacted]``);
- the password of a URL's user information (``mqtt://user:[redacted]@host``);
- any configured secret value itself (settings.SecretStr fields: API keys, tokens,
  passwords, webhook secrets), raw or percent-encoded, wherever it appears.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, unquote_plus

from pydantic import AnyUrl, SecretStr

if TYPE_CHECKING:
    from structlog.typing import EventDict, WrappedLogger

    from floodwatch.core.settings import Settings

REDACTED = "[redacted]"

# Query parameter names whose value is a credential; compared case-insensitively after
# percent-decoding, so ``access%5Ftoken`` is caught as Starlette would read it.
SECRET_QUERY_NAMES = frozenset({
    "access_token", "token", "key", "api_key", "apikey", "api-key", "password", "secret",
    "client_secret", "refresh_token", "id_token",
})
SECRET_HEADER_NAMES = ("authorization", "proxy-authorization", "x-api-key", "cookie",
                       "set-cookie")

# Shorter configured values are not searched for: replacing every "demo" or "test" in
# the logs would mangle them while protecting nothing a guess would not find.
MIN_SECRET_LENGTH = 6

_QUERY_PARAMETER = re.compile(r"""([?&;])([^=&;#\s"'<>]+)=([^&;#\s"'<>]*)""")
# The header name, its separator as a message ("Authorization: ...") or a repr
# ("(b'authorization', b'...')", "'x-api-key': '...'") writes it, then the value up to
# the end of its quotes or line: over-redacting a cookie's neighbours is the safe side.
_HEADER = re.compile(
    r"""(?i)\b(""" + "|".join(re.escape(name) for name in SECRET_HEADER_NAMES)
    + r""")(["']?\s*[:=,]\s*(?:b?["'])?)[^"'\r\n]*""")
_URL_PASSWORD = re.compile(r"""(?i)\b([a-z][a-z0-9+.-]*://[^/\s:@"'<>]*:)[^@\s/"'<>]+@""")


class SecretRedactor:
    """Rewrites text so that no credential survives; ``secrets`` are exact values to hide
    as well (the configured ones)."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        variants = {form for secret in secrets if len(secret) >= MIN_SECRET_LENGTH
                    for form in (secret, quote(secret, safe=""), quote(secret))}
        # Longest first: a secret containing another is replaced whole.
        self._values = (re.compile("|".join(re.escape(value) for value in
                                            sorted(variants, key=len, reverse=True)))
                        if variants else None)

    def redact(self, text: str) -> str:
        if self._values is not None:
            text = self._values.sub(REDACTED, text)
        text = _QUERY_PARAMETER.sub(_redact_parameter, text)
        text = _HEADER.sub(lambda match: f"{match[1]}{match[2]}{REDACTED}", text)
        return _URL_PASSWORD.sub(lambda match: f"{match[1]}{REDACTED}@", text)

    def redact_value(self, value: Any) -> Any:
        """Strings redacted, containers walked (event values may be lists or dicts)."""
        if isinstance(value, str):
            return self.redact(value)
        if isinstance(value, dict):
            return {key: self.redact_value(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self.redact_value(item) for item in value)
        return value

    def processor(self, _logger: WrappedLogger, _method: str, event: EventDict) -> EventDict:
        """The structlog processor: placed after format_exc_info, so tracebacks too."""
        return {key: self.redact_value(value) for key, value in event.items()}


def _redact_parameter(match: re.Match[str]) -> str:
    separator, name, _value = match.groups()
    if unquote_plus(name).lower() in SECRET_QUERY_NAMES:
        return f"{separator}{name}={REDACTED}"
    return match[0]


def configured_secrets(settings: Settings) -> set[str]:
    """Every secret value the settings hold: each SecretStr whole and, for the lists of
    ``name:secret`` entries (API keys, webhook secrets), each entry's secret; and the
    password of any URL setting."""
    found: set[str] = set()
    for value in dict(settings).values():
        if isinstance(value, SecretStr):
            text = value.get_secret_value()
            found.add(text.strip())
            for entry in re.split(r"[,\n]", text):
                found.update({entry.strip(), entry.partition(":")[2].strip()})
        elif isinstance(value, AnyUrl) and value.password:
            found.update({value.password, unquote_plus(value.password)})
    return {secret for secret in found if secret}
