"""The audit trail: one JSON line per execution, to stderr and optionally to a JSONL file.

It answers "who did what, as whom, and how did it go" and nothing more: no tokens, no
secret, no request body, no response. Values still pass through the redactor, so a stray
token inside an error message cannot leak here either.
"""

from __future__ import annotations

import json
import threading
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

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
    request_id: str | None


class AuditLog:
    """Writes :class:`AuditRecord` s: a log line, and a line appended to the JSONL file if set.

    The file is opened per record (under a lock), so there is no handle to close.
    """

    def __init__(self, path: Path | None = None, *, redactor: Redactor | None = None) -> None:
        self._path = path
        self._redactor = redactor or Redactor()
        self._lock = threading.Lock()
        self._log = get_logger("stream_mcp.audit")
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def record(self, entry: AuditRecord) -> None:
        fields = self._redactor.value(asdict(entry))
        self._log.info("execution", **fields)
        if self._path is None:
            return
        line = json.dumps(
            {"time": datetime.now(UTC).isoformat(timespec="milliseconds"), **fields},
            separators=(",", ":"),
        )
        with self._lock, self._path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")
