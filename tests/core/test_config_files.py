"""The strict YAML reading every configuration file goes through."""

from __future__ import annotations

import pytest
from pydantic import BaseModel, ValidationError

from floodwatch.core.config_files import YamlSyntaxError, deep_merge, first_error, parse_yaml
from floodwatch.core.registry import RegistryError, StationRegistry
from tests.cap_support import SHIPPED_ADVICE


def test_a_key_given_twice_is_refused_with_its_line() -> None:
    with pytest.raises(YamlSyntaxError, match=r"line 3, column 1: key 'b' is given twice"):
        parse_yaml("a: 1\nb: 2\nb: 3\n")


def test_broken_yaml_is_one_line_with_line_and_column() -> None:
    with pytest.raises(YamlSyntaxError) as caught:
        parse_yaml("a: [1, 2\nb: 3\n")
    assert "\n" not in str(caught.value)
    assert str(caught.value).startswith("line ")


def test_registry_refuses_a_station_field_given_twice() -> None:
    text = "stations:\n  - id: a\n    id: b\n"
    with pytest.raises(RegistryError,
                       match=r"<registry>: not valid YAML: line 3.*'id' is given twice"):
        StationRegistry.from_yaml_text(text)


def test_first_error_names_the_field_and_drops_pydantics_prefix() -> None:
    class Level(BaseModel):
        metres: float

    with pytest.raises(ValidationError) as caught:
        Level.model_validate({"metres": "high"})
    assert first_error(caught.value) == (
        "metres: Input should be a valid number, unable to parse string as a number")


def test_deep_merge_merges_mappings_and_replaces_everything_else() -> None:
    base = {"river": {"deadband_m": 0.1, "hold": "10m"}, "levels": [1, 2]}
    override = {"river": {"hold": "5m"}, "levels": [3]}
    assert deep_merge(base, override) == {
        "river": {"deadband_m": 0.1, "hold": "5m"}, "levels": [3]}
    assert base["river"] == {"deadband_m": 0.1, "hold": "10m"}  # the base is not changed


def test_a_delivery_template_with_an_unknown_placeholder_names_it_and_its_place() -> None:
    from floodwatch.notify.config import ConfigError, NotifyConfig

    text = "templates:\n  post: {ja: '{badge} {station}', en: '{badge}'}\n"
    with pytest.raises(ConfigError, match=r"<notify>: templates: post\.ja: "
                       r"unknown placeholder \{station\} \(allowed: advice, badge, body\)"):
        NotifyConfig.from_yaml_text(text, advice=SHIPPED_ADVICE)
