"""``stream-mcp vault …`` and ``stream-mcp token``: manage credentials, mint frontend tokens.

Secrets never travel through argv: the API secret is read with a hidden prompt, or from
stdin when stdin is not a terminal (``printf %s "$SECRET" | stream-mcp vault add …``).
Listings show a fixed mask in place of the secret. Data goes to stdout, notes to stderr.
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from stream_mcp.auth import MASK, build_policy, check_api_key, check_base_url, check_secret
from stream_mcp.config import DEFAULT_BASE_URL, Settings
from stream_mcp.errors import ConfigError
from stream_mcp.observability import configure_logging
from stream_mcp.vault import (
    KEY_VAR,
    NEW_KEY_VAR,
    KeySource,
    KeySpec,
    ProfileRecord,
    VaultFile,
    VaultKeySettings,
    generate_key,
    load_settings,
    open_credentials,
)

_MAX_SECRET_INPUT = 4096
_FLAGS = {
    "default_user": "--default-user",
    "allowed_users": "--allow-user",
    "server_auth": "--server-auth",
    "allow_ops": "--allow-op",
    "deny_ops": "--deny-op",
    "user_token_ttl": "--user-token-ttl",
    "max_issued_ttl": "--max-issued-ttl",
    "app_wide": "--app-wide",
    "confirmation": "--confirmation",
}
_KEY_FROM_HELP = "where the new master key comes from (default: see `stream-mcp vault --help`)"
_VAULT_EPILOG = f"""\
master key: {KEY_VAR} (32 bytes in base64 from `vault generate-key`, or a passphrase of 12+
characters) wins; otherwise the OS keyring; otherwise a passphrase prompt in a terminal.
rotate-key takes the new key from {NEW_KEY_VAR} if set, else from the same kind of source
as the current key (a new keyring entry or a new passphrase).
"""


def register(subparsers: Any) -> None:
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--vault",
        type=Path,
        metavar="PATH",
        help="vault file (default: STREAM_MCP_VAULT_PATH or the user config directory)",
    )

    vault = subparsers.add_parser(
        "vault",
        help="manage the encrypted credential vault",
        description="Manage profiles (API key, secret, policy) and HTTP API keys.",
        epilog=_VAULT_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    vault.set_defaults(func=lambda _args: _usage(vault))
    actions = vault.add_subparsers(dest="vault_command", metavar="ACTION")

    init = actions.add_parser("init", parents=[common], help="create an empty vault")
    init.add_argument("--key-from", choices=("env", "keyring", "prompt"), help=_KEY_FROM_HELP)
    init.set_defaults(func=cmd_init)

    add = actions.add_parser(
        "add",
        parents=[common],
        help="add a profile (the secret is read from a prompt or stdin)",
    )
    add.add_argument("profile", metavar="PROFILE")
    add.add_argument("--api-key", required=True, help="the app's API key (public)")
    add.add_argument("--base-url", default=DEFAULT_BASE_URL, help="default: %(default)s")
    add.add_argument("--default-user", help="user id to act as when a call names none")
    add.add_argument(
        "--allow-user", action="append", default=[], metavar="GLOB", help="repeatable; * allowed"
    )
    add.add_argument(
        "--server-auth",
        default="none",
        metavar="none|server_only|GLOB,...",
        help="which operations may run with a server token (default: none)",
    )
    add.add_argument("--read-only", action="store_true", help="refuse every writing operation")
    add.add_argument("--allow-op", action="append", default=[], metavar="GLOB")
    add.add_argument("--deny-op", action="append", default=[], metavar="GLOB")
    add.add_argument("--user-token-ttl", type=int, metavar="SECONDS", help="default 300, max 3600")
    add.add_argument(
        "--max-issued-ttl", type=int, metavar="SECONDS", help="cap for `token` (default 3600)"
    )
    add.add_argument(
        "--app-wide",
        action="store_true",
        help="allow operations that reach users no argument names (app-wide queries, exports)",
    )
    add.add_argument(
        "--confirmation",
        choices=("flag", "person"),
        help="destructive calls: 'person' refuses clients that cannot ask one (default: flag)",
    )
    add.add_argument("--replace", action="store_true", help="overwrite an existing profile")
    add.set_defaults(func=cmd_add)

    listing = actions.add_parser("list", parents=[common], help="list profiles (secrets masked)")
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(func=cmd_list)

    show = actions.add_parser("show", parents=[common], help="show one profile (secret masked)")
    show.add_argument("profile", metavar="PROFILE")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=cmd_show)

    remove = actions.add_parser("remove", parents=[common], help="delete a profile")
    remove.add_argument("profile", metavar="PROFILE")
    remove.set_defaults(func=cmd_remove)

    rotate = actions.add_parser(
        "rotate-key", parents=[common], help="re-seal the vault under a new master key"
    )
    rotate.add_argument("--key-from", choices=("env", "keyring", "prompt"), help=_KEY_FROM_HELP)
    rotate.set_defaults(func=cmd_rotate_key)

    gen = actions.add_parser(
        "generate-key", help=f"print a random master key for {KEY_VAR} / {NEW_KEY_VAR}"
    )
    gen.set_defaults(func=cmd_generate_key)

    add_key = actions.add_parser(
        "add-key", parents=[common], help="create an HTTP API key (printed once)"
    )
    add_key.add_argument("name", metavar="NAME")
    add_key.add_argument("--profile", required=True)
    add_key.add_argument(
        "--user", action="append", default=[], metavar="GLOB", help="acting users (default: *)"
    )
    add_key.add_argument(
        "--mode", action="append", default=[], choices=("discovery", "static"), help="repeatable"
    )
    add_key.add_argument(
        "--app-wide",
        action="store_true",
        help="allow operations that reach users no argument names (needs the profile's grant too)",
    )
    add_key.set_defaults(func=cmd_add_key)

    keys = actions.add_parser("keys", parents=[common], help="list HTTP API keys (no hashes)")
    keys.add_argument("--json", action="store_true")
    keys.set_defaults(func=cmd_keys)

    revoke = actions.add_parser("revoke-key", parents=[common], help="delete an HTTP API key")
    revoke.add_argument("name", metavar="NAME")
    revoke.set_defaults(func=cmd_revoke_key)

    token = subparsers.add_parser(
        "token",
        parents=[common],
        help="print a user token for a frontend, under the profile's policy",
    )
    token.add_argument("user_id", metavar="USER_ID")
    token.add_argument("--ttl", type=int, metavar="SECONDS", help="default: max_issued_ttl")
    token.add_argument("--profile", help="default: STREAM_MCP_PROFILE or 'default'")
    token.add_argument("--json", action="store_true", help="print token, user_id, expires_at")
    token.set_defaults(func=cmd_token)


# --------------------------------------------------------------------------- handlers


def cmd_init(args: argparse.Namespace) -> int:
    vault = _vault(args)
    spec = vault.init(args.key_from)
    _note(f"created {vault.path} (master key {spec.kid}: {_describe_key(spec)})")
    _warn_env_override(spec)
    return 0


def cmd_add(args: argparse.Namespace) -> int:
    vault = _vault(args)
    policy = build_policy(
        {
            "default_user": args.default_user,
            "allowed_users": _joined(args.allow_user),
            "server_auth": args.server_auth,
            "read_only": args.read_only,
            "allow_ops": _joined(args.allow_op),
            "deny_ops": _joined(args.deny_op),
            "user_token_ttl": args.user_token_ttl,
            "max_issued_ttl": args.max_issued_ttl,
            "app_wide": args.app_wide,
            "confirmation": args.confirmation,
        },
        names=_FLAGS,
    )
    if policy.default_user is None and not policy.allowed_users:
        raise ConfigError(
            "--default-user: a profile needs a default user or at least one --allow-user",
            field="default_user",
        )
    api_key = check_api_key(args.api_key)
    base_url = check_base_url(args.base_url)
    if vault.exists() and args.profile in vault.list_profiles() and not args.replace:
        raise ConfigError(
            f"profile {args.profile!r} already exists; pass --replace to overwrite it",
            field="profile",
        )
    secret = _read_secret(args.profile)
    if not vault.exists():
        spec = vault.init()
        _note(f"created {vault.path} (master key {spec.kid}: {_describe_key(spec)})")
    vault.put_profile(
        args.profile,
        api_key=api_key,
        secret=secret,
        base_url=base_url,
        policy=policy,
        replace=args.replace,
    )
    _note(f"saved profile {args.profile!r} in {vault.path}")
    return 0


def cmd_list(args: argparse.Namespace) -> int:
    vault = _vault(args)
    records = [vault.get_profile(name) for name in vault.list_profiles()]
    if args.json:
        _print_json([_profile_view(r) for r in records])
        return 0
    if not records:
        _note(f"no profiles in {vault.path}; add one with `stream-mcp vault add`")
        return 0
    rows = [
        (
            r.name,
            r.api_key,
            MASK,
            r.base_url,
            r.policy.default_user or "-",
            _server_auth(r.policy.server_auth),
            "yes" if r.policy.read_only else "no",
        )
        for r in records
    ]
    header = (
        "PROFILE",
        "API_KEY",
        "SECRET",
        "BASE_URL",
        "DEFAULT_USER",
        "SERVER_AUTH",
        "READ_ONLY",
    )
    _print_table(header, rows)
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    vault = _vault(args)
    record = vault.get_profile(args.profile)
    view = _profile_view(record)
    view["api_keys"] = [p.name for p in vault.principals() if p.profile == record.name]
    if args.json:
        _print_json(view)
        return 0
    width = max(len(k) for k in view) + 2
    for key, value in view.items():
        print(f"{key + ':':<{width}}{_plain(value)}")
    return 0


def cmd_remove(args: argparse.Namespace) -> int:
    vault = _vault(args)
    vault.remove_profile(args.profile)
    _note(f"removed profile {args.profile!r} from {vault.path}")
    return 0


def cmd_rotate_key(args: argparse.Namespace) -> int:
    vault = _vault(args)
    old = vault.key_spec()
    spec = vault.rotate_key(args.key_from)
    _note(f"re-sealed {vault.path} under master key {spec.kid} (was {old.kid})")
    if spec.origin == "env":
        _note(f"now set {KEY_VAR} to the value of {NEW_KEY_VAR} and unset {NEW_KEY_VAR}")
    elif spec.origin == "keyring":
        _note("the new key is in the OS keyring; the old entry was removed")
    else:
        _note("use the new passphrase from now on")
    _warn_env_override(spec)
    return 0


def cmd_generate_key(_args: argparse.Namespace) -> int:
    print(generate_key())
    return 0


def cmd_add_key(args: argparse.Namespace) -> int:
    vault = _vault(args)
    presented = vault.add_api_key(
        args.name,
        profile=args.profile,
        users=_split(args.user) or ["*"],
        modes=args.mode or ["discovery", "static"],
        app_wide=args.app_wide,
    )
    print(presented)
    _note(f"API key {args.name!r} created; this is the only time it is shown, store it now")
    if args.profile not in vault.list_profiles():
        _note(
            f"note: profile {args.profile!r} is not in this vault; the key works only with a "
            "server running that profile (from the environment or --sandbox)"
        )
    return 0


def cmd_keys(args: argparse.Namespace) -> int:
    vault = _vault(args)
    principals = vault.principals()
    if args.json:
        _print_json([p.model_dump(mode="json") for p in principals])
        return 0
    if not principals:
        _note("no API keys; create one with `stream-mcp vault add-key NAME --profile P`")
        return 0
    rows = [(p.name, p.profile, ",".join(p.users), ",".join(p.modes)) for p in principals]
    _print_table(("NAME", "PROFILE", "USERS", "MODES"), rows)
    return 0


def cmd_revoke_key(args: argparse.Namespace) -> int:
    vault = _vault(args)
    vault.revoke_api_key(args.name)
    _note(f"revoked API key {args.name!r}")
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    settings = _settings(args)
    credentials = open_credentials(
        settings, args.profile, key_source=KeySource.from_environment(interactive=_interactive())
    )
    issued = credentials.issue_user_token(args.user_id, args.ttl)
    if args.json:
        _print_json(
            {"token": issued.token, "user_id": issued.user_id, "expires_at": issued.expires_at}
        )
    else:
        print(issued.token)
    return 0


# --------------------------------------------------------------------------- helpers


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help(sys.stderr)
    return 2


def _settings(args: argparse.Namespace) -> Settings:
    """Settings from the environment, ``--vault`` applied; logging set up on stderr."""
    settings = load_settings(Settings)
    if getattr(args, "vault", None) is not None:
        settings = settings.model_copy(update={"vault_path": args.vault.expanduser()})
    # Commands print their own notes; library events show only if a level was asked for.
    level = settings.log_level if "log_level" in settings.model_fields_set else "WARNING"
    configure_logging(fmt=settings.log_format, level=level)
    return settings


def _vault(args: argparse.Namespace) -> VaultFile:
    settings = _settings(args)
    return VaultFile(settings.vault_path, KeySource.from_environment(interactive=_interactive()))


def _interactive() -> bool:
    try:
        return bool(sys.stdin and sys.stdin.isatty())
    except (ValueError, OSError):
        return False


def _read_secret(profile: str) -> str:
    """The API secret from a hidden prompt, or from stdin when it is not a terminal."""
    if _interactive():
        try:
            value = getpass.getpass(f"API secret for profile {profile}: ")
        except EOFError:
            raise ConfigError("secret: no input", field="secret") from None
    else:
        value = sys.stdin.read(_MAX_SECRET_INPUT + 1) if sys.stdin else ""
        if len(value) > _MAX_SECRET_INPUT:
            raise ConfigError("secret: input on stdin is too long", field="secret")
    return check_secret(value.strip())


def _joined(values: Sequence[str]) -> str | None:
    return ",".join(values) if values else None


def _split(values: Sequence[str]) -> list[str]:
    return [part.strip() for value in values for part in value.split(",") if part.strip()]


def _server_auth(value: str | tuple[str, ...]) -> str:
    return value if isinstance(value, str) else ",".join(value)


def _profile_view(record: ProfileRecord) -> dict[str, Any]:
    return {
        "profile": record.name,
        "source": record.source,
        "api_key": record.api_key,
        "secret": MASK,
        "base_url": record.base_url,
        **record.policy.summary(),
    }


def _warn_env_override(spec: KeySpec) -> None:
    """A key set in the environment wins over keyring and prompt; say so when it is stale."""
    if spec.origin != "env" and load_settings(VaultKeySettings).vault_key is not None:
        _note(f"warning: unset {KEY_VAR}; it would take precedence over the new {spec.origin} key")


def _describe_key(spec: KeySpec) -> str:
    if spec.origin == "env":
        kind = "32-byte key" if spec.kind == "raw" else "passphrase"
        return f"{kind} from {KEY_VAR}"
    if spec.origin == "keyring":
        return "random key in the OS keyring"
    return "passphrase (scrypt)"


def _plain(value: Any) -> str:
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "-"
    return "-" if value is None else str(value)


def _print_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    widths = [max(len(str(row[i])) for row in (header, *rows)) for i in range(len(header))]
    for row in (header, *rows):
        print("  ".join(str(cell).ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2, sort_keys=True))


def _note(message: str) -> None:
    print(message, file=sys.stderr)
