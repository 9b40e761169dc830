"""Python's warnings and uncaught exceptions, which Python prints as plain lines, come out
in the log format like every logger's lines, tracebacks included and secrets redacted."""

from __future__ import annotations

import json
import logging
import sys
import threading
import warnings
from collections.abc import Iterator

import pytest
import structlog

from floodwatch.core.logging import configure_logging
from floodwatch.core.redaction import REDACTED

KEY = "configured-secret-key-123456"


@pytest.fixture
def restored_logging(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    monkeypatch.setattr(sys, "excepthook", sys.excepthook)
    monkeypatch.setattr(threading, "excepthook", threading.excepthook)
    yield
    logging.captureWarnings(False)
    root.handlers, root.level = handlers, level
    structlog.configure(**config)


def test_an_uncaught_exception_is_one_json_line_with_its_traceback_redacted(
        restored_logging: None, capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json", [KEY])
    try:
        raise ConnectionError(f"https://influx.example/write?token={KEY}")
    except ConnectionError as exc:
        sys.excepthook(type(exc), exc, exc.__traceback__)
    thread = threading.Thread(target=lambda: 1 / 0, name="metrics")
    thread.start()
    thread.join()
    lines = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert [(line["event"], line["level"]) for line in lines] == [
        ("uncaught exception", "critical"), ("uncaught exception in a thread", "critical")]
    assert "ConnectionError" in lines[0]["exception"]
    assert KEY not in json.dumps(lines)
    assert f"token={REDACTED}" in lines[0]["exception"] or REDACTED in lines[0]["exception"]
    assert lines[1]["thread"] == "metrics"
    assert "ZeroDivisionError" in lines[1]["exception"]


def test_a_warning_is_a_json_line(restored_logging: None,
                                  capsys: pytest.CaptureFixture[str]) -> None:
    configure_logging("info", "json")
    with warnings.catch_warnings():
        warnings.simplefilter("always")
        warnings.warn("a library's deprecation", DeprecationWarning, stacklevel=1)
    (line,) = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    assert line["logger"] == "py.warnings"
    assert line["level"] == "warning"
    assert "a library's deprecation" in line["event"]
