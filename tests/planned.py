"""Tests call the executor with an operation (and, for synthetic operations, a tool input);
the product hands it a compiled plan. This adapter compiles the plan, so test bodies read as
what they check. It lives in tests: the product's Executor has no such API."""

from __future__ import annotations

from collections.abc import Mapping
from types import TracebackType
from typing import Any

import httpx2

from stream_mcp.catalog import Catalog, Operation
from stream_mcp.config import Settings
from stream_mcp.errors import ConfigError
from stream_mcp.execution import (
    ExecutionResult,
    Executor,
    ExecutorConfig,
    OperationPlan,
    Plans,
    compile_plan,
)
from stream_mcp.execution._budget import Budget


class PlannedExecutor:
    def __init__(self, executor: Executor, catalog: Catalog | None) -> None:
        self.executor = executor
        self._plans = Plans(catalog) if catalog is not None else None

    def plan(self, op: Operation, tool_input: Any = None) -> OperationPlan:
        if tool_input is not None:
            return compile_plan(op, tool_input, tool_input.schema)
        if self._plans is None:
            raise ConfigError(f"{op.operation_id}: no catalog to compile its input from")
        return self._plans.get(op)

    def build_request(
        self, op: Operation, arguments: Any, auth: Any, *, tool_input: Any = None
    ) -> httpx2.Request:
        return self.executor.prepare(self.plan(op, tool_input), arguments, auth).request

    def prepare_arguments(
        self, op: Operation, arguments: Any, auth: Any, *, tool_input: Any = None
    ) -> dict[str, Any]:
        return self.executor.prepare(self.plan(op, tool_input), arguments, auth).arguments

    async def execute(
        self,
        op: Operation,
        arguments: Mapping[str, Any],
        auth: Any,
        *,
        select: str | None = None,
        tool_input: Any = None,
    ) -> ExecutionResult:
        return await self.executor.execute(
            self.plan(op, tool_input), arguments, auth, select=select
        )

    @property
    def budget(self) -> Budget:
        return self.executor.budget

    async def aclose(self) -> None:
        await self.executor.aclose()

    async def __aenter__(self) -> PlannedExecutor:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()


_CONFIG_FIELDS = (
    "max_response_bytes",
    "max_upload_bytes",
    "backoff_base",
    "backoff_cap",
    "trust_env",
)


def planned_executor(
    *, catalog: Catalog | None = None, settings: Settings | None = None, **kwargs: Any
) -> PlannedExecutor:
    """An Executor built the way the runtime builds one, wrapped for op-level calls."""
    settings = settings or Settings()
    extra = {k: kwargs.pop(k) for k in _CONFIG_FIELDS if k in kwargs}
    config = ExecutorConfig(
        connect_timeout=settings.connect_timeout,
        read_timeout=settings.read_timeout,
        max_retries=settings.max_retries,
        budget_per_minute=settings.budget_per_minute,
        app_budget_share=settings.app_budget_share,
        response_token_cap=settings.response_token_cap,
        **extra,
    )
    return PlannedExecutor(Executor(config=config, **kwargs), catalog)
