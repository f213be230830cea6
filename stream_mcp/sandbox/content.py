"""What a channel's configuration does to a message's content: length, blocklists, commands.

Blocklists follow Stream's documented matching: lowercase words, split on white space and
hyphens, matched whole (no prefixes or suffixes); regex lists match the text. The behaviour is
``flag`` (stored and flagged), ``block`` (refused: the answer is an ``error`` message that is
not stored) or ``shadow_block`` (stored, visible only to its author).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from stream_mcp.sandbox import typeconfig
from stream_mcp.sandbox.blocklists import find_blocklist
from stream_mcp.sandbox.context import Call
from stream_mcp.sandbox.errors import MESSAGE_TOO_LONG, APIError

_SPLIT = re.compile(r"[\s\-]+")
_EDGE = re.compile(r"^\W+|\W+$")
_COMMAND = re.compile(r"^/(\w[\w\-]*)(?:\s+(.*))?$", re.DOTALL)
BLOCKED_TEXT = "Message was blocked by moderation policies"


@dataclass(frozen=True)
class Verdict:
    """What moderation decided for a text: ``ok``, ``flag``, ``block`` or ``shadow_block``."""

    action: str = "ok"
    blocklist: str | None = None
    word: str | None = None


def check_length(config: Mapping[str, Any], text: str) -> None:
    limit = int(config.get("max_message_length") or 5000)
    if len(text) > limit:
        raise APIError(
            400,
            MESSAGE_TOO_LONG,
            f"message is too long: {len(text)} characters, the limit is {limit}",
        )


def _lists(config: Mapping[str, Any]) -> list[tuple[str, str]]:
    found: list[tuple[str, str]] = []
    if config.get("blocklist"):
        found.append((str(config["blocklist"]), str(config.get("blocklist_behavior") or "flag")))
    for item in config.get("blocklists") or []:
        if isinstance(item, Mapping) and item.get("blocklist"):
            behavior = item.get("behavior") or config.get("blocklist_behavior") or "flag"
            found.append((str(item["blocklist"]), str(behavior)))
    return found


def _words(text: str) -> set[str]:
    return {_EDGE.sub("", w).lower() for w in _SPLIT.split(text) if w}


def _hit(doc: Mapping[str, Any], text: str, words: set[str]) -> str | None:
    kind = doc.get("type") or "word"
    for entry in doc.get("words") or []:
        if kind == "regex":
            if re.search(entry, text, re.IGNORECASE):
                return str(entry)
        elif kind in ("domain", "email"):
            if entry.lower() in text.lower():
                return str(entry)
        elif kind == "word" and entry.lower() in words:
            return str(entry)
    return None


def blocklist_hit(doc: Mapping[str, Any], text: str, *, substring: bool = False) -> str | None:
    """The entry of blocklist ``doc`` that ``text`` matches (whole words, or anywhere in the
    text with ``substring``, as v2's ``match_substring`` asks), or ``None``."""
    if substring and (doc.get("type") or "word") == "word":
        lowered = text.lower()
        return next((str(w) for w in doc.get("words") or [] if w.lower() in lowered), None)
    return _hit(doc, text, _words(text))


_RANK = {"ok": 0, "flag": 1, "shadow_block": 2, "block": 3}


def moderate(call: Call, config: Mapping[str, Any], text: str) -> Verdict:
    """Apply the channel's blocklists to ``text``; the strictest matching behaviour wins."""
    if not text:
        return Verdict()
    words = _words(text)
    best = Verdict()
    for name, behavior in _lists(config):
        doc = find_blocklist(call, name)
        if doc is None:
            continue
        word = _hit(doc, text, words)
        if word is not None and _RANK.get(behavior, 1) > _RANK[best.action]:
            best = Verdict(behavior if behavior in _RANK else "flag", name, word)
    return best


def command_of(call: Call, config: Mapping[str, Any], text: str) -> tuple[str, str] | None:
    """``(name, args)`` when ``text`` starts with a command enabled for the channel."""
    found = _COMMAND.match(text.strip())
    if not found:
        return None
    name = found.group(1)
    enabled = (
        typeconfig.check_commands(call.store, ["all"])
        if config.get("commands") == ["all"]
        else list(config.get("commands") or [])
    )
    if name not in enabled:
        return None
    return name, (found.group(2) or "").strip()
