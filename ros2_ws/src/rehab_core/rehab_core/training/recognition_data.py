"""Training windows for the view-robust exercise classifier: real 2-D plus virtual views.

Every clip gives its own 2-D skeletons (what the camera saw) and, where it
has 3-D (MediaPipe world landmarks, UI-PRMD), ``views`` re-projections from
random virtual cameras with other body proportions, each played at a random
speed. Windows are cut once per clip (fixed seed) and then picked per fold,
so leave-sources-out folds reuse them instead of recomputing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, field

import numpy as np

from rehab_core.datasets.corpus import RECOGNITION_LABELS, CorpusClip
from rehab_core.datasets.multiview import ViewSampler, canonicalize, pose_noise, project, vary_body
from rehab_core.datasets.skeleton_dataset import SkeletonSequence, cut_windows
from rehab_core.errors import ConfigError
from rehab_core.recognition.preprocess import normalize_window, pad_front, resample_to_rate
from rehab_core.recognition.world_input import (
    INPUTS,
    augment_world,
    camera_rotation,
    canonical_window,
    world_windows,
)
from rehab_core.training.active_windows import activity_rule, window_is_active

# A projected joint MediaPipe placed but marked poorly visible still counts as seen.
_MIN_PROJECTED_SCORE = 0.3


@dataclass
class RecognitionData:
    """What the windows look like and how many virtual views each clip gets."""

    labels: tuple[str, ...] = RECOGNITION_LABELS
    window: int = 30
    fps: float = 15.0
    stride: int = 3
    normalization: str = "torso"
    min_score: float = 0.2
    #: a clip shorter than a window still gives one, front-padded, from this many frames
    min_frames: int = 10
    #: the score channel as seen/unseen only: raw scores differ by estimator, camera and
    #: between real and re-projected skeletons, a cue that does not carry to new footage
    binary_score: bool = False
    views: int = 2
    uiprmd_views: int = 2
    uiprmd_stride: int = 9
    speed_range: tuple[float, float] = (0.75, 1.35)
    max_windows_per_rendering: int = 60
    sampler: ViewSampler = field(default_factory=ViewSampler)
    seed: int = 0
    #: "2d": (x, y, seen) image keypoints; "world3d": (x, y, z) world landmarks in the
    #: body's frame (``world_input.py``), for pose models that give 3-D; "fused": both (6)
    input: str = "2d"
    #: train only on windows where a counted exercise moves (``active_windows.py``)
    active_only: bool = False
    #: at most this many training windows per (class, source) and seed (0: no cap), so no
    #: one source (UI-PRMD's lab lunges, one channel's many squats) is what a class means
    max_windows_per_source: int = 0

    def __post_init__(self) -> None:
        if "unknown" not in self.labels:
            raise ConfigError("the class list needs an open-set 'unknown' class")
        if self.window < 4 or self.stride < 1 or self.fps <= 0:
            raise ConfigError("window >= 4, stride >= 1 and fps > 0 are required")
        if self.input not in INPUTS:
            raise ConfigError(f"input must be one of {INPUTS}, got {self.input!r}")
        if self.max_windows_per_source < 0:
            raise ConfigError("max_windows_per_source must be >= 0 (0: no cap)")
        if self.active_only and self.input != "fused":
            raise ConfigError("active_only (train on moving windows only) needs the fused input")


@dataclass
class ClipWindows:
    """Normalised (N, 3, T, V) windows of one clip, with its label and source."""

    name: str
    label: int
    source: str
    real: bool
    x: np.ndarray


def _short_window(kp: np.ndarray, stamps: np.ndarray, data: RecognitionData,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """The one front-padded window of a clip shorter than a window (as streaming does)."""
    empty = np.zeros((0, 3, data.window, kp.shape[1]), np.float32), np.zeros(0, np.int64)
    res, ticks = resample_to_rate(kp, stamps, data.fps)
    if not data.min_frames or len(res) < data.min_frames or len(res) >= data.window:
        return empty
    w = pad_front(res, data.window)
    if (w[:, :, 2] >= data.min_score).any(axis=1).mean() < 0.5:
        return empty
    normed = normalize_window(w, "coco17", data.normalization, data.min_score)
    if normed is None:
        return empty
    return np.transpose(normed, (2, 0, 1))[None].astype(np.float32), ticks[:1]


def _cut(kp: np.ndarray, stamps: np.ndarray, data: RecognitionData, stride: int,
         ) -> tuple[np.ndarray, np.ndarray]:
    seq = SkeletonSequence(kp, stamps, "coco17")
    x, starts = cut_windows(seq, data.window, stride, data.fps, data.normalization,
                            data.min_score)
    if len(x) == 0:
        x, starts = _short_window(kp, stamps, data)
    if data.binary_score and len(x):
        x[:, 2] = (x[:, 2] > 0).astype(np.float32)
    return x, starts


def _windows(kp: np.ndarray, stamps: np.ndarray, data: RecognitionData, stride: int,
             rng: np.random.Generator | None) -> np.ndarray:
    x, _ = _cut(kp, stamps, data, stride)
    cap = data.max_windows_per_rendering
    if rng is not None and len(x) > cap:
        x = x[np.sort(rng.choice(len(x), cap, replace=False))]
    return x


def _cap(x: np.ndarray, data: RecognitionData, rng: np.random.Generator) -> np.ndarray:
    cap = data.max_windows_per_rendering
    return x[np.sort(rng.choice(len(x), cap, replace=False))] if len(x) > cap else x


def _render_world(clip: CorpusClip, data: RecognitionData,
                  rng: np.random.Generator) -> list[np.ndarray]:
    """3-D input: the clip's own world landmarks and ``views`` bodies / tilts / speeds."""
    if clip.world is None or not len(clip.world):
        return []
    stride = data.stride if clip.real else data.uiprmd_stride
    n_views = data.views if clip.real else data.uiprmd_views
    parts = [_cap(world_windows(clip.world, clip.stamps_ns, data.window, stride,
                                data.fps)[0], data, rng)]
    for _ in range(n_views):
        speed = rng.uniform(*data.speed_range)
        stamps = clip.stamps_ns[0] + ((clip.stamps_ns - clip.stamps_ns[0]) / speed)
        w = augment_world(clip.world, rng, noise=data.sampler.noise,
                          dropout=data.sampler.dropout, limb_scale=data.sampler.limb_scale,
                          width_scale=data.sampler.width_scale)
        parts.append(_cap(world_windows(w, stamps.astype(np.int64), data.window, stride,
                                        data.fps)[0], data, rng))
    return parts


def fused_windows(kp: np.ndarray, world: np.ndarray | None, stamps: np.ndarray,
                  data: RecognitionData, stride: int, active: tuple[str, float] | None = None,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """(N, 6, T, V) windows: the 2-D (x, y, seen) and the 3-D body-frame (x, y, z) of the
    same ticks; a window without usable 3-D keeps zeros there (as a 2-D-only frame would).
    ``active`` (an ``activity_rule``) keeps only the windows where the exercise moves."""
    if world is None:
        world = np.zeros((*kp.shape[:2], 4), np.float32)
    res, ticks = resample_to_rate(kp, stamps, data.fps)
    wres, _ = resample_to_rate(world, stamps, data.fps)
    if data.min_frames and data.min_frames <= len(res) < data.window:
        res, wres, ticks = pad_front(res, data.window), pad_front(wres, data.window), ticks[:1]
    out, starts = [], []
    for s in range(0, len(res) - data.window + 1, stride):
        w = res[s:s + data.window]
        if (w[:, :, 2] >= data.min_score).any(axis=1).mean() < 0.5:
            continue
        if active is not None and not window_is_active(active, w, wres[s:s + data.window]):
            continue
        flat = normalize_window(w, "coco17", data.normalization, data.min_score)
        if flat is None:
            continue
        flat[..., 2] = (flat[..., 2] > 0).astype(np.float32)
        body = canonical_window(wres[s:s + data.window])
        body = np.zeros_like(flat) if body is None else body
        out.append(np.transpose(np.concatenate([flat, body], axis=2), (2, 0, 1)))
        starts.append(ticks[s])
    if not out:
        return np.zeros((0, 6, data.window, kp.shape[1]), np.float32), np.zeros(0, np.int64)
    return np.stack(out).astype(np.float32), np.asarray(starts, np.int64)


def _render_fused(clip: CorpusClip, data: RecognitionData,
                  rng: np.random.Generator) -> list[np.ndarray]:
    """Own 2-D + 3-D, and virtual cameras that see one body in 2-D and in 3-D alike."""
    parts = []
    active = activity_rule(clip.label) if data.active_only else None
    if clip.keypoints is not None:
        parts.append(_cap(fused_windows(clip.keypoints, clip.world, clip.stamps_ns, data,
                                        data.stride, active)[0], data, rng))
    if clip.world is None or not len(clip.world):
        return parts
    canonical = canonicalize(clip.world)
    stride = data.stride if clip.real else data.uiprmd_stride
    s = data.sampler
    for _ in range(data.views if clip.real else data.uiprmd_views):
        body = vary_body(canonical, rng, s.limb_scale, s.width_scale)
        angles = [np.deg2rad(rng.uniform(*r)) for r in (s.yaw_deg, s.pitch_deg, s.roll_deg)]
        kp = pose_noise(project(body, *angles, rng.uniform(*s.distance_m)), rng, s.noise,
                        s.dropout)
        seen = kp[..., 2] > 0
        kp[..., 2] = np.where(seen, np.maximum(kp[..., 2], _MIN_PROJECTED_SCORE), 0.0)
        cam = body.copy()
        cam[..., :3] = body[..., :3] @ camera_rotation(*angles).T
        cam[np.abs(body[..., :3]).sum(axis=2) == 0] = 0.0
        speed = rng.uniform(*data.speed_range)
        stamps = clip.stamps_ns[0] + ((clip.stamps_ns - clip.stamps_ns[0]) / speed)
        parts.append(_cap(fused_windows(kp, cam, stamps.astype(np.int64), data, stride,
                                        active)[0], data, rng))
    return parts


def render_clip(clip: CorpusClip, data: RecognitionData) -> ClipWindows:
    """Training windows of one clip: its own 2-D view and its virtual views."""
    rng = np.random.default_rng([data.seed, zlib.crc32(clip.name.encode())])
    label = list(data.labels).index(clip.label)
    if data.input in ("world3d", "fused"):
        render = _render_world if data.input == "world3d" else _render_fused
        parts = [p for p in render(clip, data, rng) if len(p)]
        c = 6 if data.input == "fused" else 3
        x = np.concatenate(parts) if parts else np.zeros((0, c, data.window, 17), np.float32)
        return ClipWindows(clip.name, label, clip.source, clip.real, x)
    parts = []
    if clip.keypoints is not None:
        parts.append(_windows(clip.keypoints, clip.stamps_ns, data, data.stride, rng))
    if clip.world is not None and len(clip.world):
        canonical = canonicalize(clip.world)
        n_views = data.views if clip.real else data.uiprmd_views
        stride = data.stride if clip.real else data.uiprmd_stride
        for _ in range(n_views):
            kp = data.sampler.view(canonical, rng)
            seen = kp[..., 2] > 0
            kp[..., 2] = np.where(seen, np.maximum(kp[..., 2], _MIN_PROJECTED_SCORE), 0.0)
            speed = rng.uniform(*data.speed_range)
            stamps = clip.stamps_ns[0] + ((clip.stamps_ns - clip.stamps_ns[0]) / speed)
            parts.append(_windows(kp, stamps.astype(np.int64), data, stride, rng))
    parts = [p for p in parts if len(p)]
    x = np.concatenate(parts) if parts else np.zeros((0, 3, data.window, 17), np.float32)
    return ClipWindows(clip.name, list(data.labels).index(clip.label), clip.source, clip.real, x)


def cap_per_source(rendered: dict[str, ClipWindows], cap: int,
                   seed: int) -> dict[str, ClipWindows]:
    """``rendered`` with each (class, source) group cut to ``cap`` windows, the same share
    drawn from each of its clips (at least one window per clip that had any)."""
    if cap <= 0:
        return rendered
    totals: dict[tuple[int, str], int] = {}
    for r in rendered.values():
        totals[(r.label, r.source)] = totals.get((r.label, r.source), 0) + len(r.x)
    out = {}
    for name, r in rendered.items():
        total = totals[(r.label, r.source)]
        if total <= cap or not len(r.x):
            out[name] = r
            continue
        keep = max(1, round(len(r.x) * cap / total))
        rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
        pick = np.sort(rng.choice(len(r.x), keep, replace=False))
        out[name] = ClipWindows(r.name, r.label, r.source, r.real, r.x[pick])
    return out


def eval_windows(clip: CorpusClip, data: RecognitionData) -> tuple[np.ndarray, np.ndarray]:
    """A real clip's own windows (no augmentation) and their start stamps, for evaluation."""
    if data.input == "fused" and clip.keypoints is not None:
        return fused_windows(clip.keypoints, clip.world, clip.stamps_ns, data, data.stride)
    if data.input == "world3d":
        if clip.world is None:
            raise ConfigError(f"{clip.name} has no 3-D world landmarks to evaluate on")
        return world_windows(clip.world, clip.stamps_ns, data.window, data.stride, data.fps)
    if clip.keypoints is None:
        raise ConfigError(f"{clip.name} has no 2-D keypoints to evaluate on")
    return _cut(clip.keypoints, clip.stamps_ns, data, data.stride)


def stack(rendered: list[ClipWindows]) -> tuple[np.ndarray, np.ndarray]:
    """All windows of ``rendered`` clips as one (x, y) training set."""
    xs = [r.x for r in rendered if len(r.x)]
    if not xs:
        raise ConfigError("no training windows")
    ys = [np.full(len(r.x), r.label, np.int64) for r in rendered if len(r.x)]
    return np.concatenate(xs), np.concatenate(ys)
