"""Pick an inference backend by name or by model-file suffix.

One string parameter (``backend``) selects the runtime, so launch files and
the CLI swap ONNX Runtime, TensorRT, LiteRT and PyTorch without code changes.
Runtime packages are imported only when their backend is created; a missing
one raises ``BackendUnavailableError`` naming the pip package.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rehab_core.backends.base import InferenceBackend
from rehab_core.errors import BackendUnavailableError, ConfigError, ModelLoadError

#: backend name -> (module, class) — imported lazily
BACKENDS: dict[str, tuple[str, str]] = {
    "onnxruntime": ("rehab_core.backends.onnxruntime_backend", "OnnxRuntimeBackend"),
    "tensorrt": ("rehab_core.backends.tensorrt_backend", "TensorRtBackend"),
    "litert": ("rehab_core.backends.litert_backend", "LiteRtBackend"),
    "torch": ("rehab_core.backends.torch_backend", "TorchBackend"),
}

#: file suffix -> backend name for ``backend="auto"``
SUFFIXES: dict[str, str] = {
    ".onnx": "onnxruntime",
    ".engine": "tensorrt",
    ".plan": "tensorrt",
    ".tflite": "litert",
    ".pt": "torch",
    ".pth": "torch",
    ".torchscript": "torch",
}

ALIASES = {"ort": "onnxruntime", "onnx": "onnxruntime", "trt": "tensorrt", "tflite": "litert",
           "pytorch": "torch"}


def backend_for_path(model_path: str | Path) -> str:
    """Backend name implied by the model file's suffix."""
    suffix = Path(model_path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ModelLoadError(
            f"cannot infer a backend from {Path(model_path).name!r}; known suffixes: "
            f"{', '.join(sorted(SUFFIXES))} (or pass backend=...)"
        )
    return SUFFIXES[suffix]


def backend_class(name: str) -> Callable[..., InferenceBackend]:
    """The backend class for ``name`` (imports its module)."""
    name = ALIASES.get(name, name)
    if name not in BACKENDS:
        raise ConfigError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}, auto")
    module_name, class_name = BACKENDS[name]
    try:
        module = importlib.import_module(module_name)
    except ImportError as err:  # should not happen: backend modules guard their imports
        raise BackendUnavailableError(f"backend {name!r} cannot be imported: {err}") from err
    return getattr(module, class_name)


def create_backend(
    model_path: str | Path, backend: str = "auto", **options: Any
) -> InferenceBackend:
    """Load ``model_path`` with the named backend (``"auto"``: by file suffix).

    ``options`` go to the backend's constructor (e.g. ``providers``,
    ``intra_op_threads`` for onnxruntime, ``num_threads`` for litert).
    """
    name = backend_for_path(model_path) if backend in ("auto", "", None) else backend
    return backend_class(name)(model_path, **options)
