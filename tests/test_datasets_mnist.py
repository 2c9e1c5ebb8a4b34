"""load_mnist / load_fashion_mnist on small IDX files made here: finding files, formats,
error messages, and downloads from a real HTTP server on 127.0.0.1."""

from __future__ import annotations

import dataclasses
import gzip
import hashlib
import http.server
import os
import signal
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from minigrad.datasets import (
    FASHION_MNIST,
    MNIST,
    DataFile,
    DatasetNotFoundError,
    DatasetSpec,
    DownloadError,
    IDXError,
    download,
    load_fashion_mnist,
    load_mnist,
    search_dirs,
    write_idx,
)

NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def make_arrays(n_train: int = 12, n_test: int = 7, seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "train_images": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "train_labels": rng.integers(0, 10, n_train).astype(np.uint8),
        "test_images": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "test_labels": rng.integers(0, 10, n_test).astype(np.uint8),
    }


def write_dataset(folder: Path, arrays: dict[str, np.ndarray], gz: bool = True) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for role, name in NAMES.items():
        write_idx(folder / (name if gz else name[: -len(".gz")]), arrays[role])


def gz_payloads(arrays: dict[str, np.ndarray]) -> dict[str, bytes]:
    """The published-style .gz bytes of each file, by file name."""
    out = {}
    for role, name in NAMES.items():
        arr = arrays[role]
        header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
        out[name] = gzip.compress(header + arr.tobytes(), mtime=0)
    return out


def spec_for(payloads: dict[str, bytes], mirrors: tuple[str, ...]) -> DatasetSpec:
    files = {
        role: DataFile(name, hashlib.sha256(payloads[name]).hexdigest())
        for role, name in NAMES.items()
    }
    return DatasetSpec(title="Tiny MNIST", dirname="tiny-mnist", mirrors=mirrors, **files)


def listing(folder: Path) -> list[str]:
    """Every entry in folder, hidden temp files included."""
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


# ---------------------------------------------------------------- local files


@pytest.fixture
def arrays() -> dict[str, np.ndarray]:
    return make_arrays()


def test_book_defaults(tmp_path: Path, arrays) -> None:
    write_dataset(tmp_path, arrays)
    (x_train, t_train), (x_test, t_test) = load_mnist(root=tmp_path, download=False)
    assert x_train.shape == (12, 784) and x_test.shape == (7, 784)
    assert x_train.dtype == np.float32
    assert x_train.min() >= 0.0 and x_train.max() <= 1.0
    np.testing.assert_allclose(x_train * 255, arrays["train_images"].reshape(12, -1), atol=1e-4)
    assert t_train.dtype == np.int64 and t_train.shape == (12,)
    np.testing.assert_array_equal(t_test, arrays["test_labels"])


def test_raw_unflattened_one_hot(tmp_path: Path, arrays) -> None:
    write_dataset(tmp_path, arrays)
    (x_train, t_train), (x_test, t_test) = load_mnist(
        normalize=False, flatten=False, one_hot_label=True, root=tmp_path, download=False
    )
    assert x_train.dtype == np.uint8 and x_train.shape == (12, 1, 28, 28)
    np.testing.assert_array_equal(x_test[:, 0], arrays["test_images"])
    assert t_train.shape == (12, 10) and t_train.dtype == np.float32
    np.testing.assert_array_equal(t_train.sum(axis=1), 1)
    np.testing.assert_array_equal(t_train.argmax(axis=1), arrays["train_labels"])


def test_uncompressed_names_accepted(tmp_path: Path, arrays) -> None:
    write_dataset(tmp_path, arrays, gz=False)
    assert "train-images-idx3-ubyte" in listing(tmp_path)
    (_, t_train), _ = load_mnist(root=tmp_path, download=False)
    np.testing.assert_array_equal(t_train, arrays["train_labels"])


def test_labels_index_rows(tmp_path: Path, arrays) -> None:
    write_dataset(tmp_path, arrays)
    (_, t), _ = load_mnist(root=tmp_path, download=False)
    y = np.arange(len(t) * 10, dtype=np.float32).reshape(len(t), 10)
    np.testing.assert_array_equal(y[np.arange(len(t)), t], np.arange(len(t)) * 10 + t)


def test_image_label_count_mismatch_names_both_files(tmp_path: Path, arrays) -> None:
    arrays["train_labels"] = arrays["train_labels"][:-1]
    write_dataset(tmp_path, arrays)
    with pytest.raises(IDXError) as e:
        load_mnist(root=tmp_path, download=False)
    msg = str(e.value)
    assert "image/label count mismatch" in msg
    assert str(tmp_path / "train-images-idx3-ubyte.gz") + " has 12 images" in msg
    assert str(tmp_path / "train-labels-idx1-ubyte.gz") + " has 11 labels" in msg


def test_label_out_of_range(tmp_path: Path, arrays) -> None:
    arrays["test_labels"][3] = 10
    write_dataset(tmp_path, arrays)
    with pytest.raises(IDXError, match=r"t10k-labels-idx1-ubyte\.gz: labels must be in 0\.\.9"):
        load_mnist(root=tmp_path, download=False)


def test_images_file_with_wrong_dimensions(tmp_path: Path, arrays) -> None:
    arrays["test_images"] = arrays["test_images"].reshape(7, -1)
    write_dataset(tmp_path, arrays)
    with pytest.raises(IDXError, match=r"t10k-images-idx3-ubyte\.gz: wrong number of dimensions"):
        load_mnist(root=tmp_path, download=False)


def test_only_test_files_says_training_files_missing(tmp_path: Path, arrays) -> None:
    write_dataset(tmp_path, arrays)
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        (tmp_path / name).unlink()
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(root=tmp_path, download=False)
    msg = str(e.value)
    assert (
        f"{tmp_path}: the training files are missing "
        "(train-images-idx3-ubyte.gz, train-labels-idx1-ubyte.gz)"
    ) in msg
    assert "test files are missing" not in msg
    assert "download=False" in msg
    assert "load_digits()" in msg


@pytest.fixture
def isolated_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    data, cache = tmp_path / "data", tmp_path / "cache"
    monkeypatch.setenv("MINIGRAD_DATA", str(data))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    return data, cache


def test_search_order(isolated_env, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    data, cache = isolated_env
    assert search_dirs(MNIST) == [data / "mnist", cache / "minigrad" / "mnist"]
    assert search_dirs(FASHION_MNIST) == [
        data / "fashion-mnist",
        cache / "minigrad" / "fashion-mnist",
        Path("/usr/share/datasets/fashion-mnist"),
    ]
    assert search_dirs(MNIST, root=tmp_path / "r") == [tmp_path / "r"]
    monkeypatch.delenv("MINIGRAD_DATA")
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert search_dirs(MNIST) == [tmp_path / "home" / ".cache" / "minigrad" / "mnist"]


def test_env_folder_preferred_to_cache(isolated_env) -> None:
    data, cache = isolated_env
    write_dataset(data / "mnist", make_arrays(seed=1))
    write_dataset(cache / "minigrad" / "mnist", make_arrays(seed=2))
    (_, t), _ = load_mnist(download=False)
    np.testing.assert_array_equal(t, make_arrays(seed=1)["train_labels"])


def test_complete_folder_wins_over_incomplete_earlier_one(isolated_env) -> None:
    data, cache = isolated_env
    write_dataset(data / "mnist", make_arrays(seed=1))
    (data / "mnist" / "train-labels-idx1-ubyte.gz").unlink()
    write_dataset(cache / "minigrad" / "mnist", make_arrays(seed=2))
    (_, t), _ = load_mnist(download=False)
    np.testing.assert_array_equal(t, make_arrays(seed=2)["train_labels"])


def test_nothing_anywhere_lists_every_folder_and_alternatives(isolated_env) -> None:
    data, cache = isolated_env
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(download=False)
    msg = str(e.value)
    assert f"{data / 'mnist'}: folder does not exist" in msg
    assert f"{cache / 'minigrad' / 'mnist'}: folder does not exist" in msg
    for word in ("root=", "MINIGRAD_DATA", "load_digits()", "t10k-labels-idx1-ubyte.gz"):
        assert word in msg


def test_fashion_uses_its_own_folder(isolated_env) -> None:
    data, _ = isolated_env
    write_dataset(data / "fashion-mnist", make_arrays(seed=3))
    (_, t), _ = load_fashion_mnist(
        download=False, spec=dataclasses.replace(FASHION_MNIST, system_dirs=())
    )
    np.testing.assert_array_equal(t, make_arrays(seed=3)["train_labels"])
    with pytest.raises(DatasetNotFoundError, match="MNIST data not found"):
        load_mnist(download=False)


# ---------------------------------------------------------------- HTTP server


class Server:
    """A real HTTP server on 127.0.0.1 serving ``files``; ``mode`` per file name changes how."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.mode: dict[str, str] = {}  # name -> "ok" | "404" | "drop" | "stall"
        self.requests: list[str] = []
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                name = self.path.rsplit("/", 1)[-1]
                outer.requests.append(self.path)
                body = outer.files.get(name)
                mode = outer.mode.get(name, "ok")
                if body is None or mode == "404":
                    self.send_error(404, "Not Found")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "application/octet-stream")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if mode == "drop":  # promise everything, send half, hang up
                    self.wfile.write(body[: len(body) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                if mode == "stall":
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    time.sleep(1.5)
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,), daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def payloads(arrays) -> dict[str, bytes]:
    return gz_payloads(arrays)


@pytest.fixture
def server(payloads) -> Iterator[Server]:
    s = Server(payloads)
    yield s
    s.stop()


@pytest.fixture
def closed_port_url() -> str:
    with socket.socket() as s:  # bind, learn the port, close: nothing listens there afterwards
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/mnist/"


def test_download_success(tmp_path: Path, server: Server, payloads, arrays) -> None:
    root = tmp_path / "new" / "dir"
    spec = spec_for(payloads, (server.url,))
    (x_train, t_train), (x_test, t_test) = load_mnist(root=root, spec=spec)
    assert listing(root) == sorted(NAMES.values())
    for name, body in payloads.items():
        assert (root / name).read_bytes() == body
    assert sorted(server.requests) == sorted("/mnist/" + n for n in NAMES.values())
    np.testing.assert_array_equal(t_train, arrays["train_labels"])
    np.testing.assert_allclose(x_test * 255, arrays["test_images"].reshape(7, -1), atol=1e-4)


def test_download_into_env_folder_then_cached_without_network(
    isolated_env, server: Server, payloads
) -> None:
    data, cache = isolated_env
    spec = spec_for(payloads, (server.url,))
    first = load_mnist(spec=spec)
    assert listing(data / "tiny-mnist") == sorted(NAMES.values())
    assert not cache.exists()
    n_requests = len(server.requests)
    server.stop()
    second = load_mnist(spec=spec)  # download=True, but everything is on disk
    assert len(server.requests) == n_requests
    np.testing.assert_array_equal(first[0][1], second[0][1])


def test_only_missing_files_are_downloaded(tmp_path: Path, server: Server, payloads) -> None:
    (tmp_path / "t10k-labels-idx1-ubyte.gz").write_bytes(payloads["t10k-labels-idx1-ubyte.gz"])
    load_mnist(root=tmp_path, spec=spec_for(payloads, (server.url,)))
    assert "/mnist/t10k-labels-idx1-ubyte.gz" not in server.requests
    assert len(server.requests) == 3


def test_first_mirror_closed_port_second_used(
    tmp_path: Path, server: Server, payloads, closed_port_url: str
) -> None:
    spec = spec_for(payloads, (closed_port_url, server.url))
    load_mnist(root=tmp_path, spec=spec)
    assert listing(tmp_path) == sorted(NAMES.values())
    assert len(server.requests) == 4


def test_first_mirror_404_second_used(tmp_path: Path, payloads) -> None:
    first, second = Server({}), Server(payloads)
    try:
        load_mnist(root=tmp_path, spec=spec_for(payloads, (first.url, second.url)))
        assert len(first.requests) == 4 and len(second.requests) == 4
        assert listing(tmp_path) == sorted(NAMES.values())
    finally:
        first.stop()
        second.stop()


def test_checksum_mismatch_leaves_no_file(tmp_path: Path, server: Server, payloads) -> None:
    spec = spec_for(payloads, (server.url,))
    wrong = dataclasses.replace(spec, train_images=DataFile(NAMES["train_images"], "ab" * 32))
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(root=tmp_path, spec=wrong)
    msg = str(e.value)
    assert "Download failed" in msg
    assert f"{server.url}train-images-idx3-ubyte.gz: SHA-256 mismatch: expected {'ab' * 32}" in msg
    assert isinstance(e.value.__cause__, DownloadError)
    assert listing(tmp_path) == []  # no file, no temp file


def test_checksum_mismatch_on_every_mirror_is_one_error(
    tmp_path: Path, server: Server, payloads, closed_port_url: str
) -> None:
    spec = spec_for(payloads, (closed_port_url, server.url))
    bad = dataclasses.replace(spec, train_images=DataFile(NAMES["train_images"], "00" * 32))
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(root=tmp_path, spec=bad)
    msg = str(e.value)
    assert closed_port_url + "train-images-idx3-ubyte.gz: URLError" in msg
    assert "SHA-256 mismatch" in msg
    assert "the training files are missing" in msg
    assert listing(tmp_path) == []


def test_dropped_connection_leaves_no_partial_file_and_retry_succeeds(
    tmp_path: Path, server: Server, payloads
) -> None:
    name = NAMES["train_images"]
    server.mode[name] = "drop"
    spec = spec_for(payloads, (server.url,))
    with pytest.raises(DatasetNotFoundError) as e:
        load_mnist(root=tmp_path, spec=spec)
    assert f"{server.url}{name}: " in str(e.value)
    assert f"{server.url}{name}: connection closed after {len(payloads[name]) // 2} of " in str(
        e.value
    )
    assert name not in listing(tmp_path)
    assert not [n for n in listing(tmp_path) if n.startswith(".")]  # no temp file either
    server.mode[name] = "ok"
    (_, t), _ = load_mnist(root=tmp_path, spec=spec)
    assert listing(tmp_path) == sorted(NAMES.values())
    assert (tmp_path / name).read_bytes() == payloads[name]
    assert len(t) == 12


def test_stalled_mirror_times_out_and_next_is_used(
    tmp_path: Path, payloads, server: Server
) -> None:
    slow = Server(payloads)
    slow.mode = dict.fromkeys(payloads, "stall")
    name = NAMES["test_labels"]
    try:
        urls = [slow.url + name, server.url + name]
        sha = hashlib.sha256(payloads[name]).hexdigest()
        got = download(urls, tmp_path / name, sha, timeout=0.3, progress=False)
    finally:
        slow.stop()
    assert got == tmp_path / name and got.read_bytes() == payloads[name]
    assert listing(tmp_path) == [name]


def test_download_error_lists_every_url(tmp_path: Path, closed_port_url: str) -> None:
    urls = [closed_port_url + "a.gz", "ftp-nope://x/a.gz"]
    with pytest.raises(DownloadError) as e:
        download(urls, tmp_path / "a.gz", "00" * 32, progress=False)
    msg = str(e.value)
    assert "could not download a.gz" in msg
    assert all(u in msg for u in urls)
    assert listing(tmp_path) == []


def test_downloaded_file_gets_ordinary_permissions(
    tmp_path: Path, server: Server, payloads
) -> None:
    name = NAMES["test_labels"]
    sha = hashlib.sha256(payloads[name]).hexdigest()
    p = download([server.url + name], tmp_path / name, sha, progress=False)
    umask = os.umask(0)
    os.umask(umask)
    assert p.stat().st_mode & 0o777 == 0o666 & ~umask  # not the 0o600 of a typical temp file


@pytest.mark.skipif(not hasattr(signal, "setitimer"), reason="needs POSIX interval timers")
def test_interrupted_download_leaves_nothing_and_is_not_swallowed(
    tmp_path: Path, payloads, server: Server
) -> None:
    slow = Server(payloads)
    slow.mode = dict.fromkeys(payloads, "stall")  # sends 10 bytes, then pauses 1.5 s
    name = NAMES["test_images"]

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGALRM, interrupt)
    signal.setitimer(signal.ITIMER_REAL, 0.3)
    try:
        with pytest.raises(KeyboardInterrupt):
            download([slow.url + name, server.url + name], tmp_path / name, "00" * 32)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        slow.stop()
    assert listing(tmp_path) == []  # neither the file nor its temp file
    assert server.requests == []  # Ctrl-C stops; it does not move on to the next mirror


def test_progress_bar_with_tqdm(tmp_path: Path, server: Server, payloads, capsys) -> None:
    pytest.importorskip("tqdm")
    name = NAMES["train_images"]
    sha = hashlib.sha256(payloads[name]).hexdigest()
    download([server.url + name], tmp_path / name, sha, progress=True)
    err = capsys.readouterr().err
    assert f"downloading {server.url}{name}" in err
    assert f"{name}:   0%|" in err  # tqdm's bar, labelled with the file name
