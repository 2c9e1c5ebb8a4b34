"""check_function catches a planted bug of each kind and passes every built-in op;
check_grads checks forward and reverse mode to second order."""

import ast

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import ops
from minigrad.gradcheck import GradcheckError
from minigrad.testing import (
    CheckFunctionError,
    FunctionReport,
    check_function,
    check_grads,
    programs,
)

X = np.array([0.5, -1.2, 2.0])


class Cube(mg.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return 3 * x ** 2 * g


# ------------------------------------------------------------ planted bugs

class WrongInOneElement(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        bump = np.zeros(np.shape(x))
        bump.flat[0] = 0.5                       # d/dx wrong for the first element only
        return 3 * x ** 2 * g + bump * g


class WrongSecondDerivative(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        x = x.data if isinstance(x, mg.Tensor) else x     # leaves the graph when recording
        return 3 * x ** 2 * g


class Float64Drift(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (3 * x ** 2 * g).astype(np.float64)


class MutatesG(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        g *= 3 * x ** 2                          # in place: g may be shared with other nodes
        return g


class MutatesInput(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        result = 3 * x ** 2 * g
        if isinstance(x, np.ndarray):
            x += 0.0 * x + 1e-3                  # changes the caller's data
        return result


class WrongShape(Cube):
    @staticmethod
    def backward(ctx, g):
        (x,) = ctx.saved_tensors
        return (3 * x ** 2 * g).reshape(-1, 1)


class ForgetsNeedsInputGrad(mg.Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a * b

    @staticmethod
    def backward(ctx, g):
        a, b = ctx.saved_tensors
        need_a, _ = ctx.needs_input_grad
        return (g * b if need_a else None), (g * a if need_a else None)    # wrong flag for b


def failing(fn, *args, **options):
    with pytest.raises(CheckFunctionError) as info:
        check_function(fn, *args, **options)
    report = info.value.report
    assert str(report) in str(info.value)
    return report


@pytest.mark.parametrize("fn, prop, message", [
    (WrongInOneElement, "gradcheck", r"element \(0,\)"),
    (WrongSecondDerivative, "gradgradcheck", "gradient"),
    (Float64Drift, "float32", "float64 gradient for argument 0"),
    (MutatesG, "no_mutation", "modified its upstream gradient g"),
    (MutatesInput, "no_mutation", "backward modified argument 0"),
    (WrongShape, "grad_shapes", r"shape \(3, 1\) for argument 0 of shape \(3,\)"),
])
def test_planted_bug_is_caught_by_its_property(fn, prop, message):
    report = failing(fn, X)
    assert report[prop] == "FAIL"
    assert pytest.importorskip("re").search(message, report.details[prop]), report.details[prop]


def test_second_derivative_bug_passes_first_order():
    report = failing(WrongSecondDerivative, X)
    assert report["gradcheck"] == "SUCCESS"
    assert [k for k, v in report.items() if v == "FAIL"] == ["gradgradcheck"]


def test_float_drift_is_only_a_float32_failure():
    report = failing(Float64Drift, X)
    assert [k for k, v in report.items() if v == "FAIL"] == ["float32"]


def test_needs_input_grad_bug():
    report = failing(ForgetsNeedsInputGrad, X, np.array([1.5, 0.7, -0.3]))
    assert report["needs_input_grad"] == "FAIL"
    assert "argument 1" in report.details["needs_input_grad"]
    assert report["gradcheck"] == "SUCCESS"          # all inputs requiring grad: right


def test_a_correct_function_passes_and_the_report_reads_well(capsys):
    report = check_function(Cube, X, verbose=True)
    assert isinstance(report, FunctionReport) and report.ok
    assert set(report.values()) == {"SUCCESS"}
    assert len(report.cases) > 1                   # the example and drawn variants
    printed = capsys.readouterr().out
    assert "check_function(Cube)" in printed and "gradgradcheck" in printed


def test_report_without_raising_and_skips():
    report = check_function(WrongShape, X, raise_exception=False, skip=("gradcheck",))
    assert not report.ok and report["gradcheck"] == "SKIPPED"
    assert report["grad_shapes"] == "FAIL"


def test_drawn_variants_keep_ndim_and_include_broadcasting():
    report = check_function(ops.Mul, np.full((2, 3), 0.5), np.full((2, 3), 1.5))
    cases = [ast.literal_eval("[" + c + "]") for c in report.cases]
    assert cases[0] == [(2, 3), (2, 3)]                         # the example first
    drawn = cases[1:]
    assert len({str(c) for c in drawn}) >= 5 and [(2, 3), (2, 3)] not in drawn
    assert any(len(a) == len(b) == 2 and a == b != (2, 3) for a, b in drawn)   # other sides
    assert any(a != b and 1 in a + b for a, b in drawn)                        # broadcasting


def test_seed_makes_the_draws_repeatable_and_different():
    first = check_function(ops.Exp, np.array([0.5, -1.0]), seed=3).cases
    assert check_function(ops.Exp, np.array([0.5, -1.0]), seed=3).cases == first
    assert check_function(ops.Exp, np.array([0.5, -1.0])).cases != first


@given(st.floats(0.5, 2.0))
@settings(max_examples=3, deadline=None)
def test_inside_a_hypothesis_test_only_the_given_example_is_checked(v):
    report = check_function(ops.Exp, np.array([v, -v]))
    assert report.cases == ["(2,)"] and report.nested
    assert "inside a hypothesis test" in str(report)
    with pytest.raises(CheckFunctionError):
        check_function(WrongInOneElement, np.array([v, -v]))


def test_a_bug_outside_the_example_shape_is_found():
    class WrongWhenLong(Cube):
        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g * (1.5 if np.shape(x) == (4,) else 1.0)

    report = failing(WrongWhenLong, X)
    assert "at shapes (4,):" in report.details["gradcheck"]


def test_bad_calls():
    with pytest.raises(TypeError, match="expected a minigrad.Function subclass"):
        check_function(lambda x: x, X)
    with pytest.raises(ValueError, match="no differentiable argument"):
        check_function(Cube, np.array([1, 2]))
    with pytest.raises(ValueError, match="unknown properties"):
        check_function(Cube, X, skip=("speed",))


# ------------------------------------------------------------ every built-in op

rng = np.random.default_rng(0)


def positive(*shape):
    return rng.uniform(0.5, 2.0, shape)


def away(*shape):
    """Values at least 0.2 from 0 (and from each other's ties: all distinct)."""
    values = rng.permutation(np.linspace(0.2, 1.8, int(np.prod(shape))))
    return (values * rng.choice([-1.0, 1.0], values.shape)).reshape(shape)


def normal(*shape):
    return rng.standard_normal(shape)


EXAMPLES = {
    "Add": [(normal(2, 3), normal(3))],
    "Sub": [(normal(2, 3), normal(2, 1))],
    "Mul": [(normal(1, 3), normal(2, 1))],
    "Div": [(normal(2, 3), away(3))],
    "Pow": [(positive(2, 3), normal(3))],
    "Neg": [(normal(2, 3),)],
    "MatMul": [(normal(2, 3), normal(3, 4)), (normal(2, 2, 3), normal(3, 4)),
               (normal(3), normal(3, 2)), (normal(2, 3), normal(3))],
    "Linear": [(normal(2, 3), normal(3, 4), normal(4))],
    "Exp": [(normal(2, 3),)], "Sin": [(normal(2, 3),)], "Cos": [(normal(2, 3),)],
    "Tanh": [(normal(2, 3),)], "Sigmoid": [(normal(2, 3),)],
    "Log": [(positive(2, 3),)], "Sqrt": [(positive(2, 3),)],
    "Relu": [(away(2, 3),)], "Abs": [(away(2, 3),)],
    "ReluGrad": [(normal(2, 3), away(2, 3))], "Sign": [(away(2, 3),)],
    "Clone": [(normal(2, 3),)], "Softmax": [(normal(2, 3), 0.5)],
    "Clip": [(np.array([[-1.6, -0.5, 0.3], [0.8, 1.4, -0.1]]), -1.0, 1.0)],
    "Maximum": [(np.array([0.3, -1.2, 0.9]), np.array([[0.1, -0.4, 1.5], [0.6, -2.0, 0.2]]))],
    "Minimum": [(np.array([0.3, -1.2, 0.9]), np.array([[0.1, -0.4, 1.5], [0.6, -2.0, 0.2]]))],
    "Where": [(rng.random((2, 3)) > 0.5, normal(2, 3), normal(3))],
    "Cast": [(normal(2, 3), np.dtype(np.float64))],
    "Sum": [(normal(2, 3, 4), (0, 2), False), (normal(2, 3), None, True)],
    "Max": [(away(2, 3, 4), 1, False)], "Min": [(away(2, 3, 4), (0, 2), True)],
    "Reshape": [(normal(2, 3), (3, 2))],
    "Transpose": [(normal(2, 3, 4), (1, 0, 2))],
    "BroadcastTo": [(normal(3), (2, 3))],
    "GetItem": [(normal(3, 4), (slice(None), np.array([0, 2, 2])))],
    "ScatterAdd": [(normal(3, 3), (slice(None), np.array([0, 2, 2])), (3, 4))],
    "Concatenate": [((normal(2, 3), normal(2, 2)), {"axis": 1})],
    "Stack": [((normal(2, 3), normal(2, 3)), {"axis": 1})],
    "SoftmaxCrossEntropy": [(normal(4, 3), np.array([0, 2, 1, 2])),
                            (normal(4, 3), rng.dirichlet(np.ones(3), 4))],
}
SKIP = {"Cast": ("float32",)}     # casting to float64 on purpose


def builtin_functions():
    return sorted((name for name, value in vars(ops).items()
                   if isinstance(value, type) and issubclass(value, mg.Function)
                   and value.__module__ == ops.__name__ and not name.startswith("_")))


def test_every_builtin_op_has_an_example():
    assert sorted(EXAMPLES) == builtin_functions()


@pytest.mark.parametrize("name, k", [
    (name, k) for name in sorted(EXAMPLES) for k in range(len(EXAMPLES[name]))])
def test_builtin_op_passes(name, k):
    example = EXAMPLES[name][k]
    if isinstance(example[-1], dict):
        args, kwargs = example[0], example[1]
    else:
        args, kwargs = example, {}
    report = check_function(getattr(ops, name), *args, kwargs=kwargs,
                            skip=SKIP.get(name, ()))
    assert report.ok


# ------------------------------------------------------------ check_grads

@given(programs(max_steps=4))
@settings(deadline=None)
def test_check_grads_passes_random_programs(program_and_inputs):
    program, arrays = program_and_inputs
    check_grads(program, arrays, order=2)


def cube_of(fn):
    return lambda x: fn.apply(x)


def test_check_grads_catches_wrong_first_derivatives_in_both_modes():
    for mode in ("fwd", "rev"):
        with pytest.raises(GradcheckError, match="order 1"):
            check_grads(cube_of(WrongInOneElement), (X,), order=1, modes=(mode,))


def test_check_grads_catches_a_wrong_second_derivative_only_at_order_2():
    check_grads(cube_of(WrongSecondDerivative), (X,), order=1)
    for mode in ("fwd", "rev"):
        with pytest.raises(GradcheckError, match="order 2"):
            check_grads(cube_of(WrongSecondDerivative), (X,), order=2, modes=(mode,))


def test_check_grads_third_order_and_bad_calls():
    check_grads(lambda x, y: (mg.sin(x) * y, mg.exp(y)), (X, X[::-1].copy()), order=3)
    with pytest.raises(ValueError, match="modes"):
        check_grads(cube_of(Cube), (X,), modes=("sideways",))
    with pytest.raises(ValueError, match="order"):
        check_grads(cube_of(Cube), (X,), order=0)


def test_works_under_no_grad():
    with mg.no_grad():
        assert check_function(Cube, X).ok
        assert failing(MutatesG, X)["no_mutation"] == "FAIL"


@pytest.mark.parametrize("name, k", [(name, k) for name in sorted(EXAMPLES)
                                     for k in range(len(EXAMPLES[name]))])
def test_check_grads_on_every_builtin_op(name, k):
    """Forward mode (the double-vjp trick) and reverse mode, to second order, op by op."""
    example = EXAMPLES[name][k]
    args, kwargs = (example[0], example[1]) if isinstance(example[-1], dict) else (example, {})
    diff = [i for i, a in enumerate(args)
            if isinstance(a, np.ndarray) and np.issubdtype(a.dtype, np.floating)]

    def f(*xs):
        full = list(args)
        for i, x in zip(diff, xs):
            full[i] = x
        return getattr(ops, name).apply(*full, **kwargs)

    check_grads(f, [args[i] for i in diff], order=2)
