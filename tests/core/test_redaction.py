"""core.redaction and its place in core.logging: what a log line keeps and what it loses."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator

import pytest
import structlog
from hypothesis import assume, given
from hypothesis import strategies as st

from floodwatch.core.logging import configure_logging
from floodwatch.core.redaction import (
    REDACTED,
    SECRET_HEADER_NAMES,
    SECRET_QUERY_NAMES,
    SecretRedactor,
    configured_secrets,
)
from floodwatch.core.settings import Settings

KEY = "officer-key-0123456789"


@pytest.mark.parametrize(("line", "expected"), [
    ('127.0.0.1:5 - "WebSocket /api/v1/live/ws?access_token=abc" [accepted]',
     '127.0.0.1:5 - "WebSocket /api/v1/live/ws?access_token=[redacted]" [accepted]'),
    ("GET /api/v1/live/sse?kinds=river&api_key=abc&alerts_only=true",
     "GET /api/v1/live/sse?kinds=river&api_key=[redacted]&alerts_only=true"),
    ("/ws?access%5Ftoken=abc", "/ws?access%5Ftoken=[redacted]"),
    ("/ws?TOKEN=abc;key=def", "/ws?TOKEN=[redacted];key=[redacted]"),
    ("/stations?kinds=road&monkey=1", "/stations?kinds=road&monkey=1"),
    ("Authorization: Bearer abc", "Authorization: [redacted]"),
    ("[(b'x-api-key', b'abc'), (b'host', b'h')]",
     "[(b'x-api-key', b'[redacted]'), (b'host', b'h')]"),
    ("{'cookie': 'a=b; c=d', 'host': 'h'}", "{'cookie': '[redacted]', 'host': 'h'}"),
    ("connect mqtts://bus:p%40ss@broker:8883 failed",
     "connect mqtts://bus:[redacted]@broker:8883 failed"),
    ("station sukagawa rose 0.4 m at 12:00", "station sukagawa rose 0.4 m at 12:00"),
])
def test_lines_keep_everything_but_the_credential(line: str, expected: str) -> None:
    assert SecretRedactor().redact(line) == expected


@given(secret=st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~",
                      min_size=16, max_size=64),
       name=st.sampled_from(sorted(SECRET_QUERY_NAMES)),
       header=st.sampled_from(SECRET_HEADER_NAMES))
def test_no_credential_shape_survives(secret: str, name: str, header: str) -> None:
    redactor = SecretRedactor()  # no configured value: the shapes alone must do
    for line in (f'"WebSocket /api/v1/live/ws?stations=a&{name}={secret}" [accepted]',
                 f"{header.title()}: Bearer {secret}", f"(b'{header}', b'{secret}')"):
        # A "secret" that spells part of the line around it (a header's own name, say)
        # would be found there, not leaked: such draws say nothing about redaction.
        assume(secret not in line.replace(secret, "", 1))
        assert secret not in redactor.redact(line)


def test_configured_values_are_hidden_anywhere() -> None:
    settings = Settings.model_validate({
        "api_keys": f"viewer:viewer-key-0123456789,officer:{KEY}",
        "notify_webhook_secrets": "city:hook-secret-abcdef",
        "notify_mastodon_token": "masto-token-xyz",
        "mqtt_url": "mqtt://bus:p%40ss-word1@127.0.0.1:1883"})
    secrets = configured_secrets(settings)
    assert {KEY, "viewer-key-0123456789", "hook-secret-abcdef", "masto-token-xyz",
            "p@ss-word1"} <= secrets
    redactor = SecretRedactor(secrets)
    assert redactor.redact(f"refused {KEY} in a body") == f"refused {REDACTED} in a body"
    assert redactor.redact("password=p%40ss-word1") == f"password={REDACTED}"
    # Too short to search for without mangling ordinary words.
    assert SecretRedactor(["demo"]).redact("demo run") == "demo run"


@pytest.fixture
def restored_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    yield
    root.handlers, root.level = handlers, level
    structlog.configure(**config)


def test_stdlib_and_structlog_lines_are_rendered_redacted(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json", [KEY])
    uvicorn = logging.getLogger("uvicorn.error")
    uvicorn.setLevel(logging.INFO)
    uvicorn.info('%s - "WebSocket %s" [accepted]', "127.0.0.1:5",
                 "/api/v1/live/ws?access_token=unconfigured-key-000")
    try:
        raise RuntimeError(f"GET https://mastodon.example/api?access_token={KEY}")
    except RuntimeError:
        uvicorn.exception("Exception in ASGI application")
        structlog.get_logger("notify").exception("post failed", key=KEY, keys=[KEY])
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [line["event"] for line in lines] == [
        '127.0.0.1:5 - "WebSocket /api/v1/live/ws?access_token=[redacted]" [accepted]',
        "Exception in ASGI application", "post failed"]
    assert lines[0]["logger"] == "uvicorn.error"
    for line in lines[1:]:
        assert "access_token=[redacted]" in line["exception"]
    assert (lines[2]["key"], lines[2]["keys"]) == (REDACTED, [REDACTED])
    everything = json.dumps(lines)
    assert KEY not in everything
    assert "unconfigured-key-000" not in everything
