"""nn.Embedding, nn.LayerNorm and F.scaled_dot_product_attention: finite differences (first and
second order) over drawn shapes, and PyTorch's outputs and gradients within 1e-10 in float64."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad import nn
from minigrad.gradcheck import gradcheck, gradgradcheck


def leaf(rng: np.random.Generator, *shape: int) -> mg.Tensor:
    return mg.tensor(rng.standard_normal(shape), requires_grad=True)


@given(st.integers(0, 2**16), st.integers(1, 3), st.integers(1, 4), st.integers(1, 4),
       st.booleans())
def test_attention_gradients_first_and_second_order(seed: int, batch: int, L: int, S: int,
                                                    causal: bool) -> None:
    rng = np.random.default_rng(seed)
    q, k, v = leaf(rng, batch, L, 3), leaf(rng, batch, S, 3), leaf(rng, batch, S, 2)
    causal = causal and L <= S            # every query keeps at least one key

    def attend(q: mg.Tensor, k: mg.Tensor, v: mg.Tensor) -> mg.Tensor:
        return F.scaled_dot_product_attention(q, k, v, is_causal=causal)

    assert gradcheck(attend, (q, k, v), seed=seed)
    assert gradgradcheck(attend, (q, k, v), seed=seed)


@given(st.integers(0, 2**16), st.sampled_from([(4,), (2, 3)]), st.integers(1, 3))
def test_layer_norm_gradients_first_and_second_order(seed: int, shape: tuple[int, ...],
                                                     rows: int) -> None:
    rng = np.random.default_rng(seed)
    x = leaf(rng, rows, *shape)
    w, b = leaf(rng, *shape), leaf(rng, *shape)

    def norm(x: mg.Tensor, w: mg.Tensor, b: mg.Tensor) -> mg.Tensor:
        return F.layer_norm(x, shape, w, b)

    assert gradcheck(norm, (x, w, b), seed=seed)
    assert gradgradcheck(norm, (x, w, b), seed=seed)


def test_embedding_adds_the_gradients_of_repeated_indices_and_names_a_bad_index() -> None:
    table = nn.Embedding(5, 3, rng=0)
    assert table.weight.shape == (5, 3) and [n for n, _ in table.named_parameters()] == ["weight"]
    indices = np.array([[1, 3, 1], [0, 1, 4]])
    out = table(indices)
    assert out.shape == (2, 3, 3)
    np.testing.assert_array_equal(out.data, table.weight.data[indices])
    g = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(g)
    expected = np.zeros((5, 3))
    np.add.at(expected, indices, g)
    np.testing.assert_allclose(table.weight.grad.data, expected, rtol=1e-15)
    assert expected[1].any() and not expected[2].any()
    with pytest.raises(IndexError, match=r"embedding: index 5 is out of range for 5 embeddings"):
        table(np.array([0, 5]))
    with pytest.raises(IndexError, match=r"embedding: index -1 is out of range"):
        table(np.array([-1]))
    with pytest.raises(TypeError, match="embedding: indices must be integers"):
        table(np.array([0.0, 1.0]))


def test_shapes_that_do_not_fit_are_named() -> None:
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError, match=r"attention: query \(2, 3\), key \(4, 2\)"):
        F.scaled_dot_product_attention(rng.random((2, 3)), rng.random((4, 2)), rng.random((4, 2)))
    with pytest.raises(ValueError, match=r"layer_norm: input of shape \(2, 3\) does not end in "
                                         r"normalized_shape \(4,\)"):
        nn.LayerNorm(4)(rng.random((2, 3)))


# ------------------------------------------------------------ against PyTorch


@pytest.mark.parametrize("mask", ["none", "causal", "bool", "float"])
def test_attention_matches_torch(mask: str) -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    arrays = [rng.standard_normal(s) for s in ((2, 3, 4, 5), (2, 3, 6, 5), (2, 3, 6, 7))]
    attn_mask = None
    if mask == "bool":
        attn_mask = rng.random((4, 6)) > 0.3
        attn_mask[:, 0] = True
    elif mask == "float":
        attn_mask = rng.standard_normal((4, 6))
    ours = [mg.tensor(a, requires_grad=True) for a in arrays]
    theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
    their_mask = None if attn_mask is None else torch.tensor(attn_mask)
    out = F.scaled_dot_product_attention(*ours, attn_mask=attn_mask, is_causal=mask == "causal")
    expected = torch.nn.functional.scaled_dot_product_attention(
        *theirs, attn_mask=their_mask, is_causal=mask == "causal")
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_layer_norm_and_embedding_match_torch() -> None:
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    ours, theirs = nn.LayerNorm((3, 4)), torch.nn.LayerNorm((3, 4), dtype=torch.float64)
    weight, bias = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    ours.weight.data, ours.bias.data = weight.copy(), bias.copy()
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(weight))
        theirs.bias.copy_(torch.tensor(bias))
    x = rng.standard_normal((2, 3, 4))
    xt, xm = torch.tensor(x, requires_grad=True), mg.tensor(x, requires_grad=True)
    g = rng.standard_normal((2, 3, 4))
    out, expected = ours(xm), theirs(xt)
    np.testing.assert_allclose(out.data, expected.detach().numpy(), rtol=1e-10, atol=1e-12)
    out.backward(g)
    expected.backward(torch.tensor(g))
    for a, b in ((xm, xt), (ours.weight, theirs.weight), (ours.bias, theirs.bias)):
        np.testing.assert_allclose(a.grad.data, b.grad.numpy(), rtol=1e-10, atol=1e-12)

    table, their_table = nn.Embedding(6, 3), torch.nn.Embedding(6, 3, dtype=torch.float64)
    with torch.no_grad():
        their_table.weight.copy_(torch.tensor(table.weight.data))
    indices = np.array([[0, 5, 5], [2, 0, 5]])
    out, expected = table(indices), their_table(torch.tensor(indices))
    np.testing.assert_array_equal(out.data, expected.detach().numpy())
    g = rng.standard_normal(out.shape)
    out.backward(g)
    expected.backward(torch.tensor(g))
    np.testing.assert_allclose(table.weight.grad.data, their_table.weight.grad.numpy(),
                               rtol=1e-12)
