"""Pre- and post-processing of ultralytics YOLO exports (detect and pose heads).

An ultralytics detect/pose ONNX or TensorRT export has one input
``images`` float32 [1, 3, S, S] (RGB, 0..1, centre letterbox, pad 114) and
one output [1, 4 + nc + extra, N]: box centre/size in letterbox pixels, nc
class probabilities (already sigmoid), then ``extra`` per-anchor values (for
pose: K × (x, y, visibility probability) in letterbox pixels). Decoding here
mirrors ultralytics' ``non_max_suppression`` (best class per box, strict
``> conf``, class-offset NMS) so our results match ``YOLO.predict``.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

import numpy as np

from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.vision.image import (
    letterbox,
    nms_per_class,
    to_nchw_float,
    unletterbox_boxes,
)


@dataclass
class YoloCandidates:
    """Kept detections in letterbox pixels: boxes (M, 4) xyxy, scores, class ids, extras (M, E)."""

    boxes: np.ndarray
    scores: np.ndarray
    class_ids: np.ndarray
    extra: np.ndarray


def check_thresholds(conf_threshold: float, iou_threshold: float) -> None:
    """Reject a confidence outside [0, 1) or an NMS IoU outside (0, 1] at construction."""
    if not 0.0 <= conf_threshold < 1.0 or not 0.0 < iou_threshold <= 1.0:
        raise ConfigError(f"thresholds out of range: conf={conf_threshold}, iou={iou_threshold}")


def yolo_blob(
    image_bgr: np.ndarray, size: tuple[int, int], out: np.ndarray | None = None
) -> tuple[np.ndarray, tuple, tuple]:
    """Letterbox a BGR frame and make the NCHW float32 RGB 0..1 input; (blob, ratio, pad).

    The blob is bitwise what ultralytics feeds the same model (``im / 255``).
    """
    padded, ratio, pad = letterbox(image_bgr, size)
    return to_nchw_float(padded, 255.0, swap_rb=True, out=out), ratio, pad


def parse_names(text: str | None) -> list[str] | None:
    """Class names from ultralytics' ``names`` metadata (a dict literal), index = class id."""
    if not text:
        return None
    try:
        names = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return None
    if isinstance(names, dict):
        return [str(names[k]) for k in sorted(names)]
    if isinstance(names, (list, tuple)):
        return [str(n) for n in names]
    return None


def decode_yolo(
    output: np.ndarray,
    nc: int,
    conf_threshold: float,
    iou_threshold: float,
    max_det: int,
    agnostic: bool = False,
    max_nms: int = 30000,
) -> YoloCandidates:
    """Filter, NMS and cap one image's raw [1, 4 + nc + E, N] (or [4 + nc + E, N]) output."""
    pred = output[0] if output.ndim == 3 else output
    if pred.ndim != 2 or pred.shape[0] < 4 + nc:
        raise ShapeMismatchError(
            f"YOLO output must be [1, 4 + {nc} + extra, N], got {tuple(output.shape)}"
        )
    cls = pred[4 : 4 + nc]
    if nc == 1:
        scores_all, class_all = cls[0], None
    else:
        class_all = cls.argmax(0)
        scores_all = np.take_along_axis(cls, class_all[None], 0)[0]
    idx = np.flatnonzero(scores_all > conf_threshold)
    if idx.size > max_nms:
        idx = idx[np.argsort(-scores_all[idx], kind="stable")[:max_nms]]
    rows = pred[:, idx].T  # (M, C) — the only copy, of the candidates alone
    scores = scores_all[idx].astype(np.float32)
    class_ids = np.zeros(idx.size, np.int64) if class_all is None else class_all[idx]
    xywh = rows[:, :4]
    boxes = np.empty((idx.size, 4), np.float32)
    boxes[:, :2] = xywh[:, :2] - xywh[:, 2:4] * 0.5
    boxes[:, 2:] = xywh[:, :2] + xywh[:, 2:4] * 0.5
    groups = np.zeros_like(class_ids) if agnostic else class_ids
    keep = nms_per_class(boxes, scores, groups, iou_threshold, max_keep=max_det)
    return YoloCandidates(boxes[keep], scores[keep], class_ids[keep], rows[keep, 4 + nc :])


def boxes_to_image(
    boxes: np.ndarray, ratio: tuple[float, float], pad: tuple[int, int], shape: tuple[int, ...]
) -> np.ndarray:
    """Letterbox xyxy boxes to clipped original-image pixels."""
    return unletterbox_boxes(boxes, ratio, pad, shape)
