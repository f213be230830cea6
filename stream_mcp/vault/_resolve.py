"""Where the server gets its credentials and its HTTP API key check at start-up.

The vault file's modules (and with them cryptography and the keyring) are imported only when
there is a vault file to open: a server on environment credentials never loads them.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING

from stream_mcp.auth import Clock, Credentials
from stream_mcp.config import Settings
from stream_mcp.vault._env import ENV_PROFILE, EnvBackend
from stream_mcp.vault._errors import ProfileNotFound

if TYPE_CHECKING:
    from stream_mcp.vault._keys import KeySource
    from stream_mcp.vault._principals import ApiKeyVerifier

_DEFAULT_PROFILE = str(Settings.model_fields["profile"].default)


def api_key_verifier(settings: Settings, *, key_source: KeySource | None = None) -> ApiKeyVerifier:
    """The HTTP transport's key check for the vault at ``settings.vault_path``.

    Raises at start-up if the vault is missing, cannot be opened, or holds no API keys.
    """
    from stream_mcp.vault._file import VaultFile
    from stream_mcp.vault._keys import KeySource
    from stream_mcp.vault._principals import ApiKeyVerifier

    vault = VaultFile(settings.vault_path, key_source or KeySource.from_environment())
    return ApiKeyVerifier(vault)


def open_credentials(
    settings: Settings,
    profile_name: str | None = None,
    *,
    key_source: KeySource | None = None,
    env: EnvBackend | None = None,
    clock: Clock = time.time,
) -> Credentials:
    """Credentials for ``profile_name`` (default ``settings.profile``).

    Order: the vault file, if it exists and has the profile; else the environment backend,
    if the name is ``env`` or the unchanged default ``default``. Never prompts unless
    ``key_source`` was built to, and never looks for the keyring unless a vault file exists.
    """
    name = profile_name or settings.profile
    path = Path(settings.vault_path).expanduser()
    exists = path.exists()
    if exists:
        from stream_mcp.vault._file import VaultFile
        from stream_mcp.vault._keys import KeySource

        vault = VaultFile(path, key_source or KeySource.from_environment())
        if name in vault.list_profiles():
            return vault.get_profile(name).credentials(clock=clock)
    if name in (ENV_PROFILE, _DEFAULT_PROFILE):
        backend = env or EnvBackend()
        if name == ENV_PROFILE or backend.list_profiles():
            return backend.get_profile(ENV_PROFILE).credentials(clock=clock)
    where = f"the vault {path}" if exists else f"{path} (no vault yet)"
    raise ProfileNotFound(
        f"no profile {name!r} in {where}, and no STREAM_API_KEY/STREAM_API_SECRET to fall back on",
        field="profile",
        hint=f"run `stream-mcp vault add {name} --api-key KEY` or set STREAM_API_KEY and "
        "STREAM_API_SECRET",
    )
