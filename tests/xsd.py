"""The OASIS schemas the tests validate against: CAP 1.2 and EDXL-DE 1.0, shipped as test
data (tests/data/xsd, with their licence in NOTICE.md) and loaded without network access:
neither imports another schema, and lxml is told never to fetch one."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from lxml import etree

XSD_DIR = Path(__file__).parent / "data" / "xsd"
CAP_XSD = XSD_DIR / "CAP-v1.2.xsd"
EDXL_DE_XSD = XSD_DIR / "EDXL-DE-v1.0.xsd"
CAP_NAMESPACE = "urn:oasis:names:tc:emergency:cap:1.2"
EDXL_DE_NAMESPACE = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"


def _load(path: Path, namespace: str) -> etree.XMLSchema:
    parser = etree.XMLParser(no_network=True, resolve_entities=False)
    document = etree.parse(str(path), parser)
    assert document.getroot().get("targetNamespace") == namespace, path
    return etree.XMLSchema(document)


@cache
def cap_schema() -> etree.XMLSchema:
    return _load(CAP_XSD, CAP_NAMESPACE)


@cache
def edxl_de_schema() -> etree.XMLSchema:
    return _load(EDXL_DE_XSD, EDXL_DE_NAMESPACE)


def assert_valid_cap(document: bytes | etree._Element) -> etree._Element:
    """The CAP document (bytes or parsed), valid against the OASIS CAP 1.2 schema."""
    return _assert_valid(cap_schema(), document)


def assert_valid_edxl_de(document: bytes | etree._Element) -> etree._Element:
    """The envelope, valid against the OASIS EDXL-DE 1.0 schema."""
    return _assert_valid(edxl_de_schema(), document)


def _assert_valid(schema: etree.XMLSchema, document: bytes | etree._Element
                  ) -> etree._Element:
    root = etree.fromstring(document) if isinstance(document, bytes) else document
    assert schema.validate(root), schema.error_log
    return root
