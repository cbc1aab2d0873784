"""Multi-person 2-D pose with an ultralytics YOLOv8/YOLO11 pose export (ONNX or TensorRT).

The model file is run through ``rehab_core.backends`` (by suffix: .onnx →
onnxruntime, .engine → TensorRT); letterbox, decode, NMS and un-letterbox
are our own numpy code (``rehab_core.vision.yolo``), so no torch or
ultralytics is needed at run time. Keypoint scores are the export's
visibility probabilities (the export applies the sigmoid).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.backends import InferenceBackend, create_backend
from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.types import Skeleton
from rehab_core.vision.image import as_bgr8, unletterbox_points
from rehab_core.vision.yolo import (
    boxes_to_image,
    check_thresholds,
    decode_yolo,
    parse_names,
    yolo_blob,
)

COCO17_KEYPOINTS = 17


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
    if isinstance(model, InferenceBackend):
        return model
    return create_backend(model, backend=backend, **options)


class YoloPoseEstimator:
    """COCO-17 skeletons from an ultralytics pose model, in input-image pixels."""

    layout = "coco17"

    def __init__(
        self,
        model: str | Path | InferenceBackend,
        backend: str = "auto",
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.7,
        max_det: int = 100,
        imgsz: int | None = None,
        **backend_options: Any,
    ) -> None:
        check_thresholds(conf_threshold, iou_threshold)
        self.backend = open_backend(model, backend, backend_options)
        self.conf_threshold = conf_threshold
        self.iou_threshold = iou_threshold
        self.max_det = max_det
        self.input_size = model_input_size(self.backend, imgsz)
        self._input_name = self.backend.inputs[0].name
        # one input buffer reused every frame: a fresh 1 MB array costs more than filling it
        self._blob = np.empty((1, 3, *self.input_size), np.float32)
        meta = getattr(self.backend, "metadata", {}) or {}
        names = parse_names(meta.get("names"))
        channels = self.backend.outputs[0].shape[1]
        self.num_keypoints = COCO17_KEYPOINTS
        self.nc = len(names) if names else (
            channels - 4 - 3 * COCO17_KEYPOINTS if isinstance(channels, int) else 1
        )
        if isinstance(channels, int) and channels != 4 + self.nc + 3 * COCO17_KEYPOINTS:
            raise ShapeMismatchError(
                f"pose output has {channels} channels; expected 4 + {self.nc} classes + 17×3 "
                "keypoints (a COCO-17 ultralytics pose export)"
            )

    def infer_raw(self, blob: np.ndarray) -> np.ndarray:
        """The backend call alone (for benchmarks)."""
        return self.backend.run({self._input_name: blob})[0]

    def estimate(self, image: np.ndarray, encoding: str = "bgr8") -> list[Skeleton]:
        image = as_bgr8(image, encoding)
        blob, ratio, pad = yolo_blob(image, self.input_size, out=self._blob)
        output = self.infer_raw(blob)
        found = decode_yolo(output, self.nc, self.conf_threshold, self.iou_threshold, self.max_det)
        if not found.scores.size:
            return []
        boxes = boxes_to_image(found.boxes, ratio, pad, image.shape)
        kpts = found.extra.reshape(-1, COCO17_KEYPOINTS, 3)
        kpts = unletterbox_points(kpts, ratio, pad, image.shape)
        return [
            Skeleton(self.layout, kpts[i], box=boxes[i], score=float(found.scores[i]))
            for i in range(found.scores.size)
        ]

    def close(self) -> None:
        self.backend.close()
