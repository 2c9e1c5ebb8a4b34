"""Weights move both ways between minigrad and PyTorch: the same outputs within 1e-10 in
float64 after either direction, and a mismatch names the key and both shapes."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def image_models(torch: Any) -> tuple[Any, Any]:
    ours = nn.Sequential(nn.Conv2d(1, 2, 3, padding=1, rng=0), nn.Flatten(),
                         nn.Linear(2 * 4 * 4, 5, rng=1), nn.BatchNorm1d(5), nn.Tanh(),
                         nn.LayerNorm(5))
    T = torch.nn
    theirs = T.Sequential(T.Conv2d(1, 2, 3, padding=1), T.Flatten(), T.Linear(32, 5),
                          T.BatchNorm1d(5), T.Tanh(), T.LayerNorm(5)).double()
    return ours, theirs


class Sequence(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.embed, self.lstm = nn.Embedding(6, 3, rng=0), nn.LSTM(3, 4, num_layers=2, rng=1)
        self.gru, self.rnn = nn.GRU(4, 3, rng=2), nn.RNN(3, 2, bias=False, rng=3)

    def forward(self, ids: Any) -> Any:
        x, _ = self.lstm(self.embed(ids))
        x, _ = self.gru(x)
        return self.rnn(x)[0]


def sequence_models(torch: Any) -> tuple[Any, Any]:
    class TheirSequence(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            T = torch.nn
            self.embed, self.lstm = T.Embedding(6, 3), T.LSTM(3, 4, num_layers=2)
            self.gru, self.rnn = T.GRU(4, 3), T.RNN(3, 2, bias=False)

        def forward(self, ids: Any) -> Any:
            x, _ = self.lstm(self.embed(ids))
            x, _ = self.gru(x)
            return self.rnn(x)[0]

    return Sequence(), TheirSequence().double()


def inputs(kind: str) -> np.ndarray:
    rng = np.random.default_rng(7)
    return rng.standard_normal((3, 1, 4, 4)) if kind == "image" else rng.integers(0, 6, (5, 2))


@pytest.mark.parametrize("kind", ["image", "sequence"])
def test_a_torch_state_dict_loads_and_gives_torchs_outputs(kind: str) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = (image_models if kind == "image" else sequence_models)(torch)
    x = inputs(kind)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.randn_like(p))
        if kind == "image":
            theirs(torch.tensor(np.random.default_rng(1).standard_normal((8, 1, 4, 4))))
    theirs.eval()
    ours.eval()
    ours.load_torch_state_dict(theirs.state_dict())
    expected = theirs(torch.tensor(x)).detach().numpy()
    np.testing.assert_allclose(ours(x).data, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("kind", ["image", "sequence"])
def test_a_minigrad_model_writes_a_state_dict_torch_accepts(kind: str) -> None:
    torch = pytest.importorskip("torch")
    ours, theirs = (image_models if kind == "image" else sequence_models)(torch)
    rng = np.random.default_rng(3)
    for p in ours.parameters():
        p.data[...] = rng.standard_normal(p.shape)
    if kind == "image":
        ours[3].running_mean[...] = rng.standard_normal(5)
        ours[3].running_var[...] = rng.random(5) + 0.5
    state = ours.torch_state_dict()
    if kind == "image":
        assert state["2.weight"].shape == (5, 32) and ours[2].W.shape == (32, 5)
    theirs.load_state_dict({k: torch.tensor(v) for k, v in state.items()})   # strict
    ours.eval()
    theirs.eval()
    x = inputs(kind)
    np.testing.assert_allclose(ours(x).data, theirs(torch.tensor(x)).detach().numpy(),
                               rtol=1e-10, atol=1e-12)
    again = (image_models if kind == "image" else sequence_models)(torch)[0]
    again.load_torch_state_dict(state)                       # numpy arrays load too
    again.eval()
    np.testing.assert_array_equal(again(x).data, ours(x).data)


def test_mismatches_name_the_key_and_both_shapes_and_write_nothing() -> None:
    model = nn.Sequential(nn.Linear(3, 2), nn.BatchNorm1d(2))
    state = model.torch_state_dict()
    before = model.state_dict()
    bad = dict(state, **{"0.weight": np.zeros((3, 2)), "0.bias": np.ones(2)})
    with pytest.raises(ValueError, match=r"0\.weight: checkpoint \(3, 2\), model \(2, 3\) "
                                         r"\(minigrad's 0\.W is \(3, 2\), transposed\)"):
        model.load_torch_state_dict(bad)
    for key, value in model.state_dict().items():
        np.testing.assert_array_equal(value, before[key])
    with pytest.raises(KeyError, match=r"missing keys \['1\.running_var'\] and unexpected keys "
                                       r"\['2\.weight'\]"):
        model.load_torch_state_dict({**{k: v for k, v in state.items() if k != "1.running_var"},
                                     "2.weight": np.zeros(2)})
    model.load_torch_state_dict({**state, "1.num_batches_tracked": np.array(3)})
    model.load_torch_state_dict({"0.bias": np.full(2, 2.0)}, strict=False)
    np.testing.assert_array_equal(model[0].b.data, [2.0, 2.0])
    assert isinstance(model[0].W, mg.Tensor)
