"""API keys with roles (viewer < officer < admin), sent as ``Authorization: Bearer KEY``
or ``X-API-Key: KEY`` (browsers' EventSource/WebSocket cannot set headers: the live
feed also takes ``?access_token=KEY``).

Keys are kept only as SHA-256 digests and every presented key is compared with every
digest in constant time, so neither timing nor the answer tells whether a key exists.
Keys are never logged.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from fastapi import FastAPI
from starlette.requests import HTTPConnection

from floodwatch.api.problems import ProblemError
from floodwatch.core.settings import Settings


class Role(IntEnum):
    VIEWER = 1
    OFFICER = 2
    ADMIN = 3


@dataclass(frozen=True, slots=True)
class Principal:
    role: Role
    # A short digest prefix identifies the key in logs and commands, never the key.
    key_id: str | None


ANONYMOUS = Principal(Role.VIEWER, None)


class KeyRing:
    def __init__(self, entries: list[tuple[bytes, Role]]) -> None:
        self._entries = entries

    @classmethod
    def from_settings(cls, settings: Settings) -> KeyRing:
        entries = []
        if settings.api_keys is not None:
            for entry in re.split(r"[,\n]", settings.api_keys.get_secret_value()):
                role, _, key = entry.strip().partition(":")
                if key.strip():  # format already checked by Settings
                    entries.append((_digest(key.strip()), Role[role.strip().upper()]))
        return cls(entries)

    def identify(self, key: str) -> Principal | None:
        presented = _digest(key)
        found: Principal | None = None
        for digest, role in self._entries:
            # No early exit: the time taken does not depend on where (or if) it matches.
            if hmac.compare_digest(presented, digest) and found is None:
                found = Principal(role, digest.hex()[:8])
        return found


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode()).digest()


def presented_key(connection: HTTPConnection, *, allow_query: bool) -> str | None:
    header = connection.headers.get("authorization")
    if header is not None:
        scheme, _, value = header.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else ""
    if (key := connection.headers.get("x-api-key")) is not None:
        return key
    if allow_query:
        return connection.query_params.get("access_token")
    return None


def unauthorized() -> ProblemError:
    # One answer for a missing, malformed or unknown key.
    return ProblemError(401, "unauthorized", "Unauthorized",
                        "a valid API key is required (Authorization: Bearer KEY)")


def forbidden(role: Role) -> ProblemError:
    return ProblemError(403, "forbidden", "Forbidden",
                        f"this needs the {role.name.lower()} role")


def authorize(connection: HTTPConnection, keys: KeyRing, needed: Role, *,
              public: bool, allow_query: bool = False) -> Principal:
    """Who is calling, if they may do ``needed``; raises a 401/403 problem otherwise."""
    key = presented_key(connection, allow_query=allow_query)
    if key is None:
        if public and needed is Role.VIEWER:
            return ANONYMOUS
        raise unauthorized()
    principal = keys.identify(key)
    if principal is None:
        raise unauthorized()
    if principal.role < needed:
        raise forbidden(needed)
    return principal


def document_security(app: FastAPI, *, public_read: bool) -> None:
    """Declare the key schemes in OpenAPI (the interactive docs get "Authorize"): every
    /api/v1 operation takes a key; reads also work without one when public read is on;
    the live feed also takes ?access_token=."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {})["securitySchemes"] = SECURITY_SCHEMES
        for path, operations in schema.get("paths", {}).items():
            if not path.startswith("/api/v1/"):
                continue  # probes, metrics and the dashboard page need no key
            for method, operation in operations.items():
                schemes = ["bearer", "apiKey"]
                if path.startswith("/api/v1/live/"):
                    schemes.append("accessToken")
                security: list[dict[str, list[str]]] = [{name: []} for name in schemes]
                if public_read and method == "get" and not path.startswith(NEVER_PUBLIC):
                    security.append({})  # no key at all
                operation["security"] = security
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


# Reads that need a key even with public read on: staff data.
NEVER_PUBLIC = ("/api/v1/deliveries",)

SECURITY_SCHEMES = {
    "bearer": {"type": "http", "scheme": "bearer",
               "description": "Authorization: Bearer KEY (FLOODWATCH_API_KEYS)."},
    "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
    "accessToken": {"type": "apiKey", "in": "query", "name": "access_token",
                    "description": "For browsers' EventSource and WebSocket."},
}
