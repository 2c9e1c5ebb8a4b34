"""Atomic file creation: write to a temporary name beside the target, then rename into place."""

from __future__ import annotations

import os
import secrets
from pathlib import Path

TEMP_SUFFIX = ".part"


def temp_path_for(dest: Path) -> Path:
    """A fresh hidden name beside ``dest`` (same file system, so ``os.replace`` is atomic)."""
    return dest.with_name(f".{dest.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")


def create_temp(dest: Path) -> tuple[int, Path]:
    """Create and open (write-only) a new temporary file for ``dest``; returns (fd, path).

    The file is created with mode 0o666 filtered by the umask, so once renamed it has the
    permissions an ordinary new file would have.
    """
    while True:
        tmp = temp_path_for(dest)
        try:
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        return fd, tmp


def write_atomic(dest: Path, data: bytes) -> None:
    """Write ``data`` to ``dest`` so that ``dest`` is either absent/unchanged or complete."""
    fd, tmp = create_temp(dest)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, dest)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
