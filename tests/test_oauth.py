"""OAuth pieces without sockets: configuration, scopes, the JWKS cache and token checks.

The JWKS cache talks to an httpx2 mock transport that plays the authorization server, and a
fake clock drives its cooldowns.
"""

from __future__ import annotations

import json
import time
from typing import Any

import httpx2
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from stream_mcp.auth.scopes import ADMIN, READ, WRITE, effective_scopes, required_scope
from stream_mcp.config import Settings
from stream_mcp.errors import ConfigError, InvalidToken, SigningKeysUnavailable
from stream_mcp.server._jwks import JwksCache, metadata_urls, parse_key_set
from stream_mcp.server.oauth import (
    JwtVerifier,
    OAuthConfig,
    OAuthPrincipal,
    OAuthResource,
    looks_like_jwt,
)
from tests.factories import shipped_catalog
from tests.oauth_support import new_rsa_key

ISSUER = "https://as.example.com"
RESOURCE = "https://mcp.example.com/mcp"
CATALOG = shipped_catalog()


def settings(**values: Any) -> Settings:
    return Settings(**{"oauth_issuer": ISSUER, "oauth_resource": RESOURCE, **values})


# --------------------------------------------------------------------------- configuration


def test_oauth_is_off_without_an_issuer():
    assert OAuthConfig.from_settings(Settings()) is None


@pytest.mark.parametrize(
    ("values", "variable"),
    [
        ({"oauth_issuer": "http://as.example.com"}, "STREAM_MCP_OAUTH_ISSUER"),
        ({"oauth_issuer": "ftp://as.example.com"}, "STREAM_MCP_OAUTH_ISSUER"),
        ({"oauth_issuer": "https://as.example.com?x=1"}, "STREAM_MCP_OAUTH_ISSUER"),
        ({"oauth_resource": None}, "STREAM_MCP_OAUTH_RESOURCE"),
        ({"oauth_resource": "http://mcp.example.com/mcp"}, "STREAM_MCP_OAUTH_RESOURCE"),
        ({"oauth_resource": "https://mcp.example.com/mcp#x"}, "STREAM_MCP_OAUTH_RESOURCE"),
        ({"oauth_jwks_url": "http://as.example.com/jwks"}, "STREAM_MCP_OAUTH_JWKS_URL"),
        ({"oauth_algorithms": "RS256,HS256"}, "STREAM_MCP_OAUTH_ALGORITHMS"),
        ({"oauth_algorithms": "none"}, "STREAM_MCP_OAUTH_ALGORITHMS"),
        ({"oauth_algorithms": ""}, "STREAM_MCP_OAUTH_ALGORITHMS"),
        ({"oauth_users_claim": "a b"}, "STREAM_MCP_OAUTH_USERS_CLAIM"),
        ({"oauth_issuer": None}, "STREAM_MCP_OAUTH_RESOURCE"),
    ],
)
def test_bad_settings_name_the_variable(values: dict[str, Any], variable: str):
    with pytest.raises(ConfigError) as caught:
        OAuthConfig.from_settings(settings(**values))
    assert str(caught.value).startswith(variable + ":")
    assert "\n" not in str(caught.value)


def test_http_is_accepted_on_loopback_only():
    config = OAuthConfig.from_settings(
        settings(oauth_issuer="http://127.0.0.1:9000", oauth_resource="http://localhost:8765/mcp")
    )
    assert config is not None and config.loopback_issuer
    assert config.metadata_url == "http://localhost:8765/.well-known/oauth-protected-resource/mcp"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("STREAM_MCP_OAUTH_ISSUER", ISSUER)
    monkeypatch.setenv("STREAM_MCP_OAUTH_RESOURCE", RESOURCE)
    monkeypatch.setenv("STREAM_MCP_OAUTH_USERS_CLAIM", "https://example.com/stream_users")
    config = OAuthConfig.from_settings(Settings())
    assert config is not None
    assert (config.issuer, config.resource) == (ISSUER, RESOURCE)
    assert config.users_claim == "https://example.com/stream_users"


# --------------------------------------------------------------------------- scopes


def test_scopes_are_cumulative_and_exact():
    assert effective_scopes(["stream:write"]) == {READ, WRITE}
    assert effective_scopes(["stream:admin"]) == {READ, WRITE, ADMIN}
    assert effective_scopes(["Stream:Admin", "stream:admin "]) == frozenset()
    assert effective_scopes([]) == frozenset()


def test_required_scope_follows_the_auth_mode_and_the_write_flag():
    assert required_scope(CATALOG.get("QueryChannels"), "user") == READ
    assert required_scope(CATALOG.get("SendMessage"), "user") == WRITE
    assert required_scope(CATALOG.get("QueryChannels"), "server") == ADMIN


def test_the_principal_is_a_caller():
    principal = OAuthPrincipal(
        subject="p\n1",
        issuer=ISSUER,
        client_id=None,
        scopes=effective_scopes(["stream:read"]),
        users=("alice", "team-*"),
    )
    assert principal.name == "oauth:p?1"
    assert principal.allows_user("alice") and principal.allows_user("team-x")
    assert not principal.allows_user("bob") and not principal.allows_user("")
    assert not principal.unrestricted and not principal.app_wide
    assert principal.grants(READ) and not principal.grants(WRITE)


def test_only_jwt_shaped_tokens_are_oauth():
    assert looks_like_jwt("eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln")
    assert not looks_like_jwt("smcp_" + "a" * 43)
    assert not looks_like_jwt("eyJ.a.b.c")


# --------------------------------------------------------------------------- JWKS


class FakeAS:
    """An httpx2 mock transport serving metadata and a JWKS, counting fetches."""

    def __init__(self, issuer: str = ISSUER) -> None:
        self.issuer = issuer
        self.key = new_rsa_key()
        self.kid = "k1"
        self.fetches = 0
        self.fail = False
        self.metadata: dict[str, Any] = {"issuer": issuer, "jwks_uri": f"{issuer}/jwks"}

    def jwks(self) -> dict[str, Any]:
        jwk = RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return {"keys": [{**jwk, "kid": self.kid, "use": "sig"}]}

    def handler(self, request: httpx2.Request) -> httpx2.Response:
        if self.fail:
            return httpx2.Response(500)
        if request.url.path == "/.well-known/oauth-authorization-server":
            return httpx2.Response(200, json=self.metadata)
        if request.url.path == "/jwks":
            self.fetches += 1
            return httpx2.Response(200, json=self.jwks())
        return httpx2.Response(404)

    def mint(self, **claims: Any) -> str:
        body = {
            "iss": self.issuer,
            "aud": RESOURCE,
            "sub": "p",
            "exp": int(time.time()) + 60,
            "scope": "stream:read",
            **claims,
        }
        return jwt.encode(body, self.key, algorithm="RS256", headers={"kid": self.kid})


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def cache(fake: FakeAS, clock: Clock, **kwargs: Any) -> JwksCache:
    return JwksCache(
        issuer=fake.issuer,
        algorithms=("RS256", "ES256"),
        clock=clock,
        transport=httpx2.MockTransport(fake.handler),
        **kwargs,
    )


async def test_unknown_kids_refetch_at_most_once_per_cooldown():
    fake, clock = FakeAS(), Clock()
    keys = cache(fake, clock, cooldown=30)
    assert await keys.key("first-unknown", "RS256") is None
    assert fake.fetches == 1  # the first fetch answers the first unknown kid too
    clock.now += 31
    assert await keys.key("k1", "RS256") is not None
    assert fake.fetches == 1
    for n in range(50):
        assert await keys.key(f"bogus-{n}", "RS256") is None
    assert fake.fetches == 2  # one refetch for the whole flood
    fake.kid = "k2"  # the AS rotates
    assert await keys.key("k2", "RS256") is None  # still cooling down
    clock.now += 31
    assert await keys.key("k2", "RS256") is not None
    assert fake.fetches == 3


async def test_a_key_is_used_only_with_its_own_algorithm():
    fake, clock = FakeAS(), Clock()
    keys = cache(fake, clock)
    assert await keys.key("k1", "ES256") is None  # an RSA key never verifies ES256
    ec_key = ec.generate_private_key(ec.SECP256R1()).public_key()
    ec_jwk = ECAlgorithm.to_jwk(ec_key, as_dict=True)
    oct_key = {"kty": "oct", "k": "c2VjcmV0", "kid": "h"}
    rsa_with_alg = {**fake.jwks()["keys"][0], "kid": "r", "alg": "RS256"}
    parsed = parse_key_set(
        {"keys": [{**ec_jwk, "kid": "e"}, oct_key, rsa_with_alg, "junk", {"kty": "RSA"}]},
        ("RS256", "PS256", "ES256"),
        0.0,
    )
    assert set(parsed.keys) == {("e", "ES256"), ("r", "RS256")}
    with pytest.raises(SigningKeysUnavailable):
        parse_key_set({"keys": [oct_key]}, ("RS256",), 0.0)


async def test_metadata_for_another_issuer_is_not_trusted():
    fake, clock = FakeAS(), Clock()
    fake.metadata = {"issuer": "https://evil.example", "jwks_uri": f"{ISSUER}/jwks"}
    with pytest.raises(SigningKeysUnavailable):
        await cache(fake, clock).key("k1", "RS256")
    fake.metadata = {"issuer": ISSUER, "jwks_uri": "http://as.example.com/jwks"}
    with pytest.raises(SigningKeysUnavailable):
        await cache(fake, clock).key("k1", "RS256")


async def test_an_unreachable_as_keeps_the_old_keys_and_backs_off():
    fake, clock = FakeAS(), Clock()
    keys = cache(fake, clock, max_age=100)
    assert await keys.key("k1", "RS256") is not None
    fake.fail = True
    clock.now += 200
    assert await keys.key("k1", "RS256") is not None  # stale but usable
    fresh = cache(fake, clock)
    with pytest.raises(SigningKeysUnavailable):
        await fresh.key("k1", "RS256")
    with pytest.raises(SigningKeysUnavailable):
        await fresh.key("k1", "RS256")  # backing off: no second request


def test_metadata_urls_follow_rfc_8414_then_oidc():
    assert metadata_urls("https://as.example.com/tenant") == [
        "https://as.example.com/.well-known/oauth-authorization-server/tenant",
        "https://as.example.com/.well-known/openid-configuration/tenant",
        "https://as.example.com/tenant/.well-known/openid-configuration",
    ]


# --------------------------------------------------------------------------- tokens


def verifier(fake: FakeAS, **config: Any) -> JwtVerifier:
    oauth = OAuthConfig(issuer=ISSUER, resource=RESOURCE, **config)
    return JwtVerifier(oauth, cache(fake, Clock()))


async def test_claims_become_the_principal():
    fake = FakeAS()
    token = fake.mint(scp=["stream:write"], stream_users=["alice", "bob-*"], client_id="c1")
    principal = await verifier(fake).principal(token)
    assert principal.subject == "p" and principal.client_id == "c1"
    # "scope" wins over "scp" when both are present: here it says stream:read.
    assert principal.scopes == {READ}
    assert principal.users == ("alice", "bob-*")
    only_scp = jwt.encode(
        {
            "iss": ISSUER,
            "aud": RESOURCE,
            "sub": "p",
            "exp": int(time.time()) + 60,
            "scp": ["stream:write"],
            "teams": "alice carol",
        },
        fake.key,
        algorithm="RS256",
        headers={"kid": "k1"},
    )
    principal = await verifier(fake, users_claim="teams").principal(only_scp)
    assert principal.scopes == {READ, WRITE}
    assert principal.users == ("alice", "carol")


@pytest.mark.parametrize(
    "claims",
    [
        {"sub": ""},
        {"sub": 12},
        {"stream_users": "alice,bob"},
        {"stream_users": [1, 2]},
        {"stream_users": {"alice": True}},
        {"aud": []},
        {"aud": RESOURCE + "/other"},
        {"exp": "tomorrow"},
    ],
)
async def test_malformed_claims_are_refused(claims: dict[str, Any]):
    fake = FakeAS()
    with pytest.raises(InvalidToken):
        await verifier(fake).principal(fake.mint(**claims))


async def test_the_metadata_and_challenges():
    resource = OAuthResource(OAuthConfig(issuer=ISSUER, resource=RESOURCE))
    document = json.loads(resource.metadata().model_dump_json(exclude_none=True))
    assert document == {
        "resource": RESOURCE,
        "authorization_servers": [ISSUER],
        "scopes_supported": ["stream:read", "stream:write", "stream:admin"],
        "bearer_methods_supported": ["header"],
        "resource_name": "stream-mcp",
    }
    metadata = "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
    assert resource.challenge() == f'Bearer resource_metadata="{metadata}"'
    assert resource.challenge("invalid_token", 'bad "quote"\n') == (
        f'Bearer error="invalid_token", error_description="bad \'quote\'\'", '
        f'resource_metadata="{metadata}"'
    )
    paths = [route.path for route in resource.routes()]
    assert paths == [
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ]
