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
    empty result (``{"channels": []}``) still says it is empty."""
    if (
        times
        and key is not None
        and isinstance(value, int | float)
        and not isinstance(value, bool)
        and is_datetime_key(key)
    ):
        return to_rfc3339(value) or value
    if isinstance(value, dict):
        if key is not None and _is_user(key, value):
            user_id = value["id"]
            if user_id in seen:
                return {"id": user_id}
            seen.add(user_id)
        out: dict[str, Any] = {}
        for name, item in value.items():
            if depth == 0 and name == "duration":
                continue  # Stream's server-side timing, on every answer: nothing to act on
            if isinstance(item, dict | list):
                if name == "config" and isinstance(item, dict) and "cid" in value:
                    kept: Any = {"name": item["name"]} if "name" in item else {}
                else:
                    kept = _compact(item, str(name), seen, depth + 1, times)
            elif times and type(item) in (int, float) and is_datetime_key(str(name)):
                kept = to_rfc3339(item) or item  # scalars inline: no call per leaf
            else:
                kept = item
            if depth == 0 or not _says_nothing(str(name), kept):
                out[name] = kept
        if depth > 0:
            _drop_derived(value, out)
        return out
    if isinstance(value, list):
        items = [_compact(item, _item_key(key), seen, depth + 1, times) for item in value]
        return [item for item in items if not _empty(item)]
    return value


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


def _says_nothing(name: str, value: Any) -> bool:
    """Empty, ``false``, or a zero count: what an absent field reads as anyway."""
    if value is False or _empty(value):
        return True
    return value == 0 and type(value) is int and name.endswith("_count")


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""
