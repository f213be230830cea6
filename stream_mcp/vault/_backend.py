"""What a credential backend is: the protocol, and the profile record it returns."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from stream_mcp.auth import Clock, Credentials, Policy, Signer, TokenCache
from stream_mcp.config import DEFAULT_BASE_URL


@dataclass(frozen=True, slots=True)
class ProfileRecord:
    """A profile as a backend returns it. The secret exists only inside ``signer``."""

    name: str
    api_key: str
    base_url: str
    policy: Policy
    signer: Signer
    source: str

    def credentials(
        self, *, clock: Clock = time.time, cache: TokenCache | None = None
    ) -> Credentials:
        return Credentials(
            profile_name=self.name,
            api_key=self.api_key,
            base_url=self.base_url,
            policy=self.policy,
            signer=self.signer,
            clock=clock,
            cache=cache,
        )


@runtime_checkable
class CredentialBackend(Protocol):
    """What the server needs from a credential store. A HashiCorp Vault (hvac) backend
    would implement these four methods over a KV mount."""

    def list_profiles(self) -> list[str]: ...

    def get_profile(self, name: str) -> ProfileRecord: ...

    def put_profile(
        self,
        name: str,
        *,
        api_key: str,
        secret: str,
        base_url: str = DEFAULT_BASE_URL,
        policy: Policy | None = None,
        replace: bool = False,
    ) -> None: ...

    def remove_profile(self, name: str) -> None: ...
