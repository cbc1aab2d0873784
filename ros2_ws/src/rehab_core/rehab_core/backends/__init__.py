"""Inference backends behind one protocol, chosen by name or model-file suffix."""

from rehab_core.backends.base import InferenceBackend, Stopwatch, TensorSpec, Timings
from rehab_core.backends.registry import BACKENDS, backend_for_path, create_backend

__all__ = [
    "BACKENDS",
    "InferenceBackend",
    "Stopwatch",
    "TensorSpec",
    "Timings",
    "backend_for_path",
    "create_backend",
]
