"""Reading the YAML configuration files (station registry, alert rules, scenarios, channels)
the same strict way, with errors that fit on one line and name the place.

Operators edit these files by hand during an incident; PyYAML's defaults would silently
keep the last of two keys of the same name and its messages span several lines, so every
loader goes through here instead.
"""

from __future__ import annotations

import string
from typing import Any

import yaml
from pydantic import ValidationError


class YamlSyntaxError(ValueError):
    """Not YAML, or a mapping that gives a key twice; the message is one line."""


# libyaml's parser where PyYAML was built with it: a 500-station registry loads in a
# fraction of the pure-Python parser's 0.3 s, which every stage pays at each start.
_SafeLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _StrictLoader(_SafeLoader):  # type: ignore[valid-type,misc]
    """SafeLoader that refuses a key given twice (PyYAML silently keeps the last)."""


def _mapping_without_duplicates(loader: yaml.SafeLoader, node: yaml.MappingNode) -> Any:
    keys: set[object] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node)
        if key in keys:
            raise yaml.constructor.ConstructorError(
                None, None, f"key {key!r} is given twice", key_node.start_mark)
        keys.add(key)
    return loader.construct_mapping(node)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG,
                              _mapping_without_duplicates)


def parse_yaml(text: str) -> Any:
    """The document in ``text``; raises YamlSyntaxError with line and column."""
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        raise YamlSyntaxError(_one_line(exc)) from exc


def _one_line(exc: yaml.YAMLError) -> str:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        return f"line {mark.line + 1}, column {mark.column + 1}: {exc.problem}"
    return " ".join(str(exc).split())


def first_error(exc: ValidationError) -> str:
    """The first problem of a validation error, as ``where: what`` in one line."""
    first = exc.errors(include_url=False, include_input=False)[0]
    where = ".".join(str(part) for part in first["loc"])
    message = first["msg"].removeprefix("Value error, ")
    return f"{where}: {message}" if where else message


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """Mappings merge key by key (recursively); any other value replaces the base's."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def check_placeholders(templates: object, allowed: dict[str, set[str]],
                       where: str = "") -> None:
    """Refuse a ja/en ``str.format`` template naming a placeholder it will not be given
    (found at start, not in the middle of a typhoon). ``templates.<name>`` has ``ja``
    and ``en``; ``where`` prefixes the error's location."""
    for name, names in allowed.items():
        text = getattr(templates, name)
        for lang in ("ja", "en"):
            fields = {field for _, field, _, _ in string.Formatter().parse(getattr(text, lang))
                      if field}
            extra = fields - names
            if extra:
                raise ValueError(f"{where}{name}.{lang}: unknown placeholder "
                                 f"{sorted(extra)[0]!r} (allowed: {', '.join(sorted(names))})")
