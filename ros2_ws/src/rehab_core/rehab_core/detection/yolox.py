"""YOLOX detector (e.g. YOLOX-nano ONNX from the official/Kazuhito00 exports).

Input float32 [1, 3, S, S] BGR 0..255, letterboxed top-left with pad 114 (as
the YOLOX demo's ``preproc``, no normalisation). Output [1, A, 5 + nc] raw:
per anchor (x, y, log w, log h) relative to its grid cell and stride
(8, 16, 32), objectness and class scores already sigmoid-ed. We decode the
grid, score = objectness × class score, best class per box, class-aware NMS.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.backends import InferenceBackend
from rehab_core.detection.yolo_detect import read_labels
from rehab_core.errors import ShapeMismatchError
from rehab_core.types import Detection
from rehab_core.vision.image import as_bgr8, letterbox_top_left, nms_per_class, to_nchw_float
from rehab_core.vision.yolo_model import YoloModel

STRIDES = (8, 16, 32)


def yolox_grid(size_hw: tuple[int, int], strides: tuple[int, ...] = STRIDES):
    """(A, 2) grid cell offsets and (A, 1) strides in the export's anchor order."""
    grids, expanded = [], []
    for stride in strides:
        h, w = size_hw[0] // stride, size_hw[1] // stride
        xv, yv = np.meshgrid(np.arange(w), np.arange(h))
        grids.append(np.stack((xv, yv), 2).reshape(-1, 2))
        expanded.append(np.full((h * w, 1), stride))
    return np.concatenate(grids).astype(np.float32), np.concatenate(expanded).astype(np.float32)


class YoloxDetector(YoloModel):
    """Labelled boxes from a YOLOX export, in input-image pixels."""

    def __init__(
        self,
        model: str | Path | InferenceBackend,
        labels: str | Path | list[str] | None = None,
        backend: str = "auto",
        conf_threshold: float = 0.3,
        iou_threshold: float = 0.45,
        max_det: int = 100,
        imgsz: int | None = None,
        **backend_options: Any,
    ) -> None:
        super().__init__(model, backend, conf_threshold, iou_threshold, max_det, imgsz or 416,
                         backend_options)
        if labels is None:
            sibling = Path(self.backend.model_path).with_name("coco_classes.txt")
            labels = sibling if sibling.is_file() else None
        if isinstance(labels, (str, Path)):
            labels = read_labels(labels)
        self._grid, self._strides = yolox_grid(self.input_size)
        out_shape = self.backend.outputs[0].shape
        anchors, channels = out_shape[-2], out_shape[-1]
        if isinstance(anchors, int) and anchors != self._grid.shape[0]:
            raise ShapeMismatchError(
                f"YOLOX output has {anchors} anchors; strides {STRIDES} at "
                f"{self.input_size} give {self._grid.shape[0]}"
            )
        if labels is None:
            labels = [f"class{i}" for i in range(int(channels) - 5)]
        self.labels = list(labels)
        if isinstance(channels, int) and channels != 5 + len(self.labels):
            raise ShapeMismatchError(
                f"YOLOX output has {channels} values per anchor but {len(self.labels)} labels"
            )

    def preprocess(
        self, image_bgr: np.ndarray, out: np.ndarray | None = None
    ) -> tuple[np.ndarray, float]:
        """YOLOX-demo input: top-left letterbox, pad 114, BGR, 0..255 float32 NCHW."""
        padded, r = letterbox_top_left(image_bgr, self.input_size)
        return to_nchw_float(padded, out=out), r

    def detect(self, image: np.ndarray, encoding: str = "bgr8") -> list[Detection]:
        image = as_bgr8(image, encoding)
        blob, r = self.preprocess(image, out=self._blob)
        pred = self.infer_raw(blob)
        pred = pred[0] if pred.ndim == 3 else pred
        cls = pred[:, 5:]
        class_ids = cls.argmax(1)
        scores = pred[:, 4] * np.take_along_axis(cls, class_ids[:, None], 1)[:, 0]
        idx = np.flatnonzero(scores > self.conf_threshold)
        if not idx.size:
            return []
        strides = self._strides[idx]
        xy = (pred[idx, :2] + self._grid[idx]) * strides
        wh = np.exp(pred[idx, 2:4]) * strides
        boxes = np.concatenate([xy - wh / 2, xy + wh / 2], 1) / r
        h, w = image.shape[:2]
        boxes[:, [0, 2]] = np.clip(boxes[:, [0, 2]], 0, w)
        boxes[:, [1, 3]] = np.clip(boxes[:, [1, 3]], 0, h)
        keep = nms_per_class(boxes, scores[idx], class_ids[idx], self.iou_threshold,
                             max_keep=self.max_det)
        return [
            Detection(self.labels[c], float(s), b, class_id=int(c))
            for b, s, c in zip(boxes[keep], scores[idx][keep], class_ids[idx][keep])
        ]
