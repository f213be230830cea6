"""Cue words for the outcome rules: text every match of a rule's pattern must contain.

The analyzer rewrites each request with some seventy regular expressions (``OUTCOMES``).
Compiling them all costs tens of milliseconds, paid by the first search of every process,
though a given request can match only the few whose words it contains. So the compile step
reads each pattern's syntax tree once and stores, in the artifact, a few strings of which
every match holds at least one; the analyzer then compiles and applies a rule only for
requests that contain one of its cues.

The derivation is conservative: where it cannot prove a string is required (case-folding
flags, character classes with ranges, lookarounds, optional parts) it looks elsewhere, and
a pattern with no provable cue gets none, so its rule is compiled up front as before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from re import _constants as sre  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

Alternatives = tuple[str, ...]


def required_alternatives(pattern: str) -> Alternatives | None:
    """Strings one of which every match of ``pattern`` contains, or ``None`` if unknown."""
    parsed = _parser.parse(pattern)
    if parsed.state.flags & (re.IGNORECASE | re.VERBOSE):
        return None
    return _sequence(list(parsed))


def derive_cues(patterns: Iterable[str], min_length: int = 2) -> dict[str, list[str]]:
    """The cues of each pattern that has some, each at least ``min_length`` characters (a
    one-letter cue is in nearly every request, and so gates nothing)."""
    cues: dict[str, list[str]] = {}
    for pattern in patterns:
        found = required_alternatives(pattern)
        if found and min(map(len, found)) >= min_length:
            cues[pattern] = list(found)
    return cues


def _sequence(items: list[tuple[Any, Any]]) -> Alternatives | None:
    """The most selective required set among a sequence's items (a run of literal
    characters counts as one string)."""
    best: Alternatives | None = None

    def consider(candidate: Alternatives | None) -> None:
        nonlocal best
        if not candidate or not all(candidate):
            return
        if best is None or min(map(len, candidate)) > min(map(len, best)):
            best = candidate

    run: list[str] = []
    for op, value in items:
        if op is sre.LITERAL:
            run.append(chr(value))
            continue
        if run:
            consider(("".join(run),))
            run = []
        consider(_item(op, value))
    if run:
        consider(("".join(run),))
    return best


def _item(op: Any, value: Any) -> Alternatives | None:
    if op is sre.SUBPATTERN:
        _group, add_flags, _del_flags, body = value
        if add_flags & (re.IGNORECASE | re.VERBOSE):
            return None
        return _sequence(list(body))
    if op is sre.BRANCH:
        found: list[str] = []
        for branch in value[1]:
            alternatives = _sequence(list(branch))
            if not alternatives:
                return None  # a branch with no required text: the whole group has none
            found.extend(alternatives)
        return tuple(dict.fromkeys(found))
    if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
        low, _high, body = value
        return _sequence(list(body)) if low >= 1 else None
    if op is sre.IN and all(kind is sre.LITERAL for kind, _ in value):
        return tuple(chr(code) for _, code in value)
    return None


def cue_table(data: Mapping[str, Any]) -> dict[str, tuple[str, ...]]:
    """The artifact's stored cues as the analyzer takes them (ignoring malformed entries)."""
    table: dict[str, tuple[str, ...]] = {}
    for pattern, cues in data.items():
        valid = isinstance(cues, list) and cues and all(isinstance(c, str) and c for c in cues)
        if isinstance(pattern, str) and valid:
            table[pattern] = tuple(cues)
    return table
