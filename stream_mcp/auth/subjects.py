"""The users a call names: walk an operation's curated subject paths through its arguments.

A subject path is a tool-input path with two walkers: ``name[]`` visits each item of a list
and ``name{}`` each key of a map (UpdateUsers' ``users`` is a map of user id → user). A leaf
may hold a user id, a list of ids, a user object (its ``id`` or ``user_id``), or a filter
condition: ``{"$eq": id}`` and ``{"$in": [ids]}`` name users; any other operator (``$ne``,
``$autocomplete``, ``$exists``…) selects users nobody named, so the call counts as
unbounded. The walk never trusts shapes: odd values are reported, never crash it.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

_NAMING_OPERATORS = frozenset({"$eq", "$in"})
_ID_KEYS = ("id", "user_id")


@dataclass(frozen=True, slots=True)
class Subjects:
    """What the arguments say about whom a call reaches.

    ``named`` pairs each curated path with a user id found there; ``open_paths`` are the
    paths whose value selects users without naming them (a filter such as ``$ne``).
    """

    named: tuple[tuple[str, str], ...] = ()
    open_paths: tuple[str, ...] = field(default=())


def find_subjects(paths: Iterable[str], arguments: Mapping[str, Any]) -> Subjects:
    """Every user id ``arguments`` names at ``paths``, and the paths that name none."""
    named: list[tuple[str, str]] = []
    open_paths: list[str] = []
    for path in dict.fromkeys(paths):
        for value in _walk(arguments, _segments(path)):
            bounded = True
            for user in _users(value):
                if user is None:
                    bounded = False
                else:
                    named.append((path, user))
            if not bounded and path not in open_paths:
                open_paths.append(path)
    return Subjects(named=tuple(dict.fromkeys(named)), open_paths=tuple(open_paths))


def _segments(path: str) -> list[str]:
    return [s for s in path.split(".") if s]


def _walk(value: Any, segments: list[str]) -> Iterator[Any]:
    if not segments:
        yield value
        return
    head, rest = segments[0], segments[1:]
    keys = head.endswith("{}")
    many = head.endswith("[]")
    name = head[:-2] if keys or many else head
    if not isinstance(value, Mapping) or name not in value:
        return
    child = value[name]
    if keys:
        if isinstance(child, Mapping):
            for key, item in child.items():
                # The map's keys are the subjects; a value's own id is checked too, so a
                # map entry cannot name one user and carry another.
                yield key
                if isinstance(item, Mapping) and "id" in item:
                    yield item["id"]
    elif many:
        if isinstance(child, list):
            for item in child:
                yield from _walk_item(item, rest)
        else:
            yield from _walk_item(child, rest)
    else:
        yield from _walk(child, rest)


def _walk_item(item: Any, rest: list[str]) -> Iterator[Any]:
    if not rest:
        yield item
    else:
        yield from _walk(item, rest)


def _users(value: Any) -> Iterator[str | None]:
    """User ids in one leaf value; ``None`` marks a leaf that selects users without naming them."""
    if value is None:
        return
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _users(item)
    elif isinstance(value, Mapping):
        operators = [k for k in value if isinstance(k, str) and k.startswith("$")]
        if operators:
            for op in operators:
                if op in _NAMING_OPERATORS:
                    yield from _users(value[op])
                else:
                    yield None
            return
        ids = [value[k] for k in _ID_KEYS if k in value]
        if ids:
            for user in ids:
                yield from _users(user)
        # A user object without an id names nobody new (e.g. a partial update body).
    else:
        # A number or boolean where a user id belongs: Stream refuses it; name it as text
        # so the policy refuses it first rather than letting it through unchecked.
        yield str(value)
