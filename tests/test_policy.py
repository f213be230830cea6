"""Policy: settings parsing, user and operation globs, and every branch of the auth decision."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from stream_mcp.auth.policy import Policy, build_policy, check_user_id
from stream_mcp.catalog._build import Operation, load_catalog
from stream_mcp.errors import ConfigError, PolicyError, ValidationError
from tests.factories import make_operation


def op(
    op_id: str = "QueryChannels", *, user_token: bool = True, read_only: bool = True
) -> Operation:
    method = "GET" if read_only else "POST"
    return make_operation(
        op_id, method=method, path=f"/{op_id.lower()}", user_token=user_token, idempotent=read_only
    )


# --------------------------------------------------------------------------- settings


def test_defaults_are_conservative() -> None:
    policy = Policy()
    assert policy.default_user is None
    assert policy.allowed_users == ()
    assert policy.server_auth == "none"
    assert policy.read_only is False
    assert policy.allow_ops == ("*",)
    assert policy.deny_ops == ()
    assert policy.user_token_ttl == 300
    assert policy.max_issued_ttl == 3600


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("none", "none"),
        ("", "none"),
        ("server_only", "server_only"),
        (" server_only ", "server_only"),
        ("UpdateApp", ("UpdateApp",)),
        ("Update*, DeleteUser", ("Update*", "DeleteUser")),
        (["Ban*", "Ban*"], ("Ban*",)),
        ([], "none"),
    ],
)
def test_server_auth_forms(raw: object, expected: object) -> None:
    assert build_policy({"server_auth": raw}).server_auth == expected


def test_server_auth_mix_is_refused_naming_the_flag() -> None:
    with pytest.raises(ConfigError) as info:
        build_policy(
            {"server_auth": "server_only,UpdateApp"}, names={"server_auth": "--server-auth"}
        )
    assert str(info.value).startswith("--server-auth: ")
    assert "not a mix" in str(info.value)
    assert info.value.field == "server_auth"


def test_lists_accept_comma_strings_and_dedupe() -> None:
    policy = build_policy({"allowed_users": "alice, bot-*,alice", "deny_ops": "Delete*"})
    assert policy.allowed_users == ("alice", "bot-*")
    assert policy.deny_ops == ("Delete*",)


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ({"user_token_ttl": 3601}, "user_token_ttl", "less than or equal to 3600"),
        ({"user_token_ttl": 5}, "user_token_ttl", "greater than or equal to 30"),
        ({"user_token_ttl": True}, "user_token_ttl", "number of seconds"),
        ({"max_issued_ttl": 10**6}, "max_issued_ttl", "less than or equal"),
        ({"allowed_users": ["has space"]}, "allowed_users", "not a valid user glob"),
        ({"allow_ops": []}, "allow_ops", "at least one operation glob"),
        ({"default_user": "a*"}, "default_user", "not a valid user id"),
        ({"read_only": "maybe"}, "read_only", "boolean"),
        ({"surprise": 1}, "surprise", "unknown policy setting"),
    ],
)
def test_bad_settings_give_one_line_errors(values: dict, field: str, words: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_policy(values, names={"user_token_ttl": "--user-token-ttl"})
    message = str(info.value)
    assert "\n" not in message
    assert words in message
    assert info.value.field == field
    if field == "user_token_ttl":
        assert message.startswith("--user-token-ttl: ")


def test_policy_is_frozen_and_round_trips_through_json() -> None:
    policy = build_policy({"server_auth": "Ban*", "allowed_users": "*", "read_only": True})
    with pytest.raises(Exception, match="frozen"):
        policy.read_only = False  # type: ignore[misc]
    assert Policy.model_validate_json(policy.model_dump_json()) == policy
    assert policy.summary()["server_auth"] == ["Ban*"]


# --------------------------------------------------------------------------- users


def test_allows_user_exact_glob_star_and_default() -> None:
    policy = Policy(default_user="alice", allowed_users=("bob", "bot-*"))
    assert policy.allows_user("alice")
    assert policy.allows_user("bob")
    assert policy.allows_user("bot-7")
    assert not policy.allows_user("Bob")  # user ids are case-sensitive
    assert not policy.allows_user("mallory")
    assert not policy.allows_user("")
    assert Policy(allowed_users=("*",)).allows_user("anyone")


def test_resolve_user_defaults_to_default_user() -> None:
    assert Policy(default_user="alice").resolve_user(None) == "alice"
    assert Policy(default_user="alice").resolve_user("") == "alice"


def test_no_acting_user_names_both_settings() -> None:
    with pytest.raises(PolicyError) as info:
        Policy(allowed_users=("*",)).resolve_user(None)
    assert info.value.field == "as_user"
    assert "as_user" in str(info.value) and "default_user" in str(info.value)


def test_user_outside_the_allowed_set_is_refused() -> None:
    with pytest.raises(PolicyError) as info:
        Policy(default_user="alice", allowed_users=("bot-*",)).resolve_user("mallory")
    assert info.value.field == "as_user"
    assert "allowed_users" in str(info.value)
    assert "--allow-user" in (info.value.hint or "")


@pytest.mark.parametrize(
    "bad",
    [
        "a b",
        "a*",
        "x\ny",
        "a,b",
        "x" * 256,
        7,
        "../",
        "a/b",
        "#frag",
        "<script>",
        "al\u202eice",
        "é",
        "a.b",
        "a:b",
        "",
    ],
)
def test_ids_stream_rejects_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as info:
        check_user_id(bad)
    assert "\n" not in str(info.value)
    assert info.value.field == "as_user"


@pytest.mark.parametrize("good", ["alice", "a@b.c".replace(".", "_"), "u-1_x", "x" * 255, "A9"])
def test_ids_stream_accepts_pass(good: str) -> None:
    assert check_user_id(good) == good


# --------------------------------------------------------------------------- operations


def test_deny_wins_over_allow_and_is_case_insensitive() -> None:
    policy = Policy(allow_ops=("*",), deny_ops=("delete*",))
    with pytest.raises(PolicyError) as info:
        policy.check_operation(op("DeleteChannel", read_only=False))
    assert info.value.field == "deny_ops"
    assert "'delete*'" in str(info.value)
    assert not policy.allows_operation("DELETEUSER")
    assert policy.allows_operation("QueryChannels")


def test_allow_list_restricts() -> None:
    policy = Policy(allow_ops=("Query*", "GetApp"))
    policy.check_operation(op("QueryUsers"))
    policy.check_operation(op("getapp"))
    with pytest.raises(PolicyError) as info:
        policy.check_operation(op("SendMessage", read_only=False))
    assert info.value.field == "allow_ops"
    assert "Query*" in str(info.value)


def test_read_only_refuses_writes_and_names_the_setting() -> None:
    policy = Policy(read_only=True)
    policy.check_operation(op("QueryChannels", read_only=True))
    with pytest.raises(PolicyError) as info:
        policy.check_operation(op("SendMessage", read_only=False))
    assert info.value.field == "read_only"
    assert "read_only" in str(info.value)


@given(
    op_id=st.from_regex(r"[A-Za-z]{1,20}", fullmatch=True),
    allow=st.lists(st.sampled_from(["*", "Query*", "Send*", "Get*"]), min_size=1, max_size=3),
)
def test_a_matching_deny_glob_always_refuses(op_id: str, allow: list[str]) -> None:
    policy = Policy(allow_ops=tuple(allow), deny_ops=(op_id.upper(),))
    assert not policy.allows_operation(op_id)
    with pytest.raises(PolicyError):
        policy.check_operation(op(op_id))


# --------------------------------------------------------------------------- auth mode


@pytest.mark.parametrize(
    ("server_auth", "user_token", "expected"),
    [
        ("none", True, "user"),
        ("server_only", True, "user"),
        ("server_only", False, "server"),
        (("Ban*",), True, "server"),  # explicitly elevated although a user token would do
        (("Ban*",), False, "server"),
        (("Other*",), True, "user"),
    ],
)
def test_auth_mode_branches(server_auth: object, user_token: bool, expected: str) -> None:
    policy = build_policy({"server_auth": server_auth})
    assert policy.auth_mode(op("BanUser", user_token=user_token)) == expected


@pytest.mark.parametrize("server_auth", ["none", ("Other*",)])
def test_server_only_operation_without_grant_names_server_auth(server_auth: object) -> None:
    policy = build_policy({"server_auth": server_auth})
    with pytest.raises(PolicyError) as info:
        policy.auth_mode(op("UpdateApp", user_token=False))
    assert info.value.field == "server_auth"
    assert "server_auth" in str(info.value)
    assert "server_only" in (info.value.hint or "")


def test_decision_uses_real_catalog_operations() -> None:
    catalog = load_catalog()
    server_only = next(o for o in catalog if o.server_only)
    user_op = next(o for o in catalog if o.user_token)
    policy = Policy(server_auth="server_only")
    assert policy.auth_mode(server_only) == "server"
    assert policy.auth_mode(user_op) == "user"


# --------------------------------------------------------------------------- issued tokens


def test_issued_ttl_defaults_to_and_is_capped_by_max() -> None:
    policy = Policy(max_issued_ttl=600)
    assert policy.issued_ttl(None) == 600
    assert policy.issued_ttl(60) == 60
    with pytest.raises(PolicyError) as info:
        policy.issued_ttl(601)
    assert info.value.field == "ttl_seconds"
    assert "max_issued_ttl" in str(info.value)
    for bad in (0, -5, True):
        with pytest.raises(ValidationError):
            policy.issued_ttl(bad)  # type: ignore[arg-type]
