"""The audit trail: one JSON line per execution, to stderr and optionally to a JSONL file
and a sink (PostgreSQL, when ``STREAM_MCP_DATABASE_URL`` is set).

It answers "who did what, as whom, and how did it go" and nothing more: no tokens, no
secret, no request body, no response. Values still pass through the redactor, so a stray
token inside an error message cannot leak here either.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import fields as dataclass_fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from stream_mcp.observability.logs import get_logger
from stream_mcp.observability.redact import Redactor


@dataclass(frozen=True, slots=True)
class AuditRecord:
    principal: str
    profile: str
    operation: str
    acting_user: str | None
    auth_mode: str | None
    status: str  # "ok" or an error kind
    http_status: int | None
    stream_code: int | None
    latency_ms: float
    request_id: str | None  # Stream's id for the HTTP exchange, when it sent one
    call_id: str | None = None  # ours: every log line of the tool call carries it too


_FIELDS = tuple(f.name for f in dataclass_fields(AuditRecord))


class AuditSink(Protocol):
    """Another home for audit rows (a database table).

    ``submit`` gets the redacted fields plus ``time``; it is called from the event loop, in
    the service's ``finally``, so it must neither block nor raise: it queues, and writes later.
    """

    def submit(self, row: Mapping[str, Any]) -> None: ...


class AuditLog:
    """Writes :class:`AuditRecord` s: a log line, a line appended to the JSONL file if set,
    and a row handed to the sink if there is one.

    The file is opened per record (under a lock), so there is no handle to close.
    """

    def __init__(
        self,
        path: Path | None = None,
        *,
        redactor: Redactor | None = None,
        sink: AuditSink | None = None,
    ) -> None:
        self._path = path
        self._sink = sink
        self._redactor = redactor or Redactor()
        self._lock = threading.Lock()
        self._log = get_logger("stream_mcp.audit")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, entry: AuditRecord) -> None:
        # The fields are scalars: a shallow dict is what asdict's deep copy would give.
        fields = self._redactor.value({name: getattr(entry, name) for name in _FIELDS})
        self._log.info("execution", **fields)
        if self._sink is None and self._path is None:
            return
        row = {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields}
        if self._sink is not None:
            try:
                self._sink.submit(row)
            except Exception as exc:  # a sink must not break the call it records
                self._log.error("audit_sink_failed", error=exc.__class__.__name__)
        if self._path is None:
            return
        line = json.dumps(row, separators=(",", ":"))
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
