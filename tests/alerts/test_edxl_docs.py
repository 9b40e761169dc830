"""docs/edxl.md shows one complete envelope: the one floodwatch renders for the first
public update of the typhoon replay (sample registry, shipped rules). The page cannot
drift from the code: this test fails when the two differ, and prints the current one
(the suite never rewrites a tracked file)."""

from __future__ import annotations

import re

from lxml import etree

from floodwatch.alerts.engine import Engine
from floodwatch.alerts.rules import AlertRules
from floodwatch.core.alert_area import alert_area
from floodwatch.core.edxl import render_edxl
from floodwatch.core.registry import StationRegistry
from tests.alerts.conftest import RULES_FILE
from tests.alerts.test_typhoon import typhoon_readings
from tests.cap_support import cap_of
from tests.conftest import SAMPLE_REGISTRY
from tests.support import REPO_ROOT
from tests.xsd import assert_valid_edxl_de

PAGE = REPO_ROOT / "docs" / "edxl.md"
BLOCK = re.compile(r"<!-- example envelope -->\n```xml\n(.*?)```\n", re.DOTALL)


def example_envelope() -> str:
    """The envelope of the typhoon's first Public CAP Update, indented for reading."""
    registry = StationRegistry.load(SAMPLE_REGISTRY)
    rules = AlertRules.load(RULES_FILE, registry)
    engine = Engine(registry, rules)
    for reading in typhoon_readings(registry):
        for event in engine.on_reading(reading).events:
            station = registry.get(event.station)
            assert station is not None
            cap = cap_of(event, registry, rules)
            if b"<msgType>Update</msgType><scope>Public</scope>" in cap:
                document = assert_valid_edxl_de(
                    render_edxl(cap, alert_area(station, registry)))
                etree.indent(document, space="  ")
                return etree.tostring(document, encoding="unicode") + "\n"
    raise AssertionError("the typhoon has no public update")


def test_the_page_shows_the_envelope_floodwatch_renders() -> None:
    shown = BLOCK.search(PAGE.read_text(encoding="utf-8"))
    assert shown is not None, "docs/edxl.md lost its <!-- example envelope --> block"
    current = example_envelope()
    assert shown.group(1) == current, f"docs/edxl.md is out of date; the envelope now:\n{current}"
