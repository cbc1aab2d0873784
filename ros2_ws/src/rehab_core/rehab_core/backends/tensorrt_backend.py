"""Native TensorRT 10 backend (no onnxruntime in between).

Thin on purpose: ``trt.Runtime.deserialize_cuda_engine`` → an execution
context; tensors are bound by name (``set_input_shape`` /
``set_tensor_address``) and run with ``execute_async_v3`` on one CUDA stream.
Device memory and the stream come from ``torch.cuda`` when torch has CUDA,
else from ``cuda-python`` (``cuda.bindings.runtime`` / ``cuda.cudart``).
``tensorrt`` is imported only when a backend is built, so this module imports
everywhere. Engines are checked against ``engine_cache`` metadata when a
``<engine>.json`` sidecar exists, so a stale engine is refused clearly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.backends._common import check_feeds, import_runtime, require_model_file
from rehab_core.backends.base import Stopwatch, TensorSpec, Timings
from rehab_core.errors import BackendUnavailableError, ModelLoadError


class _TorchCuda:
    """Device buffers and a stream from torch.cuda."""

    def __init__(self, torch: Any) -> None:
        self.torch = torch
        self.stream = torch.cuda.Stream()
        self.handle = self.stream.cuda_stream

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> Any:
        tdtype = self.torch.from_numpy(np.zeros(0, dtype)).dtype
        return self.torch.empty(shape, dtype=tdtype, device="cuda")

    @staticmethod
    def ptr(buf: Any) -> int:
        return int(buf.data_ptr())

    def upload(self, buf: Any, array: np.ndarray) -> None:
        with self.torch.cuda.stream(self.stream):
            buf.copy_(self.torch.from_numpy(np.ascontiguousarray(array)), non_blocking=False)

    def download(self, buf: Any) -> np.ndarray:
        self.stream.synchronize()
        return buf.cpu().numpy()

    def free(self, buf: Any) -> None:
        del buf


class _CudaPython:
    """Device buffers and a stream from cuda-python's runtime bindings."""

    def __init__(self) -> None:
        try:
            from cuda.bindings import runtime as cudart
        except ImportError:
            from cuda import cudart  # cuda-python < 12.6
        self.cudart = cudart
        self.handle = self._ok(cudart.cudaStreamCreate())
        self._shapes: dict[int, tuple[tuple[int, ...], np.dtype]] = {}

    @staticmethod
    def _ok(result: tuple) -> Any:
        err, *rest = result
        if int(err) != 0:
            raise ModelLoadError(f"CUDA runtime error {err}")
        return rest[0] if rest else None

    def empty(self, shape: tuple[int, ...], dtype: np.dtype) -> int:
        nbytes = max(int(np.prod(shape)) * np.dtype(dtype).itemsize, 1)
        ptr = int(self._ok(self.cudart.cudaMalloc(nbytes)))
        self._shapes[ptr] = (tuple(shape), np.dtype(dtype))
        return ptr

    @staticmethod
    def ptr(buf: int) -> int:
        return buf

    def upload(self, buf: int, array: np.ndarray) -> None:
        array = np.ascontiguousarray(array)
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyHostToDevice
        self._ok(self.cudart.cudaMemcpyAsync(buf, array.ctypes.data, array.nbytes, kind,
                                             self.handle))
        self._ok(self.cudart.cudaStreamSynchronize(self.handle))

    def download(self, buf: int) -> np.ndarray:
        shape, dtype = self._shapes[buf]
        out = np.empty(shape, dtype)
        kind = self.cudart.cudaMemcpyKind.cudaMemcpyDeviceToHost
        self._ok(self.cudart.cudaMemcpyAsync(out.ctypes.data, buf, out.nbytes, kind, self.handle))
        self._ok(self.cudart.cudaStreamSynchronize(self.handle))
        return out

    def free(self, buf: int) -> None:
        self._shapes.pop(buf, None)
        self.cudart.cudaFree(buf)


def _cuda_memory() -> Any:
    try:
        import torch

        if torch.cuda.is_available():
            return _TorchCuda(torch)
    except ImportError:
        pass
    try:
        return _CudaPython()
    except ImportError as err:
        raise BackendUnavailableError(
            "tensorrt backend needs CUDA memory from torch (with CUDA) or cuda-python: "
            "pip install cuda-python"
        ) from err


class TensorRtBackend:
    """A deserialised TensorRT engine behind the ``InferenceBackend`` protocol."""

    name = "tensorrt"

    def __init__(self, model_path: str | Path, check_cache: bool = True) -> None:
        trt = import_runtime("tensorrt", "tensorrt (NVIDIA TensorRT 10 wheels)", self.name)
        path = require_model_file(model_path)
        self.model_path = str(path)
        self.timings = Timings()
        if check_cache:
            from rehab_core.backends.engine_cache import check_engine_sidecar

            check_engine_sidecar(path)
        self._trt = trt
        self._logger = trt.Logger(trt.Logger.WARNING)
        self._runtime = trt.Runtime(self._logger)
        engine = self._runtime.deserialize_cuda_engine(path.read_bytes())
        if engine is None:
            raise ModelLoadError(
                f"TensorRT cannot deserialise {path} (corrupt, or built by another "
                f"TensorRT version / GPU; this is TensorRT {trt.__version__})"
            )
        self.engine = engine
        self.context = engine.create_execution_context()
        self._mem = _cuda_memory()
        self._inputs: list[TensorSpec] = []
        self._outputs: list[TensorSpec] = []
        for i in range(engine.num_io_tensors):
            name = engine.get_tensor_name(i)
            shape = tuple(int(d) if d >= 0 else None for d in engine.get_tensor_shape(name))
            spec = TensorSpec(name, shape, np.dtype(trt.nptype(engine.get_tensor_dtype(name))))
            is_input = engine.get_tensor_mode(name) == trt.TensorIOMode.INPUT
            (self._inputs if is_input else self._outputs).append(spec)
        self._buffers: dict[str, tuple[tuple[int, ...], Any]] = {}

    @property
    def inputs(self) -> list[TensorSpec]:
        return self._inputs

    @property
    def outputs(self) -> list[TensorSpec]:
        return self._outputs

    def _buffer(self, spec: TensorSpec, shape: tuple[int, ...]) -> Any:
        cached = self._buffers.get(spec.name)
        if cached is not None and cached[0] == shape:
            return cached[1]
        if cached is not None:
            self._mem.free(cached[1])
        buf = self._mem.empty(shape, spec.dtype)
        self._buffers[spec.name] = (shape, buf)
        self.context.set_tensor_address(spec.name, self._mem.ptr(buf))
        return buf

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        check_feeds(self._inputs, feeds)
        with Stopwatch(self.timings):
            for spec in self._inputs:
                array = feeds[spec.name]
                self.context.set_input_shape(spec.name, tuple(array.shape))
                self._mem.upload(self._buffer(spec, tuple(array.shape)), array)
            out_bufs = []
            for spec in self._outputs:
                shape = tuple(int(d) for d in self.context.get_tensor_shape(spec.name))
                out_bufs.append(self._buffer(spec, shape))
            if not self.context.execute_async_v3(self._mem.handle):
                raise ModelLoadError(f"TensorRT execute_async_v3 failed for {self.model_path}")
            return [self._mem.download(b) for b in out_bufs]

    def close(self) -> None:
        for _, buf in self._buffers.values():
            self._mem.free(buf)
        self._buffers.clear()
        self.context = None
        self.engine = None
