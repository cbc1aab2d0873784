"""What every YOLO-family model shares: its backend, thresholds and reused input buffer.

Why one base: the pose estimator, the YOLO detector and YOLOX each opened the
backend, checked the thresholds, sized the input and allocated the input
buffer with the same lines; the head-specific decoding stays in each model.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.backends import InferenceBackend, create_backend
from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.vision.yolo import check_thresholds


def model_input_size(backend: InferenceBackend, imgsz: int | None) -> tuple[int, int]:
    """(h, w) of the model input: the static shape, else ``imgsz`` (default 640)."""
    shape = backend.inputs[0].shape
    if len(shape) != 4:
        raise ShapeMismatchError(f"YOLO input must be NCHW, model has shape {shape}")
    h, w = shape[2], shape[3]
    if isinstance(h, int) and isinstance(w, int):
        if imgsz is not None and (h, w) != (imgsz, imgsz):
            raise ConfigError(f"imgsz={imgsz} but the model's input is fixed at {h}x{w}")
        return h, w
    size = int(imgsz or 640)
    if size % 32:
        raise ConfigError(f"imgsz must be a multiple of 32, got {size}")
    return size, size


def open_backend(model: str | Path | InferenceBackend, backend: str, options: dict) -> Any:
    """``model`` itself when it is already a backend, else the backend for its file."""
    if isinstance(model, InferenceBackend):
        return model
    return create_backend(model, backend=backend, **options)


class YoloModel:
    """A model file run through ``rehab_core.backends`` with NMS thresholds and one input."""

    def __init__(
        self,
        model: str | Path | InferenceBackend,
        backend: str,
        conf_threshold: float,
        iou_threshold: float,
        max_det: int,
        imgsz: int | None,
        backend_options: dict[str, Any],
    ) -> None:
        check_thresholds(conf_threshold, iou_threshold)
        self.backend = open_backend(model, backend, backend_options)
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.input_size = model_input_size(self.backend, imgsz)
        self._input_name = self.backend.inputs[0].name
        # one input buffer reused every frame: a fresh 1-2 MB array costs more than filling it
        self._blob = np.empty((1, 3, *self.input_size), np.float32)

    def infer_raw(self, blob: np.ndarray) -> np.ndarray:
        """The backend call alone (for benchmarks)."""
        return self.backend.run({self._input_name: blob})[0]

    def close(self) -> None:
        self.backend.close()
