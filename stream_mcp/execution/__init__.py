"""Executing one operation: validate, build the request, send it, shape the result.

``Plans`` compiles each catalog operation once; ``Executor`` takes a plan: ``prepare``
validates and builds, ``send`` performs the prepared request with the budget, retries and
Stream's error mapping. The underscored
modules serve it alone; ``stream_errors`` is Stream's error-code table.
"""

from stream_mcp.execution._budget import Budget, CallBudget, make_budget
from stream_mcp.execution._executor import (
    ExecutionResult,
    Executor,
    ExecutorConfig,
    PreparedCall,
)
from stream_mcp.execution._plan import OperationPlan, Plans, compile_plan

__all__ = [
    "Budget",
    "CallBudget",
    "ExecutionResult",
    "Executor",
    "ExecutorConfig",
    "OperationPlan",
    "Plans",
    "PreparedCall",
    "compile_plan",
    "make_budget",
]
