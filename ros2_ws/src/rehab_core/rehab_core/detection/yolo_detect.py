"""Object detection with an ultralytics YOLO detect export (ONNX or TensorRT).

Output [1, 4 + nc, N] (centre/size boxes in letterbox pixels, class
probabilities). Labels come from a text file (one name per line) or from the
ONNX ``names`` metadata that ultralytics writes; otherwise "class<i>".
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.backends import InferenceBackend
from rehab_core.errors import ConfigError, ModelLoadError, ShapeMismatchError
from rehab_core.types import Detection
from rehab_core.vision.image import as_bgr8
from rehab_core.vision.yolo import (
    boxes_to_image,
    decode_yolo,
    parse_names,
    yolo_blob,
)
from rehab_core.vision.yolo_model import YoloModel


def read_labels(path: str | Path) -> list[str]:
    """Class names, one per non-empty line."""
    path = Path(path)
    if not path.is_file():
        raise ModelLoadError(f"labels file not found: {path}")
    return [line.strip() for line in path.read_text().splitlines() if line.strip()]


class YoloDetector(YoloModel):
    """Labelled boxes from an ultralytics detect model, in input-image pixels."""

    def __init__(
        self,
        model: str | Path | InferenceBackend,
        labels: str | Path | list[str] | None = None,
        backend: str = "auto",
        conf_threshold: float = 0.25,
        iou_threshold: float = 0.7,
        max_det: int = 300,
        agnostic_nms: bool = False,
        imgsz: int | None = None,
        **backend_options: Any,
    ) -> None:
        super().__init__(model, backend, conf_threshold, iou_threshold, max_det, imgsz,
                         backend_options)
        self.agnostic_nms = agnostic_nms
        channels = self.backend.outputs[0].shape[1]
        if isinstance(labels, (str, Path)):
            labels = read_labels(labels)
        if labels is None:
            meta = getattr(self.backend, "metadata", {}) or {}
            labels = parse_names(meta.get("names"))
        if labels is None:
            if not isinstance(channels, int):
                raise ConfigError("cannot tell the class count: pass labels=")
            labels = [f"class{i}" for i in range(channels - 4)]
        self.labels = list(labels)
        if isinstance(channels, int) and channels != 4 + len(self.labels):
            raise ShapeMismatchError(
                f"detect output has {channels} channels but {len(self.labels)} labels "
                f"(expected 4 + {len(self.labels)})"
            )

    def detect(self, image: np.ndarray, encoding: str = "bgr8") -> list[Detection]:
        image = as_bgr8(image, encoding)
        blob, ratio, pad = yolo_blob(image, self.input_size, out=self._blob)
        found = decode_yolo(
            self.infer_raw(blob),
            len(self.labels),
            self.conf_threshold,
            self.iou_threshold,
            self.max_det,
            agnostic=self.agnostic_nms,
        )
        boxes = boxes_to_image(found.boxes, ratio, pad, image.shape)
        return [
            Detection(self.labels[c], float(s), b, class_id=int(c))
            for b, s, c in zip(boxes, found.scores, found.class_ids)
        ]
