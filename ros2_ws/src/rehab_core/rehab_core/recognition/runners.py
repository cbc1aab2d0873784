"""Model runners of the streaming classifier: one window in, one row of logits out.

ONNX goes through the project's backend registry (so a bundle runs on whatever
backend the machine has), torch directly; both take a (1, C, T, V) float32 array.
"""

from __future__ import annotations

import os
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import numpy as np


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max()
    e = np.exp(z)
    return e / e.sum()


class TorchRunner:
    """A torch model (ST-GCN ensemble, HAR LSTM): (1, C, T, V) window -> logits (C,)."""

    def __init__(self, model) -> None:
        import torch

        self._torch = torch
        self.model = model.eval()

    def __call__(self, x: np.ndarray) -> np.ndarray:
        with self._torch.inference_mode():
            return self.model(self._torch.from_numpy(np.ascontiguousarray(x))).numpy()[0]


class OnnxRunner:
    """ONNX via the project's backend registry, or onnxruntime directly if absent."""

    def __init__(self, path: Path) -> None:
        self.backend = None
        try:
            from rehab_core.backends.registry import create_backend
        except ImportError:
            create_backend = None
        if create_backend is not None:
            # one window a call: a fixed batch lets the runtime fold the shape arithmetic;
            # one thread: a window's ops are too small to split (2 threads were slower on
            # 2 cores, 2.96 against 2.48 ms an ensemble) and the 2-D ensemble runs beside it
            self.backend = create_backend(str(path), batch_size=1, intra_op_threads=1)
            self.input_name = self.backend.inputs[0].name
        else:
            try:
                import onnxruntime as ort
            except ImportError as err:
                from rehab_core.errors import BackendUnavailableError

                raise BackendUnavailableError("onnxruntime is not installed") from err
            options = ort.SessionOptions()
            options.intra_op_num_threads = 1
            self.session = ort.InferenceSession(str(path), options,
                                                providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.backend is not None:
            return np.asarray(self.backend.run({self.input_name: x})[0])[0]
        return self.session.run(None, {self.input_name: x})[0][0]


def usable_cpus() -> int:
    """CPUs this process may run on (its affinity, not the machine's count)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


class SideThread:
    """One worker thread that runs a call while the caller does its own work.

    The classifier's two ensembles (2-D + 3-D, and 2-D alone) read the same
    window; the runtimes release the GIL while a model runs, so on two cores
    both run at once (measured: 2.8 ms for the pair against 5.3 ms in turn).
    """

    def __init__(self, name: str) -> None:
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix=name)

    def submit(self, fn, *args) -> Future | None:
        """The call, started on the worker; None once closed (the caller runs it itself)."""
        try:
            return self._pool.submit(fn, *args)
        except RuntimeError:  # shut down
            return None

    def close(self) -> None:
        self._pool.shutdown(wait=True)
