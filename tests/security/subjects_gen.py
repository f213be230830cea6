"""Arguments that name a given user at a given curated subject path, for every operation.

``minimal_arguments`` builds the smallest object the operation's full input schema accepts;
``place_user`` writes a user id at a subject path (``a.b``, ``a[]``, ``a{}``, ``a[].b``) in a
shape the schema accepts: a bare id where the leaf is a string, ``{"user_id": id}`` or
``{"id": id}`` where the leaf is an object. ``subject_cases`` yields, for every curated path,
the variants the policy must refuse when they name a user outside the profile.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from jsonschema import Draft202012Validator

from stream_mcp.catalog import Catalog, Operation, load_catalog
from stream_mcp.catalog.schemas import compile_input, validation_schema

ALLOWED = "alice"
INTRUDER = "mallory"


def _kind(schema: dict[str, Any]) -> str | None:
    kind = schema.get("type") if isinstance(schema, dict) else None
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), None)
    if kind is None and isinstance(schema, dict) and "properties" in schema:
        return "object"
    return kind


def minimal(schema: dict[str, Any], *, depth: int = 0) -> Any:
    """The smallest value of ``schema`` (required fields only)."""
    if not isinstance(schema, dict):
        return "x"
    if schema.get("enum"):
        return copy.deepcopy(schema["enum"][0])
    if "anyOf" in schema:
        return minimal(schema["anyOf"][0], depth=depth)
    kind = _kind(schema)
    if kind == "string":
        # Every free string is the allowed user's id: a required field that happens to name a
        # user (a member's user_id, a map key's id) then never names anyone else.
        size = max(1, int(schema.get("minLength", 1)))
        fmt = schema.get("format")
        if fmt == "date-time":
            return "2026-01-01T00:00:00Z"
        if fmt == "date":
            return "2026-01-01"
        if fmt == "uri":
            return "https://example.com/x"
        if fmt == "email":
            return "x@example.com"
        return ALLOWED if size <= len(ALLOWED) else ALLOWED + "x" * (size - len(ALLOWED))
    if kind == "integer":
        low = schema.get("minimum", 1)
        return max(int(low), 1) if schema.get("maximum", 10**9) >= 1 else int(low)
    if kind == "number":
        low = schema.get("minimum", 1)
        return max(float(low), 1.0) if schema.get("maximum", 10**9) >= 1 else float(low)
    if kind == "boolean":
        return False
    if kind == "array":
        count = int(schema.get("minItems", 0))
        return [minimal(schema.get("items", {}), depth=depth + 1) for _ in range(count)]
    if kind == "object" or (kind is None and depth == 0):
        props = schema.get("properties") or {}
        return {
            name: minimal(props.get(name, {}), depth=depth + 1)
            for name in schema.get("required", ())
            if name in props
        }
    return "x"


def _object_form(schema: Any) -> dict[str, Any]:
    """The object alternative of an ``anyOf`` (members are ids or member objects)."""
    if isinstance(schema, dict) and "anyOf" in schema:
        for alt in schema["anyOf"]:
            if _kind(alt) == "object":
                return alt
        return schema["anyOf"][0] if schema["anyOf"] else {}
    return schema if isinstance(schema, dict) else {}


def _takes_string(schema: Any) -> bool:
    if isinstance(schema, dict) and "anyOf" in schema:
        return any(_kind(alt) == "string" for alt in schema["anyOf"])
    return _kind(schema) in ("string", None)


def _child(schema: dict[str, Any], name: str) -> dict[str, Any]:
    schema = _object_form(schema)
    return (schema.get("properties") or {}).get(name, {}) or {}


def _leaf_value(schema: dict[str, Any], user: str) -> Any:
    """A user id in the shape ``schema`` takes at a leaf."""
    kind = _kind(schema)
    if kind == "object":
        props = schema.get("properties") or {}
        value = minimal(schema)
        key = "user_id" if "user_id" in props else "id"
        value[key] = user
        return value
    if kind == "array":
        return [_leaf_value(schema.get("items", {}), user)]
    return user


def place_user(args: dict[str, Any], schema: dict[str, Any], path: str, value: Any) -> None:
    """Write ``value`` (a user id, or a filter condition) at subject ``path`` in ``args``."""
    segments = [s for s in path.split(".") if s]
    holder: dict[str, Any] = args
    here = schema
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        walker = segment[-2:] if segment.endswith(("[]", "{}")) else ""
        name = segment[:-2] if walker else segment
        sub = _child(here, name)
        if walker == "{}":
            # The map's keys are the subjects; a value in the shape the map takes.
            key = value if isinstance(value, str) else INTRUDER
            entry = {"id": key}
            holder[name] = {key: entry}
            return
        if walker == "[]":
            items = sub.get("items", {}) if isinstance(sub, dict) else {}
            if last:
                if isinstance(value, str) and not _takes_string(items):
                    item = _leaf_value(_object_form(items), value)
                else:
                    item = value
                holder[name] = [item]
                return
            items = _object_form(items)
            item = minimal(items) if _kind(items) == "object" else {}
            if not isinstance(item, dict):
                item = {}
            holder[name] = [item]
            holder, here = item, items
            continue
        if last:
            holder[name] = _leaf_value(sub, value) if isinstance(value, str) else value
            return
        current = holder.get(name)
        if not isinstance(current, dict):
            current = minimal(sub) if _kind(sub) == "object" else {}
            if not isinstance(current, dict):
                current = {}
        holder[name] = current
        holder, here = current, sub


def is_filter_path(path: str) -> bool:
    return path.split(".")[0].startswith("filter")


@dataclass(frozen=True)
class SubjectCase:
    """One call that names ``INTRUDER`` at ``path``, and its twin naming only ``ALLOWED``."""

    operation_id: str
    path: str
    variant: str
    refused: dict[str, Any]
    allowed: dict[str, Any]
    user_token: bool = True
    destructive: bool = False

    @property
    def label(self) -> str:
        return f"{self.operation_id}:{self.path}:{self.variant}"


def subject_paths(op: Operation) -> tuple[str, ...]:
    return tuple(dict.fromkeys((*op.subjects, *op.actors)))


# Compiling an operation's input schema or validation schema takes a few milliseconds, and
# the suite asks for the same operations' again and again (some 1,200 times a run): each is
# compiled once per catalog. Nothing here changes what it is given.
_COMPILED: dict[tuple[int, str, str], tuple[Catalog, Any]] = {}


def _once(catalog: Catalog, op: Operation, kind: str, make: Callable[[], Any]) -> Any:
    key = (id(catalog), op.operation_id, kind)
    hit = _COMPILED.get(key)
    if hit is None or hit[0] is not catalog:
        hit = _COMPILED[key] = (catalog, make())
    return hit[1]


def base_arguments(catalog: Catalog, op: Operation) -> tuple[dict[str, Any], dict[str, Any]]:
    """(schema, minimal arguments) with every required subject naming ``ALLOWED``."""
    schema = _once(catalog, op, "input", lambda: compile_input(catalog, op, "full").schema)
    args = minimal(schema)
    for path in subject_paths(op):
        head = path.split(".")[0].rstrip("[]{}")
        if head in args:
            place_user(args, schema, path, ALLOWED)
    return schema, args


def _variants(path: str) -> list[tuple[str, Any, Any]]:
    """(name, value naming the intruder, twin value naming only the allowed user)."""
    out: list[tuple[str, Any, Any]] = [("plain", INTRUDER, ALLOWED)]
    if path.endswith("[]"):
        out.append(("mixed", "MIXED", None))
    if is_filter_path(path):
        out.append(("$eq", {"$eq": INTRUDER}, {"$eq": ALLOWED}))
        out.append(("$in", {"$in": [ALLOWED, INTRUDER]}, {"$in": [ALLOWED]}))
    return out


def subject_cases(catalog: Catalog, op: Operation) -> Iterator[SubjectCase]:
    schema, base = base_arguments(catalog, op)
    for path in subject_paths(op):
        for variant, bad, good in _variants(path):
            refused = copy.deepcopy(base)
            allowed = copy.deepcopy(base)
            if bad == "MIXED":
                place_user(refused, schema, path, INTRUDER)
                place_user(allowed, schema, path, ALLOWED)
                # alice first, then mallory, in the same list
                _append_same_list(refused, allowed, path)
            else:
                place_user(refused, schema, path, bad)
                place_user(allowed, schema, path, good)
            yield SubjectCase(
                op.operation_id,
                path,
                variant,
                refused,
                allowed,
                user_token=op.user_token,
                destructive=op.destructive,
            )


def _append_same_list(refused: dict[str, Any], allowed: dict[str, Any], path: str) -> None:
    """Make ``refused``'s list at ``path`` hold the allowed user first, then the intruder."""
    segments = [s for s in path.split(".") if s]
    r_holder, a_holder = refused, allowed
    for segment in segments[:-1]:
        name = segment.rstrip("[]{}")
        r_holder = r_holder[name][0] if segment.endswith("[]") else r_holder[name]
        a_holder = a_holder[name][0] if segment.endswith("[]") else a_holder[name]
    name = segments[-1][:-2]
    r_holder[name] = [copy.deepcopy(a_holder[name][0]), *r_holder[name]]


def all_subject_cases(catalog: Catalog | None = None) -> list[SubjectCase]:
    catalog = catalog or load_catalog()
    cases: list[SubjectCase] = []
    for op in catalog:
        if subject_paths(op):
            cases.extend(subject_cases(catalog, op))
    return cases


def schema_problem(catalog: Catalog, operation_id: str, args: dict[str, Any]) -> str | None:
    """The first reason the product's own validator would refuse ``args``, or None."""
    op = catalog.get(operation_id)
    validator = _once(
        catalog, op, "validator", lambda: Draft202012Validator(validation_schema(catalog, op))
    )
    error = next(iter(validator.iter_errors(args)), None)
    if error is None:
        return None
    return f"{list(error.absolute_path)}: {error.message[:120]}"
