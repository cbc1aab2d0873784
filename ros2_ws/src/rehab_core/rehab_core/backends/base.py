"""The one small interface every inference backend implements.

Backends are a contract, not a hierarchy: a class satisfies
``InferenceBackend`` by having these members, and ``registry.create_backend``
picks one by name or by model-file suffix. Pre- and post-processing never live
here; a backend only moves tensors in and out of a runtime and times it.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

import numpy as np


@dataclass(frozen=True)
class TensorSpec:
    """Name, shape (None or a string for a dynamic axis) and dtype of one tensor."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: np.dtype

    def is_compatible(self, array: np.ndarray) -> bool:
        """True when ``array`` fits this spec (dynamic axes accept any size)."""
        if array.ndim != len(self.shape):
            return False
        return all(not isinstance(d, int) or d == s for d, s in zip(self.shape, array.shape))


@dataclass
class Timings:
    """Wall-clock time of the last runs of a backend, in milliseconds."""

    samples_ms: list[float] = field(default_factory=list)
    keep: int = 1000

    def add(self, ms: float) -> None:
        self.samples_ms.append(ms)
        if len(self.samples_ms) > self.keep:
            del self.samples_ms[: len(self.samples_ms) - self.keep]

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.samples_ms, q)) if self.samples_ms else float("nan")


@runtime_checkable
class InferenceBackend(Protocol):
    """Load a model, run a batch, report specs and timings."""

    name: str
    model_path: str
    timings: Timings

    @property
    def inputs(self) -> list[TensorSpec]: ...

    @property
    def outputs(self) -> list[TensorSpec]: ...

    def run(self, feeds: dict[str, np.ndarray]) -> list[np.ndarray]:
        """Run one batch; returns the outputs in ``outputs`` order."""
        ...

    def close(self) -> None:
        """Free the runtime's resources (sessions, engines, device memory)."""
        ...


class Stopwatch:
    """Context manager that adds the elapsed milliseconds to a ``Timings``."""

    def __init__(self, timings: Timings) -> None:
        self._timings = timings

    def __enter__(self) -> Stopwatch:
        self._t0 = time.perf_counter()
        return self

    def __exit__(self, *exc: object) -> None:
        self._timings.add((time.perf_counter() - self._t0) * 1e3)
