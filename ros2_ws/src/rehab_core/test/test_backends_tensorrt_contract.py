"""TensorRT backend against a recording stand-in of the TensorRT 10 API (no GPU here).

This checks our side of the contract — which TensorRT 10 calls are made, in
which order, with which shapes and addresses — so the code path is exercised
on every machine. Real-engine correctness needs a GPU and is not claimed here.
"""

from __future__ import annotations

import enum
import sys
import types

import numpy as np
import pytest

from rehab_core.backends import tensorrt_backend
from rehab_core.backends.engine_cache import EngineKey, write_sidecar
from rehab_core.errors import ModelLoadError, ShapeMismatchError


class TensorIOMode(enum.Enum):
    INPUT = 1
    OUTPUT = 2


class FakeContext:
    def __init__(self, log):
        self.log = log
        self.shapes = {}
        self.addresses = {}

    def set_input_shape(self, name, shape):
        self.log.append(("set_input_shape", name, tuple(shape)))
        self.shapes[name] = tuple(shape)
        return True

    def get_tensor_shape(self, name):
        return (self.shapes["images"][0], 6) if name == "out" else self.shapes[name]

    def set_tensor_address(self, name, ptr):
        self.log.append(("set_tensor_address", name))
        self.addresses[name] = ptr
        return True

    def execute_async_v3(self, stream):
        self.log.append(("execute_async_v3", stream))
        memory = FakeMemory.instance
        x = memory.buffers[self.addresses["images"]]
        memory.buffers[self.addresses["out"]][:] = x.reshape(x.shape[0], -1)[:, :6] * 2
        return True


class FakeEngine:
    names = ("images", "out")

    def __init__(self, log):
        self.log = log
        self.num_io_tensors = 2

    def get_tensor_name(self, i):
        return self.names[i]

    def get_tensor_mode(self, name):
        return TensorIOMode.INPUT if name == "images" else TensorIOMode.OUTPUT

    def get_tensor_shape(self, name):
        return (-1, 3, 4, 4) if name == "images" else (-1, 6)

    def get_tensor_dtype(self, name):
        return "float32"

    def create_execution_context(self):
        return FakeContext(self.log)


class FakeMemory:
    instance = None

    def __init__(self):
        FakeMemory.instance = self
        self.handle = 1234
        self.buffers = {}

    def empty(self, shape, dtype):
        key = len(self.buffers) + 1
        self.buffers[key] = np.zeros(shape, dtype)
        return key

    @staticmethod
    def ptr(buf):
        return buf

    def upload(self, buf, array):
        self.buffers[buf][...] = array

    def download(self, buf):
        return self.buffers[buf].copy()

    def free(self, buf):
        self.buffers.pop(buf, None)


@pytest.fixture
def fake_trt(monkeypatch):
    log = []
    trt = types.ModuleType("tensorrt")
    trt.__version__ = "10.0.0-fake"
    trt.TensorIOMode = TensorIOMode

    class Logger:
        WARNING = 2

        def __init__(self, level):
            pass

    class Runtime:
        def __init__(self, logger):
            pass

        def deserialize_cuda_engine(self, data):
            log.append(("deserialize_cuda_engine", len(data)))
            return FakeEngine(log) if data.startswith(b"ENGINE") else None

    trt.Logger, trt.Runtime = Logger, Runtime
    trt.nptype = lambda dtype: np.float32
    monkeypatch.setitem(sys.modules, "tensorrt", trt)
    monkeypatch.setattr(tensorrt_backend, "_cuda_memory", FakeMemory)
    return log


def test_run_follows_tensorrt10_sequence(tmp_path, fake_trt):
    path = tmp_path / "m.engine"
    path.write_bytes(b"ENGINE....")
    backend = tensorrt_backend.TensorRtBackend(path)
    assert [s.name for s in backend.inputs] == ["images"]
    assert backend.inputs[0].shape == (None, 3, 4, 4)
    x = np.arange(2 * 48, dtype=np.float32).reshape(2, 3, 4, 4)
    (out,) = backend.run({"images": x})
    assert out.shape == (2, 6)
    assert np.allclose(out, x.reshape(2, -1)[:, :6] * 2)
    calls = [c[0] for c in fake_trt]
    assert calls == ["deserialize_cuda_engine", "set_input_shape", "set_tensor_address",
                     "set_tensor_address", "execute_async_v3"]
    backend.run({"images": x})  # same shapes: buffers reused, no new addresses
    assert [c[0] for c in fake_trt].count("set_tensor_address") == 2
    with pytest.raises(ShapeMismatchError, match="expected shape"):
        backend.run({"images": np.zeros((1, 3, 5, 5), np.float32)})
    assert len(backend.timings.samples_ms) == 2
    backend.close()


def test_corrupt_and_stale_engines_are_refused(tmp_path, fake_trt):
    bad = tmp_path / "bad.engine"
    bad.write_bytes(b"garbage")
    with pytest.raises(ModelLoadError, match="cannot deserialise"):
        tensorrt_backend.TensorRtBackend(bad)
    stale = tmp_path / "stale.engine"
    stale.write_bytes(b"ENGINE")
    write_sidecar(stale, EngineKey("0" * 64, "8.6.1", "Orin", "8.7", "fp16"))
    with pytest.raises(ModelLoadError, match=r"stale TensorRT engine.*8\.6\.1"):
        tensorrt_backend.TensorRtBackend(stale)
