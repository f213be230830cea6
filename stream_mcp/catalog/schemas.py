"""Compile an operation into one flat input JSON Schema that every major client accepts.

Path, query, JSON-query (``payload``) and body fields become top-level arguments. A
:class:`Binding` per argument records where it goes on the wire, so the executor never has
to guess. Names that collide get a prefix (``body_id`` for UpdateCampaign's body ``id``).

Two levels of detail:

* ``brief`` (default) keeps what agents need: path parameters, required fields and the
  operation's curated ``brief`` fields, with a root note naming the optional fields left out.
  It never forbids extra properties, so a call using an omitted field still validates.
* ``full`` keeps every field, cutting only recursion and very deep nesting to an open object,
  so it accepts every valid Stream request.

The published schemas follow the rules :mod:`stream_mcp.catalog.lint` checks: object root, no
``$ref``, no top-level combinators, no type arrays, no ``x-*`` keys.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from stream_mcp.catalog._build import Catalog, Operation

Detail = Literal["brief", "full"]
DETAILS: tuple[Detail, ...] = ("brief", "full")

FULL_DEPTH = 6
BRIEF_DEPTH = 4
BRIEF_SMALL_OP = 8
BRIEF_NESTED_SCALARS = 6
NOTE_LIMIT = 24
MAP_FIELDS_SHOWN = 8
PAGING_NAMES = ("limit", "offset", "next", "prev")
# When an operation has no curated ``brief``, nested scalars are chosen in this order.
_LIKELY_NEEDED = ("text", "name", "id", "user_id", "type", "role", "title", "parent_id")
_FORMATS = frozenset({"date-time", "date", "email", "uri", "int32", "int64", "float", "double"})
# Bounds are kept only where they apply to the type; Stream's spec has a few that do not
# (``minimum`` on an object) or that overflowed (a latitude minimum of 2**64).
_BOUNDS = {
    "integer": ("minimum", "maximum"),
    "number": ("minimum", "maximum"),
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
}
_MAX_BOUND = 2**53


# The four uploads take the file as text, plus how to name and type it. These are not wire
# fields: the executor turns them into the multipart file part.
UPLOAD_ARGUMENTS: dict[str, dict[str, Any]] = {
    "filename": {
        "type": "string",
        "description": "Name to store the file under; defaults from the content type.",
    },
    "content_type": {
        "type": "string",
        "description": "MIME type such as image/png; defaults from the data URL or filename.",
    },
}
FILE_ARGUMENT = {
    "type": "string",
    "description": "File bytes as base64, or a data URL (data:<mime>;base64,<data>).",
}


@dataclass(frozen=True, slots=True)
class Binding:
    """Where one top-level argument goes on the wire.

    ``json_query`` is a field of the JSON-encoded query parameter named by ``container``;
    an empty ``wire`` means the argument is that whole parameter.
    """

    location: Literal["path", "query", "json_query", "body"]
    wire: str
    container: str | None = None


@dataclass(frozen=True)
class ToolInput:
    schema: dict[str, Any]
    bindings: dict[str, Binding]
    omitted: tuple[str, ...] = ()
    paging: tuple[str, ...] = ()
    detail: Detail = "full"


@dataclass
class _Arg:
    name: str
    binding: Binding
    schema: dict[str, Any]
    required: bool


@dataclass
class _Resolver:
    """Inline ``$ref`` s from the catalog's components, cutting recursion and depth."""

    components: dict[str, Any]
    max_depth: int
    nullable: bool = False
    _stack: list[str] = field(default_factory=list)

    def resolve(self, schema: Any, depth: int = 0) -> dict[str, Any]:
        if not isinstance(schema, dict):
            return {}
        ref = schema.get("$ref")
        if isinstance(ref, str):
            target = self.components.get(ref, {})
            if ref in self._stack or depth > self.max_depth:
                return _open(target)
            self._stack.append(ref)
            try:
                return self.resolve(target, depth)
            finally:
                self._stack.pop()
        for combinator in ("allOf", "anyOf", "oneOf"):
            if combinator in schema:
                return self._combine(schema, combinator, depth)
        out: dict[str, Any] = {}
        kind = schema.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), None)
        if kind is None and "properties" in schema:
            kind = "object"
        if isinstance(kind, str):
            # Stream's decoder treats JSON null as "not given", and the SDKs send nulls.
            out["type"] = [kind, "null"] if self.nullable else kind
        fmt = schema.get("format")
        if fmt in _FORMATS:
            out["format"] = fmt
        if "enum" in schema:
            out["enum"] = schema["enum"]
        out.update(_bounds(schema, kind))
        if kind == "array":
            out["items"] = self.resolve(schema.get("items", {}), depth + 1) or {}
        if kind == "object" and not schema.get("properties"):
            note = self._map_note(schema.get("additionalProperties"), depth)
            if note:
                out["description"] = note
        if kind == "object" or "properties" in schema:
            props = schema.get("properties") or {}
            if props and depth >= self.max_depth:
                return _open(schema)
            if props:
                out["properties"] = {
                    name: self.resolve(sub, depth + 1) for name, sub in props.items()
                }
                required = [r for r in schema.get("required", ()) if r in props]
                if required:
                    out["required"] = required
        return out

    def _map_note(self, values: Any, depth: int) -> str | None:
        """Say what a map's values are: ``additionalProperties`` is not portable, words are.

        Stream has maps such as UpdateUsers' ``users`` (user id → user); without this an
        agent would see only ``{"type": "object"}``.
        """
        if not isinstance(values, dict) or not values:
            return None
        resolved = self.resolve(values, depth + 1)
        fields = resolved.get("properties")
        if fields:
            required = set(resolved.get("required", ()))
            names = [f"{n} (required)" if n in required else n for n in fields]
            shown = ", ".join(names[:MAP_FIELDS_SHOWN])
            more = " and more" if len(names) > MAP_FIELDS_SHOWN else ""
            return f"A map from key (e.g. an id) to an object with {shown}{more}."
        kind = resolved.get("type")
        return f"A map from key to {kind}." if isinstance(kind, str) else None

    def _combine(self, schema: dict[str, Any], combinator: str, depth: int) -> dict[str, Any]:
        parts = [self.resolve(s, depth) for s in schema[combinator]]
        if combinator == "allOf":
            merged: dict[str, Any] = {}
            for part in parts:
                props = {**merged.get("properties", {}), **part.get("properties", {})}
                merged.update(part)
                if props:
                    merged["properties"] = props
            return merged
        kinds = {json.dumps(p.get("type")) for p in parts}
        if len(kinds) == 1 and all("type" in p for p in parts):
            return {"type": parts[0]["type"]}
        return {"anyOf": parts}


def _bounds(schema: dict[str, Any], kind: Any) -> dict[str, Any]:
    low_key, high_key = _BOUNDS.get(kind, ("", ""))
    low, high = schema.get(low_key), schema.get(high_key)
    sane = [v for v in (low, high) if isinstance(v, int | float) and abs(v) <= _MAX_BOUND]
    out = {}
    if low in sane:
        out[low_key] = low
    if high in sane and (low not in sane or high >= low):
        out[high_key] = high
    return out


def _open(schema: dict[str, Any]) -> dict[str, Any]:
    """A permissive stand-in for a schema we do not expand."""
    kind = schema.get("type") if isinstance(schema, dict) else None
    if kind is None and isinstance(schema, dict) and "properties" in schema:
        kind = "object"
    return {"type": kind} if isinstance(kind, str) else {}


# --------------------------------------------------------------------------- arguments


def _arguments(op: Operation, resolver: _Resolver) -> list[_Arg]:
    args: list[_Arg] = []
    taken: set[str] = set()

    def add(
        name: str, binding: Binding, schema: dict[str, Any], required: bool, prefix: str
    ) -> None:
        arg_name = name if name not in taken else f"{prefix}_{name}"
        taken.add(arg_name)
        args.append(_Arg(arg_name, binding, schema, required))

    for param in op.params:
        if param.location == "path":
            schema = resolver.resolve(param.schema)
            hint = _path_hint(op.path, param.name)
            if hint:
                schema = {**schema, "description": hint}
            add(param.name, Binding("path", param.name), schema, True, "")
    for param in op.params:
        if param.location == "query" and not param.json:
            schema = resolver.resolve(param.schema)
            add(param.name, Binding("query", param.name), schema, param.required, "query")
    for param in (p for p in op.params if p.json):
        schema = resolver.resolve(param.schema)
        props = schema.get("properties")
        if not props:
            add(param.name, Binding("json_query", "", param.name), schema, param.required, "q")
            continue
        required = set(schema.get("required", ()))
        for name, sub in props.items():
            binding = Binding("json_query", name, param.name)
            add(name, binding, sub, name in required, param.name)
    if op.body:
        body = resolver.resolve(op.body)
        required = set(body.get("required", ()))
        for name, sub in (body.get("properties") or {}).items():
            if op.content == "multipart" and name == "file":
                sub = FILE_ARGUMENT
            add(name, Binding("body", name), sub, name in required, "body")
    return args


_COMPOUND_NOUNS = {"usergroup": "user group", "channeltype": "channel type"}


def _path_hint(path: str, name: str) -> str | None:
    """``/channels/{type}/{id}`` → "channel type" and "channel id": bare names need a noun."""
    if name not in ("id", "type", "name"):
        return None
    noun = None
    for segment in path.strip("/").split("/"):
        if segment == "{" + name + "}":
            break
        if not segment.startswith("{") and not re.fullmatch(r"v\d+", segment):
            noun = segment
    if noun is None:
        return None
    noun = noun.replace("_", " ").removesuffix("s")
    noun = _COMPOUND_NOUNS.get(noun, noun)
    hint = f"{noun} {name}"
    return f"{hint}, e.g. messaging" if hint == "channel type" else hint


def _with_upload_arguments(op: Operation, schema: dict[str, Any]) -> dict[str, Any]:
    if op.content == "multipart":
        schema["properties"].update(UPLOAD_ARGUMENTS)
    return schema


def compile_input(catalog: Catalog, op: Operation, detail: Detail = "brief") -> ToolInput:
    """The input schema and wire bindings for ``op`` at the given level of detail."""
    if detail not in DETAILS:
        from stream_mcp.errors import ValidationError

        raise ValidationError(f"detail: expected 'brief' or 'full', got {detail!r}", field="detail")
    depth = FULL_DEPTH if detail == "full" else BRIEF_DEPTH
    args = _arguments(op, _Resolver(catalog.components, depth))
    bindings = {a.name: a.binding for a in args}
    paging = tuple(name for name in PAGING_NAMES if name in bindings)
    if detail == "full":
        schema = _root({a.name: a.schema for a in args}, [a.name for a in args if a.required])
        return ToolInput(_with_upload_arguments(op, schema), bindings, (), paging, "full")
    brief = _brief(op, args, bindings, paging)
    _with_upload_arguments(op, brief.schema)
    return brief


def validation_schema(catalog: Catalog, op: Operation) -> dict[str, Any]:
    """The full schema, also accepting ``null`` wherever Stream does; for validation only."""
    args = _arguments(op, _Resolver(catalog.components, FULL_DEPTH, nullable=True))
    schema = _root({a.name: a.schema for a in args}, [a.name for a in args if a.required])
    return _with_upload_arguments(op, schema)


def _root(properties: dict[str, Any], required: list[str]) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        schema["required"] = required
    return schema


# --------------------------------------------------------------------------- brief


def _brief(
    op: Operation, args: list[_Arg], bindings: dict[str, Binding], paging: tuple[str, ...]
) -> ToolInput:
    wanted: dict[str, set[str]] = {}
    for path in op.brief:
        head, _, rest = path.partition(".")
        wanted.setdefault(head, set())
        if rest:
            wanted[head].add(rest)
    small = not op.brief and len(args) <= BRIEF_SMALL_OP
    properties: dict[str, Any] = {}
    omitted: list[str] = []
    for arg in args:
        keep = arg.required or arg.binding.location == "path" or arg.name in wanted or small
        if not keep:
            omitted.append(arg.name)
            continue
        schema, dropped = _prune(arg.schema, wanted.get(arg.name, set()))
        properties[arg.name] = schema
        omitted.extend(f"{arg.name}.{d}" for d in dropped)
    schema = _root(properties, [a.name for a in args if a.required])
    omitted.sort(key=lambda name: name.count("."))  # top-level names first in the note
    if omitted:
        shown = ", ".join(omitted[:NOTE_LIMIT])
        more = f" and {len(omitted) - NOTE_LIMIT} more" if len(omitted) > NOTE_LIMIT else ""
        schema["description"] = (
            f"Brief schema. Optional fields not shown: {shown}{more}. "
            "They are still accepted; load with detail=full to see their types."
        )
    return ToolInput(schema, bindings, tuple(omitted), paging, "brief")


def _prune(schema: dict[str, Any], keep: set[str]) -> tuple[dict[str, Any], list[str]]:
    """Trim an object argument to its required fields plus ``keep`` (or a few scalars)."""
    target = schema.get("items", {}) if schema.get("type") == "array" else schema
    props = target.get("properties")
    if not props:
        return schema, []
    required = set(target.get("required", ()))
    heads = {k.partition(".")[0] for k in keep}
    if heads:
        chosen = [n for n in props if n in required or n in heads]
    else:
        scalars = [n for n, s in props.items() if s.get("type") not in ("object", "array")]
        scalars.sort(key=lambda n: _LIKELY_NEEDED.index(n) if n in _LIKELY_NEEDED else 99)
        chosen = [n for n in props if n in required]
        chosen += [n for n in scalars if n not in required][:BRIEF_NESTED_SCALARS]
    kept = {}
    for name in props:
        if name in chosen:
            kept[name] = _shallow(props[name]) if name not in heads else props[name]
    dropped = [n for n in props if n not in kept]
    trimmed = {**target, "properties": kept}
    if schema.get("type") == "array":
        return {**schema, "items": trimmed}, dropped
    return trimmed, dropped


def _shallow(schema: dict[str, Any]) -> dict[str, Any]:
    """Keep a nested value's type, and its item type, but not its inner fields."""
    if schema.get("type") == "object":
        return {"type": "object"}
    if schema.get("type") == "array" and schema.get("items", {}).get("type") == "object":
        return {"type": "array", "items": {"type": "object"}}
    return schema
