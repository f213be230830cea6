"""The vault file on disk: a bounded read, an atomic 0600 write, and a lock between processes.

Every error names the file and says that nothing was changed, because nothing was.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from stream_mcp.observability import get_logger
from stream_mcp.vault._errors import VaultCorrupt, VaultError, VaultNotFound

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows has no flock; writes stay atomic regardless
    fcntl = None  # type: ignore[assignment]

log = get_logger("stream_mcp.vault")

_MAX_FILE = 16 * 1024 * 1024


def read(path: Path) -> bytes:
    """The file's bytes; warns (without failing) when others may read it."""
    try:
        with path.open("rb") as handle:
            mode = os.fstat(handle.fileno()).st_mode
            raw = handle.read(_MAX_FILE + 1)
    except FileNotFoundError:
        raise VaultNotFound(
            f"{path}: no vault here; create one with `stream-mcp vault init`",
            field="vault_path",
        ) from None
    except OSError as exc:
        raise VaultError(f"{path}: cannot read the vault ({exc.strerror})") from None
    if len(raw) > _MAX_FILE:
        raise VaultCorrupt(f"{path}: too large to be a vault file")
    if os.name == "posix" and mode & 0o077:
        # Sealed entries are still secrets at rest: a file others can read is refused, not
        # merely warned about, so a mistaken chmod cannot go unnoticed.
        raise VaultError(
            f"{path}: the vault is readable or writable by others (mode {oct(mode & 0o777)}); "
            f"run `chmod 600 {path}` and try again",
            field="vault_path",
            hint=f"chmod 600 {path}",
        )
    return raw


def write(path: Path, data: bytes) -> None:
    try:
        _atomic_write(path, data)
    except OSError as exc:
        raise VaultError(
            f"{path}: could not write the vault ({exc.strerror or type(exc).__name__}); "
            "the previous file is unchanged"
        ) from None


@contextmanager
def locked(path: Path) -> Iterator[None]:
    """Serialize read-modify-write cycles between processes (POSIX advisory lock)."""
    if fcntl is None:
        yield
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise VaultError(f"{path}: cannot lock the vault ({exc.strerror})") from None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to a 0600 temporary file next to ``path``, fsync, then rename over it.

    A failure at any point leaves the previous file untouched and no temporary file behind.
    """
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            if hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), 0o600)
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    if hasattr(os, "O_DIRECTORY"):
        with suppress(OSError):
            dir_fd = os.open(path.parent, os.O_RDONLY | os.O_DIRECTORY)
            try:
                os.fsync(dir_fd)
            finally:
                os.close(dir_fd)
