"""Every mistake a user can make through the public API gets a clear error.

Each case is a bad input somewhere in the package (engine, functional, nn,
optim, models, datasets, the checker, pictures) with the exception type and
the words its message must contain: the op or layer, and the shapes, values
or file involved. None may surface as a bare numpy error or an AttributeError
from inside minigrad.
"""

from __future__ import annotations

import gzip
import re
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import datasets, nn, optim
from minigrad import functional as F
from minigrad.gradcheck import gradcheck, numerical_gradient
from minigrad.models import TwoLayerNet


def leaf(*shape):
    return mg.tensor(np.ones(shape), requires_grad=True)


class WrongShape(mg.Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2

    @staticmethod
    def backward(ctx, g):
        return np.ones(7)


def second_backward():
    loss = (leaf(3).exp()).sum()
    loss.backward()
    loss.backward()


def load_into(tmp: Path, model: nn.Module, state: dict) -> None:
    model.load_state_dict(state)


def write_bad_idx(tmp: Path) -> Path:
    path = tmp / "bad-images-idx3-ubyte.gz"
    with gzip.open(path, "wb") as f:
        f.write(b"\x01\x02\x08\x03" + b"\x00" * 12)
    return path


def write_truncated_idx(tmp: Path) -> Path:
    path = tmp / "short-labels-idx1-ubyte"
    path.write_bytes(b"\x00\x00\x08\x01" + (10).to_bytes(4, "big") + b"\x01\x02")
    return path


CASES = [
    # -- engine and ops
    ("int requires_grad", lambda tmp: mg.tensor([1, 2], requires_grad=True),
     TypeError, r"requires_grad=True needs floating-point data, got dtype int64"),
    ("matmul shapes", lambda tmp: leaf(3, 4) @ leaf(5, 2),
     ValueError, r"matmul: shapes \(3, 4\) and \(5, 2\) are not aligned"),
    ("matmul scalar", lambda tmp: leaf(3) @ mg.tensor(2.0),
     ValueError, r"matmul: operands must not be scalars.*\(3,\) and \(\)"),
    ("add broadcast", lambda tmp: leaf(3) + leaf(4),
     ValueError, r"add: .*\(3,\).*\(4,\)"),
    ("div broadcast", lambda tmp: leaf(2, 3) / np.ones((3, 2)),
     ValueError, r"div: .*\(2, ?3\).*\(3, ?2\)"),
    ("reshape size", lambda tmp: leaf(2, 3).reshape(4),
     ValueError, r"reshape: cannot reshape a tensor of shape \(2, 3\) \(size 6\) into shape "
                 r"\(4,\)"),
    ("sum axis", lambda tmp: leaf(2, 3).sum(axis=2),
     np.exceptions.AxisError, r"sum: axis 2 is out of bounds for a tensor of dimension 2"),
    ("max of empty", lambda tmp: mg.tensor(np.ones((0, 3)), requires_grad=True).max(),
     ValueError, r"max: the tensor of shape \(0, 3\) is empty"),
    ("index out of range", lambda tmp: leaf(3)[5],
     IndexError, r"getitem: index 5 is out of bounds.*shape \(3,\)"),
    ("transpose axes", lambda tmp: leaf(2, 3).transpose(0, 0),
     ValueError, r"transpose: .*\(0, 0\)"),
    ("broadcast_to", lambda tmp: mg.broadcast_to(leaf(3), (4,)),
     ValueError, r"broadcast_to: cannot broadcast shape \(3,\) to shape \(4,\)"),
    ("squeeze", lambda tmp: mg.squeeze(leaf(3), 0),
     ValueError, r"squeeze: axis 0 of shape \(3,\) has size 3"),
    ("concatenate", lambda tmp: mg.concatenate([leaf(2, 3), leaf(2, 4)]),
     ValueError, r"concatenate: shapes \(2, 3\), \(2, 4\) do not match except along axis 0"),
    ("stack", lambda tmp: mg.stack([leaf(2), leaf(3)]),
     ValueError, r"stack: all shapes must be equal, got \(2,\), \(3,\)"),
    ("where", lambda tmp: mg.where(np.ones(4, bool), leaf(3), 0.0),
     ValueError, r"where: .*\(4,\).*\(3,\)"),
    ("linear", lambda tmp: mg.linear(leaf(2, 3), leaf(4, 5)),
     ValueError, r"linear: shapes x \(2, 3\), W \(4, 5\) do not fit"),
    ("labels out of range", lambda tmp: mg.softmax_cross_entropy(leaf(2, 3), np.array([0, 3])),
     ValueError, r"softmax_cross_entropy: labels must be in \[0, 3\), got values from 0 to 3"),
    ("targets shape", lambda tmp: mg.softmax_cross_entropy(leaf(2, 3), np.ones((3, 2))),
     ValueError, r"softmax_cross_entropy: targets of shape \(3, 2\).*logits of shape \(2, 3\)"),
    ("item", lambda tmp: leaf(2).item(),
     ValueError, r"item: only a one-element tensor .* shape \(2,\)"),
    ("setitem of a leaf", lambda tmp: leaf(3).__setitem__(0, 1.0),
     RuntimeError, r"setitem: the tensor is a leaf that requires grad.*no_grad"),
    ("setitem in graph", lambda tmp: (leaf(3) * 2).__setitem__(0, 1.0),
     RuntimeError, r"setitem: a tensor in the graph cannot be changed in place"),
    ("backward non-scalar", lambda tmp: (leaf(3) * 2).backward(),
     RuntimeError, r"backward: grad can be implied only for a scalar output.*shape \(3,\)"),
    ("backward grad shape", lambda tmp: (leaf(2) * 2).backward(np.ones(3)),
     ValueError, r"backward: grad has shape \(3,\) but the output has shape \(2,\)"),
    ("backward twice", lambda tmp: second_backward(),
     RuntimeError, r"sum: the graph behind this tensor has already been freed.*retain_graph=True"),
    ("backward without grad", lambda tmp: mg.tensor([1.0]).sum().backward(),
     RuntimeError, r"backward: the output does not require grad"),
    ("grad of constant input", lambda tmp: mg.grad(leaf(2).sum(), mg.tensor([1.0, 2.0])),
     RuntimeError, r"grad: input 0 does not require grad"),
    ("grad unused input", lambda tmp: mg.grad(leaf(2).sum(), [leaf(2), leaf(3)]),
     RuntimeError, r"grad: input 0 \(shape \(2,\)\) was not used.*allow_unused=True"),
    ("numpy without gradient", lambda tmp: np.arctan(leaf(2)),
     TypeError, r"numpy.arctan has no gradient in minigrad.*detach"),
    ("custom backward shape", lambda tmp: WrongShape.apply(leaf(2)).sum().backward(),
     ValueError, r"the backward of wrong_shape returned a gradient of shape \(7,\) for an input of "
                 r"shape \(2,\)"),
    ("requires_grad off on non-leaf", lambda tmp: setattr(leaf(2) * 2, "requires_grad", False),
     RuntimeError, r"requires_grad can only be turned off on a leaf tensor"),
    # -- functional
    ("mean_squared_error shapes", lambda tmp: F.mean_squared_error(leaf(3), np.ones(4)),
     ValueError, r"mean_squared_error: .*\(3,\).*\(4,\)"),
    ("dropout p", lambda tmp: F.dropout(leaf(3), 1.5, True),
     ValueError, r"dropout: .*1\.5"),
    ("softmax axis", lambda tmp: F.softmax(leaf(2, 3), axis=4),
     np.exceptions.AxisError, r"axis 4 is out of bounds"),
    # -- nn
    ("Linear input features", lambda tmp: nn.Linear(3, 2)(np.ones((5, 4))),
     ValueError, r"Linear\(3, 2\): input of shape \(5, 4\) does not end in 3 features"),
    ("Linear sizes", lambda tmp: nn.Linear(0, 3),
     ValueError, r"Linear: .*in_features.*0"),
    ("state_dict missing key", lambda tmp: nn.Linear(2, 3).load_state_dict({"W": np.ones((2, 3))}),
     KeyError, r"missing.*'b'"),
    ("state_dict shape", lambda tmp: nn.Linear(2, 3).load_state_dict(
        {"W": np.ones((3, 2)), "b": np.ones(3)}),
     ValueError, r"load_state_dict: shape mismatch for W: checkpoint \(3, 2\), model \(2, 3\)"),
    ("load missing file", lambda tmp: nn.Linear(2, 3).load(tmp / "nowhere.npz"),
     FileNotFoundError, r"nowhere\.npz"),
    ("BatchNorm1d features", lambda tmp: nn.BatchNorm1d(3)(np.ones((4, 5))),
     ValueError, r"BatchNorm1d\(3\).*\(4, 5\)"),
    # -- optim
    ("SGD momentum", lambda tmp: optim.SGD([leaf(2)], lr=0.1, momentum=1.5),
     ValueError, r"SGD: momentum must be in \[0, 1\), got 1.5"),
    ("optimizer params", lambda tmp: optim.Adam([np.ones(3)], lr=0.1),
     TypeError, r"Adam: parameter 0 is a ndarray, not a Tensor"),
    ("optimizer gradient shape", lambda tmp: optim.SGD(0.1).update(
        {"W": np.ones(3)}, {"W": np.ones(4)}),
     ValueError, r"SGD: gradient of shape \(4,\) for a parameter of shape \(3,\)"),
    # -- models
    ("TwoLayerNet activation", lambda tmp: TwoLayerNet(4, 3, 2, activation="swish"),
     ValueError, r"TwoLayerNet: unknown activation 'swish'"),
    ("TwoLayerNet params key", lambda tmp: TwoLayerNet(4, 3, 2).params.__setitem__(
        "W3", np.ones(2)),
     KeyError, r"params: the model has no parameter 'W3'"),
    ("TwoLayerNet params shape", lambda tmp: TwoLayerNet(4, 3, 2).params.__setitem__(
        "W1", np.ones((3, 3))),
     ValueError, r"params\['W1'\]: new array of shape \(3, 3\) for a parameter of shape \(4, 3\)"),
    # -- datasets
    ("IDX bad magic", lambda tmp: datasets.read_idx(write_bad_idx(tmp)),
     ValueError, r"bad-images-idx3-ubyte\.gz.*magic"),
    ("IDX truncated", lambda tmp: datasets.read_idx(write_truncated_idx(tmp)),
     ValueError, r"short-labels-idx1-ubyte.*(truncated|short)"),
    ("MNIST not found", lambda tmp: datasets.load_mnist(root=tmp, download=False),
     FileNotFoundError, r"train-images-idx3-ubyte"),
    ("minibatches lengths", lambda tmp: list(datasets.minibatches(np.ones((5, 2)),
                                                                   np.ones(4), 2)),
     ValueError, r"minibatches: .*5.*4"),
    # -- the checker
    ("gradcheck float32", lambda tmp: gradcheck(lambda x: x * 2, [mg.tensor(
        np.ones(2, np.float32), requires_grad=True)]),
     TypeError, r"gradcheck: input 0 has dtype float32; finite differences need float64"),
    ("numerical_gradient int", lambda tmp: numerical_gradient(lambda x: x.sum(), np.arange(3)),
     TypeError, r"numerical_gradient: x has dtype int64"),
    ("gradcheck nothing to check", lambda tmp: gradcheck(lambda x: x * 2, [mg.tensor([1.0])]),
     ValueError, r"gradcheck: no input requires grad"),
    # -- pictures
    ("render suffix", lambda tmp: mg.viz.render(leaf(2).sum(), tmp / "graph.jpg"),
     ValueError, r"\.jpg"),
]


@pytest.mark.parametrize("name, make, error, pattern", CASES, ids=[c[0] for c in CASES])
def test_bad_input_gets_a_clear_error(name, make, error, pattern, tmp_path):
    with pytest.raises(Exception) as info:
        make(tmp_path)
    raised = info.value
    assert isinstance(raised, error), f"{name}: got {type(raised).__name__}: {raised}"
    assert not isinstance(raised, AttributeError)
    assert re.search(pattern, str(raised), re.S), f"{name}: message was {raised}"


def test_enough_distinct_cases_across_the_package():
    assert len(CASES) >= 30
    assert len({c[0] for c in CASES}) == len(CASES)
    assert len({c[3] for c in CASES}) == len(CASES)
