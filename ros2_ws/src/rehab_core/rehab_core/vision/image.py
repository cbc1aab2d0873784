"""Frame normalisation, letterboxing and NMS shared by every image model.

Everything here is plain numpy/OpenCV so the runtime path never needs torch or
ultralytics. ``letterbox`` reproduces ultralytics' ``LetterBox`` (same
rounding, same per-axis gains) so boxes decoded by our code land on the same
pixels as ultralytics' own ``predict``.
"""

from __future__ import annotations

import cv2
import numpy as np

from rehab_core.errors import BadFrameError
from rehab_core.vision.encodings import array_to_bgr8, lookup


def as_bgr8(image: np.ndarray | None, encoding: str = "bgr8") -> np.ndarray:
    """Return ``image`` as a contiguous HxWx3 uint8 BGR array.

    An already contiguous bgr8 array is returned as is (no copy). Any encoding
    of ``rehab_core.vision.encodings`` is converted through that one table; its
    dtype must match (uint8, or uint16 for the 16-bit ones): a float frame has no
    single right scaling to 8 bit, so it is refused (``BadFrameError``) rather
    than silently guessed. Single-channel input may be HxW or HxWx1.
    """
    if image is None:
        raise BadFrameError("frame is None")
    if not isinstance(image, np.ndarray):
        raise BadFrameError(f"frame must be a numpy array, got {type(image).__name__}")
    enc = lookup(encoding)
    if image.size == 0 or image.ndim < 2 or 0 in image.shape[:2]:
        raise BadFrameError(f"frame is empty (shape {image.shape})")
    if image.ndim > 3:
        raise BadFrameError(
            f"encoding {enc.name} needs {enc.channels} channel(s), got array of shape {image.shape}"
        )
    return array_to_bgr8(image, enc.name)


def letterbox_params(
    shape_hw: tuple[int, int], size: int | tuple[int, int]
) -> tuple[tuple[int, int], tuple[float, float], tuple[int, int, int, int]]:
    """Resized (w, h), per-axis ratio (rx, ry) and (top, bottom, left, right) padding.

    Same arithmetic as ultralytics ``LetterBox(auto=False, center=True)``.
    """
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    h, w = int(shape_hw[0]), int(shape_hw[1])
    if h <= 0 or w <= 0:
        raise BadFrameError(f"cannot letterbox an empty image of shape {shape_hw}")
    r = min(out_h / h, out_w / w)
    new_w, new_h = max(round(w * r), 1), max(round(h * r), 1)
    dw, dh = (out_w - new_w) / 2, (out_h - new_h) / 2
    top, bottom = round(dh - 0.1), round(dh + 0.1)
    left, right = round(dw - 0.1), round(dw + 0.1)
    return (new_w, new_h), (new_w / w, new_h / h), (top, bottom, left, right)


def letterbox(
    image: np.ndarray, size: int | tuple[int, int], pad_value: int = 114
) -> tuple[np.ndarray, tuple[float, float], tuple[int, int]]:
    """Resize keeping aspect ratio and centre-pad to ``size`` (int or (h, w)).

    Returns ``(padded, (ratio_x, ratio_y), (pad_x, pad_y))``. The ratios are
    per axis (``new_w / w``, ``new_h / h``) because rounding the resized size
    makes them differ slightly, and ultralytics un-letterboxes with exactly
    these; use ``unletterbox_boxes`` / ``unletterbox_points`` to map back.
    """
    (new_w, new_h), ratio, (top, bottom, left, right) = letterbox_params(image.shape[:2], size)
    if (image.shape[1], image.shape[0]) != (new_w, new_h):
        image = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    channels = 1 if image.ndim == 2 else image.shape[2]
    padded = cv2.copyMakeBorder(
        image, top, bottom, left, right, cv2.BORDER_CONSTANT, value=(pad_value,) * max(channels, 3)
    )
    if image.ndim == 3 and padded.ndim == 2:  # OpenCV drops a trailing 1-channel axis
        padded = padded[:, :, None]
    return padded, ratio, (left, top)


def letterbox_top_left(
    image: np.ndarray, size: int | tuple[int, int], pad_value: int = 114
) -> tuple[np.ndarray, float]:
    """YOLOX-demo letterbox: scale by ``r = min(h_out/h, w_out/w)``, pad right/bottom.

    Returns ``(padded, r)``; map back with ``coords / r``.
    """
    out_h, out_w = (size, size) if isinstance(size, int) else (int(size[0]), int(size[1]))
    h, w = image.shape[:2]
    if h <= 0 or w <= 0:
        raise BadFrameError(f"cannot letterbox an empty image of shape {image.shape}")
    r = min(out_h / h, out_w / w)
    new_w, new_h = max(int(w * r), 1), max(int(h * r), 1)
    resized = cv2.resize(image, (new_w, new_h), interpolation=cv2.INTER_LINEAR)
    padded = np.full((out_h, out_w, *image.shape[2:]), pad_value, dtype=image.dtype)
    padded[:new_h, :new_w] = resized.reshape((new_h, new_w, *image.shape[2:]))
    return padded, r


def _ratio_xy(ratio: float | tuple[float, float]) -> tuple[float, float]:
    if isinstance(ratio, (tuple, list, np.ndarray)):
        return float(ratio[0]), float(ratio[1])
    return float(ratio), float(ratio)


def unletterbox_boxes(
    boxes: np.ndarray,
    ratio: float | tuple[float, float],
    pad: tuple[float, float],
    image_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Map (N, 4) xyxy boxes from letterboxed to original pixels (new array).

    When ``image_shape`` (h, w, ...) is given, boxes are clipped to the image.
    """
    rx, ry = _ratio_xy(ratio)
    out = np.array(boxes, dtype=np.float32, copy=True).reshape(-1, 4)
    out[:, [0, 2]] = (out[:, [0, 2]] - pad[0]) / rx
    out[:, [1, 3]] = (out[:, [1, 3]] - pad[1]) / ry
    if image_shape is not None:
        h, w = image_shape[:2]
        out[:, [0, 2]] = np.clip(out[:, [0, 2]], 0, w)
        out[:, [1, 3]] = np.clip(out[:, [1, 3]], 0, h)
    return out


def unletterbox_points(
    points: np.ndarray,
    ratio: float | tuple[float, float],
    pad: tuple[float, float],
    image_shape: tuple[int, ...] | None = None,
) -> np.ndarray:
    """Map (..., >=2) points (x, y first) from letterboxed to original pixels (new array).

    Extra trailing columns (e.g. scores) are kept. Clipped when ``image_shape``
    is given.
    """
    rx, ry = _ratio_xy(ratio)
    out = np.array(points, dtype=np.float32, copy=True)
    out[..., 0] = (out[..., 0] - pad[0]) / rx
    out[..., 1] = (out[..., 1] - pad[1]) / ry
    if image_shape is not None:
        h, w = image_shape[:2]
        out[..., 0] = np.clip(out[..., 0], 0, w)
        out[..., 1] = np.clip(out[..., 1], 0, h)
    return out


def to_nchw_float(
    image: np.ndarray,
    divide_by: float = 1.0,
    swap_rb: bool = False,
    out: np.ndarray | None = None,
) -> np.ndarray:
    """HxWx3 uint8 → [1, 3, H, W] float32 ``pixel / divide_by`` (channels reversed if ``swap_rb``).

    Split-then-divide per plane is ~20x faster than ``cv2.dnn.blobFromImage``
    here, and dividing (not multiplying by the reciprocal) gives exactly
    ultralytics' ``im / 255``. Pass ``out`` to reuse a buffer between frames.
    """
    h, w = image.shape[:2]
    if out is None:
        out = np.empty((1, 3, h, w), np.float32)
    elif out.shape != (1, 3, h, w) or out.dtype != np.float32:
        raise ValueError(f"out must be float32 (1, 3, {h}, {w}), got {out.dtype} {out.shape}")
    planes = cv2.split(image)
    divisor = np.float32(divide_by)
    for c in range(3):
        np.divide(planes[2 - c] if swap_rb else planes[c], divisor, out=out[0, c],
                  dtype=np.float32)
    return out


def xywh_to_xyxy(xywh: np.ndarray) -> np.ndarray:
    """(N, 4) centre-size boxes to corner boxes."""
    xywh = np.asarray(xywh, dtype=np.float32)
    half = xywh[:, 2:4] * 0.5
    return np.concatenate([xywh[:, :2] - half, xywh[:, :2] + half], axis=1)


def box_iou(box: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """IoU of one xyxy box against (N, 4) xyxy boxes."""
    x1 = np.maximum(box[0], boxes[:, 0])
    y1 = np.maximum(box[1], boxes[:, 1])
    x2 = np.minimum(box[2], boxes[:, 2])
    y2 = np.minimum(box[3], boxes[:, 3])
    inter = np.clip(x2 - x1, 0, None) * np.clip(y2 - y1, 0, None)
    area = (box[2] - box[0]) * (box[3] - box[1])
    areas = (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])
    return inter / np.maximum(area + areas - inter, 1e-9)


def nms(
    boxes: np.ndarray,
    scores: np.ndarray,
    iou_threshold: float = 0.45,
    max_keep: int | None = None,
) -> np.ndarray:
    """Greedy non-maximum suppression; indices of kept boxes, best score first.

    A box is suppressed when its IoU with a kept, higher-scoring box is
    strictly greater than ``iou_threshold`` (same rule as torchvision).
    ``max_keep`` stops once that many are kept (same result as truncating).
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    scores = np.asarray(scores, dtype=np.float32).reshape(-1)
    if boxes.shape[0] != scores.shape[0]:
        raise ValueError(f"{boxes.shape[0]} boxes but {scores.shape[0]} scores")
    order = np.argsort(-scores, kind="stable")
    keep: list[int] = []
    while order.size:
        i = int(order[0])
        keep.append(i)
        if order.size == 1 or (max_keep is not None and len(keep) >= max_keep):
            break
        rest = order[1:]
        order = rest[box_iou(boxes[i], boxes[rest]) <= iou_threshold]
    return np.asarray(keep, dtype=np.int64)


def nms_per_class(
    boxes: np.ndarray,
    scores: np.ndarray,
    class_ids: np.ndarray,
    iou_threshold: float = 0.45,
    max_keep: int | None = None,
) -> np.ndarray:
    """Class-aware NMS: boxes of different classes never suppress each other.

    Uses the offset trick (shift each class to its own region) so it is one
    NMS pass; indices of kept boxes, best score first.
    """
    boxes = np.asarray(boxes, dtype=np.float32).reshape(-1, 4)
    if boxes.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    span = float(np.abs(boxes).max()) + 1.0
    offsets = np.asarray(class_ids, dtype=np.float32).reshape(-1, 1) * span * 2.0
    return nms(boxes + offsets, scores, iou_threshold, max_keep)
