"""Check a call's arguments before anything is built: fill actors, refuse, validate.

Under server-side auth the acting user is filled into the operation's actor fields, so Stream
records who acted. Unknown arguments are refused with the closest known names, and the rest
is validated against the operation's full schema; a schema error becomes one line that names
the field (``message.text: expected string, got integer``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Mapping
from typing import Any

from stream_mcp.catalog.schemas import UPLOAD_ARGUMENTS
from stream_mcp.errors import ValidationError
from stream_mcp.execution._encoding import json_type
from stream_mcp.execution._plan import OperationPlan
from stream_mcp.observability import Redactor

CLOSE_MATCHES = 3


def check_arguments(
    plan: OperationPlan, arguments: Mapping[str, Any], acting_user: str | None, redactor: Redactor
) -> dict[str, Any]:
    """The arguments after actor filling and validation (a new dict; input untouched).

    ``acting_user`` is filled into the actor fields; pass None under user auth, where
    Stream takes the actor from the token.
    """
    if not isinstance(arguments, Mapping):
        raise ValidationError(
            f"arguments: expected object, got {json_type(arguments)}", field="arguments"
        )
    args = dict(arguments)
    if acting_user is not None and plan.actors:
        fill_actors(args, plan.actors, acting_user)
    # Uploads accept ``filename`` and ``content_type`` besides their schema's body fields.
    unknown = [
        k for k in args if k not in plan.bindings and not (plan.upload and k in UPLOAD_ARGUMENTS)
    ]
    if unknown:
        raise _unknown_argument(plan, unknown[0])
    # The quick check answers for valid arguments; the validator decides and explains the rest.
    if plan.check is not None and plan.check(args):
        return args
    error = next(plan.validator.iter_errors(args), None)
    if error is not None:
        from jsonschema.exceptions import best_match  # only when there is an error

        error = best_match(plan.validator.iter_errors(args)) or error
        path, message = describe_schema_error(error)
        raise ValidationError(redactor.text(message), field=path)
    return args


def fill_actors(args: dict[str, Any], actors: tuple[str, ...], user: str) -> None:
    """Put ``user`` into each missing actor field (dotted path), creating parent objects.

    Never overwrites a value the caller gave, including the object form of the same actor
    (``created_by`` next to ``created_by_id``, ``user`` next to ``user_id``). Parents on the
    path are copied, so the caller's nested objects are never modified.
    """
    for actor in actors:
        parts = actor.split(".")
        holder: dict[str, Any] | None = args
        for part in parts[:-1]:
            assert holder is not None
            current = holder.get(part)
            if current is None:
                current = {}
            elif not isinstance(current, Mapping):
                holder = None
                break
            else:
                current = dict(current)
            holder[part] = current
            holder = current
        if holder is None:
            continue
        leaf = parts[-1]
        if holder.get(leaf) is not None:
            continue
        if leaf.endswith("_id") and holder.get(leaf[: -len("_id")]) is not None:
            continue
        holder[leaf] = user


def describe_schema_error(error: Any) -> tuple[str, str]:
    """(field path, one-line message) for a jsonschema error, e.g. ``message.text: expected
    string, got integer``."""
    path = _field_path(error.absolute_path)
    label = path or "arguments"
    keyword = error.validator
    value = error.validator_value
    instance = error.instance
    if keyword == "type":
        kinds = [value] if isinstance(value, str) else [k for k in value if k != "null"]
        expected = " or ".join(kinds or ["null"])
        return label, f"{label}: expected {expected}, got {json_type(instance)}"
    if keyword == "required" and isinstance(instance, Mapping):
        missing = next((n for n in value if n not in instance), None)
        if missing is not None:
            where = f"{path}.{missing}" if path else str(missing)
            return where, f"{where}: required field is missing"
    if keyword == "enum":
        options = ", ".join(_short(v) for v in list(value)[:12])
        return label, f"{label}: expected one of {options}, got {_short(instance)}"
    if keyword == "const":
        return label, f"{label}: expected {_short(value)}, got {_short(instance)}"
    if keyword in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        relation = {
            "minimum": ">=",
            "exclusiveMinimum": ">",
            "maximum": "<=",
            "exclusiveMaximum": "<",
        }[keyword]
        return label, f"{label}: expected a number {relation} {value}, got {_short(instance)}"
    if keyword in ("minLength", "maxLength"):
        bound = "at least" if keyword == "minLength" else "at most"
        return label, (
            f"{label}: expected a string of {bound} {value} characters, got {len(instance)}"
        )
    if keyword in ("minItems", "maxItems"):
        bound = "at least" if keyword == "minItems" else "at most"
        return label, f"{label}: expected {bound} {value} items, got {len(instance)}"
    if keyword == "additionalProperties" and isinstance(instance, Mapping):
        allowed = set(error.schema.get("properties", {}))
        extra = sorted(str(k) for k in instance if k not in allowed)
        if extra:
            where = f"{path}.{extra[0]}" if path else extra[0]
            return where, f"{where}: unexpected field"
    if keyword in ("anyOf", "oneOf"):
        return label, f"{label}: does not match any allowed form, got {_short(instance)}"
    text = " ".join(str(error.message).split())
    return label, f"{label}: {text[:200]}"


def _field_path(parts: Any) -> str:
    out = ""
    for part in parts:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out


def _short(value: Any) -> str:
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _unknown_argument(plan: OperationPlan, name: str) -> ValidationError:
    known = list(plan.bindings)
    if plan.upload:
        known += list(UPLOAD_ARGUMENTS)
    close = difflib.get_close_matches(str(name), known, n=CLOSE_MATCHES)
    suggestion = f"; did you mean {', '.join(close)}?" if close else ""
    return ValidationError(
        f"{name}: unknown argument for {plan.op.operation_id}{suggestion}",
        field=str(name),
        hint=f"arguments: {', '.join(known[:30])}",
    )
