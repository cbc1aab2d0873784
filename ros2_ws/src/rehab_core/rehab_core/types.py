"""Plain data types passed between the stages of the core.

They are numpy-backed and ROS-free; ``rehab_perception.conversions`` turns
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


@dataclass
class Skeleton:
    """One person's keypoints in a named layout.

    ``keypoints`` is float32 (K, 3) rows of (x px, y px, score 0..1); a score
    of 0 means the keypoint was not found (its x, y are meaningless).
    """

    layout: str
    keypoints: np.ndarray
    box: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    score: float = 0.0
    track_id: int = -1

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.box = np.asarray(self.box, dtype=np.float32)
        if self.keypoints.ndim != 2 or self.keypoints.shape[1] != 3:
            raise ValueError(f"keypoints must be (K, 3), got {self.keypoints.shape}")


@dataclass
class Detection:
    """One detected object: class label, score and (x1, y1, x2, y2) box in px."""

    label: str
    score: float
    box: np.ndarray
    class_id: int = -1
    track_id: int = -1

    def __post_init__(self) -> None:
        self.box = np.asarray(self.box, dtype=np.float32).reshape(4)
