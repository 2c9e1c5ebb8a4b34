"""detect_anomaly(): the first op producing NaN or inf, named with the line that created it."""

import warnings

import numpy as np
import pytest

import minigrad as mg


@pytest.fixture(autouse=True)
def quiet_numpy():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        yield


def test_log_of_zero_in_forward_names_the_op_and_line():
    x = mg.tensor([1.0, 0.0, 2.0], requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError) as info:
        y = mg.log(x)  # noqa: F841
    message = str(info.value)
    assert message.startswith("log produced -inf in its output (shape (3,)")
    assert "test_anomaly.py" in message and "y = mg.log(x)" in message


def test_sqrt_at_zero_in_backward_names_the_op_and_creating_line():
    x = mg.tensor([4.0, 0.0], requires_grad=True)
    with mg.detect_anomaly():
        root = x.sqrt()
        loss = (root * 3).sum()
        with pytest.raises(mg.AnomalyError) as info:
            loss.backward()
    message = str(info.value)
    assert "the backward of sqrt produced inf in the gradient of its input 0" in message
    assert "root = x.sqrt()" in message and "test_anomaly.py" in message


def test_nan_in_forward_from_a_method_call():
    x = mg.tensor([-1.0], requires_grad=True)
    with mg.detect_anomaly(), pytest.raises(mg.AnomalyError, match=r"sqrt produced NaN.*"
                                                                    r"bad = x.sqrt\(\)"):
        bad = x.sqrt()  # noqa: F841


def test_only_the_op_that_produces_it_is_blamed():
    x = mg.tensor([np.nan, 1.0], requires_grad=True)      # NaN from outside the graph
    with mg.detect_anomaly():
        y = (x * 2).exp()
    assert np.isnan(y.data[0])


def test_off_by_default_and_as_a_decorator():
    x = mg.tensor([0.0], requires_grad=True)
    assert np.isneginf(mg.log(x).data).all()             # no error outside the mode

    @mg.detect_anomaly()
    def compute():
        return mg.log(x)

    with pytest.raises(mg.AnomalyError):
        compute()
    assert np.isneginf(mg.log(x).data).all()             # and off again afterwards


def test_anomaly_in_a_recorded_backward():
    x = mg.tensor([0.0, 1.0], requires_grad=True)
    with mg.detect_anomaly():
        y = (x ** 3).sum()
        (g,) = mg.grad(y, x, create_graph=True)          # fine: 3x^2
        z = (g.sqrt()).sum()                              # sqrt(3x^2): its backward at 0 is inf
        with pytest.raises(mg.AnomalyError, match="backward of sqrt"):
            mg.grad(z, x)
