"""One person's skeleton sequence in memory and on disk (``.npz``).

Why a file format: running a pose model over every training/test video is
the slow step; caching its output lets the action classifier, repetition
counter and their tests work from keypoints in seconds. ``.npz`` keeps it
numpy-only (no pickle: loading never executes code).

File keys: ``keypoints`` float32 (T, K, 3) of the main subject, zeros where
nobody was found; ``stamps_ns`` int64 (T,); ``track_ids`` int32 (T,), -1
where missing; ``layout``, ``source``, ``pose_model`` strings; ``fps``
float; ``width``, ``height`` ints; ``format_version``.
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rehab_core.errors import InputSourceError
from rehab_core.skeleton.layouts import convert_keypoints, get_layout

FORMAT_VERSION = 1
_REQUIRED = ("keypoints", "stamps_ns", "layout", "fps")


@dataclass
class SkeletonSequence:
    """Keypoints of one person over time, with where and how they were made."""

    keypoints: np.ndarray
    stamps_ns: np.ndarray
    layout: str
    fps: float
    source: str = ""
    width: int = 0
    height: int = 0
    pose_model: str = ""
    track_ids: np.ndarray | None = field(default=None)

    def __post_init__(self) -> None:
        self.keypoints = np.asarray(self.keypoints, dtype=np.float32)
        self.stamps_ns = np.asarray(self.stamps_ns, dtype=np.int64).reshape(-1)
        layout = get_layout(self.layout)  # ValueError naming the known layouts
        t = len(self.stamps_ns)
        if self.keypoints.shape != (t, layout.num_keypoints, 3):
            raise ValueError(
                f"keypoints must be (T={t}, {layout.num_keypoints}, 3) for layout "
                f"{self.layout!r}, got {self.keypoints.shape}"
            )
        if self.track_ids is None:
            self.track_ids = np.where(self.detected, 0, -1).astype(np.int32)
        self.track_ids = np.asarray(self.track_ids, dtype=np.int32).reshape(-1)
        if len(self.track_ids) != t:
            raise ValueError(f"track_ids has {len(self.track_ids)} entries for {t} frames")
        self.fps = float(self.fps)
        self.width, self.height = int(self.width), int(self.height)

    def __len__(self) -> int:
        return len(self.stamps_ns)

    @property
    def detected(self) -> np.ndarray:
        """(T,) bool: frames where the subject has at least one keypoint."""
        return (self.keypoints[:, :, 2] > 0).any(axis=1)

    @property
    def detection_rate(self) -> float:
        return float(self.detected.mean()) if len(self) else 0.0

    @property
    def duration_s(self) -> float:
        return float(self.stamps_ns[-1] - self.stamps_ns[0]) * 1e-9 if len(self) > 1 else 0.0

    def to_layout(self, layout: str) -> SkeletonSequence:
        """The same sequence with keypoints converted to another layout."""
        return SkeletonSequence(
            keypoints=convert_keypoints(self.keypoints, self.layout, layout),
            stamps_ns=self.stamps_ns, layout=layout, fps=self.fps, source=self.source,
            width=self.width, height=self.height, pose_model=self.pose_model,
            track_ids=self.track_ids,
        )

    def normalized(self) -> np.ndarray:
        """Keypoints with x, y divided by the image width, height (scores kept)."""
        if self.width <= 0 or self.height <= 0:
            raise ValueError("image size unknown: cannot normalise")
        out = self.keypoints.copy()
        out[..., 0] /= self.width
        out[..., 1] /= self.height
        return out


def save_skeletons(path: str | Path, sequence: SkeletonSequence) -> Path:
    """Write ``sequence`` to ``path`` (.npz, compressed); written atomically."""
    path = Path(path)
    if path.suffix != ".npz":
        path = path.with_name(path.name + ".npz")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.npz")
    np.savez_compressed(
        tmp,
        keypoints=sequence.keypoints.astype(np.float32),
        stamps_ns=sequence.stamps_ns.astype(np.int64),
        track_ids=np.asarray(sequence.track_ids, np.int32),
        layout=np.str_(sequence.layout),
        fps=np.float64(sequence.fps),
        source=np.str_(sequence.source),
        width=np.int64(sequence.width),
        height=np.int64(sequence.height),
        pose_model=np.str_(sequence.pose_model),
        format_version=np.int64(FORMAT_VERSION),
    )
    os.replace(tmp, path)
    return path


def load_skeletons(path: str | Path) -> SkeletonSequence:
    """Read a sequence written by ``save_skeletons`` (``InputSourceError`` when unusable)."""
    path = Path(path)
    if not path.is_file():
        raise InputSourceError(f"skeleton file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            files = set(data.files)
            missing = [k for k in _REQUIRED if k not in files]
            if missing:
                raise InputSourceError(f"{path}: not a skeleton file (missing {missing})")
            version = int(data["format_version"]) if "format_version" in files else 1
            if version > FORMAT_VERSION:
                raise InputSourceError(
                    f"{path}: skeleton format {version} is newer than this code ({FORMAT_VERSION})"
                )

            def text(key: str) -> str:
                return str(data[key]) if key in files else ""

            def integer(key: str) -> int:
                return int(data[key]) if key in files else 0

            return SkeletonSequence(
                keypoints=data["keypoints"],
                stamps_ns=data["stamps_ns"],
                layout=str(data["layout"]),
                fps=float(data["fps"]),
                source=text("source"),
                width=integer("width"),
                height=integer("height"),
                pose_model=text("pose_model"),
                track_ids=data["track_ids"] if "track_ids" in files else None,
            )
    except InputSourceError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise InputSourceError(f"{path}: unreadable skeleton file ({err})") from err
