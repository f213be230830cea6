"""Read and check specs: the project's own ``tool_specs/`` YAML and Stream's official OpenAPI.

Both readers produce the same plain structure, a :class:`RawSpec`, so everything downstream
(the catalog, the schema compiler, search) is written once. Facts come from the files; the
curated agent metadata (flags, actors, intents, text) comes only from ``tool_specs/``.

Format of ``tool_specs/operations/<group>.yaml``::

    GetOrCreateChannel:
      method: POST
      path: /api/v2/chat/channels/{type}/{id}/query
      summary: One line, in our own words.
      description: A few sentences for an agent.
      user_token: true          # may a user token call it (else server-side auth only)
      read_only: false
      destructive: false
      idempotent: true
      actors: [data.created_by_id]   # where server-side auth names the acting user
      intents: [create a channel, open a group chat]
      brief: [data.members]     # optional: fields to keep in the brief schema
      params:                   # path and query parameters
        type: {in: path, type: string}
        payload: {in: query, json: true, schema: {$ref: QueryUsersPayload}}
      body: {$ref: ChannelGetOrCreateRequest}
      content: json             # or multipart

``tool_specs/components.yaml`` holds the shared request schemas, keyed by name.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from stream_mcp.errors import SpecError

METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE"})
CURATED_KEYS = (
    "summary",
    "description",
    "user_token",
    "read_only",
    "destructive",
    "idempotent",
    "actors",
    "subjects",
    "unbounded",
    "intents",
    "brief",
    "returns",
    "examples",
)
_OP_KEYS = frozenset(
    {"method", "path", "params", "body", "body_required", "content", *CURATED_KEYS}
)
_SCHEMA_KEEP = frozenset(
    {
        "type",
        "format",
        "enum",
        "items",
        "properties",
        "required",
        "additionalProperties",
        "$ref",
        "nullable",
        "minimum",
        "maximum",
        "minLength",
        "maxLength",
        "minItems",
        "maxItems",
        "oneOf",
        "anyOf",
        "allOf",
    }
)


@dataclass
class RawSpec:
    """Operations keyed by id (each a plain dict in the YAML form) and shared schemas."""

    operations: dict[str, dict[str, Any]] = field(default_factory=dict)
    components: dict[str, Any] = field(default_factory=dict)
    groups: dict[str, str] = field(default_factory=dict)
    source: str = ""


# --------------------------------------------------------------------------- our format


RETURNS_FILE = "returns.yaml"  # what each operation answers (scripts/import_returns.py)
EXAMPLES_FILE = "examples.yaml"  # requests people typed, per operation (collect_examples.py)
# Files that add one field to operations already defined, keyed by operation id.
_ADDENDA = ((RETURNS_FILE, "returns"), (EXAMPLES_FILE, "examples"))


def spec_files(spec_dir: Path) -> list[Path]:
    """components.yaml, then the operation files, then returns.yaml and examples.yaml if
    there are such files."""
    files = [spec_dir / "components.yaml", *sorted((spec_dir / "operations").glob("*.yaml"))]
    return files + [spec_dir / name for name, _ in _ADDENDA if (spec_dir / name).is_file()]


def source_hash(spec_dir: Path) -> str:
    """A digest of every spec file: the compiled catalog records it to detect staleness."""
    digest = hashlib.sha256()
    for path in spec_files(spec_dir):
        digest.update(path.relative_to(spec_dir).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def _yaml() -> ModuleType:
    """PyYAML, imported on first use: serving reads the compiled JSON artifact, never YAML."""
    import yaml

    return yaml


def _parse_yaml(text: str) -> Any:
    yaml = _yaml()
    # libyaml's safe loader when PyYAML was built with it: ten times faster on large specs.
    return yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))


def _load_yaml(path: Path) -> Any:
    yaml = _yaml()
    try:
        return _parse_yaml(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise SpecError(f"{path}: not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None


def load_spec_dir(spec_dir: Path) -> RawSpec:
    """Load ``tool_specs/``, checking the structure of every operation."""
    if not (spec_dir / "components.yaml").is_file():
        raise SpecError(f"{spec_dir}: not a tool_specs directory (components.yaml is missing)")
    components = _load_yaml(spec_dir / "components.yaml") or {}
    if not isinstance(components, dict):
        raise SpecError(f"{spec_dir / 'components.yaml'}: expected a mapping of schema names")
    spec = RawSpec(components=components, source=str(spec_dir))
    addenda = dict(_ADDENDA)
    for path in spec_files(spec_dir)[1:]:
        if path.name in addenda:
            continue
        data = _load_yaml(path) or {}
        if not isinstance(data, dict):
            raise SpecError(f"{path}: expected a mapping of operation ids to operations")
        for op_id, op in data.items():
            where = f"{path.name}: {op_id}"
            if op_id in spec.operations:
                raise SpecError(f"{where}: duplicate operation id (also in {spec.groups[op_id]})")
            check_operation(op_id, op, where=where)
            spec.operations[op_id] = op
            spec.groups[op_id] = path.stem
    for name, key in _ADDENDA:
        path = spec_dir / name
        values = (_load_yaml(path) or {}) if path.is_file() else {}
        if not isinstance(values, dict):
            raise SpecError(f"{path}: expected a mapping of operation ids")
        for op_id, value in values.items():
            if op_id in spec.operations:
                spec.operations[op_id][key] = value
                check_operation(op_id, spec.operations[op_id], where=f"{name}: {op_id}")
    return spec


def check_operation(op_id: Any, op: Any, *, where: str) -> None:
    """Raise a one-line :class:`SpecError` naming the field if ``op`` is malformed."""
    if not isinstance(op_id, str) or not op_id.isidentifier():
        raise SpecError(f"{where}: operation id must be an identifier, got {op_id!r}")
    if not isinstance(op, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(op).__name__}")
    unknown = set(op) - _OP_KEYS
    if unknown:
        raise SpecError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    method = op.get("method")
    if not isinstance(method, str) or method.upper() not in METHODS:
        raise SpecError(f"{where}.method: expected one of {', '.join(sorted(METHODS))}")
    path = op.get("path")
    if not isinstance(path, str) or not path.startswith("/"):
        raise SpecError(f"{where}.path: expected a string starting with '/'")
    for flag in ("user_token", "read_only", "destructive", "idempotent", "unbounded"):
        if flag in op and not isinstance(op[flag], bool):
            raise SpecError(f"{where}.{flag}: expected true or false")
    returns = op.get("returns")
    if returns is not None and not (
        isinstance(returns, dict)
        and all(isinstance(v, list | str) for v in returns.values())
        and set(returns) <= {"keys", "paths", "example_select"}
    ):
        raise SpecError(f"{where}.returns: expected keys, paths and example_select")
    for key in ("actors", "subjects", "intents", "brief", "examples"):
        value = op.get(key, [])
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise SpecError(f"{where}.{key}: expected a list of strings")
    for key in ("summary", "description"):
        if key in op and not isinstance(op[key], str):
            raise SpecError(f"{where}.{key}: expected a string")
    params = op.get("params", {})
    if not isinstance(params, dict):
        raise SpecError(f"{where}.params: expected a mapping of parameter names")
    for name, param in params.items():
        if not isinstance(param, dict) or param.get("in") not in ("path", "query"):
            raise SpecError(f"{where}.params.{name}.in: expected 'path' or 'query'")
        if param["in"] == "path" and "{" + name + "}" not in path:
            raise SpecError(f"{where}.params.{name}: path parameter not in path {path}")
    for name in _path_names(path):
        if name not in params:
            raise SpecError(f"{where}.params: path parameter {{{name}}} is not declared")
    if op.get("content", "json") not in ("json", "multipart"):
        raise SpecError(f"{where}.content: expected 'json' or 'multipart'")
    if "body" in op and not isinstance(op["body"], dict):
        raise SpecError(f"{where}.body: expected a schema mapping")


def _path_names(path: str) -> list[str]:
    names, rest = [], path
    while "{" in rest:
        start = rest.index("{")
        end = rest.index("}", start)
        names.append(rest[start + 1 : end])
        rest = rest[end + 1 :]
    return names


# --------------------------------------------------------------------------- official OpenAPI


def clean_schema(schema: Any) -> Any:
    """Keep only the facts of a schema: types, names, enums, bounds. Text and x-keys go."""
    if isinstance(schema, list):
        return [clean_schema(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("format") == "date-time" and schema.get("type") in ("number", "integer"):
        return _date_time(schema["type"])
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key not in _SCHEMA_KEEP:
            continue
        if key == "$ref":
            out[key] = value.rsplit("/", 1)[-1]
        elif key == "properties":
            out[key] = {name: clean_schema(sub) for name, sub in value.items()}
        elif key in ("items", "additionalProperties", "oneOf", "anyOf", "allOf"):
            out[key] = clean_schema(value)
        else:
            out[key] = value
    return out


def _date_time(kind: str) -> dict[str, Any]:
    """A date-time field of Stream's v2 spec, which types it as a number (nanoseconds).

    Stream takes an RFC 3339 string there too, as its v1 spec typed it and as agents write
    dates, so both are accepted, the string first.
    """
    return {"anyOf": [{"type": "string", "format": "date-time"}, {"type": kind}]}


def collect_refs(schema: Any, found: set[str]) -> None:
    """Add the names of the schemas ``schema`` references to ``found``."""
    if isinstance(schema, dict):
        ref = schema.get("$ref")
        if isinstance(ref, str):
            found.add(ref.rsplit("/", 1)[-1])
        for value in schema.values():
            collect_refs(value, found)
    elif isinstance(schema, list):
        for value in schema:
            collect_refs(value, found)


def load_openapi(path: Path) -> RawSpec:
    """Read Stream's official OpenAPI file (JSON or YAML) into a :class:`RawSpec` of facts.

    Text and agent metadata are left out: :func:`build_catalog` overlays the
    curated entries, and gives unknown operations conservative defaults.
    """
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror}") from None
    is_json = text.lstrip().startswith("{")
    errors: tuple[type[Exception], ...] = (
        (json.JSONDecodeError,) if is_json else (_yaml().YAMLError,)
    )
    try:
        doc = json.loads(text) if is_json else _parse_yaml(text)
    except errors as exc:
        raise SpecError(f"{path}: not valid JSON or YAML: {str(exc).splitlines()[0]}") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("paths"), dict):
        raise SpecError(f"{path}: not an OpenAPI document (no 'paths' mapping)")
    schemas = (doc.get("components") or {}).get("schemas") or {}
    spec = RawSpec(source=str(path))
    wanted: set[str] = set()
    for route, item in doc["paths"].items():
        if not isinstance(item, dict):
            raise SpecError(f"{path}: paths.{route}: expected a mapping of methods")
        for method, raw in item.items():
            if method.upper() not in METHODS or not isinstance(raw, dict):
                continue
            op_id = raw.get("operationId")
            if not isinstance(op_id, str) or not op_id:
                raise SpecError(f"{path}: {method.upper()} {route}: missing operationId")
            op = _openapi_operation(raw, method.upper(), route)
            check_operation(op_id, op, where=f"{path.name}: {op_id}")
            spec.operations[op_id] = op
            spec.groups[op_id] = "imported"
            collect_refs(op, wanted)
    done: set[str] = set()
    while wanted - done:
        name = (wanted - done).pop()
        done.add(name)
        if name not in schemas:
            raise SpecError(f"{path}: components.schemas.{name} is referenced but not defined")
        spec.components[name] = clean_schema(schemas[name])
        collect_refs(spec.components[name], wanted)
    return spec


def _openapi_operation(raw: dict[str, Any], method: str, route: str) -> dict[str, Any]:
    op: dict[str, Any] = {"method": method, "path": route}
    if isinstance(raw.get("summary"), str):
        op["summary"] = raw["summary"].strip()
    if isinstance(raw.get("description"), str):
        op["description"] = raw["description"].strip()
    params: dict[str, Any] = {}
    for param in raw.get("parameters") or []:
        if not isinstance(param, dict) or param.get("in") not in ("path", "query"):
            continue
        entry: dict[str, Any] = {"in": param["in"]}
        if "content" in param:
            media: dict[str, Any] = next(iter(param["content"].values()), {})
            entry["json"] = True
            entry["schema"] = clean_schema(media.get("schema", {"type": "object"}))
        else:
            entry.update(clean_schema(param.get("schema", {"type": "string"})))
        if param.get("required") and param["in"] == "query":
            entry["required"] = True
        params[param["name"]] = entry
    if params:
        op["params"] = params
    body = raw.get("requestBody")
    if isinstance(body, dict):
        content = body.get("content") or {}
        if "multipart/form-data" in content:
            op["content"] = "multipart"
            op["body"] = clean_schema(content["multipart/form-data"].get("schema", {}))
        elif "application/json" in content:
            op["body"] = clean_schema(content["application/json"].get("schema", {}))
        if body.get("required"):
            op["body_required"] = True
    return op
