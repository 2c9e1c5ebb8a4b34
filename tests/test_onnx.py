"""mg.onnx.export: the traced forward as an ONNX model, checked by onnx and run by
onnxruntime and onnx's reference evaluator (skipped where they are not installed)."""

from __future__ import annotations

import numpy as np
import pytest

import minigrad as mg
from minigrad.models import MultiLayerNetExtend, SimpleConvNet, TwoLayerNet

onnx = pytest.importorskip("onnx")
ort = pytest.importorskip("onnxruntime")
from onnx.reference import ReferenceEvaluator  # noqa: E402

RNG = np.random.default_rng(0)


def _float32(net):
    for p in net.parameters():
        p.data = p.data.astype(np.float32)
    return net


def _check(fn, args, path):
    model = mg.onnx.export(fn, args, path)
    onnx.checker.check_model(onnx.load(str(path)))
    with mg.no_grad():
        expected = fn(*[mg.Tensor(a) for a in args]).data
    feeds = {f"input_{i}": a for i, a in enumerate(args)}
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    for got in (session.run(None, feeds)[0], ReferenceEvaluator(model).run(None, feeds)[0]):
        assert got.shape == expected.shape
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_two_layer_net(tmp_path):
    net = _float32(TwoLayerNet(30, 16, 5, rng=0))
    _check(net.predict, (RNG.random((8, 30)).astype(np.float32),), tmp_path / "net.onnx")


def test_multilayer_net_with_batchnorm_in_eval_mode(tmp_path):
    net = _float32(MultiLayerNetExtend(12, [10, 10], 4, use_batchnorm=True, use_dropout=True,
                                       rng=1))
    x = RNG.random((16, 12)).astype(np.float32)
    net.loss(x, RNG.integers(0, 4, 16), train_flg=True)        # running statistics move
    net.eval()
    _check(net.predict, (x,), tmp_path / "mlp.onnx")


def test_a_custom_expression(tmp_path):
    def fn(a, b):
        return (mg.tanh(a) * b - mg.exp(-a ** 2)).sum(axis=1) / 3 + \
            mg.functional.softmax(a, axis=-1).max(axis=1)
    a = RNG.standard_normal((5, 4)).astype(np.float32)
    _check(fn, (a, RNG.standard_normal((5, 4)).astype(np.float32)), tmp_path / "f.onnx")


def test_a_loss_with_integer_labels(tmp_path):
    net = _float32(TwoLayerNet(6, 5, 3, rng=2))
    x, t = RNG.random((4, 6)).astype(np.float32), RNG.integers(0, 3, 4)
    path = tmp_path / "loss.onnx"
    mg.onnx.export(net.loss, (x, t), path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = session.run(None, {"input_0": x, "input_1": t})[0]
    with mg.no_grad():
        np.testing.assert_allclose(got, net.loss(x, t).data, rtol=1e-5)


@pytest.mark.parametrize("pad, stride", [(0, 1), (1, 2)])
def test_simple_conv_net(tmp_path, pad, stride):
    net = _float32(SimpleConvNet((2, 9, 9), {"filter_num": 3, "filter_size": 3, "pad": pad,
                                             "stride": stride}, hidden_size=5, output_size=3,
                                 rng=0))
    _check(net.predict, (RNG.random((2, 2, 9, 9)).astype(np.float32),), tmp_path / "c.onnx")


def test_an_op_without_a_counterpart_is_named_and_no_file_is_left(tmp_path):
    path = tmp_path / "slice.onnx"
    path.write_bytes(b"the previous model")
    with pytest.raises(ValueError, match="getitem"):
        mg.onnx.export(lambda x: x[1:] * 2, (RNG.random((3, 2)),), path)
    assert path.read_bytes() == b"the previous model"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["slice.onnx"]
