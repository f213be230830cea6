"""One Stream event as the feed keeps it: identity, the fields agents filter on, the payload.

Webhooks and Sync describe the same event in slightly different clothes (a v2 body may carry
numbers where a webhook carries RFC 3339 strings, and neither always carries an event id),
so every event gets a *key* computed from what both agree on: its type, its channel, what it
is about (message, reaction, member or user) and, where one subject can see the event more
than once, its instant to the millisecond. Two deliveries with the same key are one event.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from stream_mcp.errors import ValidationError
from stream_mcp.execution.timestamps import to_rfc3339

Source = Literal["webhook", "sync"]
MAX_TYPE_CHARS = 128
# Message events that happen once per message: the message id alone tells them apart.
_ONCE_PER_MESSAGE = frozenset({"message.new", "message.deleted", "message.undeleted"})


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event ready to store: normalised fields plus the (already redacted) payload."""

    key: str
    type: str
    cid: str | None
    created_at: str  # RFC 3339, UTC, microseconds
    user_id: str | None  # the acting user
    message_id: str | None
    source: Source
    payload: dict[str, Any] = field(repr=False)
    # Users the event is about besides the actor (a member added, a user banned): scope.
    subjects: tuple[str, ...] = ()

    def at(self, seq: int) -> Event:
        """This event as stored at position ``seq``."""
        return Event(
            seq=seq,
            key=self.key,
            type=self.type,
            cid=self.cid,
            created_at=self.created_at,
            user_id=self.user_id,
            message_id=self.message_id,
            source=self.source,
            payload=self.payload,
            subjects=self.subjects,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """A stored event: :class:`NewEvent` plus its position in the feed."""

    seq: int
    key: str
    type: str
    cid: str | None
    created_at: str
    user_id: str | None
    message_id: str | None
    source: Source
    payload: dict[str, Any] = field(repr=False)
    subjects: tuple[str, ...] = ()

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> Event:
        """A stored row (seq, key, type, cid, created_at, user_id, message_id, source,
        subjects, payload); the last two as JSON text or already decoded."""
        seq, key, kind, cid, created_at, user_id, message_id, source, subjects, payload = row
        if isinstance(subjects, str):
            subjects = json.loads(subjects)
        return cls(
            seq=int(seq),
            key=key,
            type=kind,
            cid=cid,
            created_at=created_at,
            user_id=user_id,
            message_id=message_id,
            source=source,
            payload=payload if isinstance(payload, dict) else json.loads(payload),
            subjects=tuple(subjects or ()),
        )

    def compact(self) -> dict[str, Any]:
        """What an agent usually needs: type, channel, time, who, and the message's gist."""
        out: dict[str, Any] = {"type": self.type}
        if self.cid:
            out["cid"] = self.cid
        out["created_at"] = self.created_at
        if self.user_id:
            out["user_id"] = self.user_id
        message = self.payload.get("message")
        if isinstance(message, Mapping):
            gist: dict[str, Any] = {}
            for name in ("id", "text", "parent_id"):
                if message.get(name) not in (None, ""):
                    gist[name] = message[name]
                    continue
            author = message.get("user")
            author_id = author.get("id") if isinstance(author, Mapping) else None
            if isinstance(author_id, str):
                gist["user_id"] = author_id
            out["message"] = gist
        reaction = self.payload.get("reaction")
        if isinstance(reaction, Mapping) and isinstance(reaction.get("type"), str):
            out["reaction"] = reaction["type"]
        if self.subjects:
            out["subjects"] = list(self.subjects)
        out["source"] = self.source
        return out

    def full(self) -> dict[str, Any]:
        return {**self.payload, "cursor": str(self.seq), "source": self.source}


# --------------------------------------------------------------------------- normalising


def normalise(payload: Mapping[str, Any], source: Source) -> NewEvent:
    """Build a :class:`NewEvent` from a Stream event body (webhook or Sync)."""
    kind = payload.get("type")
    if not isinstance(kind, str) or not kind or len(kind) > MAX_TYPE_CHARS:
        raise ValidationError("event: 'type' must be a non-empty string", field="type")
    cid = _cid(payload)
    created_at = _instant(payload.get("created_at")) or datetime.now(UTC)
    message = _mapping(payload.get("message"))
    message_id = _str(message.get("id")) or _str(payload.get("message_id"))
    actor = _user_id(payload.get("user")) or _str(payload.get("user_id"))
    subjects = _subjects(payload, actor)
    key = _key(kind, cid, message_id, message, payload, created_at)
    return NewEvent(
        key=key,
        type=kind,
        cid=cid,
        created_at=_format(created_at),
        user_id=actor,
        message_id=message_id,
        source=source,
        payload=dict(payload),
        subjects=subjects,
    )


def _key(
    kind: str,
    cid: str | None,
    message_id: str | None,
    message: Mapping[str, Any],
    payload: Mapping[str, Any],
    created_at: datetime,
) -> str:
    parts: list[str] = [kind, cid or ""]
    if message_id and kind in _ONCE_PER_MESSAGE:
        parts.append(message_id)
    else:
        reaction = _mapping(payload.get("reaction"))
        member = _mapping(payload.get("member"))
        parts += [
            message_id or "",
            _str(reaction.get("type")) or "",
            _str(reaction.get("user_id")) or _user_id(reaction.get("user")) or "",
            _str(member.get("user_id")) or _user_id(member.get("user")) or "",
            _user_id(payload.get("user")) or _str(payload.get("user_id")) or "",
            _user_id(payload.get("target_user")) or _str(payload.get("target_user_id")) or "",
            # An edit is told apart by when it was made; everything else by the event's instant.
            _format(_instant(message.get("updated_at")) or created_at)[:23]
            if kind == "message.updated"
            else _format(created_at)[:23],
        ]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def _cid(payload: Mapping[str, Any]) -> str | None:
    cid = _str(payload.get("cid"))
    if cid:
        return cid
    kind, ident = _str(payload.get("channel_type")), _str(payload.get("channel_id"))
    if kind and ident:
        return f"{kind}:{ident}"
    channel = _mapping(payload.get("channel"))
    return _str(channel.get("cid"))


def _subjects(payload: Mapping[str, Any], actor: str | None) -> tuple[str, ...]:
    found: list[str] = []
    for name in ("target_user", "member"):
        value = _mapping(payload.get(name))
        ident = _str(value.get("user_id")) or _user_id(value.get("user")) or _str(value.get("id"))
        if ident:
            found.append(ident)
    target = _str(payload.get("target_user_id"))
    if target:
        found.append(target)
    return tuple(u for u in dict.fromkeys(found) if u != actor)


def _instant(value: Any) -> datetime | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        text = to_rfc3339(value)
        value = text
    if not isinstance(value, str) or not value:
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _format(instant: datetime) -> str:
    return instant.isoformat(timespec="microseconds").replace("+00:00", "Z")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _str(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _user_id(value: Any) -> str | None:
    return _str(value.get("id")) if isinstance(value, Mapping) else None
