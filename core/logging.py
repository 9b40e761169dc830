"""structlog set-up: console lines for people, JSON lines for log collectors.

Libraries that log through the standard library (uvicorn's handshake, startup and error
lines, asyncio's) are rendered by the same processors on the same stream, so they follow
the log format too -- and, above all, pass the same secret redaction (core.redaction).
So do Python's warnings and an uncaught exception's traceback, which Python would
otherwise print as plain lines: a collector reading JSON would split a traceback into
unparsable lines, and an exception's message may hold a URL with its token.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Iterable
from types import TracebackType
from typing import Literal

import structlog

from floodwatch.core.redaction import SecretRedactor

_LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
           "error": logging.ERROR}


def configure_logging(
    level: Literal["debug", "info", "warning", "error"] = "info",
    fmt: Literal["console", "json"] = "console",
    secrets: Iterable[str] = (),
) -> None:
    """``secrets``: configured values never to print (core.redaction.configured_secrets)."""
    renderer: structlog.typing.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if fmt == "json"
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    redact = SecretRedactor(secrets).processor
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(_LEVELS[level]),
        # stderr: stdout stays free for commands whose output is data.
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=False,
    )
    _route_standard_logging(redact, renderer)
    _route_warnings_and_uncaught_exceptions()


def _route_standard_logging(redact: structlog.typing.Processor,
                            renderer: structlog.typing.Processor) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_logger_name,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redact,
            renderer,
        ],
    ))
    root = logging.getLogger()
    root.handlers = [handler]
    # Every line through this one handler: a logger a library configured for itself
    # (uvicorn's dictConfig gives its loggers their own handlers and stops them
    # propagating) would print around the redaction.
    for name in list(logging.root.manager.loggerDict):
        known = logging.getLogger(name)
        if known.handlers or not known.propagate or known.disabled:
            known.handlers.clear()
            known.propagate = True
            known.disabled = False
    # Warnings from any library; the loggers that report more (uvicorn's, whose level
    # the API stage sets from FLOODWATCH_LOG_LEVEL) set their own level. A library's
    # INFO chatter (httpx logs every request URL) stays out as before.
    root.setLevel(logging.WARNING)


def _route_warnings_and_uncaught_exceptions() -> None:
    logging.captureWarnings(True)  # the "py.warnings" logger, through the root handler
    log = structlog.get_logger("floodwatch")

    def uncaught(kind: type[BaseException], value: BaseException,
                 traceback: TracebackType | None) -> None:
        log.critical("uncaught exception", exc_info=(kind, value, traceback))

    def uncaught_in_thread(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        thread = args.thread.name if args.thread is not None else None
        log.critical("uncaught exception in a thread", thread=thread,
                     exc_info=(args.exc_type, args.exc_value, args.exc_traceback))

    sys.excepthook = uncaught
    threading.excepthook = uncaught_in_thread
