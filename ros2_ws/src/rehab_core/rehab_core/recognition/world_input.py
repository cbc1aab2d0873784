"""View-invariant 3-D classifier input: a window of world landmarks in the body's own frame.

Why: a 2-D skeleton changes with the camera (a side-view squat and a front-view
squat look unrelated), while the pose model's metric 3-D world landmarks
(BlazePose) describe the movement itself. Per window of (T, 17, 4) COCO-17
landmarks (x, y down, z metres + visibility):

* centre on the window's median hip midpoint (motion inside the window stays);
* turn about the vertical so the window's median left-minus-right hip line lies
  on +x: every camera yaw (front, side, rear) gives the same input;
* keep the vertical: MediaPipe's world frame follows the camera, whose "down"
  is gravity for a level camera; tilt is left as it is (training augments it)
  rather than estimated from the torso, which would normalise away a deadlift's
  hinge or a push-up's horizontal body;
* divide by the window's median 3-D torso length (person size).

Channels become (x, y, z) instead of (x, y, score); frames without a person are
all zero. A window whose hips are never seen gives None (not classified).
"""

from __future__ import annotations

import numpy as np

from rehab_core.errors import ShapeMismatchError

INPUTS = ("2d", "world3d", "fused")
# COCO-17 shoulders and hips
_LS, _RS, _LH, _RH = 5, 6, 11, 12


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)


def camera_rotation(yaw: float, pitch: float, roll: float) -> np.ndarray:
    """The rotation ``multiview.project`` applies for a virtual camera (radians)."""
    from rehab_core.datasets.multiview import _rot_x, _rot_z

    return _rot_z(roll) @ _rot_x(pitch) @ _rot_y(yaw)


def frame_seen(world: np.ndarray) -> np.ndarray:
    """(T,) whether each (T, V, >=3) frame holds a person (any non-zero joint)."""
    return np.abs(np.asarray(world)[..., :3]).sum(axis=(1, 2)) > 0


def canonical_window(world: np.ndarray, min_seen_fraction: float = 0.5) -> np.ndarray | None:
    """(T, 17, >=3) world landmarks -> (T, 17, 3) body-frame window, or None if unusable."""
    w = np.asarray(world, np.float32)
    if w.ndim != 3 or w.shape[1] != 17 or w.shape[2] < 3:
        raise ShapeMismatchError(f"expected (T, 17, >=3) world landmarks, got {w.shape}")
    seen = frame_seen(w)
    if not len(w) or seen.mean() < min_seen_fraction:
        return None
    xyz = w[..., :3]
    joint = np.abs(xyz).sum(axis=2) > 0  # a dropped joint is all zero
    hips_ok = joint[:, _LH] & joint[:, _RH]
    torso_ok = hips_ok & joint[:, _LS] & joint[:, _RS]
    if not torso_ok.any():
        return None
    hips = 0.5 * (xyz[hips_ok, _LH] + xyz[hips_ok, _RH])
    shoulders = 0.5 * (xyz[torso_ok, _LS] + xyz[torso_ok, _RS])
    torso = float(np.median(np.linalg.norm(
        shoulders - 0.5 * (xyz[torso_ok, _LH] + xyz[torso_ok, _RH]), axis=1)))
    if not np.isfinite(torso) or torso < 1e-3:
        return None
    line = xyz[hips_ok, _LH] - xyz[hips_ok, _RH]
    yaw = float(np.arctan2(np.median(line[:, 2]), np.median(line[:, 0])))
    out = (xyz - np.median(hips, axis=0)) @ _rot_y(yaw).T / torso
    out[~joint] = 0.0
    return out.astype(np.float32)


def world_windows(world: np.ndarray, stamps_ns: np.ndarray, window: int, stride: int,
                  fps: float, min_seen_fraction: float = 0.5, min_frames: int = 10,
                  ) -> tuple[np.ndarray, np.ndarray]:
    """Resample (T, 17, 4) landmarks to ``fps`` and cut (N, 3, window, 17) body-frame windows.

    A clip shorter than a window but of at least ``min_frames`` model frames gives
    one window front-padded with its first frame (as the 2-D input and streaming do).
    """
    from rehab_core.recognition.preprocess import pad_front, resample_to_rate

    res, ticks = resample_to_rate(world, stamps_ns, fps)
    if min_frames and min_frames <= len(res) < window:
        res, ticks = pad_front(res, window), ticks[:1]
    out, starts = [], []
    for s in range(0, len(res) - window + 1, stride):
        c = canonical_window(res[s:s + window], min_seen_fraction)
        if c is not None:
            out.append(np.transpose(c, (2, 0, 1)))
            starts.append(ticks[s])
    if not out:
        return np.zeros((0, 3, window, 17), np.float32), np.zeros(0, np.int64)
    return np.stack(out).astype(np.float32), np.asarray(starts, np.int64)


def augment_world(world: np.ndarray, rng: np.random.Generator, pitch_deg: float = 20.0,
                  roll_deg: float = 12.0, noise: float = 0.015, dropout: float = 0.02,
                  limb_scale: tuple[float, float] = (0.85, 1.15),
                  width_scale: tuple[float, float] = (0.85, 1.2)) -> np.ndarray:
    """Another body, camera tilt and estimator noise on a (T, 17, 4) 3-D sequence.

    Yaw needs no augmenting (``canonical_window`` removes it); the tilt a level
    camera would not have is what the body frame keeps, so it is varied here.
    """
    from rehab_core.datasets.multiview import _rot_x, _rot_z, vary_body

    w = vary_body(np.asarray(world, np.float32), rng, limb_scale, width_scale)
    seen = np.abs(w[..., :3]).sum(axis=2) > 0
    rot = _rot_z(np.deg2rad(rng.uniform(-roll_deg, roll_deg))) @ _rot_x(
        np.deg2rad(rng.uniform(-pitch_deg, pitch_deg)))
    w[..., :3] = w[..., :3] @ rot.T
    if seen.any():
        ys = w[..., 1][seen]
        height = float(np.percentile(ys, 98) - np.percentile(ys, 2)) or 1.0
        w[..., :3] += rng.normal(0.0, noise * height, w[..., :3].shape).astype(np.float32)
    drop = rng.random(w.shape[:2]) < dropout
    w[drop | ~seen] = 0.0
    return w


def skeleton_world(skeleton, layout: str) -> np.ndarray:
    """(V, 4) model-space 3-D landmarks of a ``Skeleton`` in ``layout``; zeros without them
    (a 2-D-only estimator, or depth-camera 3-D, which is another space)."""
    from rehab_core.skeleton.layouts import convert_keypoints, get_layout

    v = get_layout(layout).num_keypoints
    if skeleton is None or skeleton.keypoints_3d is None or skeleton.space_3d != "model":
        return np.zeros((v, 4), np.float32)
    w = convert_keypoints(skeleton.keypoints_3d, skeleton.layout, layout).copy()
    w[~np.isfinite(w).all(axis=1)] = 0.0
    return w


def fused_input(flat: np.ndarray, world: np.ndarray) -> np.ndarray:
    """(T, V, 6): a normalised 2-D window and its (T, V, 4) 3-D frames in the body frame
    (zeros where the window has no usable 3-D)."""
    body = canonical_window(world) if world.shape[1] == 17 else None
    return np.concatenate([flat, np.zeros_like(flat) if body is None else body], axis=2)


def world_fraction(frames: np.ndarray) -> float:
    """Share of (T, V, 7) fused stream frames that carry 3-D."""
    return float(frame_seen(frames[..., 3:]).mean()) if len(frames) else 0.0
