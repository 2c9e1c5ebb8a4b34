"""Verified downloads: try mirrors in turn, check SHA-256, never leave a partial file."""

from __future__ import annotations

import hashlib
import http.client
import os
import sys
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from minigrad.files import open_atomic

__all__ = ["DownloadError", "download", "sha256_of", "STALL_TIMEOUT"]

_CHUNK = 1 << 16

STALL_TIMEOUT = 10.0
"""Seconds without any progress (connecting, or the next bytes) before a mirror is given up.

Read when `download` is called without ``timeout``, so a stalled mirror costs at most this long
before the next one is tried (a slow but moving transfer is never cut off)."""
_USER_AGENT = "minigrad-datasets (python urllib)"


class DownloadError(OSError):
    """No URL delivered the file intact. ``attempts`` holds (url, reason) per URL tried."""

    def __init__(self, dest: Path, attempts: list[tuple[str, str]]) -> None:
        self.dest = dest
        self.attempts = attempts
        lines = "\n".join(f"  {url}: {reason}" for url, reason in attempts)
        super().__init__(f"could not download {dest.name} to {dest.parent}:\n{lines}")

    def __str__(self) -> str:  # OSError's default str would show the args tuple
        return str(self.args[0])


class _BadContent(Exception):
    """The server answered but the bytes are wrong (short, or the checksum differs)."""


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex SHA-256 of a file's bytes, read in chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


def _progress_bar(total: int | None, desc: str, enabled: bool | None) -> Any:
    """A tqdm bar when wanted (default: stderr is a terminal) and tqdm is installed, else None."""
    if enabled is None:
        enabled = sys.stderr.isatty()
    if not enabled:
        return None
    try:
        from tqdm import tqdm
    except ImportError:
        return None
    return tqdm(total=total, desc=desc, unit="B", unit_scale=True, unit_divisor=1024, leave=False)


def _fetch(url: str, dest: Path, sha256: str, timeout: float, progress: bool | None) -> None:
    """Download ``url`` into a temp file beside ``dest``, verify it, then rename it to ``dest``
    (`minigrad.files.open_atomic`: on any failure the temp file is removed)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    with open_atomic(dest) as out, urllib.request.urlopen(request, timeout=timeout) as resp:
        length = resp.headers.get("Content-Length")
        total = int(length) if length and length.strip().isdigit() else None
        digest = hashlib.sha256()
        received = 0
        bar = _progress_bar(total, dest.name, progress)
        try:
            while chunk := resp.read(_CHUNK):
                out.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                if bar is not None:
                    bar.update(len(chunk))
        finally:
            if bar is not None:
                bar.close()
        if total is not None and received != total:
            raise _BadContent(f"connection closed after {received} of {total} bytes")
        got = digest.hexdigest()
        if got != sha256.lower():
            raise _BadContent(f"SHA-256 mismatch: expected {sha256.lower()}, got {got}")


def download(
    urls: Sequence[str],
    dest: str | os.PathLike[str],
    sha256: str,
    *,
    timeout: float | None = None,
    progress: bool | None = None,
) -> Path:
    """Fetch a file from the first of ``urls`` that delivers it with the expected SHA-256.

    The bytes go to a hidden temporary file in ``dest``'s directory, which is renamed to
    ``dest`` only once complete and verified; on any failure (error, interruption, short read,
    checksum mismatch) the temporary file is removed and the next URL is tried. A mirror that
    makes no progress for ``timeout`` seconds (default :data:`STALL_TIMEOUT`, 10 s) counts as
    failed. Raises :class:`DownloadError` listing every URL and why it failed; folders created
    for ``dest`` are removed again then if they stayed empty. ``progress`` shows a tqdm bar
    (default: when stderr is a terminal and tqdm is installed).
    """
    dest = Path(dest)
    if timeout is None:
        timeout = STALL_TIMEOUT
    if not urls:
        raise DownloadError(dest, [("(none)", "no download URLs configured")])
    created = _make_folders(dest.parent)
    try:
        attempts: list[tuple[str, str]] = []
        for url in urls:
            print(f"minigrad: downloading {url}", file=sys.stderr)
            try:
                _fetch(url, dest, sha256, timeout, progress)
            except (OSError, ValueError, http.client.HTTPException, _BadContent) as e:
                attempts.append((url, _describe(e)))
                continue
            return dest
        raise DownloadError(dest, attempts)
    except BaseException:
        for folder in reversed(created):     # deepest first; only the ones still empty
            try:
                folder.rmdir()
            except OSError:
                break
        raise


def _make_folders(folder: Path) -> list[Path]:
    """Create ``folder`` and its missing parents; returns those created, outermost first."""
    missing = []
    while not folder.exists() and folder.parent != folder:
        missing.append(folder)
        folder = folder.parent
    created: list[Path] = []
    for path in reversed(missing):
        try:
            path.mkdir()
        except FileExistsError:
            continue
        except OSError:
            for done in reversed(created):
                done.rmdir()
            raise
        created.append(path)
    return created


def _describe(e: BaseException) -> str:
    """A one-line reason for a failed attempt."""
    reason = getattr(e, "reason", None)  # urllib.error.URLError wraps the socket error
    if isinstance(e, urllib.error.HTTPError):
        return f"HTTP {e.code} {e.reason}"
    if reason is not None and not isinstance(e, _BadContent):
        return f"{type(e).__name__}: {reason}"
    text = str(e) or type(e).__name__
    return text if isinstance(e, _BadContent) else f"{type(e).__name__}: {text}"
