"""MNIST and Fashion-MNIST: found locally when possible, otherwise downloaded and verified.

Where the four IDX files are looked for, in order (the first folder holding all four wins):

1. ``root``, when given (then only there);
2. ``$MINIGRAD_DATA/<dataset>`` when the ``MINIGRAD_DATA`` environment variable is set;
3. the user cache, ``$XDG_CACHE_HOME/minigrad/<dataset>`` (default ``~/.cache/minigrad/<dataset>``);
4. system folders of the dataset, e.g. ``/usr/share/datasets/fashion-mnist`` where Debian's
   ``dataset-fashion-mnist`` package installs Fashion-MNIST.

``<dataset>`` is ``mnist`` or ``fashion-mnist``. Files may be gzip-compressed (the published
``*.gz`` names) or not (the same names without ``.gz``). Missing files are downloaded into the
first folder of that list, trying the spec's mirrors in turn, each file verified by SHA-256.
Local files are not checksummed (re-compressed copies such as Debian's differ byte-wise from the
published archives); they are validated structurally by :func:`read_idx` instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ._format import Split, as_split
from .download import DownloadError, download
from .idx import IDXError, read_idx

__all__ = [
    "DataFile",
    "DatasetSpec",
    "DatasetNotFoundError",
    "MNIST",
    "FASHION_MNIST",
    "search_dirs",
    "load_mnist",
    "load_fashion_mnist",
]


_ROLES = ("train_images", "train_labels", "test_images", "test_labels")
_ROLE_WORDS = {
    "train_images": "training images",
    "train_labels": "training labels",
    "test_images": "test images",
    "test_labels": "test labels",
}


@dataclass(frozen=True)
class DataFile:
    """One published file: its name (normally ending ``.gz``) and the SHA-256 of those bytes."""

    name: str
    sha256: str

    @property
    def local_names(self) -> tuple[str, ...]:
        """Names accepted on disk, preferred first: uncompressed, then the published name."""
        if self.name.endswith(".gz"):
            return (self.name[: -len(".gz")], self.name)
        return (self.name,)


@dataclass(frozen=True)
class DatasetSpec:
    """Everything needed to find or fetch an MNIST-style dataset.

    Pass a modified copy as ``spec=`` to the loaders to use another mirror, e.g.
    ``dataclasses.replace(MNIST, mirrors=("https://my.mirror/mnist/",))``. A mirror is a base
    URL; a file's URL is the mirror joined with the file's ``name``.
    """

    title: str  # for messages, e.g. "MNIST"
    dirname: str  # sub-folder of $MINIGRAD_DATA and of the cache, e.g. "mnist"
    train_images: DataFile
    train_labels: DataFile
    test_images: DataFile
    test_labels: DataFile
    mirrors: tuple[str, ...] = ()
    system_dirs: tuple[str, ...] = ()  # read-only folders also searched
    num_classes: int = 10

    def files(self) -> dict[str, DataFile]:
        """The four files by role: train_images, train_labels, test_images, test_labels."""
        return {role: getattr(self, role) for role in _ROLES}

    def urls(self, file: DataFile) -> list[str]:
        """Download URLs of ``file``, one per mirror, in order."""
        return [m.rstrip("/") + "/" + file.name for m in self.mirrors]


# SHA-256 of the official .gz files (as listed e.g. in TensorFlow Datasets' checksum files).
MNIST = DatasetSpec(
    title="MNIST",
    dirname="mnist",
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6",
    ),
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "https://storage.googleapis.com/cvdf-datasets/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ),
)

# Zalando's published files (same bytes on GitHub and on their S3 site).
FASHION_MNIST = DatasetSpec(
    title="Fashion-MNIST",
    dirname="fashion-mnist",
    train_images=DataFile(
        "train-images-idx3-ubyte.gz",
        "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
    ),
    train_labels=DataFile(
        "train-labels-idx1-ubyte.gz",
        "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
    ),
    test_images=DataFile(
        "t10k-images-idx3-ubyte.gz",
        "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
    ),
    test_labels=DataFile(
        "t10k-labels-idx1-ubyte.gz",
        "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5",
    ),
    mirrors=(
        "https://raw.githubusercontent.com/zalandoresearch/fashion-mnist/master/data/fashion/",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ),
    system_dirs=("/usr/share/datasets/fashion-mnist",),
)


class DatasetNotFoundError(FileNotFoundError):
    """The dataset's files are neither on disk nor downloadable; the message says what to do."""

    def __str__(self) -> str:
        return str(self.args[0])


def _cache_home() -> Path:
    xdg = os.environ.get("XDG_CACHE_HOME", "")
    if xdg and Path(xdg).is_absolute():
        return Path(xdg)
    return Path.home() / ".cache"


def search_dirs(spec: DatasetSpec, root: str | os.PathLike[str] | None = None) -> list[Path]:
    """The folders searched for ``spec``'s files, in order; downloads go to the first one."""
    if root is not None:
        return [Path(os.path.abspath(Path(root).expanduser()))]
    dirs = []
    data = os.environ.get("MINIGRAD_DATA", "")
    if data:
        dirs.append(Path(os.path.abspath(Path(data).expanduser())) / spec.dirname)
    dirs.append(_cache_home() / "minigrad" / spec.dirname)
    dirs.extend(Path(d) for d in spec.system_dirs)
    return dirs


def _present(folder: Path, spec: DatasetSpec) -> dict[str, Path]:
    """The files of ``spec`` found in ``folder``, by role."""
    found = {}
    for role, f in spec.files().items():
        for name in f.local_names:
            if (folder / name).is_file():
                found[role] = folder / name
                break
    return found


def _describe_missing(folder: Path, spec: DatasetSpec, found: dict[str, Path]) -> str:
    if not folder.is_dir():
        return f"{folder}: folder does not exist"
    files = spec.files()
    parts = []
    for split, word in (("train", "training"), ("test", "test")):
        missing = [r for r in _ROLES if r.startswith(split) and r not in found]
        names = ", ".join(files[r].name for r in missing)
        if len(missing) == 2:
            parts.append(f"the {word} files are missing ({names})")
        elif missing:
            parts.append(f"the {_ROLE_WORDS[missing[0]]} file is missing ({names})")
    if found:
        parts.append("found " + ", ".join(p.name for p in found.values()))
    return f"{folder}: " + "; ".join(parts)


def _not_found(
    spec: DatasetSpec,
    dirs: list[Path],
    found: dict[Path, dict[str, Path]],
    root_given: bool,
    failure: str,
    download_tried: bool,
) -> DatasetNotFoundError:
    names = ", ".join(f.name for f in spec.files().values())
    lines = [f"{spec.title} data not found. Searched:"]
    lines += ["  " + _describe_missing(d, spec, found[d]) for d in dirs]
    lines.append(failure)
    advice = [
        f"put the four files ({names}; gzip-compressed or not) in "
        + (str(dirs[0]) if root_given else f"one of the folders above (e.g. {dirs[0]})")
    ]
    if root_given:
        advice.append("pass another root= folder")
    else:
        advice.append("pass root='folder holding them'")
    advice.append(
        "set the MINIGRAD_DATA environment variable (without root=, files are then looked for"
        f" in $MINIGRAD_DATA/{spec.dirname})"
    )
    advice.append("retry when a mirror is reachable" if download_tried else "use download=True")
    lines.append(
        "To fix: " + ", or ".join(advice) + ". For a small dataset that needs no files and no"
        " network, use minigrad.datasets.load_digits()."
    )
    return DatasetNotFoundError("\n".join(lines))


def locate(
    spec: DatasetSpec, root: str | os.PathLike[str] | None = None, *, download: bool = True
) -> dict[str, Path]:
    """Paths of the four files of ``spec`` by role, downloading missing ones if allowed.

    Raises :class:`DatasetNotFoundError` listing the folders searched, what is missing in each,
    why downloading did not help, and what to do instead.
    """
    dirs = search_dirs(spec, root)
    found = {d: _present(d, spec) for d in dirs}
    for d in dirs:
        if len(found[d]) == len(_ROLES):
            return found[d]
    if not download:
        off = "Downloading is off (download=False)."
        raise _not_found(spec, dirs, found, root is not None, off, False)
    target = dirs[0]
    have = found[target]
    for role, f in spec.files().items():
        if role in have:
            continue
        try:
            have[role] = _download_file(spec, f, target)
        except OSError as e:
            reason = str(e) if isinstance(e, DownloadError) else f"{type(e).__name__}: {e}"
            found[target] = dict(have)
            failure = f"Download failed: {reason}"
            raise _not_found(spec, dirs, found, root is not None, failure, True) from e
    return have


def _download_file(spec: DatasetSpec, f: DataFile, target: Path) -> Path:
    return download(spec.urls(f), target / f.name, f.sha256)


def _delete_hint(*paths: Path) -> str:
    """What to do about a bad data file: remove it, and the next load fetches a fresh copy."""
    if len(paths) == 1:
        return f". Delete {paths[0]} to download it again."
    return ". Delete " + " and ".join(str(p) for p in paths) + " to download them again."


def _read_file(path: Path, ndim: int) -> np.ndarray:
    """read_idx, with the way out added to its error: delete the file to download it again."""
    try:
        return read_idx(path, ndim=ndim)
    except IDXError as e:
        raise IDXError(f"{e}{_delete_hint(path)}") from e


def _read_split(
    spec: DatasetSpec,
    images_path: Path,
    labels_path: Path,
    normalize: bool,
    flatten: bool,
    one_hot_label: bool,
) -> Split:
    images = _read_file(images_path, 3)
    labels = _read_file(labels_path, 1)
    if images.dtype != np.uint8:
        raise IDXError(f"{images_path}: images must be uint8, the file holds {images.dtype}"
                       + _delete_hint(images_path))
    if labels.dtype.kind not in "iu":
        raise IDXError(f"{labels_path}: labels must be integers, the file holds {labels.dtype}"
                       + _delete_hint(labels_path))
    if len(images) != len(labels):
        raise IDXError(
            f"image/label count mismatch: {images_path} has {len(images)} images but "
            f"{labels_path} has {len(labels)} labels"
            + _delete_hint(images_path, labels_path)
        )
    if len(labels) and (labels.min() < 0 or labels.max() >= spec.num_classes):
        raise IDXError(
            f"{labels_path}: labels must be in 0..{spec.num_classes - 1}, "
            f"found values from {labels.min()} to {labels.max()}"
            + _delete_hint(labels_path)
        )
    return as_split(images, labels, max_value=255.0, num_classes=spec.num_classes,
                    normalize=normalize, flatten=flatten, one_hot_label=one_hot_label)


def _load(
    spec: DatasetSpec,
    normalize: bool,
    flatten: bool,
    one_hot_label: bool,
    root: str | os.PathLike[str] | None,
    download: bool,
) -> tuple[Split, Split]:
    paths = locate(spec, root, download=download)
    train = _read_split(
        spec, paths["train_images"], paths["train_labels"], normalize, flatten, one_hot_label
    )
    test = _read_split(
        spec, paths["test_images"], paths["test_labels"], normalize, flatten, one_hot_label
    )
    return train, test


def load_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    spec: DatasetSpec | None = None,
) -> tuple[Split, Split]:
    """Load MNIST as ``(x_train, t_train), (x_test, t_test)`` (60,000 and 10,000 digits).

    - ``normalize``: images as float32 in [0, 1]; otherwise uint8 in 0..255.
    - ``flatten``: images as (N, 784); otherwise (N, 1, 28, 28).
    - ``one_hot_label``: labels as float32 (N, 10) one-hot rows; otherwise int64 class
      indices of shape (N,), ready for indexing such as ``y[np.arange(N), t]``.

    Files are looked for in ``root`` if given, else ``$MINIGRAD_DATA/mnist``, else
    ``~/.cache/minigrad/mnist`` (``$XDG_CACHE_HOME`` respected); see :func:`search_dirs`.
    Missing files are downloaded there when ``download`` is true, from the mirrors of ``spec``
    (default :data:`MNIST`) in turn, each verified by SHA-256. Raises
    :class:`DatasetNotFoundError` when the files cannot be found or fetched, and
    :class:`IDXError` when a file is malformed or images and labels disagree.
    """
    return _load(spec or MNIST, normalize, flatten, one_hot_label, root, download)


def load_fashion_mnist(
    normalize: bool = True,
    flatten: bool = True,
    one_hot_label: bool = False,
    *,
    root: str | os.PathLike[str] | None = None,
    download: bool = True,
    spec: DatasetSpec | None = None,
) -> tuple[Split, Split]:
    """Load Fashion-MNIST (Zalando's 28x28 clothing images, 10 classes) like :func:`load_mnist`.

    Same arguments and return value. Besides ``root``, ``$MINIGRAD_DATA/fashion-mnist`` and
    ``~/.cache/minigrad/fashion-mnist``, the files are also found in
    ``/usr/share/datasets/fashion-mnist`` (Debian's ``dataset-fashion-mnist`` package).
    """
    return _load(spec or FASHION_MNIST, normalize, flatten, one_hot_label, root, download)
