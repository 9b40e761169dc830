"""The parsed-YAML cache (core.config_cache): the same document as a parse, from a file
keyed by the text; never stale, never in the way."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from floodwatch.core import config_cache
from floodwatch.core.config_cache import parse_yaml_cached, same_document
from floodwatch.core.config_files import YamlSyntaxError, parse_yaml
from floodwatch.core.registry import RegistryError, StationRegistry

REGISTRY = Path(__file__).resolve().parents[2] / "config" / "stations.yaml"


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The texts the cache had to parse (it calls parse_yaml for each miss)."""
    seen: list[str] = []

    def counting(text: str) -> Any:
        seen.append(text)
        return parse_yaml(text)

    monkeypatch.setattr(config_cache, "parse_yaml", counting)
    return seen


def test_a_second_load_is_served_from_the_cache(tmp_path: Path, parses: list[str]) -> None:
    text = REGISTRY.read_text(encoding="utf-8")
    first = parse_yaml_cached(text, tmp_path)
    second = parse_yaml_cached(text, tmp_path)
    assert len(parses) == 1
    assert same_document(second, first)
    assert same_document(second, parse_yaml(text))
    assert len(list(tmp_path.glob("yaml-*.json"))) == 1


def test_an_edited_file_is_parsed_again(tmp_path: Path, parses: list[str]) -> None:
    assert parse_yaml_cached("a: 1\n", tmp_path) == {"a": 1}
    assert parse_yaml_cached("a: 2\n", tmp_path) == {"a": 2}
    assert parse_yaml_cached("a: 1\n", tmp_path) == {"a": 1}
    assert parses == ["a: 1\n", "a: 2\n"]


@pytest.mark.parametrize("text", [
    "day: 2026-12-07\n",          # a date: JSON would give text back
    "12345: river\n",             # a number as a key
    "level: .nan\n",              # NaN
    "codes: !!binary aGVsbG8=\n",  # bytes
])
def test_documents_json_cannot_give_back_are_not_kept(
        tmp_path: Path, parses: list[str], text: str) -> None:
    first = parse_yaml_cached(text, tmp_path)
    second = parse_yaml_cached(text, tmp_path)
    assert list(tmp_path.iterdir()) == []
    assert len(parses) == 2
    expected = parse_yaml(text)
    for document in (first, second):
        assert document.keys() == expected.keys()
        value, wanted = next(iter(document.values())), next(iter(expected.values()))
        assert type(value) is type(wanted)
        assert (math.isnan(value) and math.isnan(wanted)) if isinstance(value, float) \
            else value == wanted


def test_a_damaged_cache_file_is_parsed_again_and_replaced(
        tmp_path: Path, parses: list[str]) -> None:
    parse_yaml_cached("a: [1, 2]\n", tmp_path)
    (cached,) = tmp_path.glob("yaml-*.json")
    cached.write_bytes(b'{"a": [1, ')  # cut short, as by a full disk
    assert parse_yaml_cached("a: [1, 2]\n", tmp_path) == {"a": [1, 2]}
    assert parse_yaml_cached("a: [1, 2]\n", tmp_path) == {"a": [1, 2]}
    assert len(parses) == 2
    assert cached.read_bytes() == b'{"a":[1,2]}'


def test_a_cache_directory_that_cannot_be_made_costs_only_the_parse(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-directory"
    blocked.write_text("a file where the cache directory should be\n")
    assert parse_yaml_cached("a: 1\n", blocked / "cache") == {"a": 1}
    assert blocked.read_text() == "a file where the cache directory should be\n"


def test_yaml_errors_are_the_parsers_own(tmp_path: Path) -> None:
    with pytest.raises(YamlSyntaxError, match="given twice"):
        parse_yaml_cached("a: 1\na: 2\n", tmp_path)
    assert list(tmp_path.iterdir()) == []


def test_the_registry_from_the_cache_is_the_registry(tmp_path: Path) -> None:
    plain = StationRegistry.load(REGISTRY)
    StationRegistry.load(REGISTRY, cache_dir=tmp_path)
    cached = StationRegistry.load(REGISTRY, cache_dir=tmp_path)
    assert [station.model_dump() for station in cached] == \
        [station.model_dump() for station in plain]
    assert cached.rivers == plain.rivers
    assert cached.municipalities == plain.municipalities
    assert cached.sample == plain.sample


def test_a_cached_document_is_still_checked(tmp_path: Path) -> None:
    """The cache skips the parse, not the registry's checks."""
    text = "stations:\n  - {id: Bad Id, kind: river}\n"
    for _ in range(2):
        with pytest.raises(RegistryError, match="Bad Id"):
            StationRegistry.from_yaml_text(text, cache_dir=tmp_path)
    assert len(list(tmp_path.glob("yaml-*.json"))) == 1


def test_same_document_tells_types_apart() -> None:
    assert same_document({"a": [1, 2.5, "x", None, True]}, {"a": [1, 2.5, "x", None, True]})
    assert not same_document({"a": 1.0}, {"a": 1})
    assert not same_document({"a": 1}, {"a": True})
    assert not same_document([1, 2], [1, 2, 3])
    assert not same_document({"1": "x"}, {1: "x"})


# JSON-like documents as YAML writes them: the cache must give back exactly the parse,
# on the miss that fills it and on the hit that follows.
scalars = st.one_of(st.none(), st.booleans(), st.integers(-(2**63), 2**63 - 1),
                    st.floats(allow_nan=False), st.text(max_size=20))
documents = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.text(max_size=10), inner, max_size=4),
    max_leaves=20)


@settings(max_examples=150, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=documents)
def test_the_cache_gives_back_exactly_the_parse(tmp_path: Path, document: object) -> None:
    text = yaml.safe_dump({"document": document}, allow_unicode=True)
    expected = parse_yaml(text)
    for _ in range(2):
        assert same_document(parse_yaml_cached(text, tmp_path), expected)
