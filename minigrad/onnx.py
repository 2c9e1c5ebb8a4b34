"""`mg.onnx.export`: a function's traced forward written as an ONNX model.

    mg.onnx.export(model.predict, (x,), "model.onnx")

The function is traced as `mg.compile` traces it (under no_grad, with example arguments),
and each recorded op becomes ONNX nodes: the parameters it read become initializers, the
array arguments the graph's inputs (with the example's shapes). The model then runs
wherever ONNX runs (onnxruntime on CPUs and GPUs, inference servers). An op without an
ONNX counterpart here is a clear error naming it. Needs the `onnx` package
(`pip install onnx`); writing is atomic.
"""

from __future__ import annotations

import inspect
import os
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from . import modes
from .compile import _Ref, _Trace
from .engine import Tensor
from .files import write_atomic

__all__ = ["export", "OPSET"]

OPSET = 18


def _onnx() -> Any:
    try:
        import onnx
    except ImportError:
        raise ImportError("mg.onnx.export needs the onnx package: pip install onnx") from None
    return onnx


class _Builder:
    def __init__(self, onnx: Any, trace: Any) -> None:
        self.onnx, self.trace = onnx, trace
        self.nodes: list[Any] = []
        self.initializers: list[Any] = []
        self.count = 0

    def name(self, hint: str) -> str:
        self.count += 1
        return f"{hint}_{self.count}"

    def constant(self, value: Any, dtype: Any = None) -> str:
        array = np.asarray(value, dtype=dtype)
        name = self.name("const")
        self.initializers.append(self.onnx.numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        out = self.name(op.lower())
        self.nodes.append(self.onnx.helper.make_node(op, inputs, [out], **attributes))
        return out


def _operand(b: _Builder, value: Any, names: dict[int, str], dtype: np.dtype) -> str:
    """The ONNX name of an op's operand, in the op's dtype where numpy would promote it
    (ONNX does not): a traced value, cast if need be, or a constant."""
    if isinstance(value, _Ref):
        own = b.trace.dtypes[value.slot]
        if own != dtype and own.kind == "f" and dtype.kind == "f":
            return b.node("Cast", [names[value.slot]],
                          to=b.onnx.helper.np_dtype_to_tensor_dtype(dtype))
        return names[value.slot]
    array = np.asarray(value)
    return b.constant(array, dtype if array.dtype.kind in "fiub" and dtype.kind == "f"
                      else None)


_UNARY = {"Neg": "Neg", "Exp": "Exp", "Log": "Log", "Sqrt": "Sqrt", "Sin": "Sin",
          "Cos": "Cos", "Tanh": "Tanh", "Sigmoid": "Sigmoid", "Relu": "Relu", "Abs": "Abs",
          "Clone": "Identity", "Sign": "Sign"}
_BINARY = {"Add": "Add", "Sub": "Sub", "Mul": "Mul", "Div": "Div", "Pow": "Pow",
           "MatMul": "MatMul", "Maximum": "Max", "Minimum": "Min"}
_REDUCE = {"Sum": "ReduceSum", "Max": "ReduceMax", "Min": "ReduceMin"}
_VALUES = {np.max: "ReduceMax", np.min: "ReduceMin", np.argmax: "ArgMax", np.argmin: "ArgMin",
           np.greater: "Greater", np.less: "Less", np.equal: "Equal",
           np.greater_equal: "GreaterOrEqual", np.less_equal: "LessOrEqual"}


def _arguments(node: Any) -> dict[str, Any]:
    bound = inspect.signature(node.cls.forward).bind(None, *node.args, **node.kwargs)
    bound.apply_defaults()
    named = dict(bound.arguments)
    named.pop(next(iter(named)))          # ctx
    return named


def _axes(axis: Any, ndim: int) -> list[int]:
    if axis is None:
        return list(range(ndim))
    axes = [axis] if isinstance(axis, int) else list(axis)
    return [a % ndim for a in axes]


def _emit(b: _Builder, node: Any, names: dict[int, str]) -> str:
    trace = b.trace
    cls = node.cls.__name__
    dtype = trace.dtypes[node.slot]
    args = _arguments(node)
    values = list(args.values())

    def operand(v: Any) -> str:
        return _operand(b, v, names, dtype)

    def ndim(v: Any) -> int:
        return len(trace.shapes[v.slot]) if isinstance(v, _Ref) else np.ndim(v)

    if cls in _UNARY:
        return b.node(_UNARY[cls], [operand(values[0])])
    if cls in _BINARY:
        return b.node(_BINARY[cls], [operand(values[0]), operand(values[1])])
    if cls == "Linear":
        out = b.node("MatMul", [operand(args["x"]), operand(args["W"])])
        return out if args["b"] is None else b.node("Add", [out, operand(args["b"])])
    if cls in _REDUCE:
        a = values[0]
        axes = b.constant(_axes(args["axis"], ndim(a)), np.int64)
        return b.node(_REDUCE[cls], [operand(a), axes], keepdims=int(bool(args["keepdims"])))
    if cls == "Reshape":
        return b.node("Reshape", [operand(args["a"]), b.constant(node.shape, np.int64)])
    if cls == "Transpose":
        n = ndim(args["a"])
        axes = args["axes"]
        perm = list(range(n))[::-1] if axes is None else [a % n for a in axes]
        return b.node("Transpose", [operand(args["a"])], perm=perm)
    if cls == "BroadcastTo":
        return b.node("Expand", [operand(values[0]), b.constant(node.shape, np.int64)])
    if cls == "Where":
        return b.node("Where", [operand(v) for v in values[:3]])
    if cls == "Cast":
        to = b.onnx.helper.np_dtype_to_tensor_dtype(np.dtype(args["dtype"]))
        return b.node("Cast", [operand(args["a"])], to=to)
    if cls == "_Values":
        fn, arrays, keywords = args["fn"], args["arrays"], args["kwargs"]
        op = _VALUES.get(fn)
        if op is None:
            raise ValueError(f"mg.onnx.export: the values op {getattr(fn, '__name__', fn)} "
                             "has no ONNX counterpart here")
        if op.startswith("Reduce"):
            axes = b.constant(_axes(keywords.get("axis"), ndim(arrays[0])), np.int64)
            return b.node(op, [operand(arrays[0]), axes],
                          keepdims=int(bool(keywords.get("keepdims", False))))
        if op.startswith("Arg"):
            axis = keywords.get("axis")
            if axis is None:
                raise ValueError("mg.onnx.export: argmax/argmin without an axis has no "
                                 "ONNX counterpart here; pass axis=")
            return b.node(op, [operand(arrays[0])], axis=int(axis),
                          keepdims=int(bool(keywords.get("keepdims", False))))
        return b.node(op, [operand(a) for a in arrays])
    if cls == "Im2col":              # each window's pixels, gathered by constant indices
        return _im2col(b, operand(args["x"]), trace.shapes[args["x"].slot], args)
    if cls == "MaxPool2d":
        (kh, kw), (sh, sw), (ph, pw) = args["kernel"], args["stride"], args["padding"]
        return b.node("MaxPool", [operand(args["x"])], kernel_shape=[kh, kw],
                      strides=[sh, sw], pads=[ph, pw, ph, pw])
    if cls == "SoftmaxCrossEntropy":
        labels = args["t"]
        if trace.dtypes[labels.slot].kind not in "iu" if isinstance(labels, _Ref) \
                else np.asarray(labels).dtype.kind not in "iu":
            raise ValueError("mg.onnx.export: softmax_cross_entropy is exported for integer "
                             "labels only")
        t = b.node("Cast", [operand(labels)], to=b.onnx.TensorProto.INT64)
        return b.node("SoftmaxCrossEntropyLoss", [operand(args["logits"]), t],
                      reduction="mean")
    raise ValueError(f"mg.onnx.export: the op {node.cls.op_name} has no ONNX counterpart "
                     "here (supported: elementwise arithmetic and functions, matmul, linear, "
                     "reductions, reshape, transpose, where, cast, im2col, max pooling, "
                     "softmax_cross_entropy)")


def _im2col(b: _Builder, x: str, shape: tuple[int, ...], args: dict[str, Any]) -> str:
    """Im2col as Pad, Gather (of each window's flat pixel indices), Transpose, Reshape."""
    (kh, kw), (sh, sw), (ph, pw) = args["kernel"], args["stride"], args["padding"]
    n, c, h, w = shape
    hp, wp = h + 2 * ph, w + 2 * pw
    oh, ow = (hp - kh) // sh + 1, (wp - kw) // sw + 1
    if ph or pw:
        x = b.node("Pad", [x, b.constant([0, 0, ph, pw, 0, 0, ph, pw], np.int64)])
    flat = b.node("Reshape", [x, b.constant([n, c, hp * wp], np.int64)])
    rows = (np.arange(oh) * sh)[:, None, None, None] + np.arange(kh)[None, None, :, None]
    cols = (np.arange(ow) * sw)[None, :, None, None] + np.arange(kw)[None, None, None, :]
    windows = b.node("Gather", [flat, b.constant(rows * wp + cols, np.int64)], axis=2)
    rows_first = b.node("Transpose", [windows], perm=[0, 2, 3, 1, 4, 5])
    return b.node("Reshape", [rows_first, b.constant([n * oh * ow, c * kh * kw], np.int64)])


def export(fn: Callable[..., Any], example_args: Sequence[Any] | Any,
           path: str | os.PathLike[str], *, input_names: Sequence[str] | None = None,
           output_names: Sequence[str] | None = None) -> Any:
    """Trace `fn(*example_args)` and write it to `path` as an ONNX model (opset 18);
    array arguments become the model's inputs. Returns the onnx ModelProto."""
    onnx = _onnx()
    if not isinstance(example_args, (tuple, list)):
        example_args = (example_args,)
    arrays = [a if isinstance(a, Tensor) else Tensor(np.asarray(a)) for a in example_args
              if isinstance(a, (Tensor, np.ndarray))]
    name = getattr(fn, "__qualname__", None) or type(fn).__name__
    trace = _Trace(name, arrays)
    it = iter(arrays)
    call_args = [next(it) if isinstance(a, (Tensor, np.ndarray)) else a for a in example_args]
    modes.tracer = trace
    modes.anomaly_depth += 1
    try:
        with modes.no_grad():
            result = fn(*call_args)
    finally:
        modes.anomaly_depth -= 1
        modes.tracer = None
    outputs = list(result) if isinstance(result, (tuple, list)) else [result]
    if not all(isinstance(o, Tensor) for o in outputs):
        raise TypeError(f"mg.onnx.export({name}): the function must return Tensors")
    b = _Builder(onnx, trace)
    helper = onnx.helper
    names: dict[int, str] = {}
    graph_inputs = []
    input_names = list(input_names or [f"input_{i}" for i in range(len(arrays))])
    for slot, input_name in zip(trace.inputs, input_names):
        names[slot] = input_name
        graph_inputs.append(helper.make_tensor_value_info(
            input_name, helper.np_dtype_to_tensor_dtype(trace.dtypes[slot]),
            list(trace.shapes[slot])))
    for slot, tensor in trace.captured:
        names[slot] = b.name(tensor.name or "param")
        b.initializers.append(onnx.numpy_helper.from_array(tensor._data, names[slot]))
    for node in trace.nodes:
        names[node.slot] = _emit(b, node, names)
    output_names = list(output_names or [f"output_{i}" for i in range(len(outputs))])
    graph_outputs = []
    for out, out_name in zip(outputs, output_names):
        slot = trace.known[id(out._data)]
        b.nodes.append(helper.make_node("Identity", [names[slot]], [out_name]))
        graph_outputs.append(helper.make_tensor_value_info(
            out_name, helper.np_dtype_to_tensor_dtype(out._data.dtype), list(out.shape)))
    graph = helper.make_graph(b.nodes, name, graph_inputs, graph_outputs, b.initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)],
                              producer_name="minigrad")
    onnx.checker.check_model(model)
    write_atomic(path, model.SerializeToString(), where="mg.onnx.export")
    return model

