"""vjp, jvp, jacobian, hessian, hvp: against finite differences always, against
torch.autograd.functional on random programs when PyTorch is installed."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import transforms
from minigrad.testing import programs

# ------------------------------------------------------------ helpers

EPS = 1e-6


def numeric_jacobian(fn, xs):
    """Blocks [i][j] (output i, input j) of the Jacobian by central differences."""
    xs = [np.array(x, dtype=np.float64) for x in xs]

    def values(args):
        with mg.no_grad():
            out = fn(*[mg.Tensor(a) for a in args])
        outs = out if isinstance(out, tuple) else (out,)
        return [np.array(o.data, dtype=np.float64) for o in outs]

    shapes = [o.shape for o in values(xs)]
    blocks = [[np.zeros(s + x.shape) for x in xs] for s in shapes]
    for j, x in enumerate(xs):
        for index in np.ndindex(x.shape):
            plus, minus = [a.copy() for a in xs], [a.copy() for a in xs]
            plus[j][index] += EPS
            minus[j][index] -= EPS
            for i, (p, m) in enumerate(zip(values(plus), values(minus))):
                blocks[i][j][(...,) + index] = (p - m) / (2 * EPS)
    return blocks


def scalarized(program, weights):
    """A scalar function of the program's inputs: a fixed weighted sum of its outputs."""
    def loss(*xs):
        out = program(*xs)
        outs = out if isinstance(out, tuple) else (out,)
        total = None
        for o, w in zip(outs, weights):
            term = (o * w).sum()
            total = term if total is None else total + term
        return total
    return loss


def output_shapes(program, arrays):
    out = program(*[mg.Tensor(a) for a in arrays])
    return [o.shape for o in (out if isinstance(out, tuple) else (out,))]


def flat_blocks(result, in_tuple, out_tuple):
    """The nested result of jacobian as a list of lists of arrays."""
    rows = result if out_tuple else (result,)
    return [[b.data for b in (row if in_tuple else (row,))] for row in rows]


close = {"rtol": 1e-4, "atol": 1e-6}


# ------------------------------------------------------------ against finite differences

@given(programs(max_steps=5), st.sampled_from(["reverse-mode", "forward-mode", "auto"]))
@settings(deadline=None)
def test_jacobian_matches_finite_differences(program_and_inputs, strategy):
    program, arrays = program_and_inputs
    J = mg.jacobian(program, tuple(arrays), strategy=strategy)
    expected = numeric_jacobian(program, arrays)
    out_tuple = len(program.outputs) > 1
    got = flat_blocks(J, True, out_tuple)
    for row, expected_row in zip(got, expected):
        for block, want in zip(row, expected_row):
            np.testing.assert_allclose(block, want, **close)


@given(programs(max_steps=5), st.data())
@settings(deadline=None)
def test_hessian_hvp_vjp_jvp_match_finite_differences(program_and_inputs, data):
    program, arrays = program_and_inputs
    shapes = output_shapes(program, arrays)
    rng = np.random.default_rng(data.draw(st.integers(0, 2 ** 16)))
    weights = [rng.standard_normal(s) for s in shapes]
    loss = scalarized(program, weights)
    xs = tuple(arrays)

    def gradient(*a):
        a = [x.requires_grad_() for x in a]
        with mg.enable_grad():
            gs = mg.grad(loss(*a), a, allow_unused=True)
        return tuple(mg.Tensor(np.zeros(x.shape)) if g is None else g for g, x in zip(gs, a))

    H = mg.hessian(loss, xs)
    H_fd = numeric_jacobian(gradient, arrays)
    for i in range(len(xs)):
        for j in range(len(xs)):
            assert H[i][j].shape == xs[i].shape + xs[j].shape
            np.testing.assert_allclose(H[i][j].data, H_fd[i][j], rtol=1e-4, atol=1e-5)

    v = tuple(rng.standard_normal(x.shape) for x in xs)
    value, Hv = mg.hvp(loss, xs, v)
    np.testing.assert_allclose(value.data, loss(*[mg.Tensor(x) for x in xs]).data)
    for i, hv in enumerate(Hv):
        want = sum(np.tensordot(H_fd[i][j], v[j], axes=v[j].ndim) for j in range(len(xs)))
        np.testing.assert_allclose(hv.data, want, rtol=1e-4, atol=1e-5)

    J_fd = numeric_jacobian(program, arrays)
    out, vjp_fn = mg.vjp(program, *xs)
    cot = [rng.standard_normal(s) for s in shapes]
    grads = vjp_fn(tuple(cot) if len(shapes) > 1 else cot[0])
    assert isinstance(grads, tuple) and len(grads) == len(xs)
    for j, g in enumerate(grads):
        want = sum(np.tensordot(c, J_fd[i][j], axes=c.ndim) for i, c in enumerate(cot))
        np.testing.assert_allclose(g.data, want, **close)

    tangents = tuple(rng.standard_normal(x.shape) for x in xs)
    out, Ju = mg.jvp(program, xs, tangents)
    Ju = Ju if isinstance(Ju, tuple) else (Ju,)
    for i, ju in enumerate(Ju):
        want = sum(np.tensordot(J_fd[i][j], tangents[j], axes=tangents[j].ndim)
                   for j in range(len(xs)))
        np.testing.assert_allclose(ju.data, want, **close)


# ------------------------------------------------------------ against PyTorch

def torch_program(torch, program):
    """The same program, step by step, in PyTorch (an independent transcription)."""
    unary = {
        "neg": lambda a: -a,
        "square_ratio": lambda a: a ** 2 / (1 + a ** 2),
        "sin": torch.sin, "cos": torch.cos, "tanh": torch.tanh, "sigmoid": torch.sigmoid,
        "exp_tanh": lambda a: torch.exp(torch.tanh(a)),
        "log1p_square": lambda a: torch.log(1 + a * a),
        "sqrt1p_square": lambda a: torch.sqrt(1 + a * a),
        "scale": lambda a: 0.5 * a - 0.25,
    }
    binary = {
        "add": lambda a, b: a + b,
        "sub": lambda a, b: a - b,
        "mul": lambda a, b: a * torch.tanh(b),
        "div": lambda a, b: a / (1 + b * b),
        "pow": lambda a, b: (1 + torch.tanh(a) ** 2) ** torch.tanh(b),
        "maximum": lambda a, b: torch.maximum(torch.tanh(a), torch.tanh(b) + 3),
        "minimum": lambda a, b: torch.minimum(torch.tanh(a), torch.tanh(b) - 3),
    }

    def step(name, args, params):
        a = args[0]
        if name in unary:
            return unary[name](a)
        if name in binary:
            return binary[name](a, args[1])
        if name == "sum":
            return a.sum(dim=params["axis"], keepdim=True)
        if name == "mean":
            return a.mean(dim=params["axis"], keepdim=True)
        if name == "broadcast":
            return torch.broadcast_to(a, params["shape"])
        if name == "reverse":
            return torch.flip(a, [-1])
        if name == "gather":
            return a[..., torch.as_tensor(params["index"])]
        if name == "where":
            return torch.where(torch.as_tensor(params["mask"]), a, args[1])
        if name == "reshape":
            return a.reshape(-1).reshape(params["shape"])
        if name == "transpose":
            return a.permute(tuple(params["axes"])).permute(tuple(params["inverse"]))
        if name == "matmul":
            return a @ args[1].transpose(-1, -2) @ args[2]
        if name == "stack_sum":
            return torch.stack([a, args[1]], dim=0).sum(dim=0)
        raise ValueError(name)

    def run(*inputs):
        values = list(inputs)
        for name, operands, params in program.steps:
            values.append(step(name, [values[i] for i in operands], params))
        out = [values[i] for i in program.outputs]
        return out[0] if len(out) == 1 else tuple(out)
    return run


def same_nesting(ours, theirs, rtol=1e-7, atol=1e-10):
    """Equal values, and the same nesting of tuples, as PyTorch's result."""
    if isinstance(theirs, tuple):
        assert isinstance(ours, tuple) and len(ours) == len(theirs), (ours, theirs)
        for a, b in zip(ours, theirs):
            same_nesting(a, b, rtol, atol)
        return
    assert isinstance(ours, mg.Tensor), type(ours)
    assert ours.shape == tuple(theirs.shape)
    np.testing.assert_allclose(ours.data, theirs.detach().numpy(), rtol=rtol, atol=atol)


def as_inputs(arrays, single):
    return arrays[0] if single else tuple(arrays)


@given(programs(max_steps=5), st.booleans(), st.integers(0, 2 ** 16))
@settings(deadline=None)
def test_against_torch_autograd_functional(program_and_inputs, single, seed):
    torch = pytest.importorskip("torch")
    functional = torch.autograd.functional
    program, arrays = program_and_inputs
    single = single and len(arrays) == 1          # the un-tupled form: one input
    tp = torch_program(torch, program)
    ours_in = as_inputs(arrays, single)
    theirs_in = as_inputs([torch.tensor(a) for a in arrays], single)
    rng = np.random.default_rng(seed)

    same_nesting(program(*[mg.Tensor(a) for a in arrays]), tp(*[torch.tensor(a) for a in arrays]))

    expected = functional.jacobian(tp, theirs_in)
    for strategy in ("reverse-mode", "forward-mode"):
        same_nesting(mg.jacobian(program, ours_in, strategy=strategy), expected)

    shapes = output_shapes(program, arrays)
    weights = [rng.standard_normal(s) for s in shapes]
    loss = scalarized(program, weights)
    tweights = [torch.tensor(w) for w in weights]
    tloss = scalarized(tp, tweights)
    same_nesting(mg.hessian(loss, ours_in), functional.hessian(tloss, theirs_in))

    v = [rng.standard_normal(a.shape) for a in arrays]
    same_nesting(mg.hvp(loss, ours_in, as_inputs(v, single)),
                 functional.hvp(tloss, theirs_in, as_inputs([torch.tensor(a) for a in v],
                                                            single)))
    same_nesting(mg.jvp(program, ours_in, as_inputs(v, single)),
                 functional.jvp(tp, theirs_in, as_inputs([torch.tensor(a) for a in v], single)))

    cot = [rng.standard_normal(s) for s in shapes]
    cot_ours = cot[0] if len(cot) == 1 else tuple(cot)
    cot_theirs = torch.tensor(cot[0]) if len(cot) == 1 else tuple(torch.tensor(c) for c in cot)
    out, vjp_fn = mg.vjp(program, *arrays)
    t_out, t_vjp = functional.vjp(tp, tuple(torch.tensor(a) for a in arrays), cot_theirs)
    same_nesting(out, t_out)
    same_nesting(vjp_fn(cot_ours), t_vjp)       # vjp_fn always gives a tuple, as torch.func's


def test_create_graph_against_torch():
    torch = pytest.importorskip("torch")
    x = np.array([0.3, -0.7, 1.1])

    def ours(x):
        return (mg.sin(x) * x ** 2).sum()

    def theirs(x):
        return (torch.sin(x) * x ** 2).sum()

    w = mg.tensor(x, requires_grad=True)
    tw = torch.tensor(x, requires_grad=True)
    H = mg.hessian(ours, w, create_graph=True)
    tH = torch.autograd.functional.hessian(theirs, tw, create_graph=True)
    (g,) = mg.grad((H * H).sum(), w)                 # third derivatives
    (tg,) = torch.autograd.grad((tH * tH).sum(), tw)
    np.testing.assert_allclose(g.data, tg.numpy(), rtol=1e-10)


# ------------------------------------------------------------ conventions and edge cases

def cube_sum(x):
    return (x ** 3).sum()


def test_nesting_of_jacobian_and_hessian():
    x, y = np.arange(1.0, 4.0), np.arange(1.0, 3.0)
    assert mg.jacobian(lambda a: a * 2, x).shape == (3, 3)
    J = mg.jacobian(lambda a, b: a.sum() * b, (x, y))
    assert isinstance(J, tuple) and [j.shape for j in J] == [(2, 3), (2, 2)]
    J = mg.jacobian(lambda a: (a * 2, a.sum()), x)
    assert isinstance(J, tuple) and [j.shape for j in J] == [(3, 3), (3,)]
    J = mg.jacobian(lambda a, b: (a * 2, b.sum()), (x, y))
    assert [[b.shape for b in row] for row in J] == [[(3, 3), (3, 2)], [(3,), (2,)]]
    np.testing.assert_array_equal(J[0][1].data, 0)
    np.testing.assert_array_equal(J[1][1].data, 1)
    J = mg.jacobian(lambda a: a * 2, (x,))                # a one-tuple stays a tuple
    assert isinstance(J, tuple) and J[0].shape == (3, 3)
    H = mg.hessian(lambda a, b: (a ** 2).sum() * b.sum(), (x, y))
    assert [[b.shape for b in row] for row in H] == [[(3, 3), (3, 2)], [(2, 3), (2, 2)]]
    np.testing.assert_allclose(H[0][1].data, np.repeat(2 * x[:, None], 2, axis=1))
    np.testing.assert_allclose(H[1][1].data, 0)


def test_exact_values_on_a_known_function():
    x = np.array([0.5, -1.0, 2.0])
    np.testing.assert_allclose(mg.hessian(cube_sum, x).data, np.diag(6 * x))
    np.testing.assert_allclose(mg.jacobian(lambda a: a ** 3, x).data, np.diag(3 * x ** 2))
    value, hv = mg.hvp(cube_sum, x, np.ones(3))
    np.testing.assert_allclose(hv.data, 6 * x)
    assert value.item() == pytest.approx((x ** 3).sum())
    out, ju = mg.jvp(lambda a: a ** 3, x, np.array([1.0, 0.0, 2.0]))
    np.testing.assert_allclose(ju.data, 3 * x ** 2 * [1, 0, 2])


def test_inputs_untouched_and_no_grad_accumulated():
    w = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    before = w.data.copy()
    mg.hessian(cube_sum, w)
    mg.jacobian(lambda a: a ** 3, w)
    mg.hvp(cube_sum, w, np.ones(3))
    mg.jvp(lambda a: a ** 3, w, np.ones(3))
    mg.vjp(lambda a: a ** 3, w)[1](np.ones(3))
    assert w.grad is None
    np.testing.assert_array_equal(w.data, before)


def test_results_detached_unless_create_graph():
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    assert not mg.hessian(cube_sum, w).requires_grad
    out, hv = mg.hvp(cube_sum, w, np.ones(2))
    assert not out.requires_grad and not hv.requires_grad
    out, vjp_fn = mg.vjp(lambda a: a ** 3, w)
    assert not out.requires_grad and not vjp_fn(np.ones(2))[0].requires_grad
    H = mg.hessian(cube_sum, w, create_graph=True)
    assert H.requires_grad
    (g,) = mg.grad(H.sum(), w)                        # d/dw sum(diag(6w)) = 6
    np.testing.assert_allclose(g.data, [6.0, 6.0])


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
def test_jacobian_create_graph_is_differentiable(strategy):
    w = mg.tensor([0.5, -1.0, 2.0], requires_grad=True)
    J = mg.jacobian(lambda a: a ** 3, w, create_graph=True, strategy=strategy)
    (g,) = mg.grad(J.sum(), w)                        # d/dw sum(3w²) = 6w
    np.testing.assert_allclose(g.data, 6 * w.data)


def test_create_graph_for_vjp_jvp_hvp():
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    _, vjp_fn = mg.vjp(lambda a: a ** 3, w, create_graph=True)
    (g,) = mg.grad(vjp_fn(np.ones(2))[0].sum(), w)
    np.testing.assert_allclose(g.data, 6 * w.data)
    _, ju = mg.jvp(lambda a: a ** 3, w, np.ones(2), create_graph=True)
    (g,) = mg.grad(ju.sum(), w)
    np.testing.assert_allclose(g.data, 6 * w.data)
    _, hv = mg.hvp(cube_sum, w, np.ones(2), create_graph=True)
    (g,) = mg.grad(hv.sum(), w)
    np.testing.assert_allclose(g.data, [6.0, 6.0])


def test_works_under_no_grad_and_with_the_same_tensor_twice():
    w = mg.tensor([0.5, -1.0], requires_grad=True)
    with mg.no_grad():
        H = mg.hessian(cube_sum, w)
    np.testing.assert_allclose(H.data, np.diag(6 * w.data))
    J = mg.jacobian(lambda a, b: a * b, (w, w))        # each input on its own, as in torch
    np.testing.assert_allclose(J[0].data, np.diag(w.data))
    np.testing.assert_allclose(J[1].data, np.diag(w.data))


def test_dtypes_and_plain_inputs():
    x32 = np.array([0.5, -1.0], dtype=np.float32)
    assert mg.jacobian(lambda a: a ** 3, x32).dtype == np.float32
    assert mg.hessian(cube_sum, x32).dtype == np.float32
    assert mg.jvp(lambda a: a ** 3, x32, np.ones(2, np.float32))[1].dtype == np.float32
    np.testing.assert_allclose(mg.jacobian(lambda a: a * 2, np.array([1, 2])).data,
                               2 * np.eye(2))                         # integers as float64
    np.testing.assert_allclose(mg.hessian(lambda a: a ** 3, 2.0).data, 12.0)   # a 0-d input


def test_outputs_independent_of_inputs():
    x = np.array([1.0, 2.0])
    J = mg.jacobian(lambda a, b: a * 2, (x, x))
    np.testing.assert_array_equal(J[1].data, 0)
    np.testing.assert_array_equal(mg.jacobian(lambda a: mg.Tensor(np.ones(3)), x).data, 0)
    np.testing.assert_array_equal(mg.hessian(lambda a: a.sum(), x).data, 0)   # linear
    assert mg.jvp(lambda a: mg.Tensor(np.ones(3)), x, x)[1].shape == (3,)
    with pytest.raises(RuntimeError, match="output 0 of the function is independent of input 1"):
        mg.jacobian(lambda a, b: a * 2, (x, x), strict=True)
    with pytest.raises(RuntimeError, match="strict=True"):
        mg.hessian(lambda a, b: (a ** 2).sum(), (x, x), strict=True)
    with pytest.raises(RuntimeError, match="strict=True"):
        mg.jvp(lambda a: mg.Tensor(np.ones(3)), x, x, strict=True)


# f, inputs (shapes), and what hessian(strict=True) says: None where it gives the Hessian,
# else words of the error (PyTorch raises in the same cases). Written for both libraries.
STRICT_HESSIAN = {
    "linear": (lambda x: (3.0 * x).sum(), [(3,)],
               "gradient with respect to input 0 does not depend on the inputs"),
    "quadratic": (lambda x: (x ** 2).sum(), [(3,)], None),
    "one input enters linearly": (lambda x, y: (x ** 2).sum() + (2.0 * y).sum(), [(3,), (2,)],
                                  "gradient with respect to input 1 does not depend"),
    "separable": (lambda x, y: (x ** 2).sum() + (y ** 3).sum(), [(3,), (2,)],
                  "gradient with respect to input 0 is independent of input 1"),
    "coupled": (lambda x, y: (x ** 2).sum() * (y ** 2).sum(), [(3,), (2,)], None),
    "bilinear": (lambda x, y: x.sum() * y.sum(), [(3,), (2,)],
                 "gradient with respect to input 0 is independent of input 0"),
    "linear in one element": (lambda x: x[0] ** 2 + x[1], [(2,)], None),
    "an input unused": (lambda x, y: (x ** 2).sum(), [(3,), (2,)],
                        "output is independent of input 1"),
}


@pytest.mark.parametrize("strategy", ["reverse-mode", "forward-mode"])
@pytest.mark.parametrize("case", sorted(STRICT_HESSIAN))
def test_hessian_strict_raises_where_a_block_is_zero_by_independence(case, strategy):
    f, shapes, error = STRICT_HESSIAN[case]
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s) + 1.0 for s in shapes]
    inputs = arrays[0] if len(arrays) == 1 else tuple(arrays)
    try:
        import torch
    except ImportError:
        torch = None
    if torch is not None:                       # the table says what PyTorch does
        theirs = [torch.tensor(a) for a in arrays]
        try:
            expected = torch.autograd.functional.hessian(
                f, theirs[0] if len(theirs) == 1 else tuple(theirs), strict=True)
        except RuntimeError:
            expected = None
            assert error is not None, "PyTorch raises"
        else:
            assert error is None, "PyTorch gives the Hessian"
    if error is not None:
        with pytest.raises(RuntimeError, match=f"hessian: .*{error}.*strict=True"):
            mg.hessian(f, inputs, strict=True, outer_jacobian_strategy=strategy)
        mg.hessian(f, inputs, outer_jacobian_strategy=strategy)     # not strict: zeros
        return
    H = mg.hessian(f, inputs, strict=True, outer_jacobian_strategy=strategy)
    loose = mg.hessian(f, inputs, outer_jacobian_strategy=strategy)
    ours = [H] if len(arrays) == 1 else [b for row in H for b in row]
    for a, b in zip(ours, [loose] if len(arrays) == 1 else [b for row in loose for b in row]):
        np.testing.assert_allclose(a.data, b.data)
    if torch is not None:
        theirs_flat = [expected] if len(arrays) == 1 else [b for row in expected for b in row]
        for a, b in zip(ours, theirs_flat):
            np.testing.assert_allclose(a.data, b.numpy(), rtol=1e-10, atol=1e-12)


def test_hvp_strict_names_the_input_the_function_is_linear_in():
    x, y = np.array([1.0, 2.0]), np.array([0.5])
    with pytest.raises(RuntimeError, match="hvp: the gradient with respect to input 1 does not "
                                           "depend on the inputs"):
        mg.hvp(lambda a, b: (a ** 2).sum() + b.sum(), (x, y), (x, y), strict=True)


def test_clear_errors():
    x = np.array([1.0, 2.0])
    with pytest.raises(TypeError, match="jacobian: output 0 of the function is a ndarray"):
        mg.jacobian(lambda a: a.data * 2, x)
    with pytest.raises(TypeError, match="hessian: input 0 is a str"):
        mg.hessian(cube_sum, "x")
    with pytest.raises(ValueError, match=r"hessian: the function must return a Tensor with a "
                                         r"single element, got shape \(2,\)"):
        mg.hessian(lambda a: a ** 2, x)
    with pytest.raises(ValueError, match=r"hvp: v 0 has shape \(3,\), expected \(2,\)"):
        mg.hvp(cube_sum, x, np.ones(3))
    with pytest.raises(ValueError, match="jvp: tangents may be left out only"):
        mg.jvp(lambda a: a * 2, x)
    with pytest.raises(ValueError, match="must be nested like"):
        mg.jvp(lambda a, b: a * b, (x, x), np.ones(2))
    _, vjp_fn = mg.vjp(lambda a: a * 2, x)
    with pytest.raises(ValueError, match=r"vjp_fn: v 0 has shape \(\), expected \(2,\)"):
        vjp_fn(np.float64(1.0))
    with pytest.raises(ValueError, match="strategy must be"):
        mg.jacobian(lambda a: a * 2, x, strategy="sideways")


def test_one_element_defaults_for_v_and_tangents():
    x = np.array(3.0)
    assert mg.hvp(lambda a: a ** 3, x)[1].item() == pytest.approx(18.0)
    assert mg.jvp(lambda a: a ** 3, x)[1].item() == pytest.approx(27.0)


def test_vjp_fn_can_be_called_again():
    out, vjp_fn = mg.vjp(lambda a, b: a * b, np.array([1.0, 2.0]), np.array([3.0, 4.0]))
    for scale in (1.0, 2.0):
        ga, gb = vjp_fn(np.full(2, scale))
        np.testing.assert_allclose(ga.data, scale * np.array([3.0, 4.0]))
        np.testing.assert_allclose(gb.data, scale * np.array([1.0, 2.0]))


def test_auto_strategy_picks_the_cheaper_side(monkeypatch):
    calls = []
    monkeypatch.setattr(transforms, "_jacobian_rows",
                        lambda *a: calls.append("rows") or [[None]])
    monkeypatch.setattr(transforms, "_jacobian_columns",
                        lambda *a: calls.append("cols") or [[None]])
    mg.jacobian(lambda a: mg.broadcast_to(a, (50, 2)), np.ones(2))     # 100 outputs, 2 inputs
    mg.jacobian(lambda a: a.sum(), np.ones(50))                        # 1 output, 50 inputs
    assert calls == ["cols", "rows"]


def test_the_docs_newton_example_converges():
    from pathlib import Path

    page = (Path(__file__).resolve().parents[1] / "docs" / "transforms.md").read_text()
    block = page.split("<!-- example: newton -->")[1].split("<!-- /example -->")[0]
    code = block.split("```python")[1].split("```")[0]
    scope = {"np": np, "mg": mg}
    exec(code, scope)
    gradient = mg.jacobian(scope["objective"], scope["v"]).data
    assert np.abs(gradient).max() < 1e-10                # Newton converges in five steps
