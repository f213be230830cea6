"""Executing one operation: validate, build the request, send it, shape the result.

``Executor`` is the only public entry: ``prepare`` validates and builds, ``send`` performs
the prepared request with the budget, retries and Stream's error mapping. The underscored
modules serve it alone; ``stream_errors`` is Stream's error-code table.
"""

from stream_mcp.execution._executor import ExecutionResult, Executor, PreparedCall

__all__ = ["ExecutionResult", "Executor", "PreparedCall"]
