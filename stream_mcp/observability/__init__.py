"""Logs, redaction and the audit trail: everything that leaves the process as text.

Every line passes the ``Redactor`` first, so no secret reaches a log, a result or an error.
"""

from stream_mcp.observability.audit import AuditLog, AuditRecord
from stream_mcp.observability.logs import configure_logging, get_logger
from stream_mcp.observability.redact import Redactor, redact_text

__all__ = ["AuditLog", "AuditRecord", "Redactor", "configure_logging", "get_logger", "redact_text"]
