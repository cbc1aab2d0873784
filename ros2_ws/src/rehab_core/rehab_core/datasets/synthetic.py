"""Synthetic exercise skeletons (coco17, pixels) for tests and demos without video.

Each kind moves distinct joints periodically around a standing pose, with
random body size, position, tempo and keypoint noise, so a classifier must
learn the movement rather than a fixed picture. Not a substitute for real
data: only for checking that the pipeline can learn at all.
"""

from __future__ import annotations

import numpy as np

from rehab_core.datasets.skeleton_dataset import SkeletonSequence

SYNTHETIC_KINDS = ("squat", "jumping_jacks", "idle")

# Standing pose in torso units (y down), coco17 order.
_STAND = np.array([
    [0.0, -1.45], [-0.08, -1.5], [0.08, -1.5], [-0.15, -1.45], [0.15, -1.45],
    [-0.35, -1.0], [0.35, -1.0], [-0.4, -0.5], [0.4, -0.5], [-0.42, 0.0], [0.42, 0.0],
    [-0.2, 0.0], [0.2, 0.0], [-0.2, 0.9], [0.2, 0.9], [-0.2, 1.8], [0.2, 1.8],
], np.float32)


def synthetic_sequence(kind: str, seconds: float = 6.0, fps: float = 30.0,
                       rng: np.random.Generator | None = None,
                       video_id: str = "") -> SkeletonSequence:
    """One person doing ``kind`` ("squat", "jumping_jacks" or "idle")."""
    if kind not in SYNTHETIC_KINDS:
        raise ValueError(f"kind must be one of {SYNTHETIC_KINDS}, got {kind!r}")
    rng = rng or np.random.default_rng()
    n = int(seconds * fps)
    t = np.arange(n) / fps
    period = rng.uniform(1.2, 2.5) if kind == "squat" else rng.uniform(0.8, 1.4)
    phase = (1 - np.cos(2 * np.pi * t / period + rng.uniform(0, 2 * np.pi))) / 2  # 0..1
    pose = np.repeat(_STAND[None], n, axis=0).copy()
    if kind == "squat":
        drop = 0.8 * phase[:, None]
        pose[:, :13, 1] += drop  # upper body and hips go down
        pose[:, 13:15, 1] += 0.4 * phase[:, None]
        pose[:, 13:15, 0] *= (1 + phase[:, None])  # knees out
        pose[:, [7, 8, 9, 10], 1] -= 0.3 * phase[:, None]  # arms forward/up
    elif kind == "jumping_jacks":
        lift = phase[:, None]
        pose[:, 7, :] += np.stack([-0.4 * phase, -0.9 * phase], 1)
        pose[:, 8, :] += np.stack([0.4 * phase, -0.9 * phase], 1)
        pose[:, 9, :] += np.stack([-0.3 * phase, -1.9 * phase], 1)
        pose[:, 10, :] += np.stack([0.3 * phase, -1.9 * phase], 1)
        pose[:, [13, 15], 0] -= 0.3 * lift
        pose[:, [14, 16], 0] += 0.3 * lift
        pose[:, :, 1] -= 0.1 * np.sin(np.pi * phase)[:, None]
    else:
        pose[:, :, 0] += 0.03 * np.sin(2 * np.pi * t / 3.0)[:, None]
    scale = rng.uniform(60, 200)
    origin = rng.uniform([150, 250], [500, 400])
    xy = pose * scale + origin + rng.normal(0, 0.01 * scale, pose.shape)
    kp = np.concatenate([xy, rng.uniform(0.6, 1.0, (n, 17, 1))], axis=2).astype(np.float32)
    return SkeletonSequence(kp, SkeletonSequence.stamps_for(n, fps), "coco17", label=kind,
                            video_id=video_id or f"{kind}_{rng.integers(1e9)}", fps=fps)
