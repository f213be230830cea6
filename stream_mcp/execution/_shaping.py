"""Make a Stream response fit an agent's context: project it, then cap its size.

A ``select`` JMESPath expression picks what the agent wants. Whatever remains is capped at a
token budget (estimated as UTF-8 bytes / 4). Over the cap, the response is shortened
*structurally*: the biggest arrays lose their tail items first, then very long strings are
shortened with a visible marker, then the biggest objects lose trailing keys. The result is
always valid JSON, and :class:`Shaped` says exactly what was cut and how to page for the rest.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import jmespath
from jmespath import exceptions as jmespath_errors

from stream_mcp.errors import ValidationError
from stream_mcp.limits import BYTES_PER_TOKEN, check_select

DEFAULT_TOKEN_CAP = 8000
MIN_STRING_KEEP = 64
STRING_CANDIDATE = 256
MAX_PASSES = 200
SELECT_CACHE = 256


@dataclass(frozen=True, slots=True)
class Omission:
    """One cut: ``path`` kept ``kept`` of ``total`` items (or characters, or keys)."""

    path: str
    kind: str  # "items" | "chars" | "keys"
    kept: int
    total: int

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "kind": self.kind, "kept": self.kept, "total": self.total}


@dataclass(frozen=True)
class Shaped:
    data: Any
    truncated: bool = False
    omissions: tuple[Omission, ...] = ()
    hint: str | None = None
    size_bytes: int | None = None

    def meta(self) -> dict[str, Any]:
        """The truncation facts for a result's metadata."""
        if not self.truncated:
            return {"truncated": False}
        return {
            "truncated": True,
            "truncation": {
                "omitted": [o.to_dict() for o in self.omissions],
                "hint": self.hint,
            },
        }


def json_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON."""
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


class Shaper:
    """Applies ``select`` and the token cap; caches compiled expressions per instance."""

    def __init__(self, token_cap: int = DEFAULT_TOKEN_CAP) -> None:
        if token_cap < 1:
            raise ValueError("token cap must be positive")
        self.token_cap = token_cap
        self._compiled: dict[str, Any] = {}

    @property
    def byte_cap(self) -> int:
        return self.token_cap * BYTES_PER_TOKEN

    def compile(self, select: str) -> Any:
        """Parse ``select`` once; a bad expression is a validation error naming ``select``."""
        if not isinstance(select, str):
            raise ValidationError(
                "select: expected a JMESPath expression as a string", field="select"
            )
        parsed = self._compiled.get(select)
        if parsed is not None:
            return parsed
        if not select.strip():
            raise ValidationError(
                "select: expected a JMESPath expression, got an empty value", field="select"
            )
        check_select(select)
        try:
            parsed = jmespath.compile(select)
        except (jmespath_errors.JMESPathError, RecursionError) as exc:
            raise ValidationError(
                f"select: not a valid JMESPath expression: {_jmespath_reason(exc)}",
                field="select",
                hint='e.g. select="messages[].{id: id, text: text}"',
            ) from None
        _check_functions(parsed.parsed)
        if len(self._compiled) >= SELECT_CACHE:
            self._compiled.clear()
        self._compiled[select] = parsed
        return parsed

    def select(self, data: Any, select: str) -> Any:
        parsed = self.compile(select)
        try:
            return parsed.search(data)
        except (jmespath_errors.JMESPathError, RecursionError, ValueError, TypeError) as exc:
            raise ValidationError(
                f"select: the expression failed on this response: {_jmespath_reason(exc)}",
                field="select",
            ) from None

    def shape(
        self,
        data: Any,
        *,
        select: str | None = None,
        raw_size: int | None = None,
        paging: Sequence[str] = (),
        arguments: Mapping[str, Any] | None = None,
    ) -> Shaped:
        """Project then cap ``data``. ``raw_size`` (the body's bytes) skips measuring small
        unprojected responses; ``paging`` names the operation's paging arguments for the hint.

        ``data`` may be modified in place: pass a value the caller owns (a fresh parse).
        """
        if select is not None:
            data = self.select(data, select)
        elif raw_size is not None and raw_size <= self.byte_cap:
            return Shaped(data)
        size = json_size(data)
        if size <= self.byte_cap:
            return Shaped(data, size_bytes=size)
        data, omissions = truncate(data, self.byte_cap)
        hint = paging_hint(
            data, omissions, paging=paging, arguments=arguments or {}, token_cap=self.token_cap
        )
        return Shaped(data, True, tuple(omissions), hint, json_size(data))


def _check_functions(node: Any) -> None:
    """Refuse unknown functions and wrong argument counts before the call is sent.

    JMESPath reports them only when the expression runs, which is after a write has
    happened; an agent should learn that its select is wrong before anything is done.
    """
    from jmespath.functions import Functions

    table = Functions().FUNCTION_TABLE
    stack = [node]
    while stack:
        current = stack.pop()
        if not isinstance(current, dict):
            continue
        if current.get("type") == "function_expression":
            name = current.get("value")
            spec = table.get(name)
            if spec is None:
                raise ValidationError(f"select: unknown function {name}()", field="select")
            signature = spec["signature"]
            count = len(current.get("children", ()))
            variadic = bool(signature) and signature[-1].get("variadic", False)
            if count < len(signature) or (not variadic and count != len(signature)):
                raise ValidationError(
                    f"select: {name}() takes {len(signature)}"
                    f"{' or more' if variadic else ''} argument(s), got {count}",
                    field="select",
                )
        stack.extend(current.get("children", ()))


def _jmespath_reason(exc: Exception) -> str:
    msg = getattr(exc, "msg", None) or str(exc)
    position = getattr(exc, "lex_position", None)
    token = getattr(exc, "token_value", None)
    text = " ".join(str(msg).split())
    if isinstance(position, int) and position >= 0:
        text += f" at column {position + 1}"
    if token not in (None, ""):
        text += f" (near {token!r})"
    return text


# --------------------------------------------------------------------------- truncation


@dataclass
class _Node:
    size: int
    path: str
    parent: Any
    key: Any
    value: Any
    child_sizes: list[int] = field(default_factory=list)


@dataclass
class _Scan:
    lists: list[_Node] = field(default_factory=list)
    strings: list[_Node] = field(default_factory=list)
    objects: list[_Node] = field(default_factory=list)


def _join(path: str, key: Any) -> str:
    if isinstance(key, int):
        return f"{path}[{key}]"
    name = str(key)
    if name.isidentifier():
        return f"{path}.{name}" if path else name
    return f"{path}.{json.dumps(name)}" if path else json.dumps(name)


def _scan(value: Any, path: str, parent: Any, key: Any, scan: _Scan) -> int:
    """Size every node bottom-up, collecting the ones that can be shortened."""
    if isinstance(value, dict):
        sizes = [
            len(json.dumps(str(k), ensure_ascii=False).encode("utf-8"))
            + 2
            + _scan(v, _join(path, k), value, k, scan)
            for k, v in value.items()
        ]
        size = 1 + sum(sizes) if sizes else 2
        if len(value) > 1 and parent is not None:
            scan.objects.append(_Node(size, path, parent, key, value, sizes))
        return size
    if isinstance(value, list):
        sizes = [_scan(item, _join(path, i), value, i, scan) + 1 for i, item in enumerate(value)]
        size = 1 + sum(sizes) if sizes else 2
        if len(value) > 1:
            scan.lists.append(_Node(size, path, parent, key, value, sizes))
        return size
    if isinstance(value, str):
        size = len(json.dumps(value, ensure_ascii=False).encode("utf-8"))
        if len(value) > STRING_CANDIDATE:
            scan.strings.append(_Node(size, path, parent, key, value))
        return size
    return len(json.dumps(value).encode("utf-8"))


def truncate(data: Any, byte_cap: int) -> tuple[Any, list[Omission]]:
    """Shorten ``data`` until its compact JSON is at most ``byte_cap`` bytes (best effort)."""
    cuts: dict[tuple[str, str], Omission] = {}
    root: list[Any] = [data]  # a holder, so the root itself can be replaced
    for _ in range(MAX_PASSES):
        scan = _Scan()
        total = _scan(root[0], "", root, 0, scan)
        excess = total - byte_cap
        if excess <= 0:
            break
        if scan.lists:
            node = max(scan.lists, key=lambda n: n.size)
            kept = _cut_sequence(excess, node.child_sizes)
            _record(cuts, node.path or "@", "items", kept, len(node.value))
            node.parent[node.key] = node.value[:kept]
        elif scan.strings:
            node = max(scan.strings, key=lambda n: n.size)
            text: str = node.value
            keep = max(MIN_STRING_KEEP, len(text) - excess - 40)
            if keep >= len(text):
                break
            marker = f"…[{len(text) - keep} more characters]"
            node.parent[node.key] = text[:keep] + marker
            _record(cuts, node.path or "@", "chars", keep, len(text))
        elif scan.objects:
            node = max(scan.objects, key=lambda n: n.size)
            items = list(node.value.items())
            kept = _cut_sequence(excess, node.child_sizes)
            node.parent[node.key] = dict(items[:kept])
            _record(cuts, node.path or "@", "keys", kept, len(items))
        else:
            break
    return root[0], list(cuts.values())


def _cut_sequence(excess: int, sizes: list[int]) -> int:
    """How many leading items to keep so that dropping the rest frees ``excess`` bytes."""
    freed = 0
    kept = len(sizes)
    while kept > 1 and freed < excess:
        kept -= 1
        freed += sizes[kept]
    return kept


def _record(
    cuts: dict[tuple[str, str], Omission], path: str, kind: str, kept: int, total: int
) -> None:
    earlier = cuts.get((path, kind))
    original = earlier.total if earlier else total
    cuts[(path, kind)] = Omission(path, kind, kept, original)


# --------------------------------------------------------------------------- paging hint


def paging_hint(
    data: Any,
    omissions: Sequence[Omission],
    *,
    paging: Sequence[str],
    arguments: Mapping[str, Any],
    token_cap: int,
) -> str:
    """One or two sentences: what was cut and which arguments fetch the rest."""
    items = [o for o in omissions if o.kind == "items"]
    main = min(items, key=lambda o: o.path.count(".") + o.path.count("[")) if items else None
    if main is not None:
        where = "the response" if main.path == "@" else f"`{main.path}`"
        first = (
            f"Response cut to fit ~{token_cap} tokens: kept {main.kept} of {main.total} "
            f"items in {where}."
        )
    else:
        first = f"Response cut to fit ~{token_cap} tokens (long values shortened)."
    names = set(paging)
    limits = sorted(n for n in names if n == "limit" or n.endswith("_limit"))
    cursor = data.get("next") if isinstance(data, dict) else None
    steps: list[str] = []
    if "next" in names and isinstance(cursor, str) and cursor:
        steps.append(f"pass next={json.dumps(cursor)} for the following page")
    if main is not None and limits:
        steps.append(f"ask for fewer items with {limits[0]}={max(1, main.kept)}")
        if "offset" in names:
            offset = arguments.get("offset")
            start = offset if isinstance(offset, int) and not isinstance(offset, bool) else 0
            steps.append(f"then page with offset={start + main.kept}")
        elif "next" in names and not steps[0].startswith("pass next"):
            steps.append("then page with the `next` cursor from each response")
    elif limits:
        steps.append(f"ask for less with {limits[0]}")
    steps.append("or project fewer fields with select (a JMESPath expression)")
    return f"{first} To see the rest: {', '.join(steps)}."
