"""A linter for the input schemas we publish: the subset every major client accepts.

Claude, OpenAI, Gemini, Cursor and VS Code disagree on JSON Schema; this is the common
ground. It runs in the tests over every compiled schema, and at start-up on a catalog
loaded from a user-supplied ``--spec``.
"""

from __future__ import annotations

import functools
import json
from typing import Any

ALLOWED_KEYS = frozenset(
    {
        "type",
        "properties",
        "required",
        "items",
        "enum",
        "format",
        "description",
        "anyOf",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
    }
)
TYPES = frozenset({"object", "array", "string", "integer", "number", "boolean"})


def lint_schema(schema: Any) -> list[str]:
    """Return the problems in ``schema``, each as ``path: what is wrong``; empty when clean."""
    problems: list[str] = []
    if not isinstance(schema, dict) or schema.get("type") != "object":
        return ["$: the root must be {'type': 'object'}"]
    for combinator in ("oneOf", "anyOf", "allOf", "not"):
        if combinator in schema:
            problems.append(f"$: top-level {combinator} is rejected by several clients")
    invalid = _metaschema_problem(schema)
    if invalid:
        problems.append(f"$: not a valid Draft 2020-12 schema: {invalid}")
    _walk(schema, "$", problems)
    return problems


def _metaschema_problem(schema: Any) -> str | None:
    """The first line of the metaschema's complaint about ``schema``, or None.

    Draft 2020-12's metaschema checks each schema under ``properties``, ``items`` and
    ``anyOf`` against itself (a ``$dynamicRef`` to the root), so a schema is valid exactly
    when its shell (the same keywords, with no subschemas under them) and each of them are.
    Checked apart, the subschemas that many operations share (a channel type, a user, a
    message) are checked once, each shell and part cached by its JSON text: a whole schema
    takes about 12 ms to check, so a ``--spec`` catalog took seconds to lint at start-up.
    """
    if not isinstance(schema, dict):
        return _check(json.dumps(schema, sort_keys=True))
    shell = dict(schema)
    parts: list[Any] = []
    properties = schema.get("properties")
    if isinstance(properties, dict):
        parts.extend(properties.values())
        shell["properties"] = {}
    if isinstance(schema.get("items"), dict):
        parts.append(schema["items"])
        shell["items"] = {}
    if isinstance(schema.get("anyOf"), list) and schema["anyOf"]:
        parts.extend(schema["anyOf"])
        shell["anyOf"] = [{}]
    for part in parts:
        problem = _metaschema_problem(part)
        if problem:
            return problem
    return _check(json.dumps(shell, sort_keys=True))


@functools.lru_cache(maxsize=4096)
def _check(text: str) -> str | None:
    from jsonschema import Draft202012Validator  # loaded only when linting
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(json.loads(text))
    except SchemaError as exc:  # its text is long: keep the first line
        return str(exc).splitlines()[0]
    return None


def _walk(node: Any, path: str, problems: list[str]) -> None:
    if not isinstance(node, dict):
        problems.append(f"{path}: expected a schema object")
        return
    for key in node:
        if key.startswith("x-"):
            problems.append(f"{path}: vendor key {key}")
        elif key == "$ref":
            problems.append(f"{path}: $ref is not resolved")
        elif key not in ALLOWED_KEYS:
            problems.append(f"{path}: keyword {key!r} is outside the portable subset")
    kind = node.get("type")
    if isinstance(kind, list):
        problems.append(f"{path}: type arrays are not portable")
    elif kind is not None and (not isinstance(kind, str) or kind not in TYPES):
        problems.append(f"{path}: unknown type {str(kind)[:40]!r}")
    elif kind is None and "anyOf" not in node and node:
        problems.append(f"{path}: a schema needs a type")
    if kind == "array" and "items" not in node:
        problems.append(f"{path}: arrays need items")
    properties = node.get("properties") or {}
    if not isinstance(properties, dict):
        problems.append(f"{path}: properties must be an object")
        properties = {}
    if "required" in node:
        required = node["required"]
        if not isinstance(required, list) or not all(isinstance(r, str) for r in required):
            problems.append(f"{path}: required must be a list of names")
        else:
            missing = [r for r in required if r not in properties]
            if missing:
                problems.append(f"{path}: required names not in properties: {missing}")
    for name, sub in properties.items():
        _walk(sub, f"{path}.{name}", problems)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], f"{path}[]", problems)
    any_of = node.get("anyOf") or []
    if not isinstance(any_of, list):
        problems.append(f"{path}: anyOf must be a list")
        any_of = []
    for i, sub in enumerate(any_of):
        _walk(sub, f"{path}|{i}", problems)
