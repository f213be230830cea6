"""A quick yes for arguments that are valid, so the full validator runs only to explain a no.

Operation schemas use a small part of JSON Schema: ``type``, ``properties``, ``required``,
``items``, ``anyOf``, ``enum``, and length, count and range bounds (``format`` and the
descriptions are annotations; Draft 2020-12 does not assert formats). :func:`compile_check`
turns such a schema into a checker that applies exactly Draft 2020-12's rules for those
keywords and answers True only when the instance is valid. False means "not shown valid":
the caller then runs ``jsonschema``, which decides and describes the error, so messages are
unchanged. A schema using anything else gets no checker (None), and ``jsonschema`` runs
every time, as before.
"""

from __future__ import annotations

import numbers
from collections.abc import Callable, Mapping
from typing import Any

Check = Callable[[Any], bool]

# Keywords that never affect validity (Draft 2020-12 treats ``format`` as an annotation).
_ANNOTATIONS = frozenset(
    {
        "description",
        "title",
        "format",
        "default",
        "examples",
        "deprecated",
        "readOnly",
        "writeOnly",
        "$comment",
    }
)
_BOUNDS = ("minLength", "maxLength", "minItems", "maxItems", "minimum", "maximum")
_KNOWN = frozenset({"type", "properties", "required", "items", "anyOf", "enum", *_BOUNDS})


def _is_integer(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    return isinstance(value, int) or (isinstance(value, float) and value.is_integer())


def _is_number(value: Any) -> bool:
    return not isinstance(value, bool) and isinstance(value, numbers.Number)


# Draft 2020-12's type checker, type by type.
_TYPES: dict[str, Check] = {
    "string": lambda v: isinstance(v, str),
    "null": lambda v: v is None,
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "integer": _is_integer,
    "number": _is_number,
}
# Exact Python types that settle a type name at once (a float is an integer only when whole,
# so it is left to the checker); anything else takes the checker above.
_EXACT: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "null": (type(None),),
    "boolean": (bool,),
    "object": (dict,),
    "array": (list,),
    "integer": (int,),
    "number": (int, float),
}


class _Unsupported(Exception):
    """The schema uses something the quick check does not model."""


def compile_check(schema: Any) -> Check | None:
    """A checker for ``schema``, or None when the schema needs the full validator."""
    try:
        return _compile(schema)
    except _Unsupported:
        return None


def _compile(schema: Any) -> Check:
    if not isinstance(schema, Mapping):
        raise _Unsupported
    for keyword in schema:
        if keyword not in _KNOWN and keyword not in _ANNOTATIONS:
            raise _Unsupported
    checks: list[Check] = []
    if "type" in schema:
        checks.append(_type_check(schema["type"]))
    for keyword in _BOUNDS:
        if keyword in schema:
            checks.append(_bound_check(keyword, schema[keyword]))
    if "enum" in schema:
        checks.append(_enum_check(schema["enum"]))
    if "required" in schema:
        checks.append(_required_check(schema["required"]))
    if "properties" in schema:
        checks.append(_properties_check(schema["properties"]))
    if "items" in schema:
        checks.append(_items_check(schema["items"]))
    if "anyOf" in schema:
        checks.append(_any_of_check(schema["anyOf"]))
    if not checks:
        return _always
    if len(checks) == 1:
        return checks[0]
    steps = tuple(checks)
    return lambda value: all(step(value) for step in steps)


def _always(value: Any) -> bool:
    return True


def _type_check(types: Any) -> Check:
    names = [types] if isinstance(types, str) else types
    if not isinstance(names, list) or not names or not all(n in _TYPES for n in names):
        raise _Unsupported
    exact = frozenset(kind for n in names for kind in _EXACT[n])
    slow = tuple(_TYPES[n] for n in names)

    def check(value: Any) -> bool:
        return type(value) in exact or any(test(value) for test in slow)

    return check


def _bound_check(keyword: str, bound: Any) -> Check:
    if isinstance(bound, bool) or not isinstance(bound, int | float):
        raise _Unsupported
    if keyword == "minLength":
        return lambda v: not isinstance(v, str) or len(v) >= bound
    if keyword == "maxLength":
        return lambda v: not isinstance(v, str) or len(v) <= bound
    if keyword == "minItems":
        return lambda v: not isinstance(v, list) or len(v) >= bound
    if keyword == "maxItems":
        return lambda v: not isinstance(v, list) or len(v) <= bound
    if keyword == "minimum":
        return lambda v: not _is_number(v) or not v < bound
    return lambda v: not _is_number(v) or not v > bound  # maximum


def _enum_check(options: Any) -> Check:
    """Strings compare as strings; any other value is left to the full validator, whose
    equality tells 1 from True and 1.0 from 1 inside containers."""
    if not isinstance(options, list):
        raise _Unsupported
    allowed = frozenset(o for o in options if isinstance(o, str))
    return lambda v: isinstance(v, str) and v in allowed


def _required_check(names: Any) -> Check:
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise _Unsupported
    needed = tuple(names)
    return lambda v: not isinstance(v, dict) or all(n in v for n in needed)


def _properties_check(properties: Any) -> Check:
    if not isinstance(properties, Mapping):
        raise _Unsupported
    compiled = {name: _compile(sub) for name, sub in properties.items()}

    def check(value: Any) -> bool:
        if not isinstance(value, dict):
            return True
        for name, item in value.items():
            sub = compiled.get(name)
            if sub is not None and not sub(item):
                return False
        return True

    return check


def _items_check(items: Any) -> Check:
    sub = _compile(items)
    return lambda v: not isinstance(v, list) or all(sub(item) for item in v)


def _any_of_check(options: Any) -> Check:
    if not isinstance(options, list) or not options:
        raise _Unsupported
    subs = tuple(_compile(option) for option in options)
    return lambda v: any(sub(v) for sub in subs)
