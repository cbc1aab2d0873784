"""Skeleton sequences, the windows cut from them, and video-level splits.

Windows from one video are strongly correlated (overlapping, same person,
same camera), so every split here is by VIDEO, never by window: a window of
a validation video never has a sibling in the training set. Leave-one-video-
out folds hold out each video in turn.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

import numpy as np

from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.recognition.preprocess import normalize_window, resample_to_rate


@dataclass
class SkeletonSequence:
    """One video's skeletons for one person.

    ``keypoints`` is (T, V, 3) of (x, y, score) in image-like coordinates
    (y down), ``stamps_ns`` (T,) the frame stamps.
    """

    keypoints: np.ndarray
    stamps_ns: np.ndarray
    layout: str
    label: str = ""
    video_id: str = ""
    fps: float = 30.0
    meta: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, np.float32)
        self.stamps_ns = np.asarray(self.stamps_ns, np.int64)
        if self.keypoints.ndim != 3 or self.keypoints.shape[2] != 3:
            raise ShapeMismatchError(f"keypoints must be (T, V, 3), got {self.keypoints.shape}")
        if len(self.stamps_ns) != len(self.keypoints):
            raise ShapeMismatchError(
                f"{len(self.stamps_ns)} stamps for {len(self.keypoints)} frames")

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @staticmethod
    def stamps_for(num_frames: int, fps: float) -> np.ndarray:
        """Evenly spaced stamps for a sequence known only by its frame rate."""
        return np.round(np.arange(num_frames) * (1e9 / fps)).astype(np.int64)


@dataclass
class WindowSet:
    """Normalised windows (N, C, T, V) with their labels and source videos."""

    x: np.ndarray
    y: np.ndarray
    video: np.ndarray
    start_ns: np.ndarray

    def __len__(self) -> int:
        return len(self.y)

    def subset(self, mask: np.ndarray) -> WindowSet:
        return WindowSet(self.x[mask], self.y[mask], self.video[mask], self.start_ns[mask])


def cut_windows(
    seq: SkeletonSequence,
    window: int,
    stride: int,
    fps: float,
    normalization: str = "torso",
    min_score: float = 0.2,
    min_seen_fraction: float = 0.5,
    raw_transform: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Resample ``seq`` to ``fps`` and cut normalised (N, C, T, V) windows.

    Windows where fewer than ``min_seen_fraction`` of frames show the person,
    or that cannot be normalised, are dropped (the streaming classifier skips
    the same windows). Returns the windows and their start stamps.
    """
    if window < 1 or stride < 1:
        raise ConfigError(f"window and stride must be >= 1, got {window}, {stride}")
    kp, ticks = resample_to_rate(seq.keypoints, seq.stamps_ns, fps)
    if raw_transform is not None:
        kp = raw_transform(kp)
    out, starts = [], []
    for s in range(0, len(kp) - window + 1, stride):
        w = kp[s:s + window]
        if (w[:, :, 2] >= min_score).any(axis=1).mean() < min_seen_fraction:
            continue
        normed = normalize_window(w, seq.layout, normalization, min_score)
        if normed is None:
            continue
        out.append(np.transpose(normed, (2, 0, 1)))
        starts.append(ticks[s])
    v = seq.keypoints.shape[1]
    if not out:
        return np.zeros((0, 3, window, v), np.float32), np.zeros(0, np.int64)
    return np.stack(out).astype(np.float32), np.asarray(starts, np.int64)


def build_window_set(
    sequences: Sequence[SkeletonSequence],
    labels: Sequence[str],
    window: int,
    stride: int,
    fps: float,
    normalization: str = "torso",
    min_score: float = 0.2,
) -> WindowSet:
    """Windows of every sequence, labelled by index into ``labels``."""
    xs, ys, vids, starts = [], [], [], []
    for seq in sequences:
        if seq.label not in labels:
            raise ConfigError(f"sequence {seq.video_id!r} has label {seq.label!r} "
                              f"not in {list(labels)}")
        x, st = cut_windows(seq, window, stride, fps, normalization, min_score)
        xs.append(x)
        ys.append(np.full(len(x), labels.index(seq.label), np.int64))
        vids.append(np.full(len(x), seq.video_id, dtype=object))
        starts.append(st)
    if not xs:
        raise ConfigError("no sequences given")
    return WindowSet(np.concatenate(xs), np.concatenate(ys), np.concatenate(vids),
                     np.concatenate(starts))


def split_by_video(
    sequences: Sequence[SkeletonSequence], val_videos: Sequence[str]
) -> tuple[list[SkeletonSequence], list[SkeletonSequence]]:
    """Train / validation sequences, split by video id."""
    ids = {s.video_id for s in sequences}
    unknown = set(val_videos) - ids
    if unknown:
        raise ConfigError(f"validation videos not in the data: {sorted(unknown)}")
    val = [s for s in sequences if s.video_id in set(val_videos)]
    train = [s for s in sequences if s.video_id not in set(val_videos)]
    return train, val


def leave_one_video_out(
    sequences: Sequence[SkeletonSequence],
) -> Iterator[tuple[str, list[SkeletonSequence], list[SkeletonSequence]]]:
    """Yield (held-out video id, train sequences, held-out sequences) per video."""
    ids = sorted({s.video_id for s in sequences})
    if len(ids) < 2:
        raise ConfigError("leave-one-video-out needs at least two videos")
    for vid in ids:
        train, val = split_by_video(sequences, [vid])
        yield vid, train, val


class WindowDataset:
    """A torch-style dataset over a ``WindowSet`` with optional augmentation."""

    def __init__(self, windows: WindowSet,
                 augment: Callable[[np.ndarray], np.ndarray] | None = None) -> None:
        self.windows = windows
        self.augment = augment

    def __len__(self) -> int:
        return len(self.windows)

    def __getitem__(self, i: int) -> tuple[np.ndarray, int]:
        x = self.windows.x[i]
        if self.augment is not None:
            x = self.augment(x)
        return np.ascontiguousarray(x, dtype=np.float32), int(self.windows.y[i])
