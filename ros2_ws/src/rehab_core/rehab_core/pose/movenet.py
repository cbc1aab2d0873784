"""MoveNet single-pose (TFLite) as a ``PoseEstimator``.

The model takes one square RGB image (192x192 for Lightning, 256x256 for
Thunder; the size is read from the model) and returns 17 COCO keypoints as
normalised (y, x, score). We feed it a square *region* of the frame through
one affine warp, so the letterbox (keep aspect, pad with black) and the crop
are the same operation and keypoints map back exactly.

Region tracking (``track_region=True``, the model authors' recommended use on
video): after a confident detection the next frame is cropped around the
previous body (torso range x1.9, body range x1.2, as in the TF Hub MoveNet
tutorial), which makes a small person in a large frame many pixels bigger for
the model. Any frame without a confident person falls back to the whole
frame. Call ``reset()`` between unrelated videos; single images are
unaffected (the first call always uses the whole frame).

MoveNet always outputs 17 keypoints, person or not; a skeleton is returned
only when the mean keypoint score reaches ``min_person_score``.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from rehab_core.backends import create_backend
from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.skeleton.layouts import COCO17
from rehab_core.types import Skeleton
from rehab_core.vision.image import as_bgr8

_L_SH, _R_SH = COCO17.index("left_shoulder"), COCO17.index("right_shoulder")
_L_HIP, _R_HIP = COCO17.index("left_hip"), COCO17.index("right_hip")
_TORSO = (_L_SH, _R_SH, _L_HIP, _R_HIP)
# Keypoint score above which a joint counts as seen (region, box).
_SEEN = 0.2


def _create_backend(model_path: str, backend: str, num_threads: int | None):
    """A LiteRT backend from the project registry (MoveNet ships as TFLite only)."""
    if backend not in ("auto", "litert", "tflite"):
        raise ConfigError(
            f"MoveNet is a TFLite model: backend must be 'auto' or 'litert', got {backend!r}"
        )
    options = {} if num_threads is None else {"num_threads": num_threads}
    return create_backend(model_path, "litert", **options)


class MoveNetEstimator:
    """MoveNet Lightning/Thunder single-person pose, COCO-17, pixel coordinates."""

    name = "movenet"
    layout = "coco17"

    def __init__(
        self,
        model_path: str | Path,
        backend: str = "auto",
        *,
        min_person_score: float = 0.25,
        track_region: bool = True,
        num_threads: int | None = None,
        encoding: str = "bgr8",
    ) -> None:
        if model_path is None:
            raise ConfigError(
                "MoveNet needs model_path (a movenet_singlepose_*.tflite file; not bundled)"
            )
        if not 0.0 <= min_person_score <= 1.0:
            raise ConfigError(f"min_person_score must be in [0, 1], got {min_person_score}")
        self.backend = _create_backend(str(model_path), backend, num_threads)
        spec = self.backend.inputs[0]
        shape = tuple(spec.shape)
        if len(shape) != 4 or shape[0] != 1 or shape[3] != 3 or shape[1] != shape[2]:
            self.backend.close()
            raise ModelLoadError(
                f"{model_path}: expected a MoveNet single-pose model with input [1,S,S,3], "
                f"got {shape}"
            )
        out_shape = tuple(self.backend.outputs[0].shape)
        if out_shape[-2:] != (17, 3):
            self.backend.close()
            raise ModelLoadError(
                f"{model_path}: expected output [1,1,17,3] (single-pose MoveNet), got {out_shape}"
            )
        self.input_size = int(shape[1])
        self._input_name = spec.name
        self._input_dtype = np.dtype(spec.dtype)
        self.min_person_score = min_person_score
        self.track_region = track_region
        self.encoding = encoding
        self._region: tuple[float, float, float] | None = None  # (x0, y0, side) px

    def estimate(self, image: np.ndarray) -> list[Skeleton]:
        """The person in ``image`` (BGR by default), or [] when none is confident."""
        if self.backend is None:
            raise RuntimeError("MoveNetEstimator used after close()")
        bgr = as_bgr8(image, self.encoding)
        h, w = bgr.shape[:2]
        region = self._region if (self.track_region and self._region) else _whole_frame(w, h)
        keypoints = self._run(bgr, region)
        score = float(keypoints[:, 2].mean())
        if score < self.min_person_score:
            self._region = None
            return []
        self._region = _body_region(keypoints, w, h) if self.track_region else None
        return [Skeleton(self.layout, keypoints, box=_keypoint_box(keypoints, w, h), score=score)]

    def _run(self, bgr: np.ndarray, region: tuple[float, float, float]) -> np.ndarray:
        """Warp ``region`` to the model input, run, and map keypoints back to pixels."""
        x0, y0, side = region
        s = self.input_size / side
        warp = np.array([[s, 0.0, -x0 * s], [0.0, s, -y0 * s]], dtype=np.float64)
        crop = cv2.warpAffine(
            bgr, warp, (self.input_size, self.input_size), flags=cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT, borderValue=(0, 0, 0),
        )
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB)[None]
        tensor = rgb if self._input_dtype == np.uint8 else rgb.astype(self._input_dtype)
        out = self.backend.run({self._input_name: tensor})[0].reshape(17, 3)
        keypoints = np.empty((17, 3), np.float32)
        keypoints[:, 0] = x0 + out[:, 1] * side
        keypoints[:, 1] = y0 + out[:, 0] * side
        keypoints[:, 2] = np.clip(out[:, 2], 0.0, 1.0)
        return keypoints

    def reset(self) -> None:
        """Forget the tracked region (next frame is seen whole)."""
        self._region = None

    def close(self) -> None:
        if self.backend is not None:
            self.backend.close()
            self.backend = None

    def __enter__(self) -> MoveNetEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _whole_frame(width: int, height: int) -> tuple[float, float, float]:
    """Square region that letterboxes the whole frame (centred, padded)."""
    side = float(max(width, height))
    return (width - side) / 2.0, (height - side) / 2.0, side


def _body_region(
    keypoints: np.ndarray, width: int, height: int
) -> tuple[float, float, float] | None:
    """Square crop around the body for the next frame (TF Hub MoveNet tutorial rule).

    None (whole frame) when the torso is not seen or the crop would be larger
    than the frame anyway.
    """
    seen = keypoints[:, 2] > _SEEN
    if not ((seen[_L_HIP] or seen[_R_HIP]) and (seen[_L_SH] or seen[_R_SH])):
        return None
    cx = float((keypoints[_L_HIP, 0] + keypoints[_R_HIP, 0]) / 2)
    cy = float((keypoints[_L_HIP, 1] + keypoints[_R_HIP, 1]) / 2)
    torso = keypoints[list(_TORSO), :2]
    body = keypoints[seen, :2]
    half = max(
        1.9 * float(np.abs(torso[:, 0] - cx).max()), 1.9 * float(np.abs(torso[:, 1] - cy).max()),
        1.2 * float(np.abs(body[:, 0] - cx).max()), 1.2 * float(np.abs(body[:, 1] - cy).max()),
    )
    half = min(half, max(cx, width - cx, cy, height - cy))
    if half > max(width, height) / 2 or half < 8:
        return None
    return cx - half, cy - half, 2 * half


def _keypoint_box(keypoints: np.ndarray, width: int, height: int) -> np.ndarray:
    """xyxy box around the seen keypoints (all when fewer than 4 are seen), clipped."""
    seen = keypoints[keypoints[:, 2] > _SEEN]
    pts = seen if len(seen) >= 4 else keypoints
    box = np.array([pts[:, 0].min(), pts[:, 1].min(), pts[:, 0].max(), pts[:, 1].max()])
    box[[0, 2]] = np.clip(box[[0, 2]], 0, width)
    box[[1, 3]] = np.clip(box[[1, 3]], 0, height)
    return box.astype(np.float32)
