"""A linter for the input schemas we publish: the subset every major client accepts.

Claude, OpenAI, Gemini, Cursor and VS Code disagree on JSON Schema; this is the common
ground. It runs in the tests over every compiled schema, and at start-up on a catalog
loaded from a user-supplied ``--spec``.
"""

from __future__ import annotations

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
    from jsonschema import Draft202012Validator  # loaded only when linting
    from jsonschema.exceptions import SchemaError

    try:
        Draft202012Validator.check_schema(schema)
    except SchemaError as exc:  # its text is long: keep the first line
        problems.append(f"$: not a valid Draft 2020-12 schema: {str(exc).splitlines()[0]}")
    _walk(schema, "$", problems)
    return problems


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
    elif kind is not None and kind not in TYPES:
        problems.append(f"{path}: unknown type {kind!r}")
    elif kind is None and "anyOf" not in node and node:
        problems.append(f"{path}: a schema needs a type")
    if kind == "array" and "items" not in node:
        problems.append(f"{path}: arrays need items")
    if "required" in node:
        missing = [r for r in node["required"] if r not in node.get("properties", {})]
        if missing:
            problems.append(f"{path}: required names not in properties: {missing}")
    for name, sub in (node.get("properties") or {}).items():
        _walk(sub, f"{path}.{name}", problems)
    if isinstance(node.get("items"), dict):
        _walk(node["items"], f"{path}[]", problems)
    for i, sub in enumerate(node.get("anyOf") or ()):
        _walk(sub, f"{path}|{i}", problems)
