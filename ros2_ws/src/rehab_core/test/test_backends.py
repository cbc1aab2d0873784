"""Backends load real model files, check inputs, time runs, and fail clearly."""

from __future__ import annotations

import sys

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper

from rehab_core.backends import InferenceBackend, create_backend
from rehab_core.backends.engine_cache import (
    EngineKey,
    check_engine_key,
    engine_path_for,
    write_sidecar,
)
from rehab_core.backends.litert_backend import LiteRtBackend
from rehab_core.backends.onnxruntime_backend import choose_providers
from rehab_core.backends.registry import backend_for_path
from rehab_core.errors import (
    BackendUnavailableError,
    ConfigError,
    ModelLoadError,
    ShapeMismatchError,
)


@pytest.fixture(scope="module")
def tiny_onnx(tmp_path_factory):
    """y = 2 * x + 1 with a dynamic batch axis; metadata names like ultralytics'."""
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 3])
    two = helper.make_tensor("two", TensorProto.FLOAT, [1], [2.0])
    one = helper.make_tensor("one", TensorProto.FLOAT, [1], [1.0])
    graph = helper.make_graph(
        [
            helper.make_node("Mul", ["x", "two"], ["t"]),
            helper.make_node("Add", ["t", "one"], ["y"]),
        ],
        "tiny",
        [x],
        [y],
        initializer=[two, one],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    helper.set_model_props(model, {"names": "{0: 'a', 1: 'b'}"})
    path = tmp_path_factory.mktemp("onnx") / "tiny.onnx"
    onnx.save(model, path)
    return path


def test_onnxruntime_runs_and_times(tiny_onnx):
    backend = create_backend(tiny_onnx, intra_op_threads=1)
    assert isinstance(backend, InferenceBackend)
    assert backend.name == "onnxruntime"
    assert [s.name for s in backend.inputs] == ["x"] and backend.inputs[0].shape[1] == 3
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    (y,) = backend.run({"x": x})
    assert np.allclose(y, 2 * x + 1)
    assert len(backend.timings.samples_ms) == 1 and backend.timings.percentile(50) > 0
    assert backend.metadata["names"] == "{0: 'a', 1: 'b'}"
    backend.close()


def test_onnxruntime_fixed_batch_gives_the_same_answer_and_refuses_another_batch(tiny_onnx):
    free = create_backend(tiny_onnx)
    fixed = create_backend(tiny_onnx, batch_size=1)
    assert free.inputs[0].shape == ("batch", 3) and fixed.inputs[0].shape == (1, 3)
    x = np.array([[0.5, -1.0, 3.0]], np.float32)
    assert np.array_equal(fixed.run({"x": x})[0], free.run({"x": x})[0])
    with pytest.raises(ShapeMismatchError, match="shape"):
        fixed.run({"x": np.zeros((2, 3), np.float32)})  # a clear error, not a wrong answer


@pytest.mark.parametrize(
    ("feeds", "match"),
    [
        ({"x": np.zeros((2, 4), np.float32)}, r"expected shape \('batch', 3\), got \(2, 4\)"),
        ({"x": np.zeros(3, np.float32)}, "expected shape"),
        ({"x": np.zeros((1, 3), np.float64)}, "expected dtype float32, got float64"),
        ({"z": np.zeros((1, 3), np.float32)}, "missing"),
    ],
)
def test_onnxruntime_rejects_bad_feeds(tiny_onnx, feeds, match):
    backend = create_backend(tiny_onnx, backend="onnxruntime")
    with pytest.raises(ShapeMismatchError, match=match):
        backend.run(feeds)


def test_missing_and_corrupt_model_files(tmp_path):
    with pytest.raises(ModelLoadError, match="not found"):
        create_backend(tmp_path / "nope.onnx")
    corrupt = tmp_path / "corrupt.onnx"
    corrupt.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelLoadError, match="cannot load"):
        create_backend(corrupt)
    empty = tmp_path / "empty.tflite"
    empty.write_bytes(b"")
    with pytest.raises(ModelLoadError, match="empty"):
        create_backend(empty)
    bad_tflite = tmp_path / "bad.tflite"
    bad_tflite.write_bytes(b"\x00" * 64)
    with pytest.raises(ModelLoadError, match="LiteRT cannot load"):
        create_backend(bad_tflite)


def test_suffix_mapping_and_unknown_names():
    assert backend_for_path("a/b.onnx") == "onnxruntime"
    assert backend_for_path("m.ENGINE") == "tensorrt"
    assert backend_for_path("m.plan") == "tensorrt"
    assert backend_for_path("m.tflite") == "litert"
    for suffix in (".pt", ".pth", ".torchscript"):
        assert backend_for_path("m" + suffix) == "torch"
    with pytest.raises(ModelLoadError, match="cannot infer a backend"):
        backend_for_path("m.xyz")
    with pytest.raises(ConfigError, match="unknown backend"):
        create_backend("m.onnx", backend="openvino")


@pytest.mark.parametrize(
    ("module", "suffix", "package"),
    [
        ("onnxruntime", ".onnx", "pip install onnxruntime"),
        ("ai_edge_litert.interpreter", ".tflite", "pip install ai-edge-litert"),
        ("torch", ".pt", "pip install torch"),
        ("tensorrt", ".engine", "pip install tensorrt"),
    ],
)
def test_missing_runtime_names_pip_package(monkeypatch, tmp_path, module, suffix, package):
    monkeypatch.setitem(sys.modules, module, None)  # makes `import module` raise ImportError
    model = tmp_path / f"m{suffix}"
    model.write_bytes(b"x")
    with pytest.raises(BackendUnavailableError, match=package):
        create_backend(model)


def test_provider_choice():
    assert choose_providers(["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    avail = ["CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"]
    assert choose_providers(avail) == avail[::-1]
    assert choose_providers(avail, ["CPUExecutionProvider"]) == ["CPUExecutionProvider"]
    with pytest.raises(BackendUnavailableError, match="onnxruntime-gpu"):
        choose_providers(["CPUExecutionProvider"], ["CUDAExecutionProvider"])


def test_torch_backend_module_and_torchscript(tmp_path):
    torch = pytest.importorskip("torch")
    from rehab_core.backends.base import TensorSpec

    module = torch.nn.Linear(3, 2)
    spec = [TensorSpec("x", ("batch", 3), np.dtype(np.float32))]
    backend = create_backend(module, backend="torch", input_specs=spec)
    x = np.ones((4, 3), np.float32)
    (y,) = backend.run({"x": x})
    with torch.no_grad():
        ref = module(torch.from_numpy(x)).numpy()
    assert np.allclose(y, ref)
    with pytest.raises(ShapeMismatchError):
        backend.run({"x": np.ones((4, 5), np.float32)})
    path = tmp_path / "lin.torchscript"
    torch.jit.script(module).save(str(path))
    (y2,) = create_backend(path).run({"input": x})
    assert np.allclose(y2, ref, atol=1e-6)
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="TorchScript"):
        create_backend(bad)


def test_litert_quantisation_maths():
    """int8/uint8 tensors: float in is quantised, quantised out is dequantised."""
    backend = LiteRtBackend.__new__(LiteRtBackend)
    from rehab_core.backends.base import TensorSpec

    detail = {"quantization": (0.5, 10)}
    spec = TensorSpec("in", (3,), np.dtype(np.uint8))
    q = backend._prepare(detail, spec, np.array([0.0, 1.0, 1000.0], np.float32))
    assert q.dtype == np.uint8 and q.tolist() == [10, 12, 255]
    raw = np.array([10, 12], np.uint8)
    assert backend._prepare(detail, spec, raw) is raw
    with pytest.raises(ShapeMismatchError, match="float32 to quantise"):
        backend._prepare(detail, spec, np.array([1, 2], np.int32))
    out = backend._dequantize({"quantization": (0.25, -3)}, np.array([-3, 1], np.int8))
    assert out.dtype == np.float32 and out.tolist() == [0.0, 1.0]


@pytest.mark.shared
def test_litert_movenet_real_model(shared_dir):
    path = shared_dir / "models/movenet/movenet_singlepose_lightning_int8_4.tflite"
    backend = create_backend(path, num_threads=1)
    assert backend.name == "litert"
    assert backend.inputs[0].shape == (1, 192, 192, 3)
    (out,) = backend.run({backend.inputs[0].name: np.zeros((1, 192, 192, 3), np.uint8)})
    assert out.shape == (1, 1, 17, 3) and out.dtype == np.float32
    with pytest.raises(ShapeMismatchError, match="expected shape"):
        backend.run({backend.inputs[0].name: np.zeros((1, 100, 100, 3), np.uint8)})


def test_engine_cache_key_and_stale_refusal(tiny_onnx, tmp_path):
    path, key = engine_path_for(tiny_onnx, "fp16", "10.9.0", tmp_path)
    assert path.suffix == ".engine" and "fp16" in path.name
    again, _ = engine_path_for(tiny_onnx, "fp16", "10.9.0", tmp_path)
    assert again == path
    other, _ = engine_path_for(tiny_onnx, "int8", "10.9.0", tmp_path)
    assert other != path
    path.write_bytes(b"engine")
    write_sidecar(path, key)
    check_engine_key(path, key, model_known=True)  # same key: accepted
    newer = EngineKey(key.model_sha256, "10.13.0", key.gpu_name, key.compute_capability, "fp16")
    with pytest.raises(ModelLoadError, match=r"stale TensorRT engine.*tensorrt_version"):
        check_engine_key(path, newer, model_known=True)
    edited = EngineKey("0" * 64, "10.9.0", key.gpu_name, key.compute_capability, "fp16")
    with pytest.raises(ModelLoadError, match="model_sha256"):
        check_engine_key(path, edited, model_known=True)
    check_engine_key(path, edited, model_known=False)  # model not on this machine: not compared
