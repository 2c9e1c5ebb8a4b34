"""What a careless newcomer runs into, one test per trap: layers in plain lists, star imports,
saved files, wrongly typed arguments, a missing test dependency, stalled downloads.

The traps in the example scripts are tested where the examples are, in test_examples.py
(`--help`, argument errors before training, show_graph's path, the book's SGD on digits).
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import importlib
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import models, nn, optim
from minigrad.datasets import (
    DataFile,
    DatasetNotFoundError,
    DatasetSpec,
    IDXError,
    load_mnist,
    write_idx,
)

download_module = importlib.import_module("minigrad.datasets.download")   # not the function

ROOT = Path(__file__).resolve().parents[1]


# ------------------------------------------------------------ layers in lists and dicts


class Tower(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(3, 4, rng=0), nn.Linear(4, 4, rng=1)])
        self.heads = nn.ModuleDict({"cls": nn.Linear(4, 2, rng=2), "reg": nn.Linear(4, 1, rng=3)})

    def forward(self, x):
        for layer in self.layers:
            x = mg.tanh(layer(x))
        return self.heads["cls"](x).sum() + self.heads["reg"](x).sum()


def test_layers_in_a_list_or_dict_need_module_list_or_module_dict_and_empty_params_are_refused(
        tmp_path: Path) -> None:
    net = Tower()
    assert list(net.state_dict()) == [
        "layers.0.W", "layers.0.b", "layers.1.W", "layers.1.b",
        "heads.cls.W", "heads.cls.b", "heads.reg.W", "heads.reg.b"]
    assert len(net.parameters()) == 8
    net(np.ones((2, 3))).backward()
    assert all(p.grad is not None for p in net.parameters())       # all reached and trained
    before = net.layers[0].W.data.copy()
    optim.SGD(net.parameters(), lr=0.1).step()
    assert not np.array_equal(net.layers[0].W.data, before)

    # the list behaves as a list, and the names follow the order
    layers = net.layers
    first, second = layers[0], layers[1]
    assert len(layers) == 2 and list(layers) == [first, second] and layers[-1] is second
    assert list(layers[1:]) == [second] and isinstance(layers[1:], nn.ModuleList)
    relu = nn.ReLU()
    layers.insert(1, relu)
    assert list(layers) == [first, relu, second]
    layers.append(nn.Linear(4, 4, rng=4))
    layers.extend([nn.Tanh()])
    layers += [nn.Sigmoid()]
    assert len(layers) == 6
    assert [k for k in net.state_dict() if k.startswith("layers")] == [
        "layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b", "layers.3.W", "layers.3.b"]
    del layers[1]
    assert layers.pop() is not None and len(layers) == 4
    assert [k for k in net.state_dict() if k.startswith("layers")][2:4] == ["layers.1.W",
                                                                            "layers.1.b"]
    with pytest.raises(IndexError, match="ModuleList index 7 out of range"):
        layers[7]
    with pytest.raises(TypeError, match="expected a Module"):
        layers.append(np.zeros(2))

    # the dict behaves as a dict
    heads = net.heads
    assert list(heads) == ["cls", "reg"] and "cls" in heads and len(heads) == 2
    assert [k for k, _ in heads.items()] == heads.keys() == ["cls", "reg"]
    heads["extra"] = nn.Linear(4, 3, rng=5)
    assert "heads.extra.W" in net.state_dict()
    del heads["extra"]
    with pytest.raises(KeyError, match=r"no module 'extra' \(it has \['cls', 'reg'\]\)"):
        heads["extra"]
    with pytest.raises(KeyError, match="without '.'"):
        heads["a.b"] = nn.ReLU()

    # saved and loaded under those names
    path = tmp_path / "tower.npz"
    Tower().save(path)
    other = Tower()
    other.layers[0].W.data[...] = 0.0
    other.load(path)
    np.testing.assert_array_equal(other.layers[0].W.data, Tower().layers[0].W.data)

    # a plain container of unregistered layers is an error that names the fix
    class ListNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.layers = [nn.Linear(2, 2), nn.Linear(2, 2)]

    class DictNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.heads = {"a": nn.Linear(2, 2)}

    class ParamNet(nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.weights = (nn.Parameter(np.ones(2)),)

    with pytest.raises(TypeError, match=r"ListNet: attribute 'layers' is a list holding Linear "
                                        r"at layers\[0\].*use nn\.ModuleList"):
        ListNet()
    with pytest.raises(TypeError, match=r"heads\['a'\].*use nn\.ModuleDict"):
        DictNet()
    with pytest.raises(TypeError, match="assign each Parameter to an attribute"):
        ParamNet()

    class Shortcuts(nn.Module):                     # references to registered layers are fine
        def __init__(self) -> None:
            super().__init__()
            self.a, self.b = nn.Linear(2, 2), nn.Linear(2, 2)
            self.order = [self.a, self.b]
            self._cache = [nn.Linear(2, 2)]         # "_" keeps a list unregistered on purpose

    assert len(Shortcuts().parameters()) == 4

    # an optimizer with nothing to optimize says so
    for make in (optim.SGD, optim.Momentum, optim.Nesterov, optim.AdaGrad, optim.RMSprop,
                 optim.Adam):
        with pytest.raises(ValueError, match="no parameters to optimize"):
            make([], lr=0.1)
        with pytest.raises(ValueError, match="no parameters to optimize"):
            make(nn.ReLU(), lr=0.1)
        with pytest.raises(RuntimeError, match="no parameters to optimize"):
            make(lr=0.1).step()
    params = {"W": np.array([1.0, 2.0])}                # the book's form still works
    optim.SGD(lr=0.5).update(params, {"W": np.ones(2)})
    optim.SGD(0.5).update(params, {"W": np.ones(2)})
    np.testing.assert_allclose(params["W"], [0.0, 1.0])


# ------------------------------------------------------------ star import


def test_star_import_does_not_shadow_builtins() -> None:
    namespace: dict = {}
    exec("from minigrad import *", namespace)
    for name in ("sum", "max", "min", "abs"):
        assert name not in namespace, name
        assert name not in mg.__all__
    assert "tensor" in namespace and "relu" in namespace       # the rest is still exported
    exec("from minigrad import *\nresult = sum([1, 2, 3]) + max(1, 5) + min(2, 3) + abs(-4)",
         namespace)
    assert namespace["result"] == 17
    x = mg.tensor([-1.0, 2.0], requires_grad=True)
    assert mg.sum(mg.abs(x)).item() == 3.0 and mg.max(x).item() == 2.0
    assert mg.min(x).item() == -1.0


# ------------------------------------------------------------ nn save and load


def test_nn_save_uses_the_umask_and_errors_name_the_users_path(tmp_path: Path) -> None:
    net = nn.Linear(2, 3, rng=0)
    old = os.umask(0o022)
    try:
        net.save(tmp_path / "a.npz")
        os.umask(0o002)
        net.save(tmp_path / "b.npz")
    finally:
        os.umask(old)
    assert (tmp_path / "a.npz").stat().st_mode & 0o777 == 0o644
    assert (tmp_path / "b.npz").stat().st_mode & 0o777 == 0o664

    def assert_names_only_the_path(message: str, path: Path) -> None:
        assert str(path) in message, message
        assert ".part" not in message and ".tmp" not in message and f".{path.name}." not in (
            message), message

    missing = tmp_path / "no-such-folder" / "model.npz"
    with pytest.raises(FileNotFoundError) as e:
        net.save(missing)
    assert_names_only_the_path(str(e.value), missing)
    assert "does not exist" in str(e.value)

    folder = tmp_path / "a-folder"
    folder.mkdir()
    with pytest.raises(IsADirectoryError) as e:
        net.save(folder)
    assert_names_only_the_path(str(e.value), folder)
    assert os.listdir(folder) == []                                # no temp file left

    good = (tmp_path / "a.npz").read_bytes()
    for name, data in [("truncated.npz", good[: len(good) // 2]), ("cut-end.npz", good[:-30]),
                       ("text.npz", b"W,b\n1,2\n"), ("empty.npz", b"")]:
        path = tmp_path / name
        path.write_bytes(data)
        with pytest.raises(ValueError, match="not a minigrad weight file") as e:
            nn.Linear(2, 3).load(path)
        assert_names_only_the_path(str(e.value), path)
    with pytest.raises(FileNotFoundError) as e:
        net.load(tmp_path / "nowhere.npz")
    assert_names_only_the_path(str(e.value), tmp_path / "nowhere.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(
        ["a.npz", "b.npz", "a-folder", "truncated.npz", "cut-end.npz", "text.npz", "empty.npz"])


# ------------------------------------------------------------ argument types


def test_wrongly_typed_arguments_are_clear_type_errors() -> None:
    params = nn.Linear(2, 2).parameters()
    for make in (optim.SGD, optim.Momentum, optim.Nesterov, optim.AdaGrad, optim.RMSprop,
                 optim.Adam):
        with pytest.raises(TypeError, match=rf"{make.__name__}: lr must be a number, got str "
                                            r"'0\.1'"):
            make(params, lr="0.1")
        with pytest.raises(TypeError, match="weight_decay must be a number"):
            make(params, weight_decay=None)
    with pytest.raises(TypeError, match="momentum must be a number"):
        optim.SGD(params, lr=0.1, momentum="0.9")
    with pytest.raises(TypeError, match="nesterov must be True or False"):
        optim.SGD(params, lr=0.1, momentum=0.9, nesterov="yes")
    with pytest.raises(TypeError, match="beta2 must be a number"):
        optim.Adam(params, beta2="0.999")
    with pytest.raises(TypeError, match="decay_rate must be a number"):
        optim.RMSprop(params, decay_rate=[0.9])
    with pytest.raises(TypeError, match=r"params must be a list of Parameters.*\[p\]"):
        optim.SGD(params[0], lr=0.1)

    with pytest.raises(TypeError, match=r"TwoLayerNet: hidden_size must be an integer, got "
                                        r"float 5\.0"):
        models.TwoLayerNet(4, 5.0, 3)
    with pytest.raises(TypeError, match="TwoLayerNet: input_size must be an integer, got str"):
        models.TwoLayerNet("784", 50, 10)
    with pytest.raises(TypeError, match="TwoLayerNet: weight_init_std must be a number"):
        models.TwoLayerNet(4, 5, 3, weight_init_std="0.01")
    with pytest.raises(TypeError, match="TwoLayerNet: activation must be a string"):
        models.TwoLayerNet(4, 5, 3, activation=None)
    with pytest.raises(ValueError, match="TwoLayerNet: output_size must be at least 1"):
        models.TwoLayerNet(4, 5, 0)
    with pytest.raises(TypeError, match=r"MultiLayerNet: hidden_size_list\[1\] must be an "
                                        r"integer, got float 2\.5"):
        models.MultiLayerNet(4, [3, 2.5], 2)
    with pytest.raises(TypeError, match="MultiLayerNet: hidden_size_list must be a list"):
        models.MultiLayerNet(4, 3, 2)
    with pytest.raises(TypeError, match="MultiLayerNet: use_dropout must be True or False"):
        models.MultiLayerNet(4, [3], 2, use_dropout="False")
    with pytest.raises(TypeError, match="Linear: out_features must be an integer, got float"):
        nn.Linear(2, 3.0)
    with pytest.raises(TypeError, match="Dropout: p must be a number"):
        nn.Dropout("0.5")
    with pytest.raises(TypeError, match="BatchNorm1d: num_features must be an integer"):
        nn.BatchNorm1d(np.float64(3))
    with pytest.raises(TypeError, match="rng must be a numpy Generator"):
        models.TwoLayerNet(4, 5, 3, rng=0.5)
    # numpy integers and floats are numbers too
    net = models.TwoLayerNet(np.int64(4), np.int32(5), 3, weight_init_std=np.float32(0.1))
    assert net.sizes == (4, 5, 3)
    assert optim.SGD(net.parameters(), lr=np.float32(0.5)).lr == 0.5


# ------------------------------------------------------------ minigrad.testing


def test_import_testing_without_hypothesis_says_install_minigrad_dev(tmp_path: Path) -> None:
    program = (
        "import sys\n"
        "class NoHypothesis:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name == 'hypothesis' or name.startswith('hypothesis.'):\n"
        "            raise ModuleNotFoundError(f'No module named {name!r}', name=name)\n"
        "sys.meta_path.insert(0, NoHypothesis())\n"
        "import minigrad\n"
        "minigrad.tensor(1.0)\n"                     # minigrad itself needs no hypothesis
        "try:\n"
        "    import minigrad.testing\n"
        "except ImportError as e:\n"
        "    print('ImportError:', e)\n"
    )
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT),
                                                       os.environ.get("PYTHONPATH", "")]))
    result = subprocess.run([sys.executable, "-c", program], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ImportError: ")
    assert "install minigrad[dev] (needs hypothesis)" in result.stdout


# ------------------------------------------------------------ downloads

NAMES = {
    "train_images": "train-images-idx3-ubyte.gz",
    "train_labels": "train-labels-idx1-ubyte.gz",
    "test_images": "t10k-images-idx3-ubyte.gz",
    "test_labels": "t10k-labels-idx1-ubyte.gz",
}


def idx_gz(arr: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, arr.ndim]) + np.asarray(arr.shape, ">u4").tobytes()
    return gzip.compress(header + arr.tobytes(), mtime=0)


@pytest.fixture
def payloads() -> dict[str, bytes]:
    rng = np.random.default_rng(0)
    arrays = {"train_images": rng.integers(0, 256, (6, 28, 28), dtype=np.uint8),
              "train_labels": rng.integers(0, 10, 6).astype(np.uint8),
              "test_images": rng.integers(0, 256, (4, 28, 28), dtype=np.uint8),
              "test_labels": rng.integers(0, 10, 4).astype(np.uint8)}
    return {NAMES[role]: idx_gz(a) for role, a in arrays.items()}


def spec_for(payloads: dict[str, bytes], mirrors: tuple[str, ...]) -> DatasetSpec:
    files = {role: DataFile(name, hashlib.sha256(payloads[name]).hexdigest())
             for role, name in NAMES.items()}
    return DatasetSpec(title="Tiny MNIST", dirname="tiny-mnist", mirrors=mirrors, **files)


class Mirror:
    """An HTTP server on 127.0.0.1; when `stall`, it sends 10 bytes of a file and then nothing
    for `stall_seconds` (a connection that hangs) before the rest. `stalls_ran_out` counts the
    stalls that lasted their whole time, before stop() released them."""

    def __init__(self, files: dict[str, bytes], stall: bool = False,
                 stall_seconds: float = 5.0) -> None:
        self.requests: list[str] = []
        self.release = threading.Event()
        self.stalls_ran_out = 0
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                outer.requests.append(self.path)
                body = files.get(self.path.rsplit("/", 1)[-1])
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if stall:
                    self.wfile.write(body[:10])
                    self.wfile.flush()
                    if not outer.release.wait(stall_seconds):
                        outer.stalls_ran_out += 1
                try:
                    self.wfile.write(body if not stall else body[10:])
                except OSError:                  # the client gave up meanwhile
                    pass

            def log_message(self, *args: object) -> None:
                pass

        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/mnist/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,),
                                       daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.release.set()
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


@pytest.fixture
def mirrors(payloads) -> Iterator[tuple[Mirror, Mirror]]:
    stalled, good = Mirror(payloads, stall=True, stall_seconds=60.0), Mirror(payloads)
    yield stalled, good
    stalled.stop()
    good.stop()


def test_downloads_fail_over_a_stalled_mirror_leave_no_empty_folder_and_idx_errors_say_delete(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, payloads, mirrors) -> None:
    # the default no-progress limit is at most 10 s, and load_mnist goes by it: made shorter
    # here, a mirror that hangs mid-file is left for the next one after that long
    assert 0 < download_module.STALL_TIMEOUT <= 10.0
    monkeypatch.setattr(download_module, "STALL_TIMEOUT", 0.4, raising=False)
    stalled, good = mirrors
    (x_train, t_train), _ = load_mnist(root=tmp_path / "data",
                                       spec=spec_for(payloads, (stalled.url, good.url)))
    assert len(stalled.requests) == 4 and len(good.requests) == 4
    # each file came from the good mirror while the stalled one still hung (its stalls last
    # 60 s): the client left it after STALL_TIMEOUT instead of waiting for the rest
    assert stalled.stalls_ran_out == 0
    assert x_train.shape == (6, 784)
    assert sorted(os.listdir(tmp_path / "data")) == sorted(NAMES.values())

    # a failed download into the cache leaves no empty folder behind
    cache = tmp_path / "cache"
    monkeypatch.delenv("MINIGRAD_DATA", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    with socket.socket() as s:                     # a port where nothing listens
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(DatasetNotFoundError, match="Download failed"):
        load_mnist(spec=spec_for(payloads, (f"http://127.0.0.1:{port}/mnist/",)))
    assert not cache.exists()
    existing = tmp_path / "existing"
    existing.mkdir()
    with pytest.raises(DatasetNotFoundError):
        load_mnist(root=existing / "sub", spec=spec_for(payloads, (f"http://127.0.0.1:{port}/",)))
    assert existing.is_dir() and os.listdir(existing) == []          # its own folder stays

    # a damaged file: the error names it and says to delete it to download it again
    data = tmp_path / "data"
    damaged = data / NAMES["test_images"]
    damaged.write_bytes(gzip.compress(bytes([0, 0, 8, 3, 0, 0, 0, 9]), mtime=0))
    with pytest.raises(IDXError) as e:
        load_mnist(root=data, download=False)
    assert f"Delete {damaged} to download it again" in str(e.value)
    write_idx(damaged, np.zeros((3, 28, 28), np.uint8))             # 3 images, 4 labels
    with pytest.raises(IDXError, match="count mismatch") as e:
        load_mnist(root=data, download=False)
    assert f"Delete {damaged} and {data / NAMES['test_labels']} to download them again" in (
        str(e.value))
