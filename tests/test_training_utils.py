"""nn.utils.clip_grad_norm_, optim.lr_scheduler and F.perplexity, against PyTorch if installed."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad import functional as F
from minigrad import nn, optim
from minigrad.nn.utils import clip_grad_norm_
from minigrad.optim import lr_scheduler


def parameters_with_grads(seed: int, shapes: list[tuple[int, ...]], scale: float
                          ) -> list[nn.Parameter]:
    rng = np.random.default_rng(seed)
    params = [nn.Parameter(rng.standard_normal(s)) for s in shapes]
    for p in params:
        p.grad = mg.Tensor(scale * rng.standard_normal(p.shape))
    return params


shapes = st.lists(st.tuples(st.integers(1, 4), st.integers(1, 3)), min_size=1, max_size=3)


@given(shapes, st.integers(0, 2**16), st.sampled_from([0.01, 1.0, 100.0]),
       st.sampled_from([1.0, 2.0, 3.0, math.inf]), st.sampled_from([0.5, 1.0, 10.0]))
def test_clip_grad_norm_matches_torch(shapes: list[tuple[int, ...]], seed: int, scale: float,
                                      norm_type: float, max_norm: float) -> None:
    torch = pytest.importorskip("torch")
    params = parameters_with_grads(seed, shapes, scale)
    theirs = [torch.tensor(p.data, requires_grad=True) for p in params]
    for t, p in zip(theirs, params):
        t.grad = torch.tensor(p.grad.data)
    total = clip_grad_norm_(params, max_norm, norm_type)
    expected = torch.nn.utils.clip_grad_norm_(theirs, max_norm, norm_type)
    np.testing.assert_allclose(total.data, expected.numpy(), rtol=1e-12)
    for t, p in zip(theirs, params):
        np.testing.assert_allclose(p.grad.data, t.grad.numpy(), rtol=1e-12, atol=1e-300)


def test_clip_grad_norm_scales_below_the_bound_and_leaves_small_gradients_alone() -> None:
    params = parameters_with_grads(0, [(3, 2), (4,)], 100.0)
    before = [p.grad.data.copy() for p in params]
    total = nn.utils.clip_grad_norm_(params, max_norm=1.0)
    flat = np.concatenate([b.ravel() for b in before])
    assert total.item() == pytest.approx(np.linalg.norm(flat), rel=1e-12)
    after = np.concatenate([p.grad.data.ravel() for p in params])
    assert np.linalg.norm(after) == pytest.approx(1.0, rel=1e-5)
    np.testing.assert_allclose(after, flat / np.linalg.norm(flat), rtol=1e-5)
    small = parameters_with_grads(1, [(2,)], 1e-3)
    kept = small[0].grad.data.copy()
    nn.utils.clip_grad_norm_(small[0], max_norm=1.0)           # a single tensor, as torch takes
    np.testing.assert_array_equal(small[0].grad.data, kept)
    no_grad = nn.Parameter(np.ones(2))
    assert nn.utils.clip_grad_norm_([no_grad], 1.0).item() == 0.0 and no_grad.grad is None


def test_clip_grad_norm_with_a_nonfinite_norm_raises_if_asked() -> None:
    params = parameters_with_grads(0, [(2,)], 1.0)
    params[0].grad.data[0] = np.inf
    with pytest.raises(RuntimeError, match="clip_grad_norm_: the total norm .* inf"):
        clip_grad_norm_(params, 1.0, error_if_nonfinite=True)


def test_clip_grad_norm_is_seen_by_a_pending_backward() -> None:
    """Clipping writes into the gradient arrays: a graph that saved one notices."""
    w = mg.tensor([1.0, 2.0], requires_grad=True)
    (w * w).sum().backward()
    assert w.grad is not None
    y = mg.tensor([3.0, 4.0], requires_grad=True) * w.grad       # saves the gradient array
    clip_grad_norm_([w], 0.1)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


SCHEDULES = {
    "StepLR": (lambda o, m: m.StepLR(o, step_size=3, gamma=0.5)),
    "ExponentialLR": (lambda o, m: m.ExponentialLR(o, gamma=0.9)),
    "CosineAnnealingLR": (lambda o, m: m.CosineAnnealingLR(o, T_max=7, eta_min=0.001)),
    "LambdaLR": (lambda o, m: m.LambdaLR(o, lambda epoch: 1.0 / (1 + epoch))),
}


@pytest.mark.parametrize("name", sorted(SCHEDULES))
def test_lr_schedulers_give_torchs_rates(name: str) -> None:
    torch = pytest.importorskip("torch")
    ours_opt = optim.SGD([nn.Parameter(np.zeros(1))], lr=0.1)
    w = torch.zeros(1, requires_grad=True)
    theirs_opt = torch.optim.SGD([w], lr=0.1)
    ours = SCHEDULES[name](ours_opt, lr_scheduler)
    theirs = SCHEDULES[name](theirs_opt, torch.optim.lr_scheduler)
    rates, expected = [], []
    for _ in range(12):                       # past T_max: the cosine comes back up
        rates.append(ours_opt.lr)
        expected.append(theirs_opt.param_groups[0]["lr"])
        assert ours.get_last_lr() == [ours_opt.lr]
        ours_opt.step()
        theirs_opt.step()
        ours.step()
        theirs.step()
    np.testing.assert_allclose(rates, expected, rtol=1e-12)


def test_lr_scheduler_sets_the_rate_the_optimizer_uses_and_resumes() -> None:
    p = nn.Parameter(np.array([1.0]))
    opt = optim.SGD([p], lr=1.0)
    schedule = lr_scheduler.StepLR(opt, step_size=2, gamma=0.1)
    steps = []
    for _ in range(4):
        p.grad = mg.Tensor(np.array([1.0]))
        before = p.data.copy()
        opt.step()
        steps.append(float(before[0] - p.data[0]))
        schedule.step()
    np.testing.assert_allclose(steps, [1.0, 1.0, 0.1, 0.1])
    state = schedule.state_dict()
    other_opt = optim.SGD([nn.Parameter(np.array([0.0]))], lr=1.0)
    other = lr_scheduler.StepLR(other_opt, step_size=2, gamma=0.1)
    other.load_state_dict(state)
    other.step()
    schedule.step()
    assert other_opt.lr == pytest.approx(opt.lr) and other.last_epoch == schedule.last_epoch
    with pytest.raises(TypeError, match="StepLR: expected a minigrad optimizer"):
        lr_scheduler.StepLR(object(), 2)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="step_size must be at least 1"):
        lr_scheduler.StepLR(opt, 0)
    with pytest.raises(TypeError, match="LambdaLR: lr_lambda must be a function"):
        lr_scheduler.LambdaLR(opt, 0.5)  # type: ignore[arg-type]


def test_perplexity_is_exp_of_the_mean_cross_entropy() -> None:
    rng = np.random.default_rng(0)
    logits = rng.standard_normal((2, 5, 7))
    target = rng.integers(0, 7, (2, 5))
    log_p = logits - np.log(np.exp(logits).sum(-1, keepdims=True))
    mean_nll = -np.take_along_axis(log_p, target[..., None], -1).mean()
    assert F.perplexity(logits, target) == pytest.approx(np.exp(mean_nll), rel=1e-12)
    assert F.perplexity(np.zeros((3, 10)), np.arange(3)) == pytest.approx(10.0)   # uniform
    w = mg.tensor(logits, requires_grad=True)
    assert isinstance(F.perplexity(w, target), float)
