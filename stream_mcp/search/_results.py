"""What a search returns: ranked hits, each small enough to list many of in an agent's context.

Kept apart from the index so that naming these types (as the service and the CLI do) does not
load the text analysis and vocabulary behind the index.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stream_mcp.catalog import Operation

MAX_LIMIT = 20
MAX_HIT_TOKENS = 80  # a hit as compact JSON, at about 4 bytes per token


@dataclass(frozen=True, slots=True)
class Hit:
    """One ranked operation, small enough to list many of in an agent's context."""

    operation_id: str
    summary: str
    auth: str  # "user" when a user token may call it, else "server"
    read_only: bool
    destructive: bool
    score: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "summary": self.summary,
            "auth": self.auth,
            "read_only": self.read_only,
            "destructive": self.destructive,
            "score": self.score,
        }


@dataclass(frozen=True, slots=True)
class SearchResult:
    """Ranked hits; or a ``message`` when nothing matched; or an ``overview`` for no query.

    Weak hits (``weak``) come with a ``message`` too, so an agent does not act on a guess.
    """

    query: str
    hits: list[Hit] = field(default_factory=list)
    message: str | None = None
    overview: list[dict[str, Any]] | None = None
    weak: bool = False  # the hits share only incidental words with the request; see message

    def to_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"query": self.query, "hits": [h.to_dict() for h in self.hits]}
        if self.weak:
            data["weak"] = True
        if self.message is not None:
            data["message"] = self.message
        if self.overview is not None:
            data["overview"] = self.overview
        return data


def compact_json(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


def hit_tokens(hit: Hit) -> int:
    """The size budget measure: bytes of the compact JSON, four to a token."""
    return math.ceil(len(compact_json(hit.to_dict()).encode()) / 4)


def make_hit(op: Operation, score: float) -> Hit:
    """A hit whose summary is cut, on a word boundary, to keep it within the token budget."""
    auth = "user" if op.user_token else "server"
    return Hit(
        op.operation_id, fit_summary(op), auth, op.read_only, op.destructive, round(score, 2)
    )


def fit_summary(op: Operation) -> str:
    """The one-line summary, cut so that a hit with any score up to 999999.99 fits the budget."""
    summary = " ".join(op.summary.split())
    widest = Hit(op.operation_id, summary, "server", False, False, 999999.99)
    excess = len(compact_json(widest.to_dict()).encode()) - MAX_HIT_TOKENS * 4
    if excess <= 0:
        return summary
    raw = summary.encode()
    keep = raw[: max(0, len(raw) - excess - len(b"..."))].decode(errors="ignore")
    cut = keep.rsplit(" ", 1)[0] if " " in keep else keep
    return cut.rstrip(" ,;:") + "..."
