"""Joint angles and body-normalised signals from COCO-17 skeletons.

Repetition counting needs one scalar per frame that goes through a cycle
for every repetition. Joint angles are the first choice because they do
not change with image scale, camera distance or in-plane rotation (a
portrait or rotated video gives the same knee angle). Heights are offered
as well, normalised by the torso length so that they too are
scale-free; they assume the image's y axis points down (gravity).

Every function takes 2-D keypoints (..., 17, 3: x px, y px, score) or 3-D
ones (..., 17, 4: X, Y, Z m, score; ``Skeleton.keypoints_3d``, y down as in
the image). A 3-D angle is the patient's real joint angle whatever the
camera's viewpoint; a 2-D one is its projection, right only when the joint
moves in the image plane. ``space_of`` says which a result came from.

Every signal is computed with keypoint-score masking: a joint below
``min_score`` is missing and a signal that needs it is NaN, never a value
computed from garbage coordinates. Left and right sides are combined by a
score-weighted mean so that the side facing the camera dominates in side
views, where the far side is often guessed by the pose model.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from rehab_core.errors import ShapeMismatchError
from rehab_core.skeleton.layouts import get_layout

COCO17 = get_layout("coco17")
J = {name: i for i, name in enumerate(COCO17.names)}

# Angle at the middle joint of each triplet, per side.
ANGLE_TRIPLETS: dict[str, tuple[str, str, str]] = {}
for _side in ("left", "right"):
    ANGLE_TRIPLETS[f"{_side}_knee"] = (f"{_side}_hip", f"{_side}_knee", f"{_side}_ankle")
    ANGLE_TRIPLETS[f"{_side}_hip"] = (f"{_side}_shoulder", f"{_side}_hip", f"{_side}_knee")
    ANGLE_TRIPLETS[f"{_side}_elbow"] = (f"{_side}_shoulder", f"{_side}_elbow", f"{_side}_wrist")
    ANGLE_TRIPLETS[f"{_side}_shoulder"] = (f"{_side}_hip", f"{_side}_shoulder", f"{_side}_elbow")
    # Shoulder-hip-ankle: 180 deg when the body is a straight line (plank).
    ANGLE_TRIPLETS[f"{_side}_body_line"] = (f"{_side}_shoulder", f"{_side}_hip", f"{_side}_ankle")

DEFAULT_MIN_SCORE = 0.3


def _check(keypoints: np.ndarray) -> np.ndarray:
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim < 2 or kp.shape[-2] != COCO17.num_keypoints or kp.shape[-1] not in (3, 4):
        raise ShapeMismatchError(
            f"expected (..., 17, 3) 2-D or (..., 17, 4) 3-D coco17 keypoints, got {kp.shape}; "
            "convert other layouts with rehab_core.skeleton.convert_keypoints"
        )
    return kp


def space_of(keypoints: np.ndarray) -> str:
    """"3d" for (..., 4) keypoints (X, Y, Z, score), "2d" for (..., 3) (x, y, score)."""
    return "3d" if np.shape(keypoints)[-1] == 4 else "2d"


def _valid(kp: np.ndarray, min_score: float) -> np.ndarray:
    """Per-joint mask: score high enough and finite coordinates."""
    return (kp[..., -1] >= min_score) & np.isfinite(kp[..., :-1]).all(axis=-1)


def angle_deg(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Angle ABC at ``b`` in degrees (0..180) for (..., 2) or (..., 3) points; NaN if degenerate."""
    v1, v2 = a - b, c - b
    n1, n2 = np.linalg.norm(v1, axis=-1), np.linalg.norm(v2, axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        cos = np.sum(v1 * v2, axis=-1) / (n1 * n2)
    out = np.degrees(np.arccos(np.clip(cos, -1.0, 1.0)))
    return np.where((n1 > 1e-9) & (n2 > 1e-9), out, np.nan)


def _angle_of(kp: np.ndarray, ok: np.ndarray, name: str) -> np.ndarray:
    ia, ib, ic = (J[n] for n in ANGLE_TRIPLETS[name])
    ang = angle_deg(kp[..., ia, :-1], kp[..., ib, :-1], kp[..., ic, :-1])
    return np.where(ok[..., ia] & ok[..., ib] & ok[..., ic], ang, np.nan)


def joint_angles(
    keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE
) -> dict[str, np.ndarray]:
    """All per-side angles for (17, 3) or (T, 17, 3) keypoints; NaN where masked."""
    kp = _check(keypoints)
    ok = _valid(kp, min_score)
    return {name: _angle_of(kp, ok, name) for name in ANGLE_TRIPLETS}


def _triplet_score(kp: np.ndarray, names: tuple[str, str, str]) -> np.ndarray:
    return np.min(kp[..., [J[n] for n in names], -1], axis=-1)


def _frame_angle(kp: list[list[float]], names: tuple[str, str, str],
                 min_score: float) -> tuple[float, float]:
    """(angle deg, weight) of one triplet of one frame; weight 0 when masked or degenerate."""
    a, b, c = (kp[J[n]] for n in names)
    if not all(p[-1] >= min_score for p in (a, b, c)) or not all(
            math.isfinite(v) for p in (a, b, c) for v in p[:-1]):
        return math.nan, 0.0
    v1 = [p - q for p, q in zip(a[:-1], b[:-1])]
    v2 = [p - q for p, q in zip(c[:-1], b[:-1])]
    n1, n2 = math.sqrt(sum(v * v for v in v1)), math.sqrt(sum(v * v for v in v2))
    if n1 <= 1e-9 or n2 <= 1e-9:
        return math.nan, 0.0
    cos = sum(p * q for p, q in zip(v1, v2)) / (n1 * n2)
    return math.degrees(math.acos(min(1.0, max(-1.0, cos)))), min(a[-1], b[-1], c[-1])


def _frame_bilateral(kp: np.ndarray, joint: str, min_score: float) -> np.ndarray:
    """``bilateral_angle`` of one frame in plain floats: the counters call it every frame
    for every exercise, where numpy's per-call overhead was most of the cost."""
    rows = kp.tolist()
    num = den = 0.0
    for side in ("left", "right"):
        ang, w = _frame_angle(rows, ANGLE_TRIPLETS[f"{side}_{joint}"], min_score)
        if w > 0:
            num += ang * w
            den += w
    return np.float64(num / den if den > 0 else math.nan)


def bilateral_angle(
    keypoints: np.ndarray, joint: str, min_score: float = DEFAULT_MIN_SCORE
) -> np.ndarray:
    """Score-weighted mean of the left and right ``joint`` angle (NaN if both masked)."""
    kp = _check(keypoints)
    if f"left_{joint}" not in ANGLE_TRIPLETS:
        known = "knee, hip, elbow, shoulder, body_line"
        raise ValueError(f"unknown joint {joint!r}; known: {known}")
    if kp.ndim == 2:
        return _frame_bilateral(kp, joint, min_score)
    ok = _valid(kp, min_score)
    num = np.zeros(kp.shape[:-2])
    den = np.zeros(kp.shape[:-2])
    for side in ("left", "right"):
        name = f"{side}_{joint}"
        ang = _angle_of(kp, ok, name)
        w = np.where(np.isfinite(ang), _triplet_score(kp, ANGLE_TRIPLETS[name]), 0.0)
        num = num + np.nan_to_num(ang) * w
        den = den + w
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _midpoint(kp: np.ndarray, ok: np.ndarray, a: int, b: int) -> np.ndarray:
    """Mean of the valid joints among a, b; NaN where neither is valid."""
    pa = np.where(ok[..., a, None], kp[..., a, :-1], np.nan)
    pb = np.where(ok[..., b, None], kp[..., b, :-1], np.nan)
    both = np.stack([pa, pb], axis=-2)
    cnt = np.sum(np.isfinite(both[..., 0]), axis=-1)
    s = np.nansum(both, axis=-2)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cnt[..., None] > 0, s / np.maximum(cnt, 1)[..., None], np.nan)


def torso_length(keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE) -> np.ndarray:
    """Shoulder-midpoint to hip-midpoint distance in px (the scale unit); NaN if unknown."""
    kp = _check(keypoints)
    ok = _valid(kp, min_score)
    sh = _midpoint(kp, ok, J["left_shoulder"], J["right_shoulder"])
    hp = _midpoint(kp, ok, J["left_hip"], J["right_hip"])
    length = np.linalg.norm(sh - hp, axis=-1)
    return np.where(length > 1e-6, length, np.nan)


_SHOULDERS = ("left_shoulder", "right_shoulder")
_HIPS = ("left_hip", "right_hip")


def _frame_seen(row: list[float], min_score: float) -> bool:
    """``_valid`` for one joint's row in plain floats."""
    return row[-1] >= min_score and all(math.isfinite(v) for v in row[:-1])


def _frame_midpoint(rows: list[list[float]], a: str, b: str,
                    min_score: float) -> list[float] | None:
    """``_midpoint`` of one frame's rows (``kp.tolist()``) in plain floats; None: neither seen."""
    pts = [rows[J[n]][:-1] for n in (a, b) if _frame_seen(rows[J[n]], min_score)]
    return [sum(c) / len(pts) for c in zip(*pts)] if pts else None


def _frame_height(kp: np.ndarray, min_score: float, upper: tuple[str, str],
                  lower: tuple[str, str]) -> np.float64:
    """``_height`` of one frame in plain floats (a posture condition reads it every frame);
    each midpoint once, though ``upper`` or ``lower`` is the torso's hips or shoulders."""
    rows = kp.tolist()
    mid = {pair: _frame_midpoint(rows, *pair, min_score)
           for pair in {upper, lower, _SHOULDERS, _HIPS}}
    if any(m is None for m in mid.values()):
        return np.float64(math.nan)
    torso = math.dist(mid[_SHOULDERS], mid[_HIPS])
    return np.float64((mid[lower][1] - mid[upper][1]) / torso if torso > 1e-6 else math.nan)


def _height(kp: np.ndarray, min_score: float, upper: tuple[str, str], lower: tuple[str, str]):
    """(lower_y - upper_y) / torso: how far ``upper`` is above ``lower`` in torso lengths."""
    if kp.ndim == 2:
        return _frame_height(kp, min_score, upper, lower)
    ok = _valid(kp, min_score)
    up = _midpoint(kp, ok, J[upper[0]], J[upper[1]])
    lo = _midpoint(kp, ok, J[lower[0]], J[lower[1]])
    return (lo[..., 1] - up[..., 1]) / torso_length(kp, min_score)


def hip_height(keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE) -> np.ndarray:
    """Hip height above the ankles in torso lengths (drops in a squat)."""
    kp = _check(keypoints)
    return _height(kp, min_score, ("left_hip", "right_hip"), ("left_ankle", "right_ankle"))


def shoulder_height(keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE) -> np.ndarray:
    """Shoulder height above the wrists in torso lengths (drops in a push-up)."""
    kp = _check(keypoints)
    return _height(
        kp, min_score, ("left_shoulder", "right_shoulder"), ("left_wrist", "right_wrist")
    )


def wrist_elevation(keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE) -> np.ndarray:
    """Wrist height above the shoulders in torso lengths (rises in a jumping jack)."""
    kp = _check(keypoints)
    return _height(
        kp, min_score, ("left_wrist", "right_wrist"), ("left_shoulder", "right_shoulder")
    )


def _frame_ankle_spread(kp: np.ndarray, min_score: float) -> np.float64:
    """``ankle_spread`` of one frame in plain floats (the motion check reads it every 3-D
    frame, where numpy's per-call overhead was most of the cost)."""
    rows = kp.tolist()
    la, ra = J["left_ankle"], J["right_ankle"]
    sh = _frame_midpoint(rows, *_SHOULDERS, min_score)
    hp = _frame_midpoint(rows, *_HIPS, min_score)
    if sh is None or hp is None or not (_frame_seen(rows[la], min_score)
                                        and _frame_seen(rows[ra], min_score)):
        return np.float64(math.nan)
    torso = math.dist(sh, hp)
    if not torso > 1e-6:
        return np.float64(math.nan)
    return np.float64(math.dist(rows[la][:-1], rows[ra][:-1]) / torso)


def ankle_spread(keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE) -> np.ndarray:
    """Distance between the ankles in torso lengths (opens in a jumping jack)."""
    kp = _check(keypoints)
    if kp.ndim == 2:
        return _frame_ankle_spread(kp, min_score)
    ok = _valid(kp, min_score)
    la, ra = J["left_ankle"], J["right_ankle"]
    d = np.linalg.norm(kp[..., la, :-1] - kp[..., ra, :-1], axis=-1)
    d = np.where(ok[..., la] & ok[..., ra], d, np.nan)
    return d / torso_length(kp, min_score)


SignalFn = Callable[[np.ndarray, float], np.ndarray]


def _angle_signal(joint: str) -> SignalFn:
    return lambda kp, min_score: bilateral_angle(kp, joint, min_score)


# name -> (function, unit). Angle signals are in degrees, heights in torso lengths.
SIGNALS: dict[str, tuple[SignalFn, str]] = {
    "knee_angle": (_angle_signal("knee"), "deg"),
    "hip_angle": (_angle_signal("hip"), "deg"),
    "elbow_angle": (_angle_signal("elbow"), "deg"),
    "shoulder_angle": (_angle_signal("shoulder"), "deg"),
    "body_line_angle": (_angle_signal("body_line"), "deg"),
    "hip_height": (hip_height, "torso"),
    "shoulder_height": (shoulder_height, "torso"),
    "wrist_elevation": (wrist_elevation, "torso"),
    "ankle_spread": (ankle_spread, "torso"),
}


def compute_signal(
    name: str, keypoints: np.ndarray, min_score: float = DEFAULT_MIN_SCORE
) -> np.ndarray:
    """One named signal for (17, 3) or (T, 17, 3) keypoints (NaN where masked)."""
    try:
        fn, _unit = SIGNALS[name]
    except KeyError:
        raise ValueError(f"unknown signal {name!r}; known: {sorted(SIGNALS)}") from None
    return fn(keypoints, min_score)
