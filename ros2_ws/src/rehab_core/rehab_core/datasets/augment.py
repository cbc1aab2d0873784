"""Augmentations of skeleton windows, so a model learns the movement, not the camera.

Window-level ones act on normalised (C, T, V) windows whose channels are
(x, y, score) centred on the body: a horizontal flip (x -> -x with left and
right joints swapped, so a left-side exercise teaches the right side too), a
zoom and a small in-plane rotation (camera distance and tilt). The
sequence-level ``change_speed`` relabels a sequence's stamps, which after
frame-rate matching is the same as a person moving faster or slower (or a
camera at another rate): frames are then repeated or dropped exactly as live.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from rehab_core.datasets.skeleton_dataset import SkeletonSequence
from rehab_core.errors import ConfigError
from rehab_core.skeleton.layouts import get_layout


def flip_horizontal(window: np.ndarray, layout: str,
                    x_channels: tuple[int, ...] = (0,)) -> np.ndarray:
    """Mirror a (C, T, V) window: negate x (every ``x_channels``) and swap left/right joints."""
    perm = get_layout(layout).flip_permutation()
    out = window[:, :, perm].copy()
    out[list(x_channels)] = -out[list(x_channels)]
    return out


def zoom(window: np.ndarray, factor: float) -> np.ndarray:
    """Scale x and y about the centre (unseen joints stay at 0)."""
    out = window.copy()
    out[:2] *= factor
    return out


def rotate(window: np.ndarray, degrees: float) -> np.ndarray:
    """Rotate x, y in the image plane about the centre."""
    a = np.deg2rad(degrees)
    c, s = np.cos(a), np.sin(a)
    out = window.copy()
    x, y = window[0], window[1]
    out[0] = c * x - s * y
    out[1] = s * x + c * y
    return out


def change_speed(seq: SkeletonSequence, factor: float) -> SkeletonSequence:
    """The same sequence played ``factor`` times faster (stamps divided by it)."""
    if factor <= 0:
        raise ConfigError(f"speed factor must be > 0, got {factor}")
    stamps = (seq.stamps_ns - seq.stamps_ns[0]) / factor + seq.stamps_ns[0]
    return replace(seq, stamps_ns=np.round(stamps).astype(np.int64), fps=seq.fps * factor,
                   video_id=seq.video_id, meta={**seq.meta, "speed": factor})


@dataclass
class RandomAugment:
    """Random flip / zoom / rotation of normalised windows (for ``WindowDataset``)."""

    layout: str
    flip_prob: float = 0.5
    zoom_range: tuple[float, float] = (0.85, 1.15)
    max_rotation_deg: float = 10.0
    seed: int | None = None
    #: the channels holding an x coordinate (a window with 2-D and 3-D channels has two)
    x_channels: tuple[int, ...] = (0,)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)
        get_layout(self.layout)

    def __call__(self, window: np.ndarray) -> np.ndarray:
        out = window
        if self.rng.random() < self.flip_prob:
            out = flip_horizontal(out, self.layout, self.x_channels)
        out = zoom(out, float(self.rng.uniform(*self.zoom_range)))
        if self.max_rotation_deg > 0:
            out = rotate(out, float(self.rng.uniform(-self.max_rotation_deg,
                                                     self.max_rotation_deg)))
        return out
