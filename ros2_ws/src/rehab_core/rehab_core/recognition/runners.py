"""Model runners of the streaming classifier: one window in, one row of logits out.

ONNX goes through the project's backend registry (so a bundle runs on whatever
backend the machine has), torch directly; both take a (1, C, T, V) float32 array.
"""

from __future__ import annotations

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
            # one window a call: a fixed batch lets the runtime fold the shape arithmetic
            self.backend = create_backend(str(path), batch_size=1)
            self.input_name = self.backend.inputs[0].name
        else:
            try:
                import onnxruntime as ort
            except ImportError as err:
                from rehab_core.errors import BackendUnavailableError

                raise BackendUnavailableError("onnxruntime is not installed") from err
            self.session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            self.input_name = self.session.get_inputs()[0].name

    def __call__(self, x: np.ndarray) -> np.ndarray:
        if self.backend is not None:
            return np.asarray(self.backend.run({self.input_name: x})[0])[0]
        return self.session.run(None, {self.input_name: x})[0][0]
