"""The quick argument check says yes only when jsonschema would, for every catalog schema."""

from __future__ import annotations

import functools
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from stream_mcp.errors import ValidationError
from stream_mcp.execution import Plans
from stream_mcp.execution._arguments import check_arguments
from stream_mcp.execution._validate import compile_check
from stream_mcp.observability.redact import Redactor
from tests.factories import shipped_catalog

CATALOG = shipped_catalog()
PLANS = Plans(CATALOG)
OPERATIONS = sorted(op.operation_id for op in CATALOG)
ODD = st.sampled_from(
    [None, True, False, 0, 1, -1, 1.0, 2.5, 1e300, "", "x", "x" * 300, [], [1], {}, {"a": 1}]
)


def _value(draw: Any, schema: Any, depth: int = 0) -> Any:
    """A value shaped like ``schema``, now and then wrong in one way."""
    if not isinstance(schema, dict) or depth > 5 or draw(st.integers(0, 19)) == 0:
        return draw(ODD)
    if "anyOf" in schema:
        return _value(draw, draw(st.sampled_from(schema["anyOf"])), depth + 1)
    if "enum" in schema:
        return draw(st.one_of(st.sampled_from(schema["enum"]), ODD))
    kinds = schema.get("type", ["object"])
    kind = draw(st.sampled_from([kinds] if isinstance(kinds, str) else kinds))
    if kind == "object":
        out: dict[str, Any] = {}
        for name, sub in schema.get("properties", {}).items():
            required = name in schema.get("required", ())
            # Required fields are nearly always given; optional ones half the time.
            if (required and draw(st.integers(0, 30))) or (not required and draw(st.booleans())):
                out[name] = _value(draw, sub, depth + 1)
            if len(out) > 6:
                break
        if draw(st.integers(0, 9)) == 0:
            out["unlisted"] = draw(ODD)
        return out
    if kind == "array":
        size = draw(st.integers(0, 3 if "maxItems" not in schema else schema["maxItems"] + 1))
        return [_value(draw, schema.get("items", {}), depth + 1) for _ in range(min(size, 4))]
    if kind == "string":
        limit = schema.get("maxLength", 20)
        low = schema.get("minLength", 0)
        sizes = st.sampled_from([max(0, low - 1), low, limit, limit + 1])
        return "s" * draw(sizes) if draw(st.booleans()) else draw(st.text(max_size=limit + 2))
    if kind == "integer":
        low, high = schema.get("minimum", -1000), schema.get("maximum", 1000)
        edges = st.sampled_from([low - 1, low, high, high + 1])
        value = draw(st.one_of(edges, st.integers(low - 1, high + 1)))
        return float(value) if draw(st.integers(0, 9)) == 0 else value
    if kind == "number":
        return draw(st.one_of(st.integers(-5, 5), st.floats(-1e6, 1e6)))
    if kind == "boolean":
        return draw(st.booleans())
    return None


@st.composite
def _case(draw: Any) -> tuple[str, Any]:
    operation_id = draw(st.sampled_from(OPERATIONS))
    schema = PLANS.get(CATALOG.get(operation_id)).validator.schema
    return operation_id, _value(draw, schema)


@given(_case())
def test_a_quick_yes_is_always_a_valid_instance(case: tuple[str, Any]) -> None:
    operation_id, instance = case
    plan = PLANS.get(CATALOG.get(operation_id))
    assert plan.check is not None
    if plan.check(instance):
        assert plan.validator.is_valid(instance), (operation_id, instance)


def _typical(schema: Any, full: bool = True) -> Any:
    """A valid instance: first type, first option, in-range values; every property, or
    (``full=False``) only the required ones."""
    if "anyOf" in schema:
        return _typical(schema["anyOf"][0], full)
    if "enum" in schema:
        return schema["enum"][0]
    kinds = schema.get("type", "object")
    kind = next(k for k in ([kinds] if isinstance(kinds, str) else kinds) if k != "null")
    if kind == "object":
        required = schema.get("required", ())
        return {
            name: _typical(sub, full)
            for name, sub in schema.get("properties", {}).items()
            if full or name in required
        }
    if kind == "array":
        return [_typical(schema.get("items", {}), full)] * max(1, schema.get("minItems", 1))
    if kind == "string":
        return "a" * max(1, schema.get("minLength", 1))
    if kind in ("integer", "number"):
        return schema.get("minimum", 1)
    return True


def _shared(schema: Any) -> bool:
    """A sub-schema worth expanding once only: structure that many operations repeat."""
    return isinstance(schema, dict) and bool({"properties", "items", "anyOf"} & schema.keys())


@functools.cache
def _owners() -> dict[str, str]:
    """Each shared sub-schema, by its canonical JSON, mapped to the first operation (in id
    order) that holds it. That operation tests its one-place changes; the others trust them,
    because the quick check compiles every sub-schema on its own, whatever holds it. This
    keeps the differential test exhaustive over distinct structure, at a seventh of the cost.
    Computed when first needed, not at import: it compiles every operation's plan (~0.4 s),
    and every xdist worker imports this module to collect it, one runs it."""
    owners: dict[str, str] = {}

    def walk(schema: Any, operation_id: str, depth: int) -> None:
        if not isinstance(schema, dict) or depth > 6:
            return
        children = [*schema.get("properties", {}).values(), *schema.get("anyOf", ())]
        if "items" in schema:
            children.append(schema["items"])
        for child in children:
            if _shared(child):
                owners.setdefault(json.dumps(child, sort_keys=True), operation_id)
            walk(child, operation_id, depth + 1)

    for operation_id in OPERATIONS:
        walk(PLANS.get(CATALOG.get(operation_id)).validator.schema, operation_id, 0)
    return owners


def _variants(schema: Any, depth: int = 0, owner: str | None = None) -> Any:
    """The minimal valid instance, then each one-place change to it: a bound crossed or
    met, a wrong type, a missing required field, a value outside the enum, at every depth.
    With ``owner``, a shared sub-schema that another operation owns is not expanded."""
    elsewhere = owner is not None and depth and _shared(schema)
    if elsewhere and _owners().get(json.dumps(schema, sort_keys=True), owner) != owner:
        yield _typical(schema, full=False)
        return
    yield _typical(schema, full=False)
    yield from (None, True, 2.5, 3.0, "x", [], {})
    for low, high, length in (("minimum", "maximum", None), ("minLength", "maxLength", str)):
        for keyword, step in ((low, -1), (high, 1)):
            if keyword in schema:
                bound = schema[keyword]
                for size in (bound, bound + step):
                    yield "s" * max(0, size) if length else size
    for keyword, step in (("minItems", -1), ("maxItems", 1)):
        if keyword in schema:
            item = _typical(schema.get("items", {}), full=False)
            yield [item] * schema[keyword]
            yield [item] * max(0, schema[keyword] + step)
    if "enum" in schema:
        yield "not-an-option"
    if depth > 6:
        return
    for option in schema.get("anyOf", ()):
        yield from _variants(option, depth + 1, owner)
    if "items" in schema:
        for item in _variants(schema["items"], depth + 1, owner):
            yield [item]
    base = _typical(schema, full=False) if "properties" in schema else None
    for name in schema.get("required", ()):
        if isinstance(base, dict):
            yield {k: v for k, v in base.items() if k != name}
    for name, sub in schema.get("properties", {}).items():
        for value in _variants(sub, depth + 1, owner):
            yield {**base, name: value} if isinstance(base, dict) else {name: value}


@pytest.mark.parametrize("operation_id", OPERATIONS)
def test_the_quick_check_agrees_with_jsonschema_on_one_place_changes(operation_id: str) -> None:
    """Every catalog schema's enums are strings, so the quick check is exact, not only safe."""
    plan = PLANS.get(CATALOG.get(operation_id))
    assert plan.check is not None
    assert plan.check(_typical(plan.validator.schema))
    for instance in _variants(plan.validator.schema, owner=operation_id):
        assert plan.check(instance) == plan.validator.is_valid(instance), instance


@pytest.mark.parametrize(
    ("schema", "good", "bad"),
    [
        ({"type": "integer"}, [1, 2.0, -3], [True, 2.5, "1", None]),
        ({"type": "number", "minimum": 0, "maximum": 2}, [0, 1.5, 2], [-1, 2.5, True, "x"]),
        ({"type": ["string", "null"], "maxLength": 2}, [None, "", "ab"], ["abc", 1]),
        ({"enum": ["a", "b"]}, ["a", "b"], ["c", None]),
        (
            {"type": "array", "minItems": 1, "maxItems": 2, "items": {"type": "string"}},
            [["a"], ["a", "b"]],
            [[], ["a", "b", "c"], [1]],
        ),
        (
            {"type": "object", "properties": {"a": {"type": "boolean"}}, "required": ["a"]},
            [{"a": True}, {"a": False, "b": 1}],
            [{}, {"a": 1}, {"b": True}],
        ),
        (
            {"anyOf": [{"type": "string"}, {"type": "object", "required": ["x"]}]},
            ["s", {"x": 1}],
            [{}, 3],
        ),
        ({"type": "string", "format": "date-time", "description": "d"}, ["not a date"], [1]),
    ],
)
def test_keywords_follow_draft_2020_12(schema: Any, good: list[Any], bad: list[Any]) -> None:
    check = compile_check(schema)
    validator = Draft202012Validator(schema)
    assert check is not None
    for value in good:
        assert check(value) and validator.is_valid(value), value
    for value in bad:
        assert not check(value) and not validator.is_valid(value), value


def test_enum_leaves_non_strings_to_the_validator() -> None:
    """1 and True compare equal in Python; only jsonschema's equality tells them apart."""
    check = compile_check({"enum": [1, "a"]})
    assert check is not None and not check(1) and not check(True)


@pytest.mark.parametrize(
    "schema",
    [
        {"type": "object", "additionalProperties": False},
        {"$ref": "#/x"},
        {"type": "strange"},
        {"items": True},
        {"prefixItems": [{}]},
        {"properties": {"a": {"pattern": "x"}}},
        {"anyOf": []},
        {"minimum": "3"},
    ],
)
def test_schemas_outside_the_subset_get_no_quick_check(schema: Any) -> None:
    assert compile_check(schema) is None


def test_invalid_arguments_still_get_the_validators_message() -> None:
    plan = PLANS.get(CATALOG.get("QueryUsers"))
    with pytest.raises(ValidationError) as caught:
        check_arguments(plan, {"filter_conditions": {}, "limit": 1000}, None, Redactor())
    assert caught.value.field == "limit"
    assert "<= 100" in str(caught.value)
