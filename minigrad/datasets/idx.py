"""Reading and writing IDX files, the format MNIST and Fashion-MNIST are published in.

An IDX file is a 4-byte magic number followed by one big-endian uint32 per dimension and then
the array data in row-major order, big-endian::

    0x00 0x00 <type code> <number of dimensions>
    <dim 0> <dim 1> ... (uint32, big-endian)
    <data>

The files are usually distributed gzip-compressed; both forms are read here.
"""

from __future__ import annotations

import gzip
import os
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

import numpy as np

from minigrad.files import write_atomic

__all__ = ["IDXError", "read_idx", "write_idx", "IDX_TYPES"]

#: IDX type code -> big-endian numpy dtype of the stored data.
IDX_TYPES: dict[int, np.dtype] = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}

_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22  # bytes read at a time; keeps a corrupt header from allocating huge buffers


class _Readable(Protocol):
    """What the reader needs of a file: a plain or a gzip one."""

    def read(self, size: int = -1, /) -> bytes: ...


class IDXError(ValueError):
    """An IDX file is malformed: bad magic number, wrong shape, truncated or corrupt data."""


@contextmanager
def _reading(path: Path) -> Iterator[_Readable]:
    """Open ``path``, decompressing gzip (detected by content, not by name), and turn
    decompression failures into :class:`IDXError` naming the file."""
    with open(path, "rb") as raw:
        if raw.read(2) != _GZIP_MAGIC:
            raw.seek(0)
            yield raw
            return
        raw.seek(0)
        try:
            with gzip.GzipFile(fileobj=raw, mode="rb") as f:
                yield f
        except (EOFError, zlib.error, gzip.BadGzipFile) as e:
            raise IDXError(f"{path}: corrupt gzip data ({e})") from e


def _count_rest(f: _Readable) -> int:
    """Number of bytes left in ``f`` (read and discarded in chunks)."""
    n = 0
    while chunk := f.read(_CHUNK):
        n += len(chunk)
    return n


def _read_exactly(f: _Readable, n: int) -> bytearray:
    """Read up to ``n`` bytes (fewer only at end of file) in bounded chunks."""
    buf = bytearray()
    while len(buf) < n:
        chunk = f.read(min(_CHUNK, n - len(buf)))
        if not chunk:
            break
        buf += chunk
    return buf


def read_idx(path: str | os.PathLike[str], *, ndim: int | None = None) -> np.ndarray:
    """Read an IDX file (gzip-compressed or not) into an ndarray of native byte order.

    The dtype follows the file's type code (0x08 uint8, 0x09 int8, 0x0B int16, 0x0C int32,
    0x0D float32, 0x0E float64) and the shape its header. ``ndim``, when given, is the number
    of dimensions the caller expects (3 for images, 1 for labels).

    Raises :class:`IDXError` (a ``ValueError``) naming the file when the magic number is wrong,
    the dimension count differs from ``ndim``, the data is shorter or longer than the header
    says, or the gzip stream is corrupt. A missing file raises ``FileNotFoundError``.
    """
    path = Path(path)
    with _reading(path) as f:
        magic = bytes(_read_exactly(f, 4))
        if len(magic) < 4:
            raise IDXError(
                f"{path}: not an IDX file: only {len(magic)} bytes, "
                "shorter than the 4-byte magic number"
            )
        if magic[0] != 0 or magic[1] != 0:
            raise IDXError(
                f"{path}: not an IDX file: bad magic number 0x{magic.hex()} "
                "(must start with two zero bytes)"
            )
        code, nd = magic[2], magic[3]
        if code not in IDX_TYPES:
            known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
            raise IDXError(
                f"{path}: bad magic number 0x{magic.hex()}: unknown IDX type code "
                f"0x{code:02X} (known: {known})"
            )
        if nd == 0:
            raise IDXError(f"{path}: bad magic number 0x{magic.hex()}: zero dimensions")
        if ndim is not None and nd != ndim:
            raise IDXError(
                f"{path}: wrong number of dimensions: expected {ndim}, the file has {nd}"
            )
        raw_dims = bytes(_read_exactly(f, 4 * nd))
        if len(raw_dims) < 4 * nd:
            raise IDXError(
                f"{path}: truncated header: {nd} dimensions declared but the file ends "
                f"after {len(raw_dims) // 4} of them"
            )
        shape = tuple(int(d) for d in np.frombuffer(raw_dims, dtype=">u4"))
        dtype = IDX_TYPES[code]
        count = 1
        for d in shape:
            count *= d
        nbytes = count * dtype.itemsize
        data = _read_exactly(f, nbytes)
        if len(data) < nbytes:
            raise IDXError(
                f"{path}: truncated data: shape {shape} of {dtype.newbyteorder('=').name} "
                f"needs {nbytes} bytes, the file holds only {len(data)}"
            )
        rest = _count_rest(f)
        if rest:
            raise IDXError(
                f"{path}: {rest} unexpected trailing bytes after the {nbytes} bytes "
                f"of data for shape {shape}"
            )
    arr = np.frombuffer(data, dtype=dtype).reshape(shape)
    if dtype.itemsize > 1:
        return arr.astype(dtype.newbyteorder("="))
    return arr.view(dtype.newbyteorder("="))  # writable: backed by our own bytearray


def write_idx(
    path: str | os.PathLike[str], array: np.ndarray, *, compress: bool | None = None
) -> Path:
    """Write ``array`` as an IDX file; gzip-compressed when ``compress`` (default: path ends .gz).

    Useful for making small test files or saving arrays in the MNIST format. The file is
    written to a temporary name in the same directory and renamed into place, so a failure never
    leaves a half-written file. Returns the path written.
    """
    path = Path(path)
    arr = np.asarray(array)
    codes = {dt.newbyteorder("="): code for code, dt in IDX_TYPES.items()}
    native = arr.dtype.newbyteorder("=")
    if native not in codes:
        supported = ", ".join(sorted(str(d) for d in codes))
        raise TypeError(f"{path}: IDX cannot store dtype {arr.dtype} (supported: {supported})")
    if not 1 <= arr.ndim <= 255:
        raise ValueError(f"{path}: IDX needs 1 to 255 dimensions, array has {arr.ndim}")
    if any(d >= 2**32 for d in arr.shape):
        raise ValueError(f"{path}: dimension too large for IDX: shape {arr.shape}")
    if compress is None:
        compress = path.suffix == ".gz"
    code = codes[native]
    header = bytes([0, 0, code, arr.ndim]) + np.asarray(arr.shape, dtype=">u4").tobytes()
    payload = header + np.ascontiguousarray(arr, dtype=IDX_TYPES[code]).tobytes()
    if compress:
        payload = gzip.compress(payload, mtime=0)
    write_atomic(path, payload)
    return path
