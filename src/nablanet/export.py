"""Export a trained network to ONNX, so that it runs outside nablanet (onnxruntime, browsers, C++).

``to_onnx(net)`` builds the graph with the ``onnx`` package (``pip install
"nablanet[export]"``): for each layer one ``Gemm`` node, z^l = a^{l−1} (W^l)ᵀ + b^l
for a batch of rows, then the layer's activation. The graph's input is
``input``, of shape (batch, n_0); its outputs are ``output``, a^L of shape
(batch, n_L), and, for a network with class outputs, ``label``, the class index
that ``Network.predict`` gives. The metadata property ``classes`` lists the
class names (JSON). Inputs are taken as the network saw them in training: apply
the data set's scaling first. The weights keep the network's dtype.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from . import activations
from .io.atomic import atomic_write
from .network import Network

__all__ = ["to_onnx", "save_onnx", "OPSET"]

OPSET = 17  # run by every onnxruntime since 1.12


def to_onnx(net: Network):
    """The network as an ``onnx.ModelProto``, checked by ``onnx.checker``."""
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError('ONNX export needs the onnx package: pip install "nablanet[export]"') from None
    elem = TensorProto.FLOAT if net.dtype == np.float32 else TensorProto.DOUBLE
    nodes, weights, a = [], [], "input"
    for l in range(1, net.L + 1):
        weights += [numpy_helper.from_array(net.W[l], f"W{l}"), numpy_helper.from_array(net.b[l], f"b{l}")]
        z = f"z{l}"
        nodes.append(helper.make_node("Gemm", [a, f"W{l}", f"b{l}"], [z], transB=1, name=f"layer{l}"))
        a = "output" if l == net.L else f"a{l}"
        nodes += _activation(net.activations[l], z, a, l, net.dtype)
    outputs = [helper.make_tensor_value_info("output", elem, ["batch", net.sizes[-1]])]
    if isinstance(net.activations[-1], (activations.Softmax, activations.Sigmoid)):
        nodes += _label(net)
        outputs.append(helper.make_tensor_value_info("label", TensorProto.INT64, ["batch"]))
    graph = helper.make_graph(
        nodes,
        "nablanet",
        [helper.make_tensor_value_info("input", elem, ["batch", net.sizes[0]])],
        outputs,
        initializer=weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="nablanet")
    model.doc_string = repr(net)
    if net.classes:  # as JSON: a name may hold a comma
        helper.set_model_props(model, {"classes": json.dumps(net.classes)})
    onnx.checker.check_model(model, full_check=True)
    return model


def _activation(act, z: str, a: str, l: int, dtype) -> list:
    from onnx import helper, numpy_helper

    name = f"sigma{l}"
    if isinstance(act, activations.Sigmoid):
        return [helper.make_node("Sigmoid", [z], [a], name=name)]
    if isinstance(act, activations.Tanh):
        return [helper.make_node("Tanh", [z], [a], name=name)]
    if isinstance(act, activations.ReLU):
        return [helper.make_node("Relu", [z], [a], name=name)]
    if isinstance(act, activations.LeakyReLU):
        # max(z, αz), as nablanet computes it: onnxruntime's LeakyRelu takes float32 only.
        alpha = numpy_helper.from_array(np.asarray(act.alpha, dtype), f"alpha{l}")
        scaled = helper.make_node("Mul", [z, f"alpha{l}"], [f"{z}_alpha"], name=f"{name}_scale")
        return [
            helper.make_node("Constant", [], [f"alpha{l}"], value=alpha, name=f"{name}_alpha"),
            scaled,
            helper.make_node("Max", [z, f"{z}_alpha"], [a], name=name),
        ]
    if isinstance(act, activations.Identity):
        return [helper.make_node("Identity", [z], [a], name=name)]
    if isinstance(act, activations.Softmax):
        return [helper.make_node("Softmax", [z], [a], axis=-1, name=name)]
    raise ValueError(f"cannot export the {act.name} activation to ONNX")


def _label(net: Network) -> list:
    from onnx import TensorProto, helper, numpy_helper

    if net.sizes[-1] > 1:
        return [helper.make_node("ArgMax", ["output"], ["label"], axis=1, keepdims=0, name="label")]
    half = numpy_helper.from_array(np.asarray([0.5], net.dtype), "half")
    axis1 = numpy_helper.from_array(np.array([1], np.int64), "axis1")
    return [  # a^L ≥ ½, as Network.predict decides a single output
        helper.make_node("Constant", [], ["half"], value=half, name="half"),
        helper.make_node("Constant", [], ["axis1"], value=axis1, name="axis1"),
        helper.make_node("GreaterOrEqual", ["output", "half"], ["at_least_half"], name="threshold"),
        helper.make_node("Squeeze", ["at_least_half", "axis1"], ["flag"], name="squeeze"),
        helper.make_node("Cast", ["flag"], ["label"], to=TensorProto.INT64, name="label"),
    ]


def save_onnx(net: Network, path: str | os.PathLike) -> Path:
    """Write ``to_onnx(net)`` to ``path`` atomically."""
    model = to_onnx(net)
    atomic_write(path, model.SerializeToString())
    return Path(path)
