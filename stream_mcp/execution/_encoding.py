"""Write one argument value the way Stream reads it: a path segment, a query value or JSON.

Every encoder refuses what would be sent wrongly rather than sending it: a path value that
could change the route, text that is not valid Unicode (a lone surrogate cannot be encoded
as UTF-8), or a value JSON cannot represent. Errors name the argument's field path.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote, urlencode

from stream_mcp.errors import ValidationError
from stream_mcp.limits import MAX_PATH_PARAM_CHARS

SURROGATE_MESSAGE = "not valid Unicode text (contains a lone surrogate)"
CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
# Ids made only of RFC 3986's unreserved characters, which percent-encoding leaves as they are.
_PLAIN_ID = re.compile(r"[A-Za-z0-9._~-]+")
_JSON_TYPES = (
    (bool, "boolean"),
    (int, "integer"),
    (float, "number"),
    (str, "string"),
    (list, "array"),
    (dict, "object"),
)


def encode_path_value(name: str, value: Any) -> str:
    """Percent-encode one path parameter so it stays exactly one path segment.

    Everything outside RFC 3986's unreserved set is encoded (so ``/``, ``?``, ``#`` and ``%``
    cannot change the route). Empty, ``.`` and ``..`` are refused, because URL normalisation
    would collapse them, and so are control characters.
    """
    if (
        type(value) is str
        and len(value) <= MAX_PATH_PARAM_CHARS
        and value not in (".", "..")
        and _PLAIN_ID.fullmatch(value)
    ):
        return value  # nothing to refuse or encode: the usual id
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise ValidationError(f"{name}: expected string, got {json_type(value)}", field=name)
    text = str(value)
    if len(text) > MAX_PATH_PARAM_CHARS:
        raise ValidationError(
            f"{name}: {len(text)} characters, more than the {MAX_PATH_PARAM_CHARS} an id may have",
            field=name,
        )
    if text in ("", ".", ".."):
        shown = "an empty string" if not text else repr(text)
        raise ValidationError(
            f"{name}: expected an id, got {shown} (it would change the URL path)", field=name
        )
    if CONTROL.search(text):
        raise ValidationError(f"{name}: control characters are not allowed in an id", field=name)
    if not _encodable(text):
        raise ValidationError(f"{name}: {SURROGATE_MESSAGE}", field=name)
    odd = next((ch for ch in text if ch in _URL_SYNTAX or _invisible(ch)), None)
    if odd is not None:
        raise ValidationError(
            f"{name}: {odd!r} is not allowed in an id (no spaces, / \\ ? # %, or invisible "
            "and direction-changing characters): Stream's ids never contain them",
            field=name,
        )
    return quote(text, safe="")


# Characters that mean something in a URL (even encoded, they suggest a path trick), and
# whitespace, invisible and direction-changing characters, which no Stream id contains and
# which make one id look like another.
_URL_SYNTAX = frozenset("/\\?#%")


def _invisible(ch: str) -> bool:
    return ch.isspace() or unicodedata.category(ch) in ("Cf", "Zl", "Zp", "Zs")


def query_value(value: Any, name: str = "query") -> str:
    """One query value as Stream reads it: true/false, numbers, comma lists, else JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        if not _encodable(value):
            raise ValidationError(f"{name}: {SURROGATE_MESSAGE}", field=name)
        return value
    if isinstance(value, int | float):
        return dumps(value, name)
    if isinstance(value, list) and all(
        isinstance(v, str | int | float) and not isinstance(v, bool) for v in value
    ):
        return ",".join(query_value(v, f"{name}[{i}]") for i, v in enumerate(value))
    return dumps(value, name)


def urlencode_query(pairs: list[tuple[str, str]]) -> str:
    return urlencode(pairs, quote_via=quote, safe="")


def dumps(value: Any, name: str, prefix: str | None = None) -> str:
    """Compact JSON that is guaranteed to encode as UTF-8; errors name the field.

    ``prefix`` is the field path of ``value`` in tool-input space ("" for a whole body).
    """
    text = _json(value, name)
    if not _encodable(text):
        raise _surrogate_error(value, name, prefix)
    return text


def dumps_bytes(value: Any, name: str, prefix: str | None = None) -> bytes:
    """:func:`dumps` as the UTF-8 bytes to send, encoded once."""
    text = _json(value, name)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError:
        raise _surrogate_error(value, name, prefix) from None


def _json(value: Any, name: str) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(f"{name}: value cannot be sent as JSON ({exc})", field=name) from None


def _surrogate_error(value: Any, name: str, prefix: str | None) -> ValidationError:
    where = _bad_text_path(value, name if prefix is None else prefix) or name
    return ValidationError(f"{where}: {SURROGATE_MESSAGE}", field=where)


def _encodable(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _bad_text_path(value: Any, path: str) -> str | None:
    """The field path of the first string (or key) that is not valid Unicode text."""
    if isinstance(value, str):
        return None if _encodable(value) else path
    if isinstance(value, Mapping):
        for key, item in value.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(key, str) and not _encodable(key):
                return where
            found = _bad_text_path(item, where)
            if found:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = _bad_text_path(item, f"{path}[{index}]")
            if found:
                return found
    return None


def json_type(value: Any) -> str:
    """The JSON Schema name of a value's type, as error messages say it ("got integer")."""
    if value is None:
        return "null"
    for kind, name in _JSON_TYPES:
        if isinstance(value, kind):
            return name
    return type(value).__name__
