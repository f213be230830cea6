"""Request URLs made from the parsed base URL are exactly the URLs httpx2 would parse."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_mcp.errors import ValidationError
from stream_mcp.execution._encoding import encode_path_value, urlencode_query
from stream_mcp.execution._wire import MAX_URL_CHARS, Urls

BASES = [
    "http://127.0.0.1:5555",
    "https://chat.stream-io-api.com",
    "https://proxy.example.com/stream/v1",
    "http://localhost",
    "https://[::1]:8443/p",
    "https://EXAMPLE.com:443/a%20b",
]
LITERALS = ["/api/v2/chat/channels/", "/", "/users", "/x:y@z/", "/a.b/", "/-_~!$&'()*+,;="]
IDS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["general", "a.b", "..", ".", "%2F", "a/b", "é", "~x", "1", "\u200b"]),
)


def _parsed(base: str, path: str, query: str) -> httpx2.URL:
    return httpx2.URL(base + path + "?" + query)


@given(
    st.sampled_from(BASES),
    st.lists(st.tuples(st.sampled_from(LITERALS), IDS), min_size=1, max_size=3),
    st.lists(st.tuples(st.text(max_size=6), st.text(max_size=12)), max_size=3),
)
def test_made_urls_equal_parsed_ones(base: str, parts: Any, pairs: Any) -> None:
    path = ""
    for literal, value in parts:
        try:
            path += literal + encode_path_value("id", value)
        except ValidationError:
            path += literal
    query = urlencode_query([("api_key", "k"), *pairs])
    made = Urls(base).make(path, query, True)
    expected = _parsed(base, path, query)
    url = made if isinstance(made, httpx2.URL) else httpx2.URL(made)
    assert url == expected
    assert url.raw_path == expected.raw_path
    assert (url.scheme, url.host, url.port) == (expected.scheme, expected.host, expected.port)


def test_the_usual_urls_skip_parsing_and_odd_ones_take_it() -> None:
    urls = Urls("https://chat.stream-io-api.com")
    assert isinstance(urls.make("/channels/messaging/general", "api_key=k", True), httpx2.URL)
    # Literal text that parsing would quote, dot segments, and overlong URLs are parsed.
    assert isinstance(urls.make("/a b", "api_key=k", False), str)
    assert isinstance(urls.make("/a/../b", "api_key=k", True), str)
    assert isinstance(urls.make("/a", "x=" + "y" * MAX_URL_CHARS, True), str)


def test_overlong_urls_are_refused_as_before() -> None:
    made = Urls("https://chat.stream-io-api.com").make("/a", "x=" + "y" * MAX_URL_CHARS, True)
    with pytest.raises(httpx2.InvalidURL):
        httpx2.URL(made)


def test_plain_ids_are_returned_as_they_are_and_odd_ones_still_checked() -> None:
    assert encode_path_value("id", "general-1.a_b~") == "general-1.a_b~"
    for bad in ("", ".", "..", "x" * 256, "a/b", "a b", "a%b", True, 1.5):
        with pytest.raises(ValidationError):
            encode_path_value("id", bad)


@pytest.mark.parametrize("base", BASES)
def test_the_parsed_base_is_used_for_every_base_url_shape(base: str) -> None:
    """If httpx2's parsed form changes, the self-check turns the shortcut off: say so here."""
    made = Urls(base).make("/x", "a=b", True)
    assert isinstance(made, httpx2.URL)
    assert made == _parsed(base, "/x", "a=b")
