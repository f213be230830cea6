"""Stream's MongoDB-style filter and sort language, evaluated over plain dicts.

Query endpoints build a flat "filter view" of each candidate (a user, a channel, a member, a
message…) and hand it here with the caller's ``filter_conditions``. Supported operators:
``$eq $ne $in $nin $gt $gte $lt $lte $exists $contains $autocomplete $q`` and the logical
``$and $or $nor``. A bare value means ``$eq``. An unknown operator is an input error, as in Stream.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from stream_mcp.sandbox.clock import parse_time
from stream_mcp.sandbox.errors import input_error

_WORD = re.compile(r"\w+", re.UNICODE)
_MISSING = object()

FieldGetter = Callable[[Mapping[str, Any], str], Any]
DocT = TypeVar("DocT", bound=Mapping[str, Any])


def words(text: str) -> list[str]:
    """Lower-cased word tokens, the unit Stream's text search and autocomplete match on."""
    return [w.lower() for w in _WORD.findall(text)]


def get_field(doc: Mapping[str, Any], field: str) -> Any:
    """Look a field up, following dots into nested dicts; missing → ``_MISSING``."""
    if field in doc:
        return doc[field]
    current: Any = doc
    for part in field.split("."):
        if isinstance(current, Mapping) and part in current:
            current = current[part]
        else:
            return _MISSING
    return current


def matches(doc: Mapping[str, Any], conditions: Mapping[str, Any] | None) -> bool:
    """True when ``doc`` satisfies every condition."""
    if not conditions:
        return True
    if not isinstance(conditions, Mapping):
        raise input_error("filter conditions must be an object")
    return all(_clause(doc, key, value) for key, value in conditions.items())


def _clause(doc: Mapping[str, Any], key: str, value: Any) -> bool:
    if key in ("$and", "$or", "$nor"):
        if not isinstance(value, list) or not all(isinstance(v, Mapping) for v in value):
            raise input_error(f"{key} expects a list of filter objects")
        results = (matches(doc, sub) for sub in value)
        if key == "$and":
            return all(results)
        if key == "$or":
            return any(results)
        return not any(results)
    if key.startswith("$"):
        raise input_error(f"unsupported filter operator {key}")
    actual = get_field(doc, key)
    if isinstance(value, Mapping) and value and all(str(k).startswith("$") for k in value):
        return all(_operator(actual, op, operand, key) for op, operand in value.items())
    return _operator(actual, "$eq", value, key)


def _operator(actual: Any, op: str, operand: Any, field: str) -> bool:
    present = actual is not _MISSING and actual is not None
    if op == "$eq":
        return present and _equals(actual, operand)
    if op == "$ne":
        return not (present and _equals(actual, operand))
    if op in ("$in", "$nin"):
        if not isinstance(operand, list):
            raise input_error(f"{op} on {field} expects a list")
        hit = present and any(_equals(actual, candidate) for candidate in operand)
        return hit if op == "$in" else not hit
    if op in ("$gt", "$gte", "$lt", "$lte"):
        if not present:
            return False
        ordered = _compare(actual, operand)
        if ordered is None:
            return False
        return {
            "$gt": ordered > 0,
            "$gte": ordered >= 0,
            "$lt": ordered < 0,
            "$lte": ordered <= 0,
        }[op]
    if op == "$exists":
        return present == bool(operand)
    if op == "$contains":
        return present and isinstance(actual, list) and any(_equals(v, operand) for v in actual)
    if op == "$autocomplete":
        if not present or not isinstance(operand, str):
            return False
        prefixes = words(operand)
        tokens = _text_tokens(actual)
        return bool(prefixes) and all(any(t.startswith(p) for t in tokens) for p in prefixes)
    if op == "$q":
        if not present or not isinstance(operand, str):
            return False
        wanted = words(operand)
        vocabulary = set(_text_tokens(actual))
        return bool(wanted) and all(w in vocabulary for w in wanted)
    raise input_error(f"unsupported filter operator {op} on field {field}")


def _text_tokens(value: Any) -> list[str]:
    if isinstance(value, str):
        return words(value)
    if isinstance(value, list):
        return [t for item in value if isinstance(item, str) for t in words(item)]
    return []


def _equals(actual: Any, expected: Any) -> bool:
    if isinstance(actual, list) and not isinstance(expected, list):
        return any(_equals(item, expected) for item in actual)
    if isinstance(actual, list) and isinstance(expected, list):
        return sorted(map(repr, actual)) == sorted(map(repr, expected))
    if isinstance(actual, bool) or isinstance(expected, bool):
        return actual is expected
    if isinstance(actual, str) and isinstance(expected, str):
        if actual == expected:
            return True
        both = _as_times(actual, expected)
        return both is not None and both[0] == both[1]
    return bool(actual == expected)


def _as_times(a: str, b: str) -> tuple[datetime, datetime] | None:
    if len(a) < 10 or len(b) < 10 or a[4:5] != "-" or b[4:5] != "-":
        return None
    try:
        return parse_time(a), parse_time(b)
    except ValueError:
        return None


def _compare(actual: Any, operand: Any) -> int | None:
    if isinstance(actual, bool) or isinstance(operand, bool):
        return None
    if isinstance(actual, int | float) and isinstance(operand, int | float):
        return (actual > operand) - (actual < operand)
    if isinstance(actual, str) and isinstance(operand, str):
        times = _as_times(actual, operand)
        if times is not None:
            return (times[0] > times[1]) - (times[0] < times[1])
        return (actual > operand) - (actual < operand)
    return None


# -- sorting and paging ------------------------------------------------------------------


def parse_sort(sort: Any, *, default: Sequence[tuple[str, int]] = ()) -> list[tuple[str, int]]:
    """Accept ``[{"field": f, "direction": d}]`` (and ``{f: d}`` items) → ``[(f, d)]``."""
    if sort is None or sort == []:
        return list(default)
    if isinstance(sort, Mapping):
        sort = [sort]
    if not isinstance(sort, list):
        raise input_error("sort must be a list of {field, direction} objects")
    result: list[tuple[str, int]] = []
    for item in sort:
        if not isinstance(item, Mapping):
            raise input_error("sort must be a list of {field, direction} objects")
        if "field" in item:
            pairs = [(item["field"], item.get("direction", 1))]
        else:
            pairs = list(item.items())
        for field, direction in pairs:
            if not isinstance(field, str) or direction not in (1, -1):
                raise input_error(f"invalid sort on {field!r}: direction must be 1 or -1")
            result.append((field, int(direction)))
    return result or list(default)


def _sort_key(value: Any) -> tuple[int, Any]:
    if isinstance(value, bool):
        return (0, value)
    if isinstance(value, int | float):
        return (1, value)
    if isinstance(value, str):
        return (2, value)
    return (3, repr(value))


def sort_docs(
    docs: Sequence[DocT],
    sort: Sequence[tuple[str, int]],
    getter: FieldGetter = get_field,
) -> list[DocT]:
    """Stable multi-key sort; documents lacking a sort field always come last.

    Generic over the document type so callers get back the same (e.g. mutable dict) type.
    """
    result = list(docs)
    for field, direction in reversed(list(sort)):
        present = [d for d in result if getter(d, field) not in (_MISSING, None)]
        missing = [d for d in result if getter(d, field) in (_MISSING, None)]

        def key(doc: DocT, name: str = field) -> tuple[int, Any]:
            return _sort_key(getter(doc, name))

        present.sort(key=key, reverse=direction < 0)
        result = present + missing
    return result


def bounded_int(
    value: Any, *, name: str, default: int, minimum: int = 0, maximum: int | None = None
) -> int:
    """Parse a limit/offset; out-of-range values are input errors, as Stream reports them."""
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise input_error(f"{name} must be an integer", field=name)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise input_error(f"{name} must be an integer", field=name) from None
    if number < minimum:
        raise input_error(f"{name} must be at least {minimum}", field=name)
    if maximum is not None and number > maximum:
        raise input_error(f"{name} must be at most {maximum}", field=name)
    return number


@dataclass(frozen=True, slots=True)
class QueryWindow:
    """The filter, sort and page of a Query* request, each checked as Stream checks it."""

    conditions: Mapping[str, Any]
    sort: list[tuple[str, int]]
    limit: int
    offset: int


def query_window(
    payload: Mapping[str, Any],
    *,
    default_limit: int,
    max_limit: int,
    max_offset: int = 10000,
    default_sort: Sequence[tuple[str, int]] = (("created_at", -1),),
) -> QueryWindow:
    conditions = payload.get("filter_conditions") or {}
    if not isinstance(conditions, Mapping):
        raise input_error("filter_conditions must be an object", field="filter_conditions")
    return QueryWindow(
        conditions=conditions,
        sort=parse_sort(payload.get("sort"), default=default_sort),
        limit=bounded_int(
            payload.get("limit"), name="limit", default=default_limit, maximum=max_limit
        ),
        offset=bounded_int(payload.get("offset"), name="offset", default=0, maximum=max_offset),
    )
