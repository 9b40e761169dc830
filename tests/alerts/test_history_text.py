"""History lines keep what was published even when it holds control characters: the
JSON and CAP XML are stored with them escaped, so the line can always be written
(issue 21: a record must never be lost to a character)."""

from __future__ import annotations

import json
from xml.etree import ElementTree

from hypothesis import given
from hypothesis import strategies as st

from floodwatch.alerts.history import one_line_json, one_line_xml
from floodwatch.core.lineprotocol import format_field_value
from floodwatch.core.text import CONTROL_CHARACTERS

texts = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(note=texts)
def test_a_payload_is_stored_escaped_and_means_the_same(note: str) -> None:
    payload = json.dumps({"cause": {"note": note}}, ensure_ascii=False).encode()
    stored = one_line_json(payload)
    assert CONTROL_CHARACTERS.search(stored) is None
    assert json.loads(stored) == {"cause": {"note": note}}
    format_field_value(stored)  # never refused


def test_cap_xml_is_stored_with_character_references() -> None:
    document = "<?xml version='1.0' encoding='UTF-8'?>\n<alert>a\tb\x7fc\x85\n</alert>"
    stored = one_line_xml(document.encode())
    assert CONTROL_CHARACTERS.search(stored) is None
    assert ElementTree.fromstring(stored.encode()).text == "a\tb\x7fc\x85\n"
