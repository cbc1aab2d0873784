"""Synthetic COCO-17 exercise sequences with known repetition counts (shared test data).

A 2-D stick figure is posed from the key joint angle, so the counter sees
the same geometry a pose model would give: a squat bends the knees (hip
drops, trunk leans), a jack raises the arms and spreads the legs, a push-up
bends the elbows of a horizontal body. Each repetition is a raised-cosine
excursion from the rest angle, optionally with separate down / up times.
"""

from __future__ import annotations

import math

import numpy as np

# coco17 indices
NOSE, LEYE, REYE, LEAR, REAR = 0, 1, 2, 3, 4
LSH, RSH, LEL, REL, LWR, RWR = 5, 6, 7, 8, 9, 10
LHIP, RHIP, LKN, RKN, LAN, RAN = 11, 12, 13, 14, 15, 16


def rep_profile(
    t: np.ndarray, n_reps: int, period_s: float, lead_s: float = 1.0, pause_s: float = 0.5,
    down_frac: float = 0.5, depths: list[float] | None = None,
) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """Excursion 0..1 over time and the (start, end) of each rep."""
    x = np.zeros_like(t)
    spans = []
    start = lead_s
    for k in range(n_reps):
        depth = 1.0 if depths is None else depths[k % len(depths)]
        t_down = period_s * down_frac
        t_up = period_s - t_down
        m1 = (t >= start) & (t < start + t_down)
        x[m1] = depth * 0.5 * (1 - np.cos(math.pi * (t[m1] - start) / t_down))
        m2 = (t >= start + t_down) & (t < start + period_s)
        x[m2] = depth * 0.5 * (1 + np.cos(math.pi * (t[m2] - start - t_down) / t_up))
        spans.append((start, start + period_s))
        start += period_s + pause_s
    return x, spans


def _frame(points: dict[int, tuple[float, float]]) -> np.ndarray:
    kp = np.zeros((17, 3), np.float64)
    for i, (x, y) in points.items():
        kp[i] = (x, -y, 0.95)  # model space has y up; image y points down
    return kp


def squat_pose(knee_deg: float, side: bool = False) -> np.ndarray:
    """Standing at 180 deg knee angle; legs 1.0, torso 1.0 (model units, y up)."""
    phi = math.radians((180.0 - knee_deg) / 2)
    pts: dict[int, tuple[float, float]] = {}
    for sgn, (hip, kn, an, sh, el, wr) in (
        (-1, (LHIP, LKN, LAN, LSH, LEL, LWR)), (1, (RHIP, RKN, RAN, RSH, REL, RWR))
    ):
        dx = 0.05 * sgn if side else 0.18 * sgn
        ax, ay = dx, 0.0
        kx, ky = ax + math.sin(phi), ay + math.cos(phi)
        hx, hy = kx - math.sin(phi), ky + math.cos(phi)
        lean = phi * 0.6
        sx, sy = hx + math.sin(lean) * 1.0 + 0.05 * sgn, hy + math.cos(lean) * 1.0
        pts.update({an: (ax, ay), kn: (kx, ky), hip: (hx, hy), sh: (sx, sy)})
        # Arms reach forward for balance.
        pts[el] = (sx + 0.3, sy - 0.1)
        pts[wr] = (sx + 0.6, sy - 0.1)
    hx = 0.5 * (pts[LSH][0] + pts[RSH][0])
    hy = 0.5 * (pts[LSH][1] + pts[RSH][1]) + 0.35
    for i, off in ((NOSE, 0.0), (LEYE, -0.04), (REYE, 0.04), (LEAR, -0.08), (REAR, 0.08)):
        pts[i] = (hx + off, hy)
    return _frame(pts)


def jack_pose(arm_deg: float, spread: float) -> np.ndarray:
    """Frontal jumping jack: arm elevation from the trunk, ankles ``spread`` apart."""
    pts: dict[int, tuple[float, float]] = {}
    a = math.radians(arm_deg)
    for sgn, (hip, kn, an, sh, el, wr) in (
        (-1, (LHIP, LKN, LAN, LSH, LEL, LWR)), (1, (RHIP, RKN, RAN, RSH, REL, RWR))
    ):
        hx, hy = 0.2 * sgn, 2.0
        ax, ay = sgn * (0.15 + spread), 0.0
        pts[hip] = (hx, hy)
        pts[an] = (ax, ay)
        pts[kn] = ((hx + ax) / 2, 1.0)
        sx, sy = 0.2 * sgn, 3.0
        pts[sh] = (sx, sy)
        # Arm direction: straight down at 0 deg, overhead at 180 deg, out to the side.
        ux, uy = sgn * math.sin(a), -math.cos(a)
        pts[el] = (sx + 0.35 * ux, sy + 0.35 * uy)
        pts[wr] = (sx + 0.7 * ux, sy + 0.7 * uy)
    for i, off in ((NOSE, 0.0), (LEYE, -0.04), (REYE, 0.04), (LEAR, -0.08), (REAR, 0.08)):
        pts[i] = (off, 3.35)
    return _frame(pts)


def pushup_pose(elbow_deg: float) -> np.ndarray:
    """Side-view push-up: hands under the shoulders, straight body pivoting at the feet."""
    phi = math.radians((180.0 - elbow_deg) / 2)
    pts: dict[int, tuple[float, float]] = {}
    for sgn, (hip, kn, an, sh, el, wr) in (
        (-1, (LHIP, LKN, LAN, LSH, LEL, LWR)), (1, (RHIP, RKN, RAN, RSH, REL, RWR))
    ):
        wx, wy = 0.02 * sgn, 0.0
        ex, ey = wx - 0.35 * math.sin(phi), wy + 0.35 * math.cos(phi)
        sx, sy = ex + 0.35 * math.sin(phi), ey + 0.35 * math.cos(phi)
        pts.update({wr: (wx, wy), el: (ex, ey), sh: (sx, sy)})
        feet = (sx + 2.2, 0.0)
        pts[an] = feet
        pts[hip] = (sx + 1.0, sy * (1.2 / 2.2))
        pts[kn] = (sx + 1.6, sy * (0.6 / 2.2))
    sx, sy = pts[LSH]
    for i, off in ((NOSE, 0.0), (LEYE, -0.02), (REYE, 0.02), (LEAR, 0.05), (REAR, 0.06)):
        pts[i] = (sx - 0.3 + off, sy + 0.05)
    return _frame(pts)


def sequence(
    kind: str, n_reps: int, period_s: float, fps: float, *, scale: float = 200.0,
    noise_px: float = 0.0, drop_frames: float = 0.0, drop_joints: float = 0.0,
    rotate_deg: float = 0.0, seed: int = 0, lead_s: float = 1.0, pause_s: float = 0.4,
    down_frac: float = 0.5, depths: list[float] | None = None,
) -> tuple[list[np.ndarray | None], np.ndarray, list[tuple[float, float]]]:
    """Keypoints per frame (None = no person), stamps_ns and the true rep spans."""
    rng = np.random.default_rng(seed)
    total = lead_s + n_reps * (period_s + pause_s) + 1.0
    t = np.arange(0.0, total, 1.0 / fps)
    x, spans = rep_profile(t, n_reps, period_s, lead_s, pause_s, down_frac, depths)
    rot = math.radians(rotate_deg)
    r = np.array([[math.cos(rot), -math.sin(rot)], [math.sin(rot), math.cos(rot)]])
    frames: list[np.ndarray | None] = []
    for xi in x:
        if kind == "squat":
            kp = squat_pose(175.0 - 95.0 * xi)
        elif kind == "jacks":
            kp = jack_pose(15.0 + 150.0 * xi, 0.1 + 0.5 * xi)
        elif kind == "pushup":
            kp = pushup_pose(172.0 - 90.0 * xi)
        elif kind == "plank":
            kp = pushup_pose(172.0)
        else:
            raise ValueError(kind)
        kp[:, :2] = kp[:, :2] @ r.T * scale + np.array([640.0, 600.0])
        kp[:, :2] += rng.normal(0.0, noise_px, size=(17, 2))
        if rng.random() < drop_frames:
            frames.append(None)
            continue
        kp[rng.random(17) < drop_joints, 2] = 0.0
        frames.append(kp.astype(np.float32))
    stamps = np.round(t * 1e9).astype(np.int64)
    return frames, stamps, spans
