"""Logging set-up: structlog to stderr, JSON for servers, readable on a terminal.

stdout belongs to the MCP stdio transport, so nothing here ever writes to it. Every event
passes through a :class:`~stream_mcp.observability.redact.Redactor` before it is rendered.
"""

from __future__ import annotations

import logging
import sys
from typing import Any, Literal

import structlog

from stream_mcp.observability.redact import Redactor

LogFormat = Literal["auto", "json", "console"]


def _redaction_processor(redactor: Redactor) -> Any:
    def process(_logger: Any, _name: str, event: dict[str, Any]) -> dict[str, Any]:
        return {k: redactor.value(v, key=k) for k, v in event.items()}

    return process


def configure_logging(
    *, fmt: LogFormat = "auto", level: str = "INFO", redactor: Redactor | None = None
) -> None:
    """Route structlog and stdlib logging to stderr with redaction."""
    redactor = redactor or Redactor()
    use_json = fmt == "json" or (fmt == "auto" and not sys.stderr.isatty())
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    numeric = logging.getLevelName(level.upper())
    if not isinstance(numeric, int):
        numeric = logging.INFO
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            _redaction_processor(redactor),
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(numeric),
        # Resolve sys.stderr at each write, not once: it may be replaced after set-up.
        logger_factory=_stderr_logger,
        cache_logger_on_first_use=False,
    )
    logging.basicConfig(stream=sys.stderr, level=max(numeric, logging.WARNING), force=True)


def _stderr_logger(*_args: Any) -> structlog.PrintLogger:
    return structlog.PrintLogger(file=sys.stderr)


def get_logger(name: str) -> Any:
    return structlog.get_logger(name)
