"""Compact results: what an agent reads, without what it does not need to.

Stream's answers repeat themselves: the same user object appears in a message, its
reactions, the channel's members and its read state; nulls, empty lists and empty objects
fill every record. A compact result keeps every field that carries a value, shows each
user in full the first time and as ``{"id": ...}`` after that, and drops empty values.
Nothing is renamed or moved, so the paths an agent reads (``messages[].user.id``) are the
same in the compact and the raw body; ``detail: "raw"`` returns the body as Stream sent it.
"""

from __future__ import annotations

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


def compact(value: Any, *, timestamps: bool = False) -> Any:
    """``value`` without empty values and with repeated user objects shortened (new containers).

    With ``timestamps``, numeric date-times become RFC 3339 in the same walk.
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
                kept = _compact(item, str(name), seen, depth + 1, times)
            elif times and type(item) in (int, float) and is_datetime_key(str(name)):
                kept = to_rfc3339(item) or item  # scalars inline: no call per leaf
            else:
                kept = item
            if depth == 0 or not _empty(kept):
                out[name] = kept
        return out
    if isinstance(value, list):
        items = [_compact(item, _item_key(key), seen, depth + 1, times) for item in value]
        return [item for item in items if not _empty(item)]
    return value


def _item_key(key: str | None) -> str | None:
    """List items of ``users``/``members``-like lists are treated as users when they are."""
    return "user" if key in ("users", "members_users", "watchers", "read_by") else None


def _is_user(key: str, value: dict[str, Any]) -> bool:
    return (
        (key in _USER_KEYS or key.endswith("_user"))
        and isinstance(value.get("id"), str)
        and len(value) >= _MIN_USER_FIELDS
    )


def _empty(value: Any) -> bool:
    return value is None or value == [] or value == {} or value == ""
