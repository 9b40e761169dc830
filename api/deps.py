"""Dependencies as ``Annotated`` aliases, so routes declare what they need by type.

The resources live on ``app.state.services``, opened by the lifespan in ``api.app``.
The providers take an HTTPConnection so WebSocket routes share them, and are async so
FastAPI calls them on the loop instead of hopping to its thread pool.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from floodwatch.api.auth import KeyRing, Principal, Role, authorize
from floodwatch.api.history_cache import HistoryCache
from floodwatch.api.latest_store import RenderedBody, StoredLatest, StoredSnapshot
from floodwatch.api.live import LiveCache
from floodwatch.core.influx import InfluxClient
from floodwatch.core.registry import StationRegistry
from floodwatch.core.settings import Settings


@dataclass(frozen=True)
class Services:
    settings: Settings
    registry: StationRegistry
    influx: InfluxClient
    live: LiveCache
    keys: KeyRing
    stored_latest: StoredLatest = field(default_factory=StoredLatest)
    latest_body: RenderedBody = field(default_factory=RenderedBody)
    history_cache: HistoryCache = field(default_factory=lambda: HistoryCache(0))


def _services(connection: HTTPConnection) -> Services:
    services: Services = connection.app.state.services
    return services


async def _settings(connection: HTTPConnection) -> Settings:
    return _services(connection).settings


async def _registry(connection: HTTPConnection) -> StationRegistry:
    return _services(connection).registry


async def _influx(connection: HTTPConnection) -> InfluxClient:
    return _services(connection).influx


async def _live(connection: HTTPConnection) -> LiveCache:
    return _services(connection).live


async def _stored_latest(connection: HTTPConnection) -> StoredSnapshot:
    services = _services(connection)
    return await services.stored_latest.get(services.influx)


async def _latest_body(connection: HTTPConnection) -> RenderedBody:
    return _services(connection).latest_body


async def _history_cache(connection: HTTPConnection) -> HistoryCache:
    return _services(connection).history_cache


SettingsDep = Annotated[Settings, Depends(_settings)]
HistoryCacheDep = Annotated[HistoryCache, Depends(_history_cache)]
RegistryDep = Annotated[StationRegistry, Depends(_registry)]
InfluxDep = Annotated[InfluxClient, Depends(_influx)]
LiveDep = Annotated[LiveCache, Depends(_live)]
# InfluxDB's newest point per station (None while it is down), at most seconds old.
StoredLatestDep = Annotated[StoredSnapshot, Depends(_stored_latest)]
LatestBodyDep = Annotated[RenderedBody, Depends(_latest_body)]


async def public_reader(connection: HTTPConnection) -> Principal:
    services = _services(connection)
    return authorize(connection, services.keys, Role.VIEWER,
                     public=services.settings.api_public_read)


async def _live_reader(connection: HTTPConnection) -> Principal:
    # EventSource cannot send headers: the key may come as ?access_token=.
    services = _services(connection)
    return authorize(connection, services.keys, Role.VIEWER,
                     public=services.settings.api_public_read, allow_query=True)


async def _keyed_reader(connection: HTTPConnection) -> Principal:
    # Staff data (delivery outcomes): a viewer key at least, even with public read on.
    services = _services(connection)
    return authorize(connection, services.keys, Role.VIEWER, public=False)


async def _officer(connection: HTTPConnection) -> Principal:
    services = _services(connection)
    return authorize(connection, services.keys, Role.OFFICER, public=False)


# Read access to the safe public subset (stations, latest, history, live feed).
PublicReader = Annotated[Principal, Depends(public_reader)]
LiveReader = Annotated[Principal, Depends(_live_reader)]
KeyedReader = Annotated[Principal, Depends(_keyed_reader)]
Officer = Annotated[Principal, Depends(_officer)]
