"""minigrad.nn: Module registration, state dicts, atomic save/load, and the layers."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn as nn
from minigrad.testing import assert_gradcheck, assert_gradgradcheck, grad_arrays


class Block(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(3, 4, rng=0)
        self.act = nn.ReLU()
        self.scale = nn.Parameter(np.ones(4))
        self.note = "not registered"

    def forward(self, x):
        return self.act(self.fc(x)) * self.scale


class Net(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.block = Block()
        self.bn = nn.BatchNorm1d(4)
        self.head = nn.Linear(4, 2, rng=1)

    def forward(self, x):
        return self.head(self.bn(self.block(x)))


# ------------------------------------------------------------ Parameter and registration

def test_parameter_is_a_tensor_that_requires_grad_and_shares_memory() -> None:
    a = np.zeros(3)
    p = nn.Parameter(a)
    assert isinstance(p, mg.Tensor) and p.requires_grad
    a[0] = 5.0
    assert p.data[0] == 5.0
    assert "Parameter" in repr(p)
    with pytest.raises(TypeError):
        nn.Parameter(np.arange(3))             # integers cannot require grad


def test_named_parameters_have_dotted_names_in_registration_order() -> None:
    net = Net()
    names = [name for name, _ in net.named_parameters()]
    # a module's own parameters first, then its submodules' (as PyTorch orders them)
    assert names == ["block.scale", "block.fc.W", "block.fc.b", "bn.gamma", "bn.beta",
                     "head.W", "head.b"]
    assert len(net.parameters()) == 7
    assert [name for name, _ in net.named_buffers()] == ["bn.running_mean", "bn.running_var"]
    assert [type(m).__name__ for m in net.modules()] == [
        "Net", "Block", "Linear", "ReLU", "BatchNorm1d", "Linear"]
    assert net.block.note == "not registered"
    assert "note" not in dict(net.block.named_parameters())


def test_shared_parameters_are_listed_once() -> None:
    seq = nn.Sequential(nn.Linear(2, 2, rng=0))
    seq.append(seq[0])
    assert len(seq.parameters()) == 2
    assert len(seq) == 2


def test_reassigning_and_deleting_attributes_updates_the_registry() -> None:
    block = Block()
    block.scale = nn.Parameter(np.full(4, 2.0))
    assert block._parameters["scale"] is block.scale
    with pytest.raises(TypeError, match="cannot assign a Tensor to parameter 'scale'"):
        block.scale = block.scale * 2           # a graph tensor, not a Parameter
    del block.scale
    assert [n for n, _ in block.named_parameters()] == ["fc.W", "fc.b"]
    block.fc = None
    assert block.parameters() == []


def test_module_without_super_init_is_a_clear_error() -> None:
    class Bad(nn.Module):
        def __init__(self) -> None:
            self.w = nn.Parameter(np.zeros(1))

    with pytest.raises(RuntimeError, match="super"):
        Bad()


def test_zero_grad_train_eval_and_call() -> None:
    net = Net()
    out = net(np.random.default_rng(0).normal(size=(5, 3)))
    assert out.shape == (5, 2)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())
    assert net.eval() is net
    assert not any(m.training for m in net.modules())
    net.train()
    assert all(m.training for m in net.modules())


# ------------------------------------------------------------ state dicts

def test_state_dict_holds_copies_of_parameters_and_buffers() -> None:
    net = Net()
    state = net.state_dict()
    assert list(state) == [n for n, _ in net.named_parameters()] + [
        "bn.running_mean", "bn.running_var"]
    state["head.W"][...] = 0
    assert not np.all(net.head.W.data == 0)


def test_load_state_dict_copies_in_place_and_checks_keys_and_shapes() -> None:
    source, target = Net(), Net()
    source.head.W.data[...] = 7.0
    source.bn.running_mean[...] = 3.0
    W_before = target.head.W.data
    target.load_state_dict(source.state_dict())
    assert target.head.W.data is W_before              # same array: shared views stay shared
    np.testing.assert_array_equal(target.head.W.data, 7.0)
    np.testing.assert_array_equal(target.bn.running_mean, 3.0)

    state = source.state_dict()
    del state["block.scale"]
    state["extra.W"] = np.zeros(2)
    with pytest.raises(KeyError, match=r"missing keys \['block.scale'\].*unexpected keys "
                                       r"\['extra.W'\]"):
        target.load_state_dict(state)
    target.load_state_dict(state, strict=False)        # tolerated when not strict

    state = source.state_dict()
    state["head.W"] = np.zeros((3, 2))
    state["block.fc.W"] = np.ones((3, 4)) * 9
    with pytest.raises(ValueError, match=r"head.W: checkpoint \(3, 2\), model \(4, 2\)"):
        target.load_state_dict(state)
    assert not np.all(target.block.fc.W.data == 9)   # nothing was written


def test_save_load_round_trips_exactly(tmp_path: Path) -> None:
    net = Net()
    net(np.random.default_rng(0).normal(size=(6, 3)))   # moves the running statistics
    path = tmp_path / "model.npz"
    net.save(path)
    other = Net()
    other.head.W.data[...] = 0
    assert other.load(path) is other
    for (name, a), (_, b) in zip(net.state_dict().items(), other.state_dict().items(),
                                 strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)
        assert a.dtype == b.dtype
    x = np.random.default_rng(1).normal(size=(4, 3))
    net.eval()
    other.eval()
    np.testing.assert_array_equal(net(x).data, other(x).data)
    assert os.listdir(tmp_path) == ["model.npz"]


def test_crash_during_save_leaves_the_old_file_intact(tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    net = Net()
    path = tmp_path / "model.npz"
    net.save(path)
    old = path.read_bytes()

    def failing_writer(f, state):            # writes part of an archive, then fails
        np.savez(f, **dict(list(state.items())[:2]))
        raise OSError("disk full")

    monkeypatch.setattr(nn, "_write_npz", failing_writer)
    net.head.W.data[...] = 123.0
    with pytest.raises(OSError, match="disk full"):
        net.save(path)
    assert path.read_bytes() == old
    assert os.listdir(tmp_path) == ["model.npz"]       # no temporary file left behind

    monkeypatch.undo()
    net.save(path)                                    # a save that completes replaces it
    assert path.read_bytes() != old
    assert nn.Module.load(Net(), path).head.W.data[0, 0] == 123.0


def test_failing_state_leaves_the_old_file_intact(tmp_path: Path) -> None:
    class Weird(nn.Module):
        def state_dict(self):
            return {"ok": np.zeros(2), "bad": np.array([object()])}   # savez needs pickle

    path = tmp_path / "weird.npz"
    path.write_bytes(b"previous contents")
    with pytest.raises(ValueError, match="'bad' is not a numeric array"):
        Weird().save(path)
    assert path.read_bytes() == b"previous contents"
    assert os.listdir(tmp_path) == ["weird.npz"]


# ------------------------------------------------------------ layers

@pytest.mark.parametrize("init, std", [("std", 0.01), ("xavier", np.sqrt(1 / 400)),
                                        ("he", np.sqrt(2 / 400)), (0.3, 0.3)])
def test_linear_initialisation(init, std: float) -> None:
    layer = nn.Linear(400, 300, weight_init=init, rng=0)
    assert layer.W.shape == (400, 300) and layer.b.shape == (300,)
    assert layer.W.data.std() == pytest.approx(std, rel=0.02)
    assert np.all(layer.b.data == 0)
    assert layer.weight is layer.W and layer.bias is layer.b


def test_linear_forward_is_affine_and_checks_shapes() -> None:
    layer = nn.Linear(3, 2, rng=np.random.default_rng(5))
    layer.b.data[...] = [1.0, -1.0]
    x = np.random.default_rng(0).normal(size=(4, 3))
    np.testing.assert_allclose(layer(x).data, x @ layer.W.data + layer.b.data)
    with pytest.raises(ValueError, match=r"Linear\(3, 2\).*\(4, 5\)"):
        layer(np.zeros((4, 5)))
    with pytest.raises(ValueError, match="weight_init"):
        nn.Linear(3, 2, weight_init="glorot")
    assert nn.Linear(3, 2, bias=False).b is None
    np.testing.assert_array_equal(nn.Linear(3, 2, rng=7).W.data, nn.Linear(3, 2, rng=7).W.data)


def test_linear_default_rng_follows_numpy_seed_like_the_book() -> None:
    np.random.seed(42)
    a = nn.Linear(3, 2).W.data
    np.random.seed(42)
    np.testing.assert_array_equal(a, 0.01 * np.random.randn(3, 2))


def test_activation_modules_and_sequential() -> None:
    x = np.array([[-1.0, 0.5]])
    np.testing.assert_array_equal(nn.ReLU()(x).data, [[0.0, 0.5]])
    np.testing.assert_allclose(nn.Sigmoid()(x).data, 1 / (1 + np.exp(-x)))
    np.testing.assert_allclose(nn.Tanh()(x).data, np.tanh(x))
    seq = nn.Sequential(nn.Linear(2, 3, rng=0), nn.Tanh(), nn.Linear(3, 1, rng=1))
    expected = np.tanh(x @ seq[0].W.data) @ seq[2].W.data
    np.testing.assert_allclose(seq(x).data, expected)
    assert [type(m).__name__ for m in seq] == ["Linear", "Tanh", "Linear"]
    with pytest.raises(TypeError, match="Sequential"):
        seq.append(lambda v: v)


def test_dropout_module_follows_training_mode() -> None:
    drop = nn.Dropout(0.5, rng=0)
    x = np.ones((50, 40))
    y = drop(x).data
    assert set(np.unique(y)) == {0.0, 2.0}
    drop.eval()
    np.testing.assert_array_equal(drop(x).data, x)
    with pytest.raises(ValueError, match="Dropout"):
        nn.Dropout(-0.1)


# ------------------------------------------------------------ BatchNorm1d

def test_batchnorm_training_normalises_with_batch_statistics() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(3.0, 2.0, size=(64, 5))
    bn = nn.BatchNorm1d(5)
    bn.gamma.data[...] = 2.0
    bn.beta.data[...] = 0.5
    y = bn(x).data
    np.testing.assert_allclose(y.mean(axis=0), 0.5, atol=1e-12)
    np.testing.assert_allclose(y.std(axis=0), 2.0 * np.sqrt(x.var(axis=0)
                                                            / (x.var(axis=0) + 1e-5)))


def test_batchnorm_running_statistics_follow_pytorch_momentum() -> None:
    rng = np.random.default_rng(1)
    bn = nn.BatchNorm1d(3, momentum=0.2)
    mean, var = np.zeros(3), np.ones(3)
    for _ in range(3):
        x = rng.normal(1.0, 3.0, size=(10, 3))
        bn(x)
        mean = 0.8 * mean + 0.2 * x.mean(axis=0)
        var = 0.8 * var + 0.2 * x.var(axis=0, ddof=1)       # unbiased, as PyTorch
    np.testing.assert_allclose(bn.running_mean, mean)
    np.testing.assert_allclose(bn.running_var, var)


def test_batchnorm_eval_uses_running_statistics_and_leaves_them_alone() -> None:
    bn = nn.BatchNorm1d(2)
    bn.running_mean[...] = [1.0, -1.0]
    bn.running_var[...] = [4.0, 0.25]
    bn.eval()
    x = np.array([[3.0, 0.0], [1.0, -1.0], [5.0, 2.0]])
    expected = (x - [1.0, -1.0]) / np.sqrt(np.array([4.0, 0.25]) + 1e-5)
    np.testing.assert_allclose(bn(x).data, expected)
    np.testing.assert_allclose(bn(x[:1]).data, expected[:1])     # one sample is fine in eval
    np.testing.assert_array_equal(bn.running_mean, [1.0, -1.0])
    bn.train()
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2\).*more than one sample"):
        bn(x[:1])
    with pytest.raises(ValueError, match=r"BatchNorm1d\(2\).*\(3, 3\)"):
        bn(np.zeros((3, 3)))


def _bn_train(v: mg.Tensor, g: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
    """BatchNorm1d in training mode, with gamma and beta given as graph inputs."""
    bn = nn.BatchNorm1d(v.shape[1])
    object.__setattr__(bn, "gamma", g)
    object.__setattr__(bn, "beta", b)
    return bn(v)


@settings(deadline=None, max_examples=15)
@given(x=grad_arrays(st.sampled_from([(3, 2), (4, 3)]), min_value=-2, max_value=2),
       seed=st.integers(0, 50))
def test_batchnorm_gradients_in_training_mode(x: np.ndarray, seed: int) -> None:
    rng = np.random.default_rng(seed)
    if np.min(x.var(axis=0)) < 0.05:          # nearly constant columns are ill-conditioned
        x = x + rng.normal(size=x.shape)
    gamma = rng.uniform(0.5, 1.5, size=x.shape[1])
    beta = rng.normal(size=x.shape[1])
    assert_gradcheck(_bn_train, x, gamma, beta)
    assert_gradgradcheck(_bn_train, x, gamma, beta)


def test_to_converts_parameters_and_buffers_and_keeps_the_books_params_dict_shared():
    from minigrad.models import TwoLayerNet

    net = TwoLayerNet(4, 3, 2, rng=0)
    assert net.to(np.float32) is net
    assert all(p.dtype == np.float32 for p in net.parameters())
    assert net.params["W1"] is net.W1.data and net.params["W1"].dtype == np.float32
    x = np.ones((5, 4), np.float32)
    assert net.loss(x, np.array([0, 1, 0, 1, 1])).dtype == np.float32
    bn = nn.BatchNorm1d(3).to(np.float32)
    assert bn.running_mean.dtype == np.float32
    with pytest.raises(TypeError, match="floating-point dtype"):
        nn.Linear(2, 2).to(np.int64)
