"""CAP in the tests: the engine's profile with the shipped rules' advice and a fixed
identifier namespace. The OASIS schemas are loaded by tests/xsd.py (cap_schema is
re-exported here for the tests that import it from this module)."""

from __future__ import annotations

from floodwatch.alerts.cap import render_cap
from floodwatch.alerts.cap_profile import CapProfile
from floodwatch.alerts.model import Event
from floodwatch.alerts.rules import AlertRules
from floodwatch.core import bus, cap_ids
from floodwatch.core.advice import Advice
from floodwatch.core.registry import StationRegistry
from tests.support import REPO_ROOT
from tests.xsd import cap_schema

ADVICE_FILE = REPO_ROOT / "config" / "advice.yaml"
NAMESPACE = "test:0123456789abcdef"  # "{deployment_id}:{instance}"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
__all__ = ["cap_schema"]  # tests import it from here too


def identifier(event_id: str, namespace: str = NAMESPACE) -> str:
    return cap_ids.cap_identifier(namespace, event_id)


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


# The shipped advice file, as notify's and the engine's tests read it.
SHIPPED_ADVICE = Advice.load(ADVICE_FILE)
