"""The catalog: every Stream Chat operation, with its wire facts and agent metadata.

It is built from ``tool_specs/`` (compiled ahead of time into ``_catalog.json`` for a fast
start-up) or from Stream's official OpenAPI file given with ``--spec``. For an official file,
operations we have curated keep their metadata, and new ones get conservative defaults.
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Literal

from stream_mcp.catalog._spec import (
    CURATED_KEYS,
    RawSpec,
    load_openapi,
    load_spec_dir,
    source_hash,
)
from stream_mcp.errors import SpecError, UnknownOperation

PACKAGE_DIR = Path(__file__).resolve().parent
ARTIFACT = PACKAGE_DIR / "_catalog.json"
SPEC_DIR = PACKAGE_DIR.parents[1] / "tool_specs"


@dataclass(frozen=True, slots=True)
class Param:
    """A path or query parameter. ``json`` marks Stream's JSON-encoded ``payload`` query."""

    name: str
    location: Literal["path", "query"]
    schema: dict[str, Any]
    required: bool = False
    json: bool = False


@dataclass(frozen=True, slots=True)
class Operation:
    """One Stream operation: its wire facts (method, path, params, body) and our curated
    metadata (text, safety flags, actor and subject fields, intents, brief fields, outline).
    Immutable: a new catalog makes new operations."""

    operation_id: str
    method: str
    path: str
    group: str
    summary: str
    description: str
    user_token: bool
    read_only: bool
    destructive: bool
    idempotent: bool
    actors: tuple[str, ...] = ()
    # Where the arguments name users the call acts on or exposes (tool-input paths; ``[]``
    # walks a list, ``{}`` a map's keys). ``unbounded``: it can reach users it does not name.
    subjects: tuple[str, ...] = ()
    unbounded: bool = False
    intents: tuple[str, ...] = ()
    # Requests people typed for it (tool_specs/examples.yaml): search learns from them. Not in
    # the compiled artifact's operations (see ``to_dict``), only in its search section.
    examples: tuple[str, ...] = field(default=(), compare=False, repr=False)
    brief: tuple[str, ...] = ()
    # What the answer holds: top-level keys, the paths people project, one example select.
    returns: dict[str, Any] | None = field(default=None, compare=False, hash=False)
    params: tuple[Param, ...] = ()
    body: dict[str, Any] | None = None
    body_required: bool = False
    content: Literal["json", "multipart"] = "json"
    curated: bool = True

    @property
    def server_only(self) -> bool:
        """True when Stream accepts only server-side auth for this operation."""
        return not self.user_token

    def to_dict(self) -> dict[str, Any]:
        """Everything but ``examples``, which the artifact holds compiled into its search
        section instead (a server would parse them at every start only to ignore them)."""
        data = asdict(self)
        data["params"] = [asdict(p) for p in self.params]
        del data["examples"]
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Operation:
        fields = dict(data)
        fields["params"] = tuple(Param(**p) for p in fields.get("params", ()))
        for key in ("actors", "subjects", "intents", "examples", "brief"):
            fields[key] = tuple(fields.get(key, ()))
        return cls(**fields)

    def summary_row(self) -> dict[str, Any]:
        return {
            "operation_id": self.operation_id,
            "method": self.method,
            "path": self.path,
            "group": self.group,
            "summary": self.summary,
            "user_token": self.user_token,
            "read_only": self.read_only,
            "destructive": self.destructive,
            "idempotent": self.idempotent,
        }


@dataclass(frozen=True)
class Catalog:
    """An immutable set of operations plus the shared schemas their bodies reference.

    ``precomputed`` holds what other layers compiled into the artifact from this catalog
    (the search postings, under ``"search"``), so they need not recompute it at start-up. It
    is opaque here; each consumer checks that its section still fits before using it.
    """

    operations: dict[str, Operation]
    components: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    precomputed: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __iter__(self) -> Iterator[Operation]:
        return iter(self.operations.values())

    def __len__(self) -> int:
        return len(self.operations)

    def __contains__(self, operation_id: object) -> bool:
        return operation_id in self.operations

    def get(self, operation_id: str) -> Operation:
        try:
            return self.operations[operation_id]
        except KeyError:
            pass
        folded = {k.lower(): k for k in self.operations}
        if isinstance(operation_id, str) and operation_id.lower() in folded:
            return self.operations[folded[operation_id.lower()]]
        close = difflib.get_close_matches(str(operation_id), list(self.operations), n=3)
        hint = f"did you mean {', '.join(close)}?" if close else "use search_operations to find one"
        raise UnknownOperation(
            f"unknown operation_id {operation_id!r}; {hint}", field="operation_id", hint=hint
        )

    def groups(self) -> dict[str, list[str]]:
        out: dict[str, list[str]] = {}
        for op in self:
            out.setdefault(op.group, []).append(op.operation_id)
        return out


# --------------------------------------------------------------------------- building


def _operation(op_id: str, raw: dict[str, Any], group: str, curated: bool) -> Operation:
    method = raw["method"].upper()
    params = tuple(
        Param(
            name=name,
            location=p["in"],
            schema=p["schema"]
            if "schema" in p
            else {k: v for k, v in p.items() if k not in ("in", "required", "json")},
            required=p["in"] == "path" or bool(p.get("required")),
            json=bool(p.get("json")),
        )
        for name, p in (raw.get("params") or {}).items()
    )
    return Operation(
        operation_id=op_id,
        method=method,
        path=raw["path"],
        group=group,
        summary=raw.get("summary") or op_id,
        description=raw.get("description") or raw.get("summary") or op_id,
        # Unknown operations (an official spec's, not curated here) get the safe side of every
        # flag: server-only (needs an explicit grant), confirmed unless a GET, and unbounded
        # (nothing says which users they reach, so a user-limited key needs app_wide).
        user_token=raw.get("user_token", False),
        read_only=raw.get("read_only", False),
        destructive=raw.get("destructive", method == "DELETE" if curated else method != "GET"),
        idempotent=raw.get("idempotent", method in ("GET", "PUT", "DELETE")),
        actors=tuple(raw.get("actors", ())),
        subjects=tuple(raw.get("subjects", ())),
        unbounded=bool(raw.get("unbounded", not curated)),
        intents=tuple(raw.get("intents", ())),
        examples=tuple(raw.get("examples", ())),
        brief=tuple(raw.get("brief", ())),
        returns=raw.get("returns"),
        params=params,
        body=raw.get("body"),
        body_required=bool(raw.get("body_required")),
        content=raw.get("content", "json"),
        curated=curated,
    )


def build_catalog(spec: RawSpec, overlay: RawSpec | None = None) -> Catalog:
    """Turn a raw spec into a catalog; ``overlay`` supplies curated metadata by operation id."""
    operations: dict[str, Operation] = {}
    for op_id, raw in spec.operations.items():
        group = spec.groups.get(op_id, "other")
        curated = overlay is None
        if overlay is not None and op_id in overlay.operations:
            mine = overlay.operations[op_id]
            raw = {**raw, **{k: mine[k] for k in mine if k in _CURATED}}
            group = overlay.groups.get(op_id, group)
            curated = True
        operations[op_id] = _operation(op_id, raw, group, curated)
    return Catalog(operations=operations, components=spec.components, source=spec.source)


_CURATED = frozenset(CURATED_KEYS)


_OWN_KEYS = frozenset({"source_hash", "components", "operations"})


def compile_artifact(
    spec_dir: Path = SPEC_DIR,
    artifact: Path = ARTIFACT,
    sections: Mapping[str, Callable[[Catalog], Any]] | None = None,
) -> Catalog:
    """Compile ``tool_specs/`` into the JSON artifact the server loads at start-up.

    ``sections`` adds data other layers derive from the catalog (``scripts/compile_catalog.py``
    adds the search postings); a loaded catalog carries them as ``precomputed``. They are
    passed in because the catalog must not depend on the layers built on it.
    """
    catalog = build_catalog(load_spec_dir(spec_dir))
    data = {
        "source_hash": source_hash(spec_dir),
        "components": catalog.components,
        "operations": [op.to_dict() for op in catalog],
    }
    for name, derive in (sections or {}).items():
        if name in _OWN_KEYS:
            raise ValueError(f"artifact section {name!r} would overwrite the catalog's own")
        data[name] = derive(catalog)
    artifact.write_text(json.dumps(data, sort_keys=True, indent=0) + "\n", encoding="utf-8")
    return catalog


def _load_artifact(artifact: Path) -> Catalog:
    try:
        data = json.loads(artifact.read_text(encoding="utf-8"))
        operations = {d["operation_id"]: Operation.from_dict(d) for d in data["operations"]}
        components = data["components"]
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise SpecError(
            f"{artifact}: compiled catalog is unreadable ({exc.__class__.__name__}); "
            "run `python scripts/compile_catalog.py`"
        ) from None
    precomputed = MappingProxyType({k: v for k, v in data.items() if k not in _OWN_KEYS})
    return Catalog(
        operations=operations,
        components=components,
        source=str(artifact),
        precomputed=precomputed,
    )


def load_catalog(spec: Path | None = None) -> Catalog:
    """The catalog the product uses.

    With no argument: the compiled artifact. With a directory: our ``tool_specs`` format. With
    a file: Stream's official OpenAPI, overlaid with our curated metadata.
    """
    if spec is None:
        return _load_artifact(ARTIFACT)
    if spec.is_dir():
        return build_catalog(load_spec_dir(spec))
    if not spec.exists():
        raise SpecError(f"{spec}: no such spec file or directory")
    return build_catalog(load_openapi(spec), overlay=_curated_overlay())


def _curated_overlay() -> RawSpec:
    if SPEC_DIR.is_dir():
        return load_spec_dir(SPEC_DIR)
    catalog = _load_artifact(ARTIFACT)
    overlay = RawSpec()
    for op in catalog:
        overlay.operations[op.operation_id] = {k: getattr(op, k) for k in _CURATED}
        overlay.groups[op.operation_id] = op.group
    return overlay
