"""``nablanet export MODEL -o model.onnx``: the trained network as an ONNX file, for use elsewhere."""

from __future__ import annotations

from ..export import OPSET, save_onnx
from ..io.model import load
from ._args import check_output, need


def register(subparsers) -> None:
    p = subparsers.add_parser(
        "export",
        help="write a model as ONNX (onnxruntime, browsers, C++)",
        description="Write a trained model as an ONNX file: input 'input' (batch, n_0), outputs 'output' "
        "(a^L) and, for class outputs, 'label'. Feed it inputs scaled as the model was trained "
        "(nablanet info MODEL shows the scaling).",
    )
    p.add_argument("model", metavar="MODEL", help="a nablanet model file")
    p.add_argument("-o", "--output", required=True, metavar="FILE.onnx", help="where to write the ONNX model")
    p.set_defaults(func=cmd_export)


def cmd_export(args) -> int:
    need("onnx", "nablanet export")
    out = check_output(args.output, "-o", (".onnx",))
    net = load(args.model)
    save_onnx(net, out)
    print(f"written: {out} ({net.n_params:,} parameters, {net.dtype.name}, ONNX opset {OPSET})")
    return 0
