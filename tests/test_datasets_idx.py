"""read_idx / write_idx: round trips, byte order, and every error path with its message."""

from __future__ import annotations

import gzip
import struct
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from minigrad.datasets import IDXError, read_idx, write_idx

IDX_DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


def raw_idx(code: int, shape: tuple[int, ...], data: bytes) -> bytes:
    """An IDX file built by hand from the format description (independent of write_idx)."""
    return bytes([0, 0, code, len(shape)]) + struct.pack(f">{len(shape)}I", *shape) + data


def test_reads_uncompressed_uint8_by_hand(tmp_path: Path) -> None:
    p = tmp_path / "a-idx3-ubyte"
    p.write_bytes(raw_idx(0x08, (2, 2, 3), bytes(range(12))))
    a = read_idx(p)
    assert a.dtype == np.uint8
    assert a.shape == (2, 2, 3)
    np.testing.assert_array_equal(a.ravel(), np.arange(12))


def test_reads_gzip_detected_by_content_not_name(tmp_path: Path) -> None:
    p = tmp_path / "no-suffix"
    p.write_bytes(gzip.compress(raw_idx(0x08, (4,), b"\x01\x02\x03\x04")))
    np.testing.assert_array_equal(read_idx(p), [1, 2, 3, 4])


@pytest.mark.parametrize(
    ("code", "fmt", "dtype"),
    [
        (0x09, ">3b", np.int8),
        (0x0B, ">3h", np.int16),
        (0x0C, ">3i", np.int32),
        (0x0D, ">3f", np.float32),
        (0x0E, ">3d", np.float64),
    ],
)
def test_big_endian_types_become_native(tmp_path: Path, code: int, fmt: str, dtype: type) -> None:
    values = (-7, 100, 3) if fmt[-1] in "bhi" else (-1.5, 2.25, 1e-3)
    p = tmp_path / "x.idx"
    p.write_bytes(raw_idx(code, (3,), struct.pack(fmt, *values)))
    a = read_idx(p)
    assert a.dtype == np.dtype(dtype)
    assert a.dtype.isnative
    np.testing.assert_allclose(a, np.array(values, dtype=dtype))


def test_result_is_writable(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "x.gz", np.arange(6, dtype=np.uint8).reshape(2, 3))
    a = read_idx(p)
    a[0, 0] = 99  # would raise on a read-only buffer
    assert a[0, 0] == 99


@settings(max_examples=60, deadline=None)
@given(
    dtype=st.sampled_from(IDX_DTYPES),
    shape=hnp.array_shapes(min_dims=1, max_dims=4, min_side=0, max_side=5),
    compress=st.booleans(),
    data=st.data(),
)
def test_write_read_round_trip(tmp_path_factory, dtype, shape, compress, data) -> None:
    arr = data.draw(hnp.arrays(dtype, shape))
    p = tmp_path_factory.mktemp("rt") / "f.idx"
    write_idx(p, arr, compress=compress)
    assert (p.read_bytes()[:2] == b"\x1f\x8b") == compress
    back = read_idx(p)
    assert back.dtype == np.dtype(dtype)
    assert back.shape == arr.shape
    np.testing.assert_array_equal(back, arr)  # NaNs compare equal here


def test_write_idx_matches_the_format(tmp_path: Path) -> None:
    arr = np.array([[1, -2], [3, 4]], dtype=np.int16)
    p = write_idx(tmp_path / "x.idx", arr)
    assert p.read_bytes() == raw_idx(0x0B, (2, 2), struct.pack(">4h", 1, -2, 3, 4))


def test_write_idx_rejects_unsupported_dtype_and_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(TypeError, match="cannot store dtype int64"):
        write_idx(tmp_path / "x.idx", np.arange(3, dtype=np.int64))
    assert list(tmp_path.iterdir()) == []


# ---- error paths: each names the file and says what is wrong ----


def test_bad_magic_nonzero_leading_bytes(tmp_path: Path) -> None:
    p = tmp_path / "bad-magic"
    p.write_bytes(b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00")
    with pytest.raises(IDXError, match=r"bad-magic: not an IDX file: bad magic number 0x12340801"):
        read_idx(p)


def test_bad_magic_unknown_type_code(tmp_path: Path) -> None:
    p = tmp_path / "bad-type"
    p.write_bytes(raw_idx(0x0A, (1,), b"\x00"))
    with pytest.raises(IDXError, match=r"bad-type: bad magic number .*unknown IDX type code 0x0A"):
        read_idx(p)


def test_bad_magic_zero_dimensions(tmp_path: Path) -> None:
    p = tmp_path / "zero-dims"
    p.write_bytes(b"\x00\x00\x08\x00")
    with pytest.raises(IDXError, match="zero-dims: .*zero dimensions"):
        read_idx(p)


def test_too_short_for_magic(tmp_path: Path) -> None:
    p = tmp_path / "tiny"
    p.write_bytes(b"\x00\x00")
    with pytest.raises(IDXError, match="tiny: not an IDX file: only 2 bytes"):
        read_idx(p)


def test_wrong_dimension_count(tmp_path: Path) -> None:
    p = write_idx(tmp_path / "labels.idx", np.zeros(5, dtype=np.uint8))
    with pytest.raises(
        IDXError, match=r"labels\.idx: wrong number of dimensions: expected 3, the file has 1"
    ):
        read_idx(p, ndim=3)


def test_truncated_header(tmp_path: Path) -> None:
    p = tmp_path / "short-header"
    p.write_bytes(b"\x00\x00\x08\x03" + struct.pack(">I", 10))
    with pytest.raises(IDXError, match="short-header: truncated header: 3 dimensions declared"):
        read_idx(p)


@pytest.mark.parametrize("compress", [False, True])
def test_truncated_data(tmp_path: Path, compress: bool) -> None:
    content = raw_idx(0x08, (3, 4, 4), bytes(40))  # needs 48 bytes of data
    p = tmp_path / ("trunc.gz" if compress else "trunc")
    p.write_bytes(gzip.compress(content) if compress else content)
    with pytest.raises(IDXError, match=r"trunc(\.gz)?: truncated data: .*needs 48 bytes.* only 40"):
        read_idx(p)


def test_truncated_wide_dtype_counts_bytes(tmp_path: Path) -> None:
    p = tmp_path / "f32"
    p.write_bytes(raw_idx(0x0D, (4,), bytes(15)))
    with pytest.raises(IDXError, match="f32: truncated data: shape .4,. of float32 needs 16 bytes"):
        read_idx(p)


def test_trailing_bytes(tmp_path: Path) -> None:
    p = tmp_path / "long"
    p.write_bytes(raw_idx(0x08, (2,), b"\x01\x02" + b"junk"))
    with pytest.raises(IDXError, match="long: 4 unexpected trailing bytes after the 2 bytes"):
        read_idx(p)


def test_corrupt_gzip_stream(tmp_path: Path) -> None:
    good = gzip.compress(raw_idx(0x08, (64,), bytes(range(64))) * 1)
    bad = bytearray(good)
    for i in range(12, len(bad) - 8):  # scramble the deflate data, keep header and trailer
        bad[i] ^= 0x5A
    p = tmp_path / "corrupt.gz"
    p.write_bytes(bytes(bad))
    with pytest.raises(IDXError, match=r"corrupt\.gz: corrupt gzip data"):
        read_idx(p)


def test_gzip_crc_mismatch(tmp_path: Path) -> None:
    good = bytearray(gzip.compress(raw_idx(0x08, (8,), bytes(8))))
    good[-8] ^= 0xFF  # the CRC-32 in the trailer
    p = tmp_path / "crc.gz"
    p.write_bytes(bytes(good))
    with pytest.raises(IDXError, match=r"crc\.gz: corrupt gzip data .*CRC"):
        read_idx(p)


def test_gzip_cut_short(tmp_path: Path) -> None:
    good = gzip.compress(raw_idx(0x08, (1000,), bytes(range(250)) * 4))
    p = tmp_path / "cut.gz"
    p.write_bytes(good[: len(good) // 2])
    with pytest.raises(IDXError, match=r"cut\.gz: corrupt gzip data .*ended before"):
        read_idx(p)


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="nope"):
        read_idx(tmp_path / "nope")
