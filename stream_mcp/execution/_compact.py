"""Compact results: what an agent reads, without what it does not need to.

Stream's answers repeat themselves: the same user object appears in a message, its
reactions, the channel's members and its read state; every channel carries its type's
whole configuration; nulls, ``false`` flags and empty lists fill every record. A compact
result keeps every value that says something, and leaves out what is empty or can be
derived from what is kept:

- ``null``, ``false``, ``""``, ``[]`` and ``{}`` inside records, and ``*_count`` fields
  that are 0 (an absent flag or count reads as false or zero);
- a user's full object after its first appearance (later ones are ``{"id": ...}``);
- a channel's type configuration (``channel.config`` becomes ``{"name": type}``; the
  settings are the channel type's, read with GetChannelType or ``select``);
- ``updated_at`` when it equals ``created_at`` (never changed);
- a message's ``html`` when it says no more than its ``text``;
- ``reaction_counts``/``reaction_scores`` when ``reaction_groups`` holds the same numbers;
- ``channel_id``/``channel_type`` beside the ``cid`` they spell.

Nothing is renamed or moved, so a path that reaches a value in the compact result
(``messages[].user.id``) reaches the same value in the raw body. ``select`` always runs on
the whole (redacted) body, and ``detail: "raw"`` returns the body as Stream sent it.
"""

from __future__ import annotations

import html
import re
from typing import Any

from stream_mcp.execution.timestamps import is_datetime_key, to_rfc3339

# Keys whose object value is a user: the first occurrence of an id is kept in full.
_USER_KEYS = frozenset(
    {
        "user",
        "created_by",
        "updated_by",
        "banned_by",
        "deleted_by",
        "target_user",
        "pinned_by",
        "sender",
        "actor",
        "me",
        "entity_creator",
        "reviewed_by",
    }
)
_MIN_USER_FIELDS = 3  # {"id": …} alone is already compact
_TAG = re.compile(r"<[^>]*>")


def compact(value: Any, *, timestamps: bool = False) -> Any:
    """``value`` without empty or derivable values and with repeated users shortened.

    Returns new containers; ``value`` is not modified. With ``timestamps``, numeric
    date-times become RFC 3339 in the same walk.
    """
    seen: set[str] = set()
    return _compact(value, None, seen, 0, timestamps)


def _compact(value: Any, key: str | None, seen: set[str], depth: int, times: bool) -> Any:
    """Empties are dropped inside records; an answer's own top-level keys always stay, so an
    empty result (``{"channels": []}``) still says it is empty.

    Only containers are walked: a scalar is kept as it is (a date-time number is rewritten
    by its record, which knows the key).
    """
    if isinstance(value, dict):
        return _compact_record(value, key, seen, depth, times)
    if isinstance(value, list):
        return _compact_list(value, key, seen, depth, times)
    return value


def _compact_record(
    value: dict[Any, Any], key: str | None, seen: set[str], depth: int, times: bool
) -> dict[Any, Any]:
    if key is not None and _is_user(key, value):
        user_id = value["id"]
        if user_id in seen:
            return {"id": user_id}
        seen.add(user_id)
    out: dict[str, Any] = {}
    top = depth == 0
    for name, item in value.items():
        if top and name == "duration":
            continue  # Stream's server-side timing, on every answer: nothing to act on
        kind = type(item)
        if kind is str or kind is bool:  # the commonest values first
            if item or top:  # "" and false read as absent inside a record
                out[name] = item
        elif kind is dict or kind is list or isinstance(item, _CONTAINERS):
            if name == "config" and isinstance(item, dict) and "cid" in value:
                kept: Any = {"name": item["name"]} if "name" in item else {}
            elif isinstance(item, dict):
                kept = _compact_record(item, _key(name), seen, depth + 1, times)
            else:
                kept = _compact_list(item, _key(name), seen, depth + 1, times)
            if top or kept:  # an empty object or list says nothing
                out[name] = kept
        elif item is None:
            if top:
                out[name] = item
        elif kind is int or kind is float:
            if times or not item:
                text = name if type(name) is str else str(name)
                if kind is int and item == 0 and not top and text.endswith("_count"):
                    continue  # a zero count
                if times and is_datetime_key(text):
                    item = to_rfc3339(item) or item  # scalars inline: no call per leaf
            out[name] = item
        elif top or not (item is False or item == ""):  # a str subclass, an int subclass...
            out[name] = item
    if not top:
        _drop_derived(value, out)
    return out


def _compact_list(
    value: list[Any], key: str | None, seen: set[str], depth: int, times: bool
) -> list[Any]:
    item_key = _item_key(key)
    out: list[Any] = []
    for item in value:
        if type(item) is str:  # lists of ids and names are common
            if item:
                out.append(item)
            continue
        if isinstance(item, dict):
            item = _compact_record(item, item_key, seen, depth + 1, times)
            if not item:
                continue
        elif isinstance(item, list):
            item = _compact_list(item, item_key, seen, depth + 1, times)
            if not item:
                continue
        elif item is None or item == "":
            continue
        out.append(item)
    return out


_CONTAINERS = (dict, list)


def _key(name: Any) -> str:
    return name if type(name) is str else str(name)


def _drop_derived(raw: dict[str, Any], out: dict[str, Any]) -> None:
    """Remove from ``out`` the fields that repeat another field of the same record."""
    if "updated_at" in out and out.get("updated_at") == out.get("created_at"):
        del out["updated_at"]
    text, markup = raw.get("text"), out.get("html")
    if isinstance(text, str) and isinstance(markup, str) and _plain(markup) == text.strip():
        del out["html"]
    groups = raw.get("reaction_groups")
    if isinstance(groups, dict) and groups:
        if _matches(groups, raw.get("reaction_counts"), "count"):
            out.pop("reaction_counts", None)
        if _matches(groups, raw.get("reaction_scores"), "sum_scores"):
            out.pop("reaction_scores", None)
    cid = raw.get("cid")
    if isinstance(cid, str) and cid == f"{raw.get('channel_type')}:{raw.get('channel_id')}":
        out.pop("channel_type", None)
        out.pop("channel_id", None)


def _plain(markup: str) -> str:
    return html.unescape(_TAG.sub("", markup)).strip()


def _matches(groups: dict[str, Any], totals: Any, field: str) -> bool:
    """True when ``totals`` (type → number) is exactly what ``groups`` says per type."""
    if not isinstance(totals, dict) or totals.keys() != groups.keys():
        return False
    return all(isinstance(g, dict) and g.get(field) == totals[k] for k, g in groups.items())


def _item_key(key: str | None) -> str | None:
    """List items of ``users``/``members``-like lists are treated as users when they are."""
    return "user" if key in ("users", "members_users", "watchers", "read_by") else None


def _is_user(key: str, value: dict[str, Any]) -> bool:
    return (
        (key in _USER_KEYS or key.endswith("_user"))
        and isinstance(value.get("id"), str)
        and len(value) >= _MIN_USER_FIELDS
    )
