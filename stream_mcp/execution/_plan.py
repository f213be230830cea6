"""What the executor compiles an operation into once, so each call only fills in values.

An :class:`OperationPlan` holds the argument bindings, the schema validator, the path split
into literal text and parameters, the actor fields that apply, and the facts the response
shaping and error messages need.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from stream_mcp.catalog import Catalog, Operation
from stream_mcp.catalog.schemas import PAGING_NAMES, compile_input, validation_schema
from stream_mcp.execution._validate import Check, compile_check

if TYPE_CHECKING:
    from jsonschema import Draft202012Validator

_TEMPLATE = re.compile(r"\{([^{}]+)\}")
# Literal path text that URL parsing leaves as it is (RFC 3986 pchar and "/", without "%").
PLAIN_PATH = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")


class BindingLike(Protocol):
    """Where one argument goes on the wire (``schemas.Binding``)."""

    @property
    def location(self) -> str: ...

    @property
    def wire(self) -> str: ...

    @property
    def container(self) -> str | None: ...


class ToolInputLike(Protocol):
    """A compiled operation input (``schemas.ToolInput``)."""

    @property
    def schema(self) -> dict[str, Any]: ...

    @property
    def bindings(self) -> Mapping[str, BindingLike]: ...


@dataclass(frozen=True, slots=True)
class OperationPlan:
    """Everything about an operation that does not change between calls."""

    op: Operation
    bindings: Mapping[str, BindingLike]
    validator: Draft202012Validator
    check: Check | None  # a quick yes for valid arguments (None: always use the validator)
    segments: tuple[tuple[str, str | None], ...]  # (literal text, path parameter or None)
    path_args: Mapping[str, str]  # wire name -> argument name
    actors: tuple[str, ...]  # the op's actor paths whose top-level argument exists
    paging: tuple[str, ...]
    upload: bool
    image: bool
    where: str
    plain: bool  # the path's literal text needs no URL quoting (see _wire.Urls)


def compile_plan(op: Operation, tool_input: ToolInputLike, schema: dict[str, Any]) -> OperationPlan:
    from jsonschema import Draft202012Validator  # first use, not start-up

    bindings = dict(tool_input.bindings)
    path_args = {b.wire: name for name, b in bindings.items() if b.location == "path"}
    segments: list[tuple[str, str | None]] = []
    pos = 0
    for match in _TEMPLATE.finditer(op.path):
        segments.append((op.path[pos : match.start()], match.group(1)))
        pos = match.end()
    segments.append((op.path[pos:], None))
    paging = tuple(n for n in bindings if n in PAGING_NAMES or n.endswith("_limit"))
    return OperationPlan(
        op=op,
        bindings=bindings,
        validator=Draft202012Validator(schema),
        check=compile_check(schema),
        segments=tuple(segments),
        path_args=path_args,
        # A curated actor that names no argument of this op is ignored, not sent.
        actors=tuple(a for a in op.actors if a.split(".", 1)[0] in bindings),
        paging=paging,
        upload=op.content == "multipart",
        image=op.content == "multipart" and op.path.rstrip("/").endswith("/image"),
        where=f"{op.operation_id} ({op.method} {op.path})",
        plain=all(PLAIN_PATH.fullmatch(literal) for literal, _ in segments),
    )


class Plans:
    """Compiles each catalog operation into its plan once, on first use.

    Compiling needs the catalog (schemas reference its shared components); the executor
    never sees the catalog, only the plans handed to it.
    """

    def __init__(self, catalog: Catalog) -> None:
        self._catalog = catalog
        self._plans: dict[str, OperationPlan] = {}

    def get(self, op: Operation) -> OperationPlan:
        plan = self._plans.get(op.operation_id)
        if plan is None or plan.op is not op:
            tool_input = compile_input(self._catalog, op, "full")
            plan = compile_plan(op, tool_input, validation_schema(self._catalog, op))
            self._plans[op.operation_id] = plan
        return plan
