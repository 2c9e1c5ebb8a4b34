"""Atomic file writes: a file is either complete, or it is left as it was.

    from minigrad.files import open_atomic, write_atomic

    write_atomic("weights.bin", data)             # bytes you already hold
    with open_atomic("weights.npz") as f:         # or written piece by piece
        np.savez(f, W=W)

The bytes go to a new hidden file in the target's folder (``.weights.npz.<random>.part``),
which is flushed to disk and renamed over the target only when everything was written. On any
failure, an exception in your own code included, the temporary file is removed and a previous
file at the target is left untouched. The new file gets the permissions of any new file
(0o666 less the umask), not the 0o600 of a typical temporary file. Errors name the target,
never the temporary file.

``Module.save``, ``viz.render``, ``datasets.write_idx`` and ``datasets.download`` write their
files this way.
"""

from __future__ import annotations

import errno
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["open_atomic", "write_atomic", "check_folder", "path_error", "TEMP_SUFFIX"]

TEMP_SUFFIX = ".part"
"""How the temporary files end (they start with a dot and the target's name)."""


@contextmanager
def open_atomic(path: str | os.PathLike[str], *, where: str = "") -> Iterator[BinaryIO]:
    """Open a temporary file beside ``path`` for writing bytes; on leaving the block without
    an exception it is flushed, synced to disk and renamed over ``path``.

    An exception in the block removes the temporary file and propagates; ``path`` is left as it
    was. A missing folder is a FileNotFoundError saying so, raised on entry (before the block
    runs). OSErrors of the file operations name ``path`` (prefixed by ``where``, e.g.
    ``"Module.save"``), never the temporary file.
    """
    target = Path(path)
    fd, temp = _create_temp(target, path, where)
    f = os.fdopen(fd, "wb")
    try:
        try:
            yield f
        except OSError as e:
            if _names(e, temp):
                raise path_error(e, path, where) from e
            raise
        try:
            f.flush()
            os.fsync(f.fileno())
            f.close()
            os.replace(temp, target)
        except OSError as e:
            raise path_error(e, path, where) from e
    except BaseException:
        try:
            f.close()
        except OSError:
            pass                                    # the error that got us here says more
        temp.unlink(missing_ok=True)
        raise


def write_atomic(path: str | os.PathLike[str], data: bytes, *, where: str = "") -> Path:
    """Write ``data`` to ``path`` as `open_atomic` does; returns ``path`` as a Path."""
    with open_atomic(path, where=where) as f:
        try:
            f.write(data)
        except OSError as e:
            raise path_error(e, path, where) from e
    return Path(path)


def check_folder(path: str | os.PathLike[str], *, where: str = "") -> None:
    """Raise the FileNotFoundError `open_atomic` would if ``path``'s folder does not exist.

    For a caller with work to do before writing (running a program, say) that should fail
    first."""
    if not Path(os.path.abspath(path)).parent.is_dir():
        raise _missing_folder(path, where)


def path_error(error: OSError, path: str | os.PathLike[str], where: str = "") -> OSError:
    """``error`` again, as the same kind of OSError, but naming ``path`` (and ``where``)."""
    path = os.fspath(path)
    reason = error.strerror or str(error) or type(error).__name__
    text = f"{where}: {reason}" if where else reason
    try:
        named = type(error)(error.errno, text, path) if error.errno else type(error)(
            f"{text}: {path!r}")
    except TypeError:                               # a subclass with another constructor
        named = OSError(error.errno, text, path)
    return named


def _create_temp(target: Path, path: str | os.PathLike[str], where: str) -> tuple[int, Path]:
    """Create and open (write-only) a new hidden file beside ``target``; returns (fd, path).

    Created with mode 0o666 filtered by the umask, so once renamed it has the permissions an
    ordinary new file would have.
    """
    while True:
        temp = target.with_name(f".{target.name}.{secrets.token_hex(6)}{TEMP_SUFFIX}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        except FileExistsError:  # pragma: no cover - 48 random bits collided
            continue
        except FileNotFoundError as e:
            raise _missing_folder(path, where) from e
        except OSError as e:
            raise path_error(e, path, where) from e
        return fd, temp


def _missing_folder(path: str | os.PathLike[str], where: str) -> FileNotFoundError:
    folder = Path(os.path.abspath(path)).parent
    prefix = f"{where}: " if where else ""
    return FileNotFoundError(errno.ENOENT, f"{prefix}the folder {folder} does not exist",
                             os.fspath(path))


def _names(error: OSError, temp: Path) -> bool:
    """Whether ``error`` mentions the temporary file."""
    return any(name is not None and os.fspath(name) == os.fspath(temp)
               for name in (error.filename, error.filename2))
