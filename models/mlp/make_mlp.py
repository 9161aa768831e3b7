#!/usr/bin/env python3
"""Generate models/mlp/1/model.onnx: a tiny, deterministic MLP for examples and tests.

    input  "input"  FP32 [batch, 64]
    Gemm 64->32 (transB=1), Relu, Gemm 32->10 (transB=1)
    output "output" FP32 [batch, 10]

Weights come from numpy.random.default_rng(SEED) with He-style scaling, so for
inputs drawn from N(0, 1) the outputs are O(1). Running this twice produces
byte-identical files (no timestamps, fixed producer fields, raw tensor data).

Needs the `onnx` and `numpy` Python packages (Debian: apt-get install -y python3-onnx).
Usage: /usr/bin/python3 models/mlp/make_mlp.py [OUTPUT_DIR]   (default: the folder of this script)
Also imported by tests/Assets/make_test_models.py, which copies the same model.
"""

import json
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

SEED = 20261128
IN_FEATURES = 64
HIDDEN = 32
OUT_FEATURES = 10
OPSET = 13
IR_VERSION = 7  # the IR version that goes with opset 13; pinned so the output does not depend on the onnx version
CONFIG = {"max_batch_size": 64, "instances": 2, "cache": {"enable": True, "ttl_seconds": 300}}
# The test repository's copy (tests/Assets/models/mlp) runs without the cache, so tests see real runs.
TEST_CONFIG = {"max_batch_size": 64, "instances": 2}


def weights():
    """The parameters, in PyTorch layout (W is [out, in]), as float32 arrays."""
    rng = np.random.default_rng(SEED)
    w1 = (rng.standard_normal((HIDDEN, IN_FEATURES)) * np.sqrt(2.0 / IN_FEATURES)).astype(np.float32)
    b1 = (rng.standard_normal(HIDDEN) * 0.1).astype(np.float32)
    w2 = (rng.standard_normal((OUT_FEATURES, HIDDEN)) * np.sqrt(1.0 / HIDDEN)).astype(np.float32)
    b2 = (rng.standard_normal(OUT_FEATURES) * 0.1).astype(np.float32)
    return w1, b1, w2, b2


def reference(x):
    """numpy forward pass (float32), for checking an inference engine against."""
    w1, b1, w2, b2 = weights()
    x = np.asarray(x, dtype=np.float32)
    h = np.maximum(x @ w1.T + b1, np.float32(0))
    return (h @ w2.T + b2).astype(np.float32)


def build_model():
    w1, b1, w2, b2 = weights()
    inits = [
        numpy_helper.from_array(w1, "fc1.weight"),
        numpy_helper.from_array(b1, "fc1.bias"),
        numpy_helper.from_array(w2, "fc2.weight"),
        numpy_helper.from_array(b2, "fc2.bias"),
    ]
    nodes = [
        helper.make_node("Gemm", ["input", "fc1.weight", "fc1.bias"], ["fc1_out"], name="fc1", transB=1),
        helper.make_node("Relu", ["fc1_out"], ["relu_out"], name="relu"),
        helper.make_node("Gemm", ["relu_out", "fc2.weight", "fc2.bias"], ["output"], name="fc2", transB=1),
    ]
    graph = helper.make_graph(
        nodes,
        "mlp",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["batch", IN_FEATURES])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, ["batch", OUT_FEATURES])],
        initializer=inits,
    )
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name="ServingGateway models/mlp/make_mlp.py",
        producer_version="1",
        doc_string=f"Tiny MLP 64->32->10 (Gemm, Relu, Gemm), weights from default_rng({SEED}).",
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model


def write_file(path, data):
    """Write bytes only if they differ, so timestamps stay put on reruns."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if os.path.exists(path):
        with open(path, "rb") as f:
            if f.read() == data:
                return False
    with open(path, "wb") as f:
        f.write(data)
    return True


def config_bytes(config):
    return (json.dumps(config, indent=2) + "\n").encode("utf-8")


def main(out_dir=None):
    out_dir = out_dir or os.path.dirname(os.path.abspath(__file__))
    model_path = os.path.join(out_dir, "1", "model.onnx")
    config_path = os.path.join(out_dir, "config.json")
    for path, data in ((model_path, build_model().SerializeToString()), (config_path, config_bytes(CONFIG))):
        print(("wrote     " if write_file(path, data) else "unchanged ") + path)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else None)
