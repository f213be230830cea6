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
    dumps_bytes,
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

    __slots__ = ("_api_key", "_client", "_max_upload_bytes", "_urls")

    def __init__(
        self, client: httpx2.AsyncClient, *, base_url: str, api_key: str, max_upload_bytes: int
    ) -> None:
        self._client = client
        self._urls = Urls(base_url)
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
        url = self._urls.make(_fill_path(plan, path_values), urlencode_query(query), plan.plain)
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
                content=dumps_bytes(body, "body", prefix=""),
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


# What httpx2 refuses to parse (its MAX_URL_LENGTH); a longer URL takes the parsing path, which
# raises httpx2's own error as before.
MAX_URL_CHARS = 65536


class Urls:
    """Request URLs under one base URL, parsed once.

    httpx2 parses and normalises every URL string it is given (a pass over each character,
    quoting, dot segments), which is most of building a request. Every URL the builder makes
    is already in the form that parsing produces: the base URL, a path of literal text that
    needs no quoting (``plain``) and percent-encoded ids, and a query of percent-encoded
    names and values. For those, the parsed base is copied with the new path and query.
    Anything else, and any httpx2 whose parsed form is not the one this knows (checked
    against real parsing when the builder is made), takes the string and the full parse.
    """

    __slots__ = ("_base", "_base_url", "_prefix")

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url
        self._base: Any = None
        self._prefix = ""
        try:
            parsed = httpx2.URL(base_url)
            base = parsed._uri_reference
            self._base, self._prefix = base, base.path
            sample_path, sample_query = "/v1/a%2Fb/~c_d.e", "api_key=k&payload=%7B%22x%22%3A1%7D"
            made = self.make(sample_path, sample_query, True)
            expected = httpx2.URL(base_url + sample_path + "?" + sample_query)
            if not _same_url(made, expected):
                self._base = None
        except Exception:  # a different httpx2 inside: parse every URL instead
            self._base = None

    def make(self, path: str, query: str, plain: bool) -> httpx2.URL | str:
        """The URL for ``path`` (under the base URL's own path) and an encoded ``query``."""
        base = self._base
        if (
            base is None
            or not plain
            or len(self._base_url) + len(path) + len(query) >= MAX_URL_CHARS
            or _dot_segments(path)
        ):
            return self._base_url + path + "?" + query
        url = httpx2.URL.__new__(httpx2.URL)
        url._uri_reference = base._replace(path=self._prefix + path, query=query)
        return url


def _dot_segments(path: str) -> bool:
    """Whether URL parsing would rewrite ``path`` (a ``.`` or ``..`` segment)."""
    if "." not in path:
        return False
    segments = path.split("/")
    return "." in segments or ".." in segments


def _same_url(made: Any, expected: httpx2.URL) -> bool:
    return (
        isinstance(made, httpx2.URL)
        and str(made) == str(expected)
        and made.raw_path == expected.raw_path
        and made.host == expected.host
        and made.port == expected.port
        and made.scheme == expected.scheme
        and made._uri_reference == expected._uri_reference
    )
