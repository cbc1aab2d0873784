"""Skeleton windows -> model input: frame-rate matching and normalisation.

Training and streaming call the same functions, so a model sees the same
kind of input offline and live.

Frame-rate matching (as in the rehab thesis): the model was trained at a
fixed rate, so a camera below it has frames repeated and a camera above it
has frames dropped. We do it on stamps with sample-and-hold: at every tick of
the model's clock the newest frame at or before that tick is used. A 9 fps
camera thus has each frame repeated about 3.3 times for a 30 fps model; a
60 fps camera has every other frame dropped; jitter is absorbed.

Normalisation makes the input independent of camera distance, image size
and orientation (portrait or landscape): coordinates are centred on the
window's median hip midpoint (shoulder midpoint when the hips are unseen)
and divided by the window's median torso length (shoulder midpoint to hip
midpoint) or, in ``box`` mode or when no torso is seen, by the median height
of the box around the visible keypoints. Medians over the window keep motion
inside the window (a jumping jack's bounce) while ignoring single-frame
glitches. Unseen keypoints (score below ``min_score``) get (0, 0, 0).
"""

from __future__ import annotations

import numpy as np

from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.skeleton.layouts import KeypointLayout, get_layout

NORMALIZATIONS = ("torso", "box")


def resample_to_rate(
    keypoints: np.ndarray, stamps_ns: np.ndarray, target_fps: float
) -> tuple[np.ndarray, np.ndarray]:
    """Sample-and-hold a (T, V, C) sequence onto a ``target_fps`` clock.

    Returns the resampled keypoints and the tick stamps. Ticks start at the
    first stamp and end at the last; stamps must be non-decreasing.
    """
    kp = np.asarray(keypoints, np.float32)
    stamps = np.asarray(stamps_ns, np.int64)
    if kp.ndim != 3 or len(kp) != len(stamps):
        raise ShapeMismatchError(
            f"expected (T, V, C) keypoints with T stamps, got {kp.shape} and {stamps.shape}")
    if target_fps <= 0:
        raise ConfigError(f"target_fps must be > 0, got {target_fps}")
    if len(stamps) == 0:
        return kp, stamps
    if np.any(np.diff(stamps) < 0):
        raise ShapeMismatchError("stamps must be non-decreasing")
    period = 1e9 / target_fps
    count = int(np.floor((stamps[-1] - stamps[0]) / period)) + 1
    ticks = stamps[0] + np.round(np.arange(count) * period).astype(np.int64)
    idx = np.searchsorted(stamps, ticks, side="right") - 1
    return kp[np.clip(idx, 0, len(kp) - 1)], ticks


class FrameRateMatcher:
    """Online sample-and-hold onto the model's clock (see ``resample_to_rate``)."""

    def __init__(self, target_fps: float) -> None:
        if target_fps <= 0:
            raise ConfigError(f"target_fps must be > 0, got {target_fps}")
        self.period_ns = 1e9 / target_fps
        self.reset()

    def reset(self) -> None:
        self._origin: int | None = None
        self._next_tick = 0
        self._last: tuple[int, np.ndarray] | None = None

    def push(self, stamp_ns: int, frame: np.ndarray) -> list[tuple[int, np.ndarray]]:
        """Add one camera frame; return the (tick stamp, frame) pairs now due."""
        out: list[tuple[int, np.ndarray]] = []
        if self._origin is None:
            self._origin = stamp_ns
        if self._last is not None and stamp_ns < self._last[0]:
            return out  # out-of-order frame: dropped (documented)
        while True:
            tick = self._origin + round(self._next_tick * self.period_ns)
            if tick > stamp_ns:
                break
            # A tick before this frame's stamp holds the previous frame.
            held = frame if tick >= stamp_ns or self._last is None else self._last[1]
            out.append((tick, held))
            self._next_tick += 1
        self._last = (stamp_ns, frame)
        return out


def _midpoint(window: np.ndarray, a: int, b: int, min_score: float) -> np.ndarray:
    """(T, 2) midpoint of joints a and b; NaN where either is unseen."""
    both = (window[:, a, 2] >= min_score) & (window[:, b, 2] >= min_score)
    mid = (window[:, a, :2] + window[:, b, :2]) / 2.0
    mid[~both] = np.nan
    return mid


def _anchor_joints(layout: KeypointLayout) -> tuple[int, int, int, int]:
    try:
        return (layout.index("left_shoulder"), layout.index("right_shoulder"),
                layout.index("left_hip"), layout.index("right_hip"))
    except ValueError as err:
        raise ConfigError(f"layout {layout.name!r} lacks shoulders/hips for normalisation") from err


def normalize_window(
    window: np.ndarray,
    layout: str | KeypointLayout,
    mode: str = "torso",
    min_score: float = 0.2,
) -> np.ndarray | None:
    """Centre and scale a (T, V, 3) window of (x, y, score); None if no body is seen."""
    lay = get_layout(layout) if isinstance(layout, str) else layout
    if mode not in NORMALIZATIONS:
        raise ConfigError(f"normalisation must be one of {NORMALIZATIONS}, got {mode!r}")
    w = np.asarray(window, np.float32)
    if w.ndim != 3 or w.shape[1] != lay.num_keypoints or w.shape[2] < 3:
        raise ShapeMismatchError(
            f"expected (T, {lay.num_keypoints}, 3) window for {lay.name}, got {w.shape}")
    seen = w[:, :, 2] >= min_score
    if not seen.any():
        return None
    ls, rs, lh, rh = _anchor_joints(lay)
    shoulders = _midpoint(w, ls, rs, min_score)
    hips = _midpoint(w, lh, rh, min_score)
    with np.errstate(all="ignore"):
        torso = np.linalg.norm(shoulders - hips, axis=1)
    hips_seen = np.isfinite(hips).all(axis=1)
    centre_src = hips[hips_seen] if hips_seen.any() else \
        shoulders[np.isfinite(shoulders).all(axis=1)]
    # np.median of the seen rows: np.nanmedian gives the same value (a midpoint is NaN in
    # both coordinates at once) but costs ~0.2 ms a call on a small array
    centre = np.median(centre_src if len(centre_src) else w[seen][:, :2], axis=0)

    scale = float("nan")
    torso_seen = torso[np.isfinite(torso)]
    if mode == "torso" and len(torso_seen):
        scale = float(np.median(torso_seen))
    if not np.isfinite(scale) or scale <= 1e-6:
        heights = []
        for t in range(len(w)):
            ys = w[t, seen[t], 1]
            xs = w[t, seen[t], 0]
            if len(ys) >= 2:
                heights.append(max(ys.max() - ys.min(), xs.max() - xs.min()))
        # The box's longer side stands in for ~3 torso lengths (a standing body).
        scale = float(np.median(heights)) / 3.0 if heights else float("nan")
    if not np.isfinite(scale) or scale <= 1e-6:
        return None
    out = np.zeros((w.shape[0], w.shape[1], 3), np.float32)
    out[..., :2] = (w[..., :2] - centre) / scale
    out[..., 2] = w[..., 2]
    out[~seen] = 0.0
    return out


def pad_front(frames: np.ndarray, length: int) -> np.ndarray:
    """(T, V, C) frames held at the first one until ``length`` (a stream's or clip's start)."""
    if len(frames) >= length or len(frames) == 0:
        return frames
    return np.concatenate([np.repeat(frames[:1], length - len(frames), axis=0), frames])


def window_to_input(window: np.ndarray) -> np.ndarray:
    """(T, V, C) normalised window -> (1, C, T, V) float32 model input."""
    return np.ascontiguousarray(np.transpose(window, (2, 0, 1))[None].astype(np.float32))
