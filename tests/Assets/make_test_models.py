#!/usr/bin/env python3
"""Generate the test model repository tests/Assets/models/ (Triton layout).

Deterministic: running it twice gives byte-identical files (fixed seeds, pinned
ir_version/opset/producer fields, no timestamps). Files whose bytes are already
right are left untouched. Nothing is deleted: remove a model folder by hand if
you drop it from this script.

Usage (repo root): /usr/bin/python3 tests/Assets/make_test_models.py
Needs onnx + numpy (Debian: apt-get install -y python3-onnx). See tests/Assets/README.md.
"""

import importlib.util
import os
import sys

sys.dont_write_bytecode = True  # do not leave __pycache__ in models/mlp

import numpy as np  # noqa: E402
import onnx  # noqa: E402
from onnx import TensorProto, helper, numpy_helper  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
OUT = os.path.join(HERE, "models")
OPSET = 13
IR_VERSION = 7
PRODUCER = "ServingGateway tests/Assets/make_test_models.py"
BROKEN_SEED = 20261129
MLP_REFERENCE_SEED = 20261130

# suffix -> ONNX element type, in the order of the model's inputs/outputs.
TYPES = [
    ("bool", TensorProto.BOOL),
    ("uint8", TensorProto.UINT8),
    ("uint16", TensorProto.UINT16),
    ("uint32", TensorProto.UINT32),
    ("uint64", TensorProto.UINT64),
    ("int8", TensorProto.INT8),
    ("int16", TensorProto.INT16),
    ("int32", TensorProto.INT32),
    ("int64", TensorProto.INT64),
    ("fp16", TensorProto.FLOAT16),
    ("fp32", TensorProto.FLOAT),
    ("fp64", TensorProto.DOUBLE),
    ("bf16", TensorProto.BFLOAT16),
    ("string", TensorProto.STRING),
]


def load_make_mlp():
    path = os.path.join(REPO, "models", "mlp", "make_mlp.py")
    spec = importlib.util.spec_from_file_location("make_mlp", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


make_mlp = load_make_mlp()
write_file = make_mlp.write_file
config_bytes = make_mlp.config_bytes


def finish(graph, doc):
    model = helper.make_model(
        graph,
        opset_imports=[helper.make_opsetid("", OPSET)],
        producer_name=PRODUCER,
        producer_version="1",
        doc_string=doc,
    )
    model.ir_version = IR_VERSION
    onnx.checker.check_model(model, full_check=True)
    return model.SerializeToString()


def fp32(name, shape):
    return helper.make_tensor_value_info(name, TensorProto.FLOAT, shape)


def types_model():
    inputs = [helper.make_tensor_value_info(f"x_{s}", t, ["batch", 3]) for s, t in TYPES]
    outputs = [helper.make_tensor_value_info(f"y_{s}", t, ["batch", 3]) for s, t in TYPES]
    nodes = [helper.make_node("Identity", [f"x_{s}"], [f"y_{s}"], name=f"identity_{s}") for s, _ in TYPES]
    graph = helper.make_graph(nodes, "types", inputs, outputs)
    return finish(graph, "One Identity per tensor element type: y_<type> = x_<type>, shape [batch, 3].")


def fixed_model():
    nodes = [
        helper.make_node("Add", ["a", "b"], ["sum"], name="add"),
        helper.make_node("Mul", ["a", "b"], ["product"], name="mul"),
    ]
    graph = helper.make_graph(
        nodes, "fixed", [fp32("a", [2, 3]), fp32("b", [2, 3])], [fp32("sum", [2, 3]), fp32("product", [2, 3])]
    )
    return finish(graph, "No batch dimension: sum = a + b, product = a * b, all FP32 [2, 3].")


def dynamic_model():
    two = numpy_helper.from_array(np.array(2.0, dtype=np.float32), "two")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "two"], ["y"], name="double")],
        "dynamic",
        [fp32("x", ["batch", "seq"])],
        [fp32("y", ["batch", "seq"])],
        initializer=[two],
    )
    return finish(graph, "y = x * 2, FP32 [batch, seq] with both dimensions symbolic.")


def versioned_model(version):
    k = numpy_helper.from_array(np.array(float(version), dtype=np.float32), "k")
    graph = helper.make_graph(
        [helper.make_node("Add", ["x", "k"], ["y"], name="add_k")],
        f"versioned_v{version}",
        [fp32("x", ["batch", 4])],
        [fp32("y", ["batch", 4])],
        initializer=[k],
    )
    return finish(graph, f"Version {version}: y = x + {float(version)}, FP32 [batch, 4].")


def scaled_model(factor):
    k = numpy_helper.from_array(np.array(float(factor), dtype=np.float32), "k")
    graph = helper.make_graph(
        [helper.make_node("Mul", ["x", "k"], ["y"], name="scale")],
        f"scaled_v{factor}",
        [fp32("x", ["batch", 4])],
        [fp32("y", ["batch", 4])],
        initializer=[k],
    )
    return finish(graph, f"Version {factor}: y = x * {float(factor)}, FP32 [batch, 4].")


def lookup_model():
    table = numpy_helper.from_array(np.arange(12, dtype=np.float32).reshape(4, 3), "table")
    graph = helper.make_graph(
        [helper.make_node("Gather", ["table", "ids"], ["vectors"], name="lookup", axis=0)],
        "lookup",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", 2])],
        [fp32("vectors", ["batch", 2, 3])],
        initializer=[table],
    )
    return finish(graph, "vectors = rows of a 4 x 3 table picked by ids; an id outside 0..3 fails at run time.")


SLOW_SIZE = 512
SLOW_STEPS = 400


def slow_model():
    # One shared, highly compressible weight (0.9 on the diagonal, a sparse pattern elsewhere) keeps the file
    # small in git; SLOW_STEPS MatMul + Tanh steps make a run take milliseconds on one CPU thread.
    w = slow_weight()
    nodes = []
    current = "x"
    for step in range(SLOW_STEPS):
        nodes.append(helper.make_node("MatMul", [current, "w"], [f"m{step}"], name=f"matmul{step}"))
        out = "y" if step == SLOW_STEPS - 1 else f"t{step}"
        nodes.append(helper.make_node("Tanh", [f"m{step}"], [out], name=f"tanh{step}"))
        current = out
    graph = helper.make_graph(
        nodes, "slow", [fp32("x", ["batch", SLOW_SIZE])], [fp32("y", ["batch", SLOW_SIZE])],
        initializer=[numpy_helper.from_array(w, "w")],
    )
    return finish(graph, f"{SLOW_STEPS} steps of y = tanh(y W), FP32 [batch, {SLOW_SIZE}]: a model that takes time, for queue tests.")


def slow_weight():
    i, j = np.indices((SLOW_SIZE, SLOW_SIZE))
    return np.where(i == j, 0.9, np.where((i + j) % 7 == 0, 0.001, 0.0)).astype(np.float32)


def wide_model():
    # The slow model's 1 MiB weight in a single MatMul: a session that holds real memory yet loads fast.
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["x", "w"], ["y"], name="matmul")],
        "wide", [fp32("x", ["batch", SLOW_SIZE])], [fp32("y", ["batch", SLOW_SIZE])],
        initializer=[numpy_helper.from_array(slow_weight(), "w")],
    )
    return finish(graph, f"y = x W with one {SLOW_SIZE} x {SLOW_SIZE} FP32 weight (1 MiB), FP32 [batch, {SLOW_SIZE}]: a session that holds memory, for leak tests.")


def broken_bytes():
    data = np.random.default_rng(BROKEN_SEED).bytes(4096)
    try:
        onnx.load_model_from_string(data)
    except Exception:  # noqa: BLE001 - any parse failure is what we want
        return data
    raise RuntimeError("the 'broken' bytes happen to parse as an ONNX model; change BROKEN_SEED")


NOTAVERSION_README = (
    "This folder is not a version: version folders have numeric names (1, 2, 3).\n"
    "The server must ignore it (and log a warning) when loading the 'versioned' model.\n"
)


def f32_text(v):
    """Shortest decimal that parses back (float.Parse in C#) to exactly this float32."""
    return np.format_float_positional(np.float32(v), unique=True, trim="0")


def mlp_reference_json():
    """A fixed [4, 64] input for the mlp and the numpy float32 result, for numeric checks (use a tolerance)."""
    x = np.random.default_rng(MLP_REFERENCE_SEED).standard_normal((4, make_mlp.IN_FEATURES)).astype(np.float32)
    y = make_mlp.reference(x)

    def rows(a):
        return ",\n".join("    [" + ", ".join(f32_text(v) for v in row) + "]" for row in a)

    return (
        "{\n"
        '  "model": "mlp",\n'
        '  "note": "numpy float32 reference (models/mlp/make_mlp.py reference()); compare with abs/rel tolerance ~1e-5",\n'
        f'  "input_name": "input",\n  "input_shape": [{x.shape[0]}, {x.shape[1]}],\n'
        f'  "output_name": "output",\n  "output_shape": [{y.shape[0]}, {y.shape[1]}],\n'
        f'  "input": [\n{rows(x)}\n  ],\n'
        f'  "output": [\n{rows(y)}\n  ]\n'
        "}\n"
    ).encode("utf-8")


def files():
    """(relative path, bytes) for every file of the test repository."""
    yield "types/1/model.onnx", types_model()
    yield "types/config.json", config_bytes({"max_batch_size": 8, "instances": 1})
    yield "fixed/1/model.onnx", fixed_model()
    yield "fixed/config.json", config_bytes({"max_batch_size": 0, "instances": 1})
    yield "dynamic/1/model.onnx", dynamic_model()
    yield "dynamic/config.json", config_bytes({"max_batch_size": 16})
    yield "mlp/1/model.onnx", make_mlp.build_model().SerializeToString()
    yield "mlp/config.json", config_bytes(make_mlp.TEST_CONFIG)
    for v in (1, 2, 3):
        yield f"versioned/{v}/model.onnx", versioned_model(v)
    yield "versioned/config.json", config_bytes(
        {"max_batch_size": 8, "instances": 1, "version_policy": {"all": {}}}
    )
    yield "versioned/notaversion/README.txt", NOTAVERSION_README.encode("utf-8")
    yield "broken/1/model.onnx", broken_bytes()
    yield "lookup/1/model.onnx", lookup_model()
    # Drift on (defaults otherwise), so a server on this repository exports sg_input_drift_psi (MonitoringTests).
    yield "lookup/config.json", config_bytes({"max_batch_size": 8, "instances": 1, "drift": {"enable": True}})
    yield "slow/1/model.onnx", slow_model()
    yield "slow/config.json", config_bytes(
        {"max_batch_size": 1, "instances": 1, "max_queue_rows": 2, "priority_levels": 2}
    )
    yield "wide/1/model.onnx", wide_model()
    yield "wide/config.json", config_bytes({"max_batch_size": 4, "instances": 1})
    # Outside the model repository (servers on tests/Assets/models must not see it): a model whose two versions'
    # outputs differ by a known ratio, copied into a temporary repository by the shadow tests.
    for v in (2, 3):
        yield f"../shadow/scaled/{v}/model.onnx", scaled_model(v)
    # Outside the model repository (the server must not see it): ../expected/.
    yield "../expected/mlp_reference.json", mlp_reference_json()


def main():
    for rel, data in files():
        path = os.path.normpath(os.path.join(OUT, *rel.split("/")))
        changed = write_file(path, data)
        print(f"{'wrote    ' if changed else 'unchanged'} {os.path.relpath(path, REPO)} ({len(data)} bytes)")

    # The mlp test model must be the same file as the example one in models/mlp.
    example = os.path.join(REPO, "models", "mlp", "1", "model.onnx")
    if os.path.exists(example):
        with open(example, "rb") as a, open(os.path.join(OUT, "mlp", "1", "model.onnx"), "rb") as b:
            if a.read() != b.read():
                sys.exit("error: tests/Assets/models/mlp differs from models/mlp; rerun models/mlp/make_mlp.py")


if __name__ == "__main__":
    main()
