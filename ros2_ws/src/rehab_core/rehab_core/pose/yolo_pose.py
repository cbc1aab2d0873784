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

from rehab_core.backends import InferenceBackend
from rehab_core.errors import ShapeMismatchError
from rehab_core.types import Skeleton
from rehab_core.vision.image import as_bgr8, unletterbox_points
from rehab_core.vision.yolo import (
    boxes_to_image,
    decode_yolo,
    parse_names,
    yolo_blob,
)
from rehab_core.vision.yolo_model import YoloModel

COCO17_KEYPOINTS = 17


class YoloPoseEstimator(YoloModel):
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
        super().__init__(model, backend, conf_threshold, iou_threshold, max_det, imgsz,
                         backend_options)
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
