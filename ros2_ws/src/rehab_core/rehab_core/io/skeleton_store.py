"""One person's skeleton sequence in memory and on disk (``.npz``).

Why a file format: running a pose model over every training/test video is
the slow step; caching its output lets the action classifier, repetition
counter and their tests work from keypoints in seconds. ``.npz`` keeps it
numpy-only (no pickle: loading never executes code).

File keys: ``keypoints`` float32 (T, K, 3) of the main subject, zeros where
nobody was found; ``stamps_ns`` int64 (T,); ``track_ids`` int32 (T,), -1
where missing; ``layout``, ``source``, ``pose_model`` strings; ``fps``
float; ``width``, ``height`` ints; ``format_version``. Optional:
``keypoints_3d`` float32 (T, K, 4) X, Y, Z metres + score in the same layout
and ``space_3d`` ("model": the pose model's world landmarks, "camera": depth),
only when the estimator gave 3-D; rows are zeros (score 0) on frames without
it. Why keep them: the exercise classifier's fused input and the repetition
counter's 3-D angles need them, so a replay answers as the live stack did.
Files without them (older ones) load with ``keypoints_3d`` None; the format
version stays 1 because older readers simply ignore the extra keys.
"""

from __future__ import annotations

import os
import zipfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from rehab_core.errors import InputSourceError
from rehab_core.io.skeleton_bag import SkeletonFrame
from rehab_core.skeleton.layouts import convert_keypoints, get_layout
from rehab_core.types import SPACES_3D, Skeleton

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
    keypoints_3d: np.ndarray | None = field(default=None)
    space_3d: str = ""

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
        self._check_3d()

    def _check_3d(self) -> None:
        """3-D rows must match the 2-D frames one to one, in a known space."""
        if self.keypoints_3d is None:
            self.space_3d = ""
            return
        self.keypoints_3d = np.asarray(self.keypoints_3d, dtype=np.float32)
        t, k = self.keypoints.shape[:2]
        if self.keypoints_3d.shape != (t, k, 4):
            raise ValueError(
                f"keypoints_3d must be (T={t}, {k}, 4) like the 2-D keypoints "
                f"{self.keypoints.shape}, got {self.keypoints_3d.shape}"
            )
        if self.space_3d not in SPACES_3D:
            raise ValueError(f"space_3d must be one of {SPACES_3D} when keypoints_3d are "
                             f"given, got {self.space_3d!r}")

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
        """The same sequence with keypoints (2-D and 3-D alike) converted to another layout."""
        k3 = self.keypoints_3d
        return SkeletonSequence(
            keypoints=convert_keypoints(self.keypoints, self.layout, layout),
            stamps_ns=self.stamps_ns, layout=layout, fps=self.fps, source=self.source,
            width=self.width, height=self.height, pose_model=self.pose_model,
            track_ids=self.track_ids,
            keypoints_3d=None if k3 is None else convert_keypoints(k3, self.layout, layout),
            space_3d=self.space_3d,
        )

    def skeleton(self, i: int, track_id: int | None = None) -> Skeleton | None:
        """Frame ``i`` as the ``Skeleton`` the live stack had (None: nobody found).

        Box and score come from the found keypoints; ``keypoints_3d`` is attached when the
        frame has any 3-D joint, so replays take the same 3-D paths as the live stack.
        ``track_id`` defaults to the stored one.
        """
        kp = self.keypoints[i]
        seen = kp[kp[:, 2] > 0]
        if not len(seen):
            return None
        k3 = self.keypoints_3d[i] if self.keypoints_3d is not None else None
        has_3d = k3 is not None and bool((k3[:, 3] > 0).any())
        return Skeleton(
            self.layout, kp, box=np.array([*seen[:, :2].min(0), *seen[:, :2].max(0)], np.float32),
            score=float(seen[:, 2].mean()),
            track_id=int(self.track_ids[i]) if track_id is None else track_id,
            keypoints_3d=k3 if has_3d else None, space_3d=self.space_3d if has_3d else "",
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
    extra: dict[str, np.ndarray] = {}
    if sequence.keypoints_3d is not None:
        extra = {"keypoints_3d": sequence.keypoints_3d.astype(np.float32),
                 "space_3d": np.str_(sequence.space_3d)}
    np.savez_compressed(
        tmp,
        **extra,
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

            keypoints, (k3, space) = data["keypoints"], _keypoints_3d(path, data, files)

            return SkeletonSequence(
                keypoints=keypoints,
                stamps_ns=data["stamps_ns"],
                layout=str(data["layout"]),
                fps=float(data["fps"]),
                source=text("source"),
                width=integer("width"),
                height=integer("height"),
                pose_model=text("pose_model"),
                track_ids=data["track_ids"] if "track_ids" in files else None,
                keypoints_3d=k3,
                space_3d=space,
            )
    except InputSourceError:
        raise
    except (OSError, ValueError, KeyError, EOFError, zipfile.BadZipFile) as err:
        raise InputSourceError(f"{path}: unreadable skeleton file ({err})") from err


def _keypoints_3d(path: Path, data: Mapping[str, np.ndarray],
                  files: set[str]) -> tuple[np.ndarray | None, str]:
    """The file's 3-D rows and their space ((None, "") in files without them); a shape
    that does not match the 2-D frames, or no known space, is a damaged file
    (``InputSourceError`` naming both). A corpus cache file (``corpus_extract``) keeps
    BlazePose's world landmarks as ``world33``: they are read as model-space 3-D in the
    file's layout, so replaying a cached clip answers as the live stack with 3-D did."""
    k2 = data["keypoints"]
    if "keypoints_3d" not in files:
        if "world33" not in files:
            return None, ""
        world = np.asarray(data["world33"], np.float32)
        if world.shape != (k2.shape[0], 33, 4):
            raise InputSourceError(f"{path}: world33 {world.shape} does not match the "
                                   f"{k2.shape[0]} frames of keypoints (expected (T, 33, 4))")
        return convert_keypoints(world, "blazepose33", str(data["layout"])), "model"
    k3 = data["keypoints_3d"]
    if k3.shape != (*k2.shape[:2], 4):
        raise InputSourceError(
            f"{path}: keypoints_3d {k3.shape} do not match the 2-D keypoints {k2.shape} "
            f"(expected {(*k2.shape[:2], 4)}); the file is damaged, extract it again"
        )
    space = str(data["space_3d"]) if "space_3d" in files else ""
    if space not in SPACES_3D:
        raise InputSourceError(f"{path}: keypoints_3d in unknown space {space!r} "
                               f"(expected one of {SPACES_3D})")
    return k3, space


class SkeletonFileSource:
    """A skeleton file as the perception graph's input: one ``SkeletonFrame`` per frame.

    Why: like a skeleton bag it enters the graph after the pose stage, so ``rehab run``
    replays cached extractions in seconds; each frame's Skeleton carries the file's 3-D
    (``SkeletonSequence.skeleton``), so the classifier and counter answer as they did live.
    """

    def __init__(self, path: str | Path, max_frames: int | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.stem
        self.sequence = load_skeletons(self.path)
        self.max_frames = max_frames
        self.is_live = False
        self.fps = self.sequence.fps
        self.frame_count = len(self.sequence)

    def __iter__(self) -> Iterator[SkeletonFrame]:
        seq = self.sequence
        for i in range(len(seq) if self.max_frames is None else min(len(seq), self.max_frames)):
            main = seq.skeleton(i)
            yield SkeletonFrame(int(seq.stamps_ns[i]), i, seq.width, seq.height,
                                [main] if main is not None else [],
                                main.track_id if main is not None else -1)
