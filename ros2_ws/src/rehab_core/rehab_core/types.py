"""Plain data types passed between the stages of the core.

They are numpy-backed and ROS-free; ``rehab_runtime.conversions`` turns
them into messages at the edge. Arrays are never copied by these types, so a
frame handed from one stage to the next keeps its buffer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class Frame:
    """One decoded image with its timing.

    ``image`` is HxWx3 uint8 in ``encoding`` order ("bgr8" or "rgb8").
    ``stamp_ns`` is the source stamp (video position, bag stamp or camera
    clock); every output derived from this frame carries it.
    """

    image: np.ndarray
    stamp_ns: int
    index: int
    encoding: str = "bgr8"
    frame_id: str = "camera"

    @property
    def t(self) -> float:
        """Source time in seconds."""
        return self.stamp_ns * 1e-9

    @property
    def height(self) -> int:
        return int(self.image.shape[0])

    @property
    def width(self) -> int:
        return int(self.image.shape[1])


#: what a Skeleton's 3-D keypoints are relative to (see ``Skeleton``)
SPACES_3D = ("camera", "model")


@dataclass
class Skeleton:
    """One person's keypoints in a named layout.

    ``keypoints`` is float32 (K, 3) rows of (x px, y px, score 0..1); a score
    of 0 means the keypoint was not found (its x, y are meaningless).

    ``keypoints_3d`` (optional) is float32 (K, 4) rows of (X, Y, Z metres,
    score), same layout and order as ``keypoints``; score 0 = no 3-D for that
    joint. ``space_3d`` says what the metres are relative to:

    * ``"camera"``: the camera's optical frame (x right, y down, z forward),
      from an aligned depth image (``rehab_core.pose.depth``);
    * ``"model"``: the pose model's own metric estimate (MediaPipe world
      landmarks: origin between the hips, y down), no depth camera needed.

    Angles are view-independent in both; positions compare only within one space.
    """

    layout: str
    keypoints: np.ndarray
    box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    score: float = 0.0
    track_id: int = -1
    keypoints_3d: np.ndarray | None = None
    space_3d: str = ""

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.box = np.asarray(self.box, dtype=np.float32)
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] != 3:
            raise ValueError(f"keypoints must be (K, 3), got {self.keypoints.shape}")
        if self.keypoints_3d is not None:
            self.keypoints_3d = np.asarray(self.keypoints_3d, dtype=np.float32)
            if self.keypoints_3d.shape != (self.keypoints.shape[0], 4):
                raise ValueError(f"keypoints_3d must be ({self.keypoints.shape[0]}, 4), "
                                 f"got {self.keypoints_3d.shape}")
            if self.space_3d not in SPACES_3D:
                raise ValueError(f"space_3d must be one of {SPACES_3D}, got {self.space_3d!r}")
            bad3 = ~np.isfinite(self.keypoints_3d).all(axis=1)
            if bad3.any():  # a joint without finite 3-D has none (score 0)
                self.keypoints_3d = self.keypoints_3d.copy()
                self.keypoints_3d[bad3] = 0.0
        # the edge every skeleton passes (model, message, bag): a non-finite or absurd
        # keypoint becomes "not found" (0, 0, 0) so NaN/inf never reach a stage, a message
        # or JSON (nor arise there: areas and distances of such values overflow float32)
        bad = ~(np.abs(self.keypoints) <= MAX_COORD).all(axis=1)
        if bad.any():
            self.keypoints = self.keypoints.copy()
            self.keypoints[bad] = 0.0
        self.box, self.score = _finite_box(self.box), _finite(self.score)


@dataclass
class Detection:
    """One detected object: class label, score and (x1, y1, x2, y2) box in px."""

    label: str
    score: float
    box: np.ndarray
    class_id: int = -1
    track_id: int = -1

    def __post_init__(self) -> None:
        self.box = _finite_box(np.asarray(self.box, dtype=np.float32).reshape(4))
        self.score = _finite(self.score)


#: |coordinate| beyond this (px) is no measurement: far outside any image, and products
#: of two such values still fit float32 (so no stage computes inf from them)
MAX_COORD = 1e7


def _finite(value: float) -> float:
    """A score that is not a finite number counts as 0 (nothing found)."""
    value = float(value)
    return value if np.isfinite(value) else 0.0


def _finite_box(box: np.ndarray) -> np.ndarray:
    """A box with any non-finite corner is no box (all zeros)."""
    return box if (np.abs(box) <= MAX_COORD).all() else np.zeros_like(box)
