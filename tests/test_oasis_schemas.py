"""The OASIS schemas shipped as test data are the files their NOTICE names, unmodified
(the OASIS permission to copy them forbids changes), and they do reject what is not CAP
or EDXL-DE: a validation test against a schema that accepts anything proves nothing."""

from __future__ import annotations

import hashlib
import re

from lxml import etree

from tests.xsd import CAP_XSD, EDXL_DE_XSD, XSD_DIR, cap_schema, edxl_de_schema

EDXL = "urn:oasis:names:tc:emergency:EDXL:DE:1.0"


def test_each_schema_is_the_file_its_notice_names() -> None:
    notice = (XSD_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for path in (CAP_XSD, EDXL_DE_XSD):
        listed = re.search(rf"\| `{re.escape(path.name)}` \|.*\| `([0-9a-f]{{64}})` \|", notice)
        assert listed is not None, path.name
        assert hashlib.sha256(path.read_bytes()).hexdigest() == listed.group(1), path.name
    assert "OASIS DISCLAIMS ALL WARRANTIES" in notice


def test_the_cap_schema_refuses_a_message_without_its_required_fields() -> None:
    incomplete = etree.fromstring(
        b'<alert xmlns="urn:oasis:names:tc:emergency:cap:1.2"><identifier>x</identifier>'
        b"<sender>s</sender></alert>")
    assert not cap_schema().validate(incomplete)


def test_the_edxl_schema_accepts_a_minimal_envelope_and_refuses_an_unknown_status() -> None:
    def envelope(status: str) -> etree._Element:
        return etree.fromstring(
            f'<EDXLDistribution xmlns="{EDXL}"><distributionID>d</distributionID>'
            "<senderID>s@example.invalid</senderID>"
            "<dateTimeSent>2026-10-12T09:10:00+09:00</dateTimeSent>"
            f"<distributionStatus>{status}</distributionStatus>"
            "<distributionType>Report</distributionType>"
            "<combinedConfidentiality>UNCLASSIFIED AND NOT SENSITIVE</combinedConfidentiality>"
            "</EDXLDistribution>".encode())

    assert edxl_de_schema().validate(envelope("Actual")), edxl_de_schema().error_log
    assert not edxl_de_schema().validate(envelope("Draft"))  # CAP has Draft, EDXL-DE not
