"""``/sta/v1.1``: a read-only OGC SensorThings API 1.1 view of stations and readings,
public and keyless like the open-data files (it serves the same readings).

Routes: the service root; each entity set (``/Things``); one entity (``/Things('id')``,
keys are quoted strings); one navigation step (``/Things('id')/Datastreams``). Query
options: see ``query``; answers: ``resolve``. Deeper paths, ``$select``, ``$ref``,
``$value``, writes, HistoricalLocations, FeaturesOfInterest and MultiDatastreams are not
served (404 or a 400 ``bad-query`` problem).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from floodwatch.api.deps import InfluxDep, RegistryDep, SettingsDep
from floodwatch.api.http_cache import NOT_MODIFIED, conditional
from floodwatch.api.open_access import OpenAccessRoute, licence
from floodwatch.api.problems import influx_unavailable, problem_responses
from floodwatch.api.sensorthings.entities import ENTITY_SETS, NAVIGATION, catalogue
from floodwatch.api.sensorthings.query import Options, bad_query, parse_options
from floodwatch.api.sensorthings.resolve import View, collection, entity, navigate
from floodwatch.core.influx import InfluxError

PREFIX = "/sta/v1.1"
router = APIRouter(prefix=PREFIX, tags=["SensorThings API"], route_class=OpenAccessRoute)
CACHE_CONTROL = "public, max-age=30"
# The classes whose read requirements this view serves in the main (docs/api.md lists
# what is left out). Not "datamodel": HistoricalLocations and FeaturesOfInterest are
# not served, and a client must not be told they are.
CONFORMANCE = [
    "http://www.opengis.net/spec/iot_sensing/1.1/req/resource-path/resource-path-to-entities",
    "http://www.opengis.net/spec/iot_sensing/1.1/req/request-data",
]
RESPONSES = {**problem_responses(400, 404, 503), **NOT_MODIFIED}
_KEY = re.compile(r"'((?:[^']|'')*)'")
EXAMPLE_KEYS = {"Thing": "'sukagawa'", "Location": "'sukagawa'",
                "Datastream": "'sukagawa:level_m'", "Sensor": "'river-gauge'",
                "ObservedProperty": "'level_m'",
                "Observation": "'sukagawa:level_m:1796482800000000000'"}


def key_path(entity_type: str) -> Any:
    return Path(description="The entity's id as a quoted string, e.g. "
                f"{EXAMPLE_KEYS[entity_type]}.", examples=[EXAMPLE_KEYS[entity_type]])


def _option(name: str, description: str) -> Any:
    return Query(alias=name, description=description)


async def query_options(
    request: Request,
    _top: Annotated[str | None, _option("$top", "Page size (at most 1000).")] = None,
    _skip: Annotated[str | None, _option("$skip", "Entities to skip.")] = None,
    _count: Annotated[str | None, _option("$count", "true: add @iot.count.")] = None,
    _orderby: Annotated[str | None, _option(
        "$orderby", "Observations: phenomenonTime asc|desc.")] = None,
    _filter: Annotated[str | None, _option(
        "$filter", "Observations: phenomenonTime ge|gt|le|lt|eq ISO-time, joined by "
        "and.")] = None,
    _expand: Annotated[str | None, _option(
        "$expand", "Navigation properties, e.g. Datastreams/Observations($top=1;"
        "$orderby=phenomenonTime desc).")] = None,
) -> Options:
    # Read from the query itself: FastAPI's parameters above only document the options,
    # and an option FastAPI does not know ($select) must be refused, not ignored.
    asked = Counter(name for name, _ in request.query_params.multi_items()
                    if name.startswith("$"))
    repeated = sorted(name for name, times in asked.items() if times > 1)
    if repeated:
        raise bad_query(f"{', '.join(repeated)} given more than once")
    return parse_options({name: value for name, value in request.query_params.items()
                          if name.startswith("$")})


OptionsDep = Annotated[Options, Depends(query_options)]


def entity_key(text: str) -> str:
    match = _KEY.fullmatch(text)
    if match is None:
        raise bad_query(f"{text!r} is not an id: ids are quoted strings, e.g. "
                        "Things('sukagawa')")
    return match.group(1).replace("''", "'")


def _view(request: Request, registry: RegistryDep, influx: InfluxDep) -> View:
    return View(str(request.url_for("sta_root")), catalogue(registry), influx)


def _json(request: Request, body: dict[str, Any]) -> Response:
    """The answer with its ETag, or 304 when the client's copy is still current: a
    viewer polling a Datastream's Observations downloads them only when one came in."""
    return conditional(request, json.dumps(body, ensure_ascii=False, allow_nan=False).encode(),
                       "application/json", CACHE_CONTROL)


async def _answer(request: Request,
                  work: Callable[[], Awaitable[dict[str, Any]]]) -> Response:
    try:
        body = await work()
    except InfluxError as exc:
        raise influx_unavailable() from exc
    return _json(request, body)


def _url(request: Request) -> str:
    return str(request.url.replace(query=""))


@router.get("", name="sta_root", summary="SensorThings: service root (no key)",
            responses=RESPONSES)
async def service_root(request: Request, settings: SettingsDep) -> Response:
    base = str(request.url_for("sta_root"))
    root = {"value": [{"name": name, "url": f"{base}/{name}"} for name in ENTITY_SETS],
            "serverSettings": {"conformance": CONFORMANCE},
            "licence": licence(settings).model_dump(),
            "attribution": settings.open_data_attribution}
    return _json(request, root)


def _set_route(set_name: str, entity_type: str) -> None:
    async def entity_set(request: Request, registry: RegistryDep, influx: InfluxDep,
                         options: OptionsDep) -> Response:
        view = _view(request, registry, influx)
        return await _answer(request,
                             lambda: collection(view, entity_type, options, _url(request)))

    async def one(request: Request, registry: RegistryDep, influx: InfluxDep,
                  options: OptionsDep, key: str = key_path(entity_type)) -> Response:
        view = _view(request, registry, influx)
        return await _answer(request,
                             lambda: entity(view, entity_type, entity_key(key), options))

    router.add_api_route(f"/{set_name}", entity_set, methods=["GET"],
                         name=f"sta_{set_name}", responses=RESPONSES,
                         summary=f"SensorThings: {set_name} (no key)")
    router.add_api_route(f"/{set_name}({{key}})", one, methods=["GET"],
                         name=f"sta_{entity_type}", responses=RESPONSES,
                         summary=f"SensorThings: one {entity_type} (no key)")
    for navigation in NAVIGATION[entity_type]:
        _navigation_route(set_name, entity_type, navigation)


def _navigation_route(set_name: str, entity_type: str, navigation: str) -> None:
    async def related(request: Request, registry: RegistryDep, influx: InfluxDep,
                      options: OptionsDep, key: str = key_path(entity_type)) -> Response:
        view = _view(request, registry, influx)
        return await _answer(request, lambda: navigate(view, entity_type, entity_key(key),
                                                       navigation, options=options,
                                                       url=_url(request)))

    router.add_api_route(f"/{set_name}({{key}})/{navigation}", related, methods=["GET"],
                         name=f"sta_{entity_type}_{navigation}", responses=RESPONSES,
                         summary=f"SensorThings: a {entity_type}'s {navigation} (no key)")


for _set_name, _entity_type in ENTITY_SETS.items():
    _set_route(_set_name, _entity_type)
