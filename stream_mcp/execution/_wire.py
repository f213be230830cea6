"""Build the HTTP request for one call from checked arguments, exactly as Stream expects.

Each argument goes where its binding says: a percent-encoded path segment that can never
change the route, a query value next to ``api_key``, a field of a JSON-encoded query
parameter such as ``payload``, or the JSON body; the four uploads send multipart instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import httpx2

from stream_mcp.errors import ValidationError
from stream_mcp.execution._encoding import (
    dumps,
    encode_path_value,
    json_type,
    query_value,
    urlencode_query,
)
from stream_mcp.execution._plan import OperationPlan
from stream_mcp.execution._uploads import multipart


class RequestBuilder:
    """Builds requests for one Stream app: its base URL, API key and upload limit.

    Requests come from ``client`` so they carry its default headers and timeouts.
    """

    __slots__ = ("_api_key", "_base_url", "_client", "_max_upload_bytes")

    def __init__(
        self, client: httpx2.AsyncClient, *, base_url: str, api_key: str, max_upload_bytes: int
    ) -> None:
        self._client = client
        self._base_url = base_url
        self._api_key = api_key
        self._max_upload_bytes = max_upload_bytes

    def build(self, plan: OperationPlan, args: Mapping[str, Any], token: str) -> httpx2.Request:
        path_values: dict[str, str] = {}
        query: list[tuple[str, str]] = [("api_key", self._api_key)]
        containers: dict[str, dict[str, Any]] = {}
        body: dict[str, Any] = {}
        for name, value in args.items():
            binding = plan.bindings.get(name)
            if binding is None or (value is None and binding.location != "body"):
                continue
            location = binding.location
            if location == "path":
                path_values[binding.wire] = encode_path_value(name, value)
            elif location == "query":
                query.append((binding.wire, query_value(value, name)))
            elif location == "json_query":
                container = binding.container or name
                if binding.wire:
                    containers.setdefault(container, {})[binding.wire] = value
                elif isinstance(value, Mapping):
                    containers.setdefault(container, {}).update(value)
                else:
                    raise ValidationError(
                        f"{name}: expected object, got {json_type(value)}", field=name
                    )
            else:
                body[binding.wire] = value
        for container, fields in containers.items():
            query.append((container, dumps(fields, container, prefix="")))
        url = self._base_url + _fill_path(plan, path_values) + "?" + urlencode_query(query)
        headers = {
            "Authorization": token,
            "Stream-Auth-Type": "jwt",
        }
        method = plan.op.method
        if plan.upload:
            data, files = multipart(body, args, image=plan.image, max_bytes=self._max_upload_bytes)
            return self._client.build_request(method, url, headers=headers, data=data, files=files)
        if method in ("POST", "PUT", "PATCH") or body:
            headers["Content-Type"] = "application/json"
            return self._client.build_request(
                method,
                url,
                headers=headers,
                content=dumps(body, "body", prefix="").encode("utf-8"),
            )
        return self._client.build_request(method, url, headers=headers)


def _fill_path(plan: OperationPlan, values: Mapping[str, str]) -> str:
    parts: list[str] = []
    for literal, wire in plan.segments:
        parts.append(literal)
        if wire is None:
            continue
        value = values.get(wire)
        if value is None:
            name = plan.path_args.get(wire, wire)
            raise ValidationError(f"{name}: required path parameter is missing", field=name)
        parts.append(value)
    return "".join(parts)
