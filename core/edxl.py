"""The EDXL-DE 1.0 envelope (OASIS Emergency Data Exchange Language, Distribution
Element) around a rendered CAP 1.2 message, as L-Alert partners exchange them.

It wraps, it never re-renders: the CAP bytes go into ``embeddedXMLContent`` as they are
(only their XML declaration dropped), so the envelope says nothing the CAP does not,
and the same CAP always gets the same envelope -- alerts publishes it on
``floodwatch/edxl/{station}`` and notify builds it again for its channels, identical.

Mapping (docs/edxl.md):

- ``distributionID`` the CAP ``identifier`` + ``:edxl``; ``senderID`` the CAP ``sender``;
  ``dateTimeSent`` the CAP ``sent``; ``distributionStatus`` the CAP ``status``.
- ``distributionType``: Alert -> Report, Update -> Update, Cancel -> Cancel, each
  Update or Cancel with a ``distributionReference`` to the envelope of every CAP
  message it references (EDXL-DE 1.0 distributionReference: distributionID,senderID,dateTimeSent).
- ``combinedConfidentiality`` and the content's ``confidentiality``: the standard's
  default ``UNCLASSIFIED AND NOT SENSITIVE`` for a Public CAP; ``RESTRICTED`` (with
  the CAP's own ``restriction`` as the content description) otherwise.
- ``language`` the first info block's; ``keyword`` the CAP's ``alert_type`` parameter.
- ``targetArea``: the alert area's polygons or circle (same text form as CAP), country
  ``JP``, and ``subdivision`` the ISO 3166-2 prefecture (``JP-07``) of each municipality
  code (its first two digits are the prefecture's JIS X 0401 code).
"""

from __future__ import annotations

import re
from xml.etree import ElementTree as ET

from floodwatch.core.alert_area import AlertArea

EDXL_NS = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"
CAP = "{urn:oasis:names:tc:emergency:cap:1.2}"
DISTRIBUTION_SUFFIX = ":edxl"
DISTRIBUTION_TYPES = {"Alert": "Report", "Update": "Update", "Cancel": "Cancel"}
STATUSES = {"Actual", "Exercise", "System", "Test"}  # CAP's Draft has no EDXL-DE match
PUBLIC = "UNCLASSIFIED AND NOT SENSITIVE"  # EDXL-DE 1.0's default
RESTRICTED = "RESTRICTED"
COUNTRY = "JP"
ALERT_TYPE_LIST = "floodwatch:alert_type"  # keyword's valueListUrn
_DECLARATION = re.compile(rb"^\s*<\?xml[^>]*\?>\s*")
EMPTY_CONTENT = "<embeddedXMLContent />"  # as ElementTree writes it, to fill with the CAP


class EnvelopeError(ValueError):
    """The CAP cannot be wrapped (not CAP 1.2, or a status EDXL-DE has no word for)."""


def distribution_id(cap_identifier: str) -> str:
    return cap_identifier + DISTRIBUTION_SUFFIX


def subdivisions(municipality_codes: list[str]) -> list[str]:
    """ISO 3166-2:JP codes of the prefectures the municipality codes are in, in order."""
    found: list[str] = []
    for code in municipality_codes:
        prefecture = f"{COUNTRY}-{code[:2]}"
        if code[:2].isdigit() and prefecture not in found:
            found.append(prefecture)
    return found


def render_edxl(cap: bytes, area: AlertArea) -> bytes:
    alert = _parse(cap)

    def field(tag: str) -> str:
        text = alert.findtext(f"{CAP}{tag}")
        if not text:
            raise EnvelopeError(f"the CAP has no {tag}")
        return text

    status, msg_type = field("status"), field("msgType")
    if status not in STATUSES:
        raise EnvelopeError(f"CAP status {status!r} has no EDXL-DE distributionStatus")
    if msg_type not in DISTRIBUTION_TYPES:
        raise EnvelopeError(f"CAP msgType {msg_type!r} is not wrapped")
    public = field("scope") == "Public"
    confidentiality = PUBLIC if public else RESTRICTED

    envelope = ET.Element(f"{{{EDXL_NS}}}EDXLDistribution")

    def sub(parent: ET.Element, tag: str, text: str | None = None) -> ET.Element:
        element = ET.SubElement(parent, f"{{{EDXL_NS}}}{tag}")
        element.text = text
        return element

    sub(envelope, "distributionID", distribution_id(field("identifier")))
    sub(envelope, "senderID", field("sender"))
    sub(envelope, "dateTimeSent", field("sent"))
    sub(envelope, "distributionStatus", status)
    sub(envelope, "distributionType", DISTRIBUTION_TYPES[msg_type])
    sub(envelope, "combinedConfidentiality", confidentiality)
    info = alert.find(f"{CAP}info")
    language = info.findtext(f"{CAP}language") if info is not None else None
    if language:
        sub(envelope, "language", language)
    alert_type = _parameter(alert, "alert_type")
    if alert_type is not None:
        keyword = sub(envelope, "keyword")
        sub(keyword, "valueListUrn", ALERT_TYPE_LIST)
        sub(keyword, "value", alert_type)
    for reference in (alert.findtext(f"{CAP}references") or "").split():
        sender, identifier, sent = reference.split(",", 2)
        sub(envelope, "distributionReference",
            f"{distribution_id(identifier)},{sender},{sent}")
    target = sub(envelope, "targetArea")  # in the schema's order: circle, polygon, ...
    if area.circle is not None:
        sub(target, "circle", area.circle)
    for polygon in area.polygons:
        sub(target, "polygon", polygon)
    sub(target, "country", COUNTRY)
    for subdivision in subdivisions(area.municipality_codes):
        sub(target, "subdivision", subdivision)
    content = sub(envelope, "contentObject")
    headline = info.findtext(f"{CAP}headline") if info is not None else None
    description = headline if public else alert.findtext(f"{CAP}restriction") or headline
    if description:
        sub(content, "contentDescription", description)
    sub(content, "confidentiality", confidentiality)
    sub(sub(content, "xmlContent"), "embeddedXMLContent")
    head = ET.tostring(envelope, encoding="unicode", default_namespace=EDXL_NS)
    # The CAP goes in as bytes, after ElementTree has written the envelope around an
    # empty embeddedXMLContent: a signed CAP would stay verifiable, and ElementTree's
    # process-wide namespace prefixes (alerts.cap registers CAP's) cannot touch it.
    before, empty, after = head.partition(EMPTY_CONTENT)
    assert empty, head  # the one empty element the envelope has
    body = _DECLARATION.sub(b"", cap, count=1)
    return (b"<?xml version='1.0' encoding='utf-8'?>\n" + before.encode()
            + b"<embeddedXMLContent>" + body + b"</embeddedXMLContent>" + after.encode())


def is_public(cap: bytes) -> bool:
    """Whether the CAP's scope is Public: only those go to partners (an L-Alert relay);
    Restricted ones (staff-only, unconfirmed) stay on the officers' channels."""
    return _parse(cap).findtext(f"{CAP}scope") == "Public"


def _parse(cap: bytes) -> ET.Element:
    try:
        # Our own renderer's output (alerts.cap), or CAP from our own bus; expat (>= 2.4.1,
        # which CPython 3.11 bundles) refuses entity-expansion bombs.
        alert = ET.fromstring(cap)  # noqa: S314
    except ET.ParseError as exc:
        raise EnvelopeError(f"the CAP is not well-formed XML: {exc}") from exc
    if alert.tag != f"{CAP}alert":
        raise EnvelopeError(f"not a CAP 1.2 alert: {alert.tag}")
    declaration = _DECLARATION.match(cap)
    if declaration is not None and re.search(rb"encoding=.(?!utf-8|UTF-8)", declaration[0]):
        raise EnvelopeError("the CAP is not UTF-8: it cannot be embedded as it is")
    return alert


def _parameter(alert: ET.Element, name: str) -> str | None:
    for parameter in alert.iter(f"{CAP}parameter"):
        if parameter.findtext(f"{CAP}valueName") == name:
            return parameter.findtext(f"{CAP}value")
    return None

