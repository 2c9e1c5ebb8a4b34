"""minigrad.files: the one atomic-write helper (Module.save, viz.render, write_idx, download)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from minigrad import files
from minigrad.files import TEMP_SUFFIX, check_folder, open_atomic, path_error, write_atomic


def test_write_atomic_creates_and_replaces(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    assert write_atomic(path, b"first") == path
    assert path.read_bytes() == b"first"
    write_atomic(str(path), b"second")                   # a str path, over an existing file
    assert path.read_bytes() == b"second"
    assert os.listdir(tmp_path) == ["data.bin"]


def test_open_atomic_writes_nothing_visible_until_the_block_ends(tmp_path: Path) -> None:
    path = tmp_path / "data.bin"
    path.write_bytes(b"old")
    with open_atomic(path) as f:
        f.write(b"new ")
        assert path.read_bytes() == b"old"               # the target is untouched meanwhile
        (temp,) = (name for name in os.listdir(tmp_path) if name != "data.bin")
        assert temp.startswith(".data.bin.") and temp.endswith(TEMP_SUFFIX)
        f.write(b"contents")
    assert path.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["data.bin"]


@pytest.mark.parametrize("error", [OSError("disk full"), ValueError("bad state"),
                                   KeyboardInterrupt()])
def test_a_failing_writer_leaves_the_previous_file_and_no_temp_file(
        tmp_path: Path, error: BaseException) -> None:
    path = tmp_path / "model.npz"
    path.write_bytes(b"previous contents")
    with pytest.raises(type(error)) as info, open_atomic(path) as f:
        f.write(b"half of the new")
        raise error
    assert info.value is error                           # the writer's own error, unchanged
    assert path.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["model.npz"]


def test_a_failing_first_write_leaves_no_file_at_all(tmp_path: Path) -> None:
    with pytest.raises(RuntimeError), open_atomic(tmp_path / "new.bin") as f:
        f.write(b"x")
        raise RuntimeError("stop")
    assert os.listdir(tmp_path) == []


def test_new_files_get_the_permissions_of_the_umask(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        write_atomic(tmp_path / "a", b"a")
        os.umask(0o077)
        write_atomic(tmp_path / "b", b"b")
    finally:
        os.umask(old)
    assert (tmp_path / "a").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b").stat().st_mode & 0o777 == 0o600


def test_errors_name_the_users_path_never_the_temp_file(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-folder" / "out.bin"
    for attempt in (lambda: write_atomic(missing, b"x", where="save"),
                    lambda: check_folder(missing, where="save")):
        with pytest.raises(FileNotFoundError) as info:
            attempt()
        assert info.value.filename == str(missing)
        message = str(info.value)
        assert message.startswith("[Errno 2] save: the folder ") and "does not exist" in message
        assert TEMP_SUFFIX not in message

    folder = tmp_path / "a-folder"                       # renaming a file over a folder fails
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as info:
        write_atomic(folder, b"x")
    assert info.value.filename == str(folder) and TEMP_SUFFIX not in str(info.value)
    assert os.listdir(folder) == [] and os.listdir(tmp_path) == ["a-folder"]


def test_a_failing_rename_is_named_and_cleaned_up(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def refuse(src: str, dst: str) -> None:             # as the OS words it: both names
        raise PermissionError(13, "Permission denied", os.fspath(src), os.fspath(dst))

    monkeypatch.setattr(files.os, "replace", refuse)
    with pytest.raises(PermissionError) as info:
        write_atomic(path, b"new", where="save")
    monkeypatch.undo()
    assert info.value.filename == str(path) and info.value.filename2 is None
    assert str(info.value).startswith("[Errno 13] save: Permission denied")
    assert TEMP_SUFFIX not in str(info.value)
    assert path.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.bin"]


def test_path_error_keeps_the_kind_of_error() -> None:
    named = path_error(PermissionError(13, "Permission denied", "/tmp/.x.abc.part"), "x.npz",
                       "Module.save")
    assert type(named) is PermissionError and named.errno == 13
    assert named.filename == "x.npz" and named.strerror == "Module.save: Permission denied"
    plain = path_error(OSError("disk full"), Path("x.npz"))
    assert str(plain) == "disk full: 'x.npz'"
