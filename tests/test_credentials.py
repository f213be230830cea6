"""Signer, token claims and expiry, the token cache, and the per-call auth decision."""

from __future__ import annotations

import copy
import json
import pickle

import jwt
import pytest

from stream_mcp.auth.credentials import (
    AuthDecision,
    Credentials,
    IssuedToken,
    Signer,
    TokenCache,
    check_base_url,
    refresh_margin,
)
from stream_mcp.auth.policy import Policy
from stream_mcp.catalog._build import Operation
from stream_mcp.errors import ConfigError, PolicyError, ValidationError
from stream_mcp.observability.redact import Redactor
from tests.factories import make_operation

SECRET = "test-secret-9f8e7d6c5b4a3928171605f4e3d2c1b0a9f8e7d6"
T0 = 1_700_000_000  # in the past: verified tokens are old but well-formed


class Clock:
    """A hand-driven clock, so expiry is tested without sleeping."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def op(op_id: str, *, user_token: bool = True, read_only: bool = True) -> Operation:
    return make_operation(op_id, user_token=user_token, read_only=read_only)


def decode(token: str) -> dict:
    return jwt.decode(token, SECRET, algorithms=["HS256"], options={"verify_exp": False})


def make(policy: Policy | None = None, clock: Clock | None = None, **kw: object) -> Credentials:
    return Credentials(
        profile_name=str(kw.pop("profile_name", "prod")),
        api_key="key123",
        signer=Signer(SECRET),
        policy=policy or Policy(default_user="alice", allowed_users=("bot-*",)),
        clock=clock or Clock(),
        **kw,  # type: ignore[arg-type]
    )


# --------------------------------------------------------------------------- signer


def test_user_token_claims_verify_with_the_secret() -> None:
    token = Signer(SECRET).sign_user("alice", 300, now=T0 + 0.9)
    assert jwt.get_unverified_header(token)["alg"] == "HS256"
    assert decode(token) == {"user_id": "alice", "iat": T0, "exp": T0 + 300}


def test_server_token_claims() -> None:
    token = Signer(SECRET).sign_server(120, now=T0)
    assert decode(token) == {"server": True, "iat": T0, "exp": T0 + 120}


def test_token_is_rejected_after_exp_and_with_another_secret() -> None:
    token = Signer(SECRET).sign_user("alice", 60, now=T0)
    with pytest.raises(jwt.ExpiredSignatureError):
        jwt.decode(token, SECRET, algorithms=["HS256"])  # the real clock is past T0 + 60
    with pytest.raises(jwt.InvalidSignatureError):
        jwt.decode(token, "another-secret-of-sufficient-length-000000", algorithms=["HS256"])


def test_iat_defaults_to_now() -> None:
    import time

    before = int(time.time())
    claims = jwt.decode(Signer(SECRET).sign_user("a", 60), SECRET, algorithms=["HS256"])
    assert before <= claims["iat"] <= int(time.time())
    assert claims["exp"] == claims["iat"] + 60


@pytest.mark.parametrize("ttl", [0, -1, True, 1.5, 10**9])
def test_bad_ttl_is_refused(ttl: object) -> None:
    with pytest.raises(ValidationError) as info:
        Signer(SECRET).sign_server(ttl)  # type: ignore[arg-type]
    assert info.value.field == "ttl"


@pytest.mark.parametrize("bad", ["", "short", "has a space inside it", None])
def test_bad_secret_is_refused_without_echoing_it(bad: object) -> None:
    with pytest.raises(ConfigError) as info:
        Signer(bad)  # type: ignore[arg-type]
    assert info.value.field == "secret"
    if bad:
        assert str(bad) not in str(info.value)


def test_signer_never_shows_or_serializes_the_secret() -> None:
    signer = Signer(SECRET)
    assert SECRET not in repr(signer) and SECRET not in str(signer)
    assert repr(signer) == "Signer(secret=********)"
    assert not hasattr(signer, "__dict__")
    for attempt in (pickle.dumps, copy.copy, copy.deepcopy):
        with pytest.raises(TypeError) as info:
            attempt(signer)
        assert SECRET not in str(info.value)
    with pytest.raises(TypeError):
        json.dumps(signer)
    assert not [name for name in dir(signer) if "secret" in name.lower() and "Signer" not in name]


def test_signer_redactor_scrubs_the_secret() -> None:
    redactor = Signer(SECRET).redactor(Redactor())
    assert redactor.text(f"oops {SECRET} leaked") == "oops [redacted] leaked"
    assert SECRET not in repr(redactor)


# --------------------------------------------------------------------------- decisions


def test_user_operation_runs_with_the_acting_users_token() -> None:
    decision = make().authorize(op("QueryChannels"), as_user="bot-1")
    assert decision.mode == "user" and decision.acting_user == "bot-1"
    assert decode(decision.token) == {"user_id": "bot-1", "iat": T0, "exp": T0 + 300}


def test_acting_user_defaults_to_default_user() -> None:
    decision = make().authorize(op("QueryChannels"))
    assert decision.acting_user == "alice"
    assert decode(decision.token)["user_id"] == "alice"


def test_server_only_operation_with_grant_gets_a_server_token() -> None:
    policy = Policy(default_user="alice", server_auth="server_only", user_token_ttl=120)
    decision = make(policy).authorize(op("UpdateApp", user_token=False, read_only=False))
    assert decision.mode == "server" and decision.acting_user == "alice"
    assert decode(decision.token) == {"server": True, "iat": T0, "exp": T0 + 120}


def test_explicitly_elevated_operation_gets_a_server_token() -> None:
    policy = Policy(default_user="alice", server_auth=("Ban*",))
    credentials = make(policy)
    assert credentials.authorize(op("BanUser")).mode == "server"
    assert credentials.authorize(op("QueryChannels")).mode == "user"
    with pytest.raises(PolicyError) as info:
        credentials.authorize(op("UpdateApp", user_token=False))
    assert info.value.field == "server_auth"


def test_server_only_operation_without_grant_is_refused() -> None:
    with pytest.raises(PolicyError) as info:
        make().authorize(op("UpdateApp", user_token=False))
    assert info.value.field == "server_auth"
    assert "server_auth" in str(info.value)


def test_refusals_for_users_globs_and_read_only() -> None:
    with pytest.raises(PolicyError, match="allowed_users"):
        make().authorize(op("QueryChannels"), as_user="mallory")
    with pytest.raises(PolicyError, match="default_user"):
        make(Policy(allowed_users=("*",))).authorize(op("QueryChannels"))
    with pytest.raises(PolicyError, match="deny_ops"):
        make(Policy(default_user="a", deny_ops=("Query*",))).authorize(op("QueryChannels"))
    with pytest.raises(PolicyError, match="read_only"):
        make(Policy(default_user="a", read_only=True)).authorize(op("SendMessage", read_only=False))


def test_decision_repr_hides_the_token() -> None:
    decision = make().authorize(op("QueryChannels"))
    assert decision.token not in repr(decision)
    assert repr(decision) == "AuthDecision(mode='user', acting_user='alice')"
    assert isinstance(decision, AuthDecision)


# --------------------------------------------------------------------------- cache


def test_user_tokens_are_reused_until_shortly_before_expiry() -> None:
    clock = Clock()
    credentials = make(clock=clock)
    first = credentials.authorize(op("QueryChannels")).token
    clock.now = T0 + 300 - refresh_margin(300) - 1
    assert credentials.authorize(op("GetChannel")).token == first
    clock.now = T0 + 300 - refresh_margin(300)
    second = credentials.authorize(op("QueryChannels")).token
    assert second != first
    assert decode(second)["iat"] == T0 + 300 - refresh_margin(300)
    assert decode(second)["exp"] > clock.now + refresh_margin(300)


def test_cache_is_per_user_and_per_profile() -> None:
    cache = TokenCache()
    prod = make(cache=cache, profile_name="prod")
    staging = make(cache=cache, profile_name="staging")
    a = prod.authorize(op("QueryChannels")).token
    b = prod.authorize(op("QueryChannels"), as_user="bot-2").token
    c = staging.authorize(op("QueryChannels")).token
    assert len({a, b}) == 2
    assert len(cache) == 3
    assert decode(c)["user_id"] == "alice"


def test_server_tokens_are_never_cached() -> None:
    clock = Clock()
    credentials = make(Policy(default_user="a", server_auth="server_only"), clock=clock)
    first = credentials.authorize(op("UpdateApp", user_token=False)).token
    clock.now += 1
    assert credentials.authorize(op("UpdateApp", user_token=False)).token != first


def test_cache_is_bounded_and_instance_local() -> None:
    cache = TokenCache(max_entries=2)
    for n in range(3):
        cache.put(("p", f"u{n}"), f"t{n}", refresh_at=T0 + 10)
    assert len(cache) == 2
    assert cache.get(("p", "u0"), T0) is None
    assert cache.get(("p", "u2"), T0) == "t2"
    assert cache.get(("p", "u2"), T0 + 10) is None
    assert len(make()._cache) == 0 and make()._cache is not make()._cache
    assert "t2" not in repr(cache)


@pytest.mark.parametrize("ttl", [30, 300, 3600])
def test_refresh_margin_is_bounded(ttl: int) -> None:
    assert 5 <= refresh_margin(ttl) <= min(60, ttl)


# --------------------------------------------------------------------------- issued tokens


def test_issue_user_token_for_frontends() -> None:
    credentials = make(Policy(default_user="alice", max_issued_ttl=900))
    issued = credentials.issue_user_token("alice")
    assert isinstance(issued, IssuedToken)
    assert issued.expires_at == T0 + 900
    assert decode(issued.token) == {"user_id": "alice", "iat": T0, "exp": T0 + 900}
    assert credentials.issue_user_token("alice", 60).expires_at == T0 + 60
    assert issued.token not in repr(issued)


def test_issue_user_token_enforces_policy() -> None:
    credentials = make(Policy(default_user="alice", max_issued_ttl=900))
    with pytest.raises(PolicyError) as info:
        credentials.issue_user_token("alice", 901)
    assert "max_issued_ttl" in str(info.value)
    with pytest.raises(PolicyError) as info:
        credentials.issue_user_token("mallory")
    assert info.value.field == "user_id"
    assert "allowed_users" in str(info.value)


def test_credentials_validate_public_facts_and_hide_the_signer() -> None:
    credentials = make()
    assert "prod" in repr(credentials) and SECRET not in repr(credentials)
    assert SECRET not in repr(vars(credentials))
    assert credentials.redactor().text(SECRET) == "[redacted]"
    with pytest.raises(TypeError):
        Credentials(profile_name="p", api_key="k", signer=SECRET)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="api_key"):
        Credentials(profile_name="p", api_key="has space", signer=Signer(SECRET))


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://chat.stream-io-api.com/", "https://chat.stream-io-api.com"),
        ("http://localhost:3030", "http://localhost:3030"),
        ("http://127.0.0.1:8000/base", "http://127.0.0.1:8000/base"),
    ],
)
def test_base_url_accepted(url: str, expected: str) -> None:
    assert check_base_url(url) == expected


@pytest.mark.parametrize(
    "url",
    ["http://chat.example.com", "https://user:pw@host", "https://host?x=1", "ftp://h", "", "x"],
)
def test_base_url_refused(url: str) -> None:
    with pytest.raises(ConfigError) as info:
        check_base_url(url)
    assert info.value.field == "base_url"
