"""SensorThings answers: entities with ``@iot.id``, ``@iot.selfLink`` and navigation
links, collections with ``value``, ``@iot.count`` and ``@iot.nextLink`` (server-driven
paging, ``query.MAX_PAGE`` at most), and ``$expand`` of navigation properties, nested.

The registry's entities come from ``entities.Catalogue``, Observations from InfluxDB
(``observations``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from floodwatch.api.problems import ProblemError
from floodwatch.api.sensorthings import observations
from floodwatch.api.sensorthings.entities import NAVIGATION, SET_OF, Catalogue
from floodwatch.api.sensorthings.observations import Observation, parse_observation_id
from floodwatch.api.sensorthings.query import Expand, Options, bad_query
from floodwatch.core.influx import InfluxClient

Entity = dict[str, Any]


def unknown_entity(entity_type: str, entity_id: str) -> ProblemError:
    return ProblemError(404, "unknown-entity", "No such entity",
                        f"no {SET_OF[entity_type]}('{entity_id}')")


@dataclass(frozen=True)
class View:
    base: str  # the service root's URL, e.g. http://host/sta/v1.1
    catalogue: Catalogue
    influx: InfluxClient

    def link(self, entity_type: str, entity_id: str) -> str:
        key = quote(entity_id.replace("'", "''"), safe=":-_")
        return f"{self.base}/{SET_OF[entity_type]}('{key}')"

    def check(self, entity_type: str, entity_id: str) -> None:
        if entity_type == "Observation":
            return  # looked up in InfluxDB by whoever reads it
        if not self.catalogue.exists(entity_type, entity_id):
            raise unknown_entity(entity_type, entity_id)


def _single_only_expand(options: Options, what: str) -> None:
    asked = sorted(name for name in options.raw if name != "$expand")
    if asked:
        raise bad_query(f"{', '.join(asked)} cannot apply to {what}: only $expand does")


def _check_collection(entity_type: str, options: Options) -> None:
    if entity_type != "Observation" and ("$filter" in options.raw
                                         or "$orderby" in options.raw):
        raise bad_query(f"$filter and $orderby apply to Observations only, not "
                        f"{SET_OF[entity_type]}")


async def entity(view: View, entity_type: str, entity_id: str, options: Options) -> Entity:
    _single_only_expand(options, f"{SET_OF[entity_type]}('{entity_id}')")
    if entity_type == "Observation":
        return await _observation_entity(view, entity_id, options)
    view.check(entity_type, entity_id)
    return (await _render(view, entity_type, [entity_id], options.expand))[0]


async def _observation_entity(view: View, entity_id: str, options: Options) -> Entity:
    parsed = parse_observation_id(entity_id)
    found = None
    if parsed is not None and f"{parsed[0]}:{parsed[1]}" in view.catalogue.datastreams:
        station, field = view.catalogue.datastreams[f"{parsed[0]}:{parsed[1]}"]
        found = await observations.by_id(view.influx, station, field, parsed[2])
    if found is None:
        raise unknown_entity("Observation", entity_id)
    return (await _render_observations(view, [found], options.expand))[0]


async def collection(view: View, entity_type: str, options: Options, url: str,
                     source: tuple[str, str, str] | None = None) -> Entity:
    """The ``entity_type`` set, or what ``source`` (type, id, navigation) leads to."""
    _check_collection(entity_type, options)
    page = options.page
    if entity_type == "Observation" and source is not None:  # one Datastream's
        pages = await observation_pages(view, [source[1]], options, lambda _id: url)
        return pages[source[1]]
    if entity_type == "Observation":
        found = await observations.merged(
            view.influx, view.catalogue.registry, options.time,
            descending=options.descending, skip=options.skip, limit=page + 1)
        value = await _render_observations(view, found[:page], options.expand)
        total = (await observations.count_all(view.influx, view.catalogue.registry,
                                              options.time) if options.count else None)
        return page_answer(value, more=len(found) > page, total=total, url=url,
                           options=options)
    ids = (view.catalogue.ids(entity_type) if source is None
           else view.catalogue.related(*source))
    chosen = ids[options.skip:options.skip + page]
    value = await _render(view, entity_type, chosen, options.expand)
    return page_answer(value, more=len(ids) > options.skip + len(chosen),
                       total=len(ids) if options.count else None, url=url, options=options)


async def observation_pages(view: View, datastream_ids: list[str], options: Options,
                            url_of: Callable[[str], str]) -> dict[str, Entity]:
    """The Observations collection of each Datastream, asked of InfluxDB at once."""
    _check_collection("Observation", options)
    streams = [view.catalogue.datastreams[key] for key in datastream_ids]
    found = await observations.of_datastreams(
        view.influx, streams, options.time, descending=options.descending,
        skip=options.skip, limit=options.page + 1)
    totals = (await observations.counts(view.influx, streams, options.time)
              if options.count else {})
    answers = {}
    for key in datastream_ids:
        page = found.get(key, [])
        value = await _render_observations(view, page[:options.page], options.expand)
        answers[key] = page_answer(value, more=len(page) > options.page,
                                   total=totals.get(key, 0) if options.count else None,
                                   url=url_of(key), options=options)
    return answers


def page_answer(value: list[Entity], *, more: bool, total: int | None, url: str,
                options: Options) -> Entity:
    answer: Entity = {}
    if total is not None:
        answer["@iot.count"] = total
    answer["value"] = value
    if more and (options.top is None or options.top > len(value)):
        answer["@iot.nextLink"] = next_link(url, options, len(value))
    return answer


def next_link(url: str, options: Options, shown: int) -> str:
    params = dict(options.raw)
    params["$skip"] = str(options.skip + shown)
    if options.top is not None:
        params["$top"] = str(options.top - shown)
    return f"{url}?{urlencode(params, quote_via=quote)}"


async def navigate(view: View, entity_type: str, entity_id: str, navigation: str, *,
                   options: Options, url: str) -> Entity:
    """``/Set('id')/navigation``: the one related entity, or a collection."""
    if entity_type == "Observation":  # its one navigation: Datastream
        found = await _observation_entity(view, entity_id, Options())
        return await entity(view, "Datastream", found["@iot.id"].rsplit(":", 1)[0], options)
    view.check(entity_type, entity_id)
    target, many = NAVIGATION[entity_type][navigation]
    if many:
        return await collection(view, target, options, url,
                                (entity_type, entity_id, navigation))
    (related,) = view.catalogue.related(entity_type, entity_id, navigation)
    return await entity(view, target, related, options)


def _expansions(entity_type: str, expand: tuple[Expand, ...]) -> None:
    for item in expand:
        if item.name not in NAVIGATION[entity_type]:
            raise bad_query(f"{entity_type} has no navigation property {item.name!r}; "
                            f"it has {', '.join(NAVIGATION[entity_type])}")


async def _render(view: View, entity_type: str, ids: list[str],
                  expand: tuple[Expand, ...]) -> list[Entity]:
    _expansions(entity_type, expand)
    rendered = []
    for entity_id in ids:
        link = view.link(entity_type, entity_id)
        body: Entity = {"@iot.id": entity_id, "@iot.selfLink": link,
                        **view.catalogue.body(entity_type, entity_id)}
        for navigation in NAVIGATION[entity_type]:
            body[f"{navigation}@iot.navigationLink"] = f"{link}/{navigation}"
        rendered.append(body)
    for item in expand:
        await _expand_all(view, entity_type, rendered, item)
    return rendered


async def _expand_all(view: View, entity_type: str, rendered: list[Entity],
                      item: Expand) -> None:
    """Expand ``item`` in every entity of ``rendered`` with one rendering of all their
    related entities, so nested Observations are asked of InfluxDB once per measure
    for the whole answer (a dashboard's newest value of 100 stations: 4 queries, not
    400), not once per entity."""
    target, many = NAVIGATION[entity_type][item.name]
    keys = [body["@iot.id"] for body in rendered]
    if target == "Observation":
        pages = await observation_pages(
            view, keys, item.options,
            lambda key: f"{view.link('Datastream', key)}/Observations")
        for body in rendered:
            _attach(body, item.name, pages[body["@iot.id"]])
        return
    if not many:
        _single_only_expand(item.options, f"the expanded {item.name}")
    else:
        _check_collection(target, item.options)
    skip, page = item.options.skip, (item.options.page if many else 1)
    related = {key: view.catalogue.related(entity_type, key, item.name) for key in keys}
    chosen = {key: ids[skip:skip + page] for key, ids in related.items()}
    unique = list(dict.fromkeys(i for ids in chosen.values() for i in ids))
    by_id = {entity["@iot.id"]: entity
             for entity in await _render(view, target, unique, item.options.expand)}
    for body in rendered:
        key = body["@iot.id"]
        if not many:
            body[item.name] = by_id[chosen[key][0]]
            continue
        _attach(body, item.name, page_answer(
            [by_id[i] for i in chosen[key]], more=len(related[key]) > skip + len(chosen[key]),
            total=len(related[key]) if item.options.count else None,
            url=f"{body['@iot.selfLink']}/{item.name}", options=item.options))


def _attach(body: Entity, name: str, answer: Entity) -> None:
    body[name] = answer["value"]
    for key in ("@iot.count", "@iot.nextLink"):
        if key in answer:
            body[f"{name}{key}"] = answer[key]


async def _render_observations(view: View, found: list[Observation],
                               expand: tuple[Expand, ...]) -> list[Entity]:
    _expansions("Observation", expand)
    rendered = []
    for observation in found:
        link = view.link("Observation", observation.id)
        body: Entity = {"@iot.id": observation.id, "@iot.selfLink": link,
                        **observation.body(),
                        "Datastream@iot.navigationLink": f"{link}/Datastream"}
        for item in expand:  # only Datastream (checked above)
            (body["Datastream"],) = await _render(view, "Datastream",
                                                  [observation.datastream],
                                                  item.options.expand)
        rendered.append(body)
    return rendered
