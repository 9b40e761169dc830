"""The alert event as notify reads it from the bus: the engine's JSON
(``bus.AlertEventMessage``), and the event id inside its CAP 1.2 rendering
(``bus.cap_identifier``).

Only the bus contract (floodwatch.core.bus) is read here; notify never imports the alert
engine. A tolerant reader: unknown keys are ignored so the engine may add some, and only
the fields delivery needs are required (tests/notify check it against the contract).
"""

from __future__ import annotations

from typing import Literal
from xml.etree import ElementTree as ET

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from floodwatch.core import bus, cap_ids

CAP_NS = "{urn:oasis:names:tc:emergency:cap:1.2}"


class NoticeError(ValueError):
    """A bus message that is not an alert event we can deliver."""


class LocalText(BaseModel):
    # Not bus.LocalText: the contract's models are strict for producers, a reader ignores
    # what it does not know (a language the engine adds later must not stop deliveries).
    model_config = ConfigDict(frozen=True, extra="ignore")
    ja: str
    en: str


class Notice(BaseModel):
    """The fields of an alert event that delivery decisions and post texts use."""

    model_config = ConfigDict(frozen=True, extra="ignore")
    # Another version is a change this reader could misread: refused (and logged), never
    # posted half-understood. Absent means 1, as the engine wrote before the contract.
    schema_version: Literal[1] = 1
    event_id: str = Field(pattern=bus.EVENT_ID_RE.pattern)
    seq: int
    station: str
    kind: str
    alert_id: str
    alert_type: str
    transition: str
    level: int
    previous_level: int
    level_name: str
    label: LocalText
    official: LocalText | None = None
    alert_level: int | None = None
    headline: LocalText
    at: str
    # What the rule saw (level_m, rate_m_per_h, water_depth_cm, surface_temp_c, ...):
    # the numbers residents' posts quote. Absent or odd values are left out of posts.
    detail: dict[str, object] = {}
    # False: residents' channels must not carry it. Absent (an engine from before
    # confirmation) reads as unconfirmed: the safe side.
    confirmed: bool = False

    @classmethod
    def from_json(cls, payload: bytes) -> Notice:
        try:
            return cls.model_validate_json(payload)
        except ValidationError as exc:
            first = exc.errors(include_url=False, include_input=False)[0]
            where = ".".join(str(part) for part in first["loc"])
            raise NoticeError(f"not an alert event: {where}: {first['msg']}") from exc

    @property
    def escalating(self) -> bool:
        """Tells of a level reached. ``confirmed`` counts: to residents it is the
        escalation a single reading could not make public."""
        return self.transition in ("raised", "escalated", "confirmed")


def cap_event_id(document: bytes) -> str:
    """The event id a CAP alert of ours carries in its ``identifier``."""
    try:
        # Our own engine's output on our own bus; expat (>= 2.4.1, which CPython 3.11
        # bundles) refuses entity-expansion bombs, and the broker bounds the size.
        root = ET.fromstring(document)  # noqa: S314
    except ET.ParseError as exc:
        raise NoticeError(f"not XML: {exc}") from exc
    identifier = root.findtext(f"{CAP_NS}identifier")
    if root.tag != f"{CAP_NS}alert" or identifier is None:
        raise NoticeError("not a CAP 1.2 alert with an identifier")
    event_id = cap_ids.cap_identifier_event_id(identifier)
    if event_id is None:
        raise NoticeError(f"CAP identifier {identifier[:80]!r} is not one of ours")
    return event_id
