#!/usr/bin/env python3
"""Make a dynamic-batch copy of the fetched ResNet18 model.

    models/resnet18/1/model.onnx          input "Input247" [1,3,224,224] -> "Pooling395_Output_0" [1,512,1,1]
    models/resnet18_dynamic/1/model.onnx  input "Input247" [batch,3,224,224] -> "Pooling395_Output_0" [batch,512,1,1]
    models/resnet18_dynamic/config.json   {"max_batch_size": 32, "instances": 2, "cache": {"enable": true, "ttl_seconds": 300}}

The graph (CNTK export, opset 8) has only Conv, BatchNormalization, Relu, MaxPool, Add
and AveragePool: no Reshape/Flatten/Shape node bakes the batch size in, so replacing dim 0
of the graph input and output with the symbol "batch" and dropping the stale value_info
(73 intermediate shapes, all with batch 1) is the whole conversion. Weights, nodes and
opset are untouched.

The source is ir_version 3, where every initializer must also be a graph input; this model
lists none of them there, so onnx.checker rejects the original. The copy is written as
ir_version 4 (initializers need not be inputs; still opset 8), which the checker accepts
and which keeps the weights out of the session's input list. ONNX Runtime loads both.

Checks: onnx.checker (full), and strict shape inference must give the output
[batch, 512, 1, 1]. Equality of outputs (a batch of 4 vs 4 single runs) is checked by a
C# test with ONNX Runtime, which the Python here does not have.

Deterministic: the same input gives a byte-identical output. Run from anywhere:
    /usr/bin/python3 tools/resnet18_dynamic_batch.py [SRC_MODEL [DST_MODEL_DIR]]
Defaults: models/resnet18/1/model.onnx and models/resnet18_dynamic (relative to the repo).
"""

import json
import os
import sys

import onnx
from onnx import shape_inference

MODELS = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "models")
INPUT = "Input247"
OUTPUT = "Pooling395_Output_0"
BATCH = "batch"
ALLOWED_OPS = {"Conv", "BatchNormalization", "Relu", "MaxPool", "Add", "AveragePool"}
CONFIG = {"max_batch_size": 32, "instances": 2, "cache": {"enable": True, "ttl_seconds": 300}}


def dims(value_info):
    return [d.dim_param if d.HasField("dim_param") else d.dim_value for d in value_info.type.tensor_type.shape.dim]


def fail(message):
    sys.exit(f"error: {message}")


def convert(model):
    graph = model.graph
    ops = {n.op_type for n in graph.node}
    if not ops <= ALLOWED_OPS:
        fail(f"unexpected ops {sorted(ops - ALLOWED_OPS)}: changing only the batch dims may not be enough")
    if any(n.domain not in ("", "ai.onnx") for n in graph.node):
        fail("custom-domain nodes are not expected in this model")

    initializers = {i.name for i in graph.initializer}
    inputs = [i for i in graph.input if i.name not in initializers]
    if [i.name for i in inputs] != [INPUT] or [o.name for o in graph.output] != [OUTPUT]:
        fail(f"expected input {INPUT} and output {OUTPUT}, got {[i.name for i in inputs]} -> {[o.name for o in graph.output]}")
    if dims(inputs[0]) != [1, 3, 224, 224] or dims(graph.output[0]) != [1, 512, 1, 1]:
        fail(f"expected [1,3,224,224] -> [1,512,1,1], got {dims(inputs[0])} -> {dims(graph.output[0])}")

    for value in (inputs[0], graph.output[0]):
        dim0 = value.type.tensor_type.shape.dim[0]
        dim0.Clear()
        dim0.dim_param = BATCH
    del graph.value_info[:]

    if model.ir_version < 4:
        # See the module docstring: IR 3 wants every initializer listed in graph.input.
        model.ir_version = 4
    return model


def verify(model):
    onnx.checker.check_model(model, full_check=True)
    inferred = shape_inference.infer_shapes(model, check_type=True, strict_mode=True)
    out = {o.name: o for o in inferred.graph.output}[OUTPUT]
    if dims(out) != [BATCH, 512, 1, 1]:
        fail(f"shape inference gives {dims(out)} for {OUTPUT}, expected [{BATCH}, 512, 1, 1]")
    # Every intermediate tensor must carry the symbolic batch, none a fixed 1.
    for vi in inferred.graph.value_info:
        d = dims(vi)
        if not d or d[0] != BATCH:
            fail(f"shape inference gives {d} for {vi.name}: batch not propagated")
    return len(inferred.graph.value_info)


def write_if_changed(path, data):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path) and os.path.getsize(path) == len(data):
        with open(path, "rb") as f:
            if f.read() == data:
                print(f"unchanged {path}")
                return
    tmp = path + ".partial"
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
    print(f"wrote     {path} ({len(data):,} bytes)")


def main(argv):
    src = argv[1] if len(argv) > 1 else os.path.join(MODELS, "resnet18", "1", "model.onnx")
    dst_dir = argv[2] if len(argv) > 2 else os.path.join(MODELS, "resnet18_dynamic")
    if not os.path.exists(src):
        fail(f"{src} not found; run ./models/fetch.sh first")

    model = convert(onnx.load(src))
    checked = verify(model)
    print(f"checked   {OUTPUT}: [{BATCH}, 512, 1, 1]; batch propagated through {checked} intermediate tensors")
    write_if_changed(os.path.join(dst_dir, "1", "model.onnx"), model.SerializeToString())
    write_if_changed(os.path.join(dst_dir, "config.json"), (json.dumps(CONFIG, indent=2) + "\n").encode("utf-8"))


if __name__ == "__main__":
    main(sys.argv)
