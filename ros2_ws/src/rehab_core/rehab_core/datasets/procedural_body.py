"""The forward-kinematics body behind ``procedural``: proportions, limbs, estimator faults.

Why apart from the movements: one job is a body that keeps its bone lengths whatever a
movement asks (joint angles for free limbs, two-bone inverse kinematics for planted hands and
feet, a pelvis lowered until planted feet are in reach); the other is what each exercise
does with it. Built with y up (floor at 0), the person's left at +x, facing -z.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# building frame (y up): the person's left, up, forward
X, U, F = np.array([1.0, 0, 0]), np.array([0, 1.0, 0]), np.array([0, 0, -1.0])


@dataclass
class Body:
    """Segment lengths (metres) of one person: height 1.5-1.95 m, each segment's share of it
    +-10 % (shares near MediaPipe's world landmarks: its upper arm is shorter than anatomy's)."""

    height: float
    thigh: float
    shin: float
    upper_arm: float
    forearm: float
    torso: float
    shoulder_w: float
    hip_w: float

    @classmethod
    def random(cls, rng: np.random.Generator) -> Body:
        h = rng.uniform(1.5, 1.95)
        return cls(h, *(k * h * rng.uniform(0.9, 1.1)
                        for k in (0.245, 0.235, 0.15, 0.15, 0.29, 0.2, 0.125)))

    leg = property(lambda self: self.thigh + self.shin)
    arm = property(lambda self: self.upper_arm + self.forearm)
    ankle_h = property(lambda self: 0.04 * self.height)


def segment_dir(a, b, side: float) -> np.ndarray:
    """Unit segment direction: hanging down, turned forward by ``a`` and outward by ``b``."""
    a, b = np.broadcast_arrays(np.asarray(a, float), np.asarray(b, float))
    return np.stack([side * np.sin(b), -np.cos(b) * np.cos(a), -np.cos(b) * np.sin(a)], -1)


def ik(root, target, l1: float, l2: float, pole) -> tuple[np.ndarray, np.ndarray]:
    """Two-bone inverse kinematics: (middle, end) joints, the middle bent towards ``pole``;
    an out-of-reach target is approached as far as the bones allow (lengths stay exact)."""
    v = target - root
    d = np.linalg.norm(v, axis=-1, keepdims=True)
    u = v / np.maximum(d, 1e-9)
    d = np.clip(d, abs(l1 - l2) + 1e-4, l1 + l2 - 1e-4)
    a = (l1 ** 2 - l2 ** 2 + d ** 2) / (2 * d)
    h = np.sqrt(np.maximum(l1 ** 2 - a ** 2, 0.0))
    p = np.broadcast_to(pole, v.shape)
    p = p - (p * u).sum(-1, keepdims=True) * u
    p = p / np.maximum(np.linalg.norm(p, axis=-1, keepdims=True), 1e-9)
    return root + a * u + h * p, root + d * u


def assemble(b: Body, m: dict) -> np.ndarray:
    """(T, 17, 3) COCO-17 joints (y up) of a motion: pelvis, torso lean/bend/twist, limbs."""
    pelvis = m["pelvis"].copy()
    n = len(pelvis)
    lean, bend, twist = (np.broadcast_to(m.get(key, 0.0), (n,))[:, None]
                         for key in ("lean", "bend", "twist"))
    t = np.cos(bend) * (np.cos(lean) * U + np.sin(lean) * F) + np.sin(bend) * X
    # standing legs: lower the pelvis until every planted foot is within reach
    for i, spec in enumerate(m["legs"]):
        if spec[0] == "ik":
            target, hip = spec[1], pelvis + (1 - 2 * i) * b.hip_w / 2 * X
            horiz = np.hypot(*(target - hip)[:, [0, 2]].T)
            top = target[:, 1] + np.sqrt(np.maximum((0.998 * b.leg) ** 2 - horiz ** 2, 0.0))
            pelvis[:, 1] -= np.maximum(hip[:, 1] - top, 0.0)
    line = np.cos(twist) * X + np.sin(twist) * F
    line -= (line * t).sum(1, keepdims=True) * t
    line /= np.linalg.norm(line, axis=1, keepdims=True)
    fwd = np.cross(t, line)
    neck = pelvis + b.torso * t
    j = np.zeros((n, 17, 3))
    sc = b.height / 1.7
    j[:, 0] = neck + 0.13 * sc * t + 0.09 * sc * fwd
    for sd, eye, ear, sh, hip in ((1, 1, 3, 5, 11), (-1, 2, 4, 6, 12)):
        j[:, eye] = j[:, 0] + 0.03 * sc * t + sd * 0.032 * sc * line - 0.015 * sc * fwd
        j[:, ear] = neck + 0.11 * sc * t + sd * 0.075 * sc * line - 0.01 * sc * fwd
        j[:, sh] = neck + sd * b.shoulder_w / 2 * line
        j[:, hip] = pelvis + sd * b.hip_w / 2 * X
    for limbs, roots, l1, l2, sign in ((m["arms"], (5, 6), b.upper_arm, b.forearm, 1),
                                       (m["legs"], (11, 12), b.thigh, b.shin, -1)):
        for i, (root, spec) in enumerate(zip(roots, limbs)):
            sd = 1 - 2 * i
            if spec[0] == "ik":
                j[:, root + 2], j[:, root + 4] = ik(j[:, root], spec[1], l1, l2, spec[2])
            else:
                _, a, ab, flex = spec
                j[:, root + 2] = j[:, root] + l1 * segment_dir(a, ab, sd)
                j[:, root + 4] = j[:, root + 2] + l2 * segment_dir(a + sign * flex, ab, sd)
    yaw = np.broadcast_to(m.get("yaw", 0.0), (n,))[:, None, None]
    x, z = j[..., 0:1], j[..., 2:3]
    return np.concatenate([np.cos(yaw) * x + np.sin(yaw) * z, j[..., 1:2],
                           np.cos(yaw) * z - np.sin(yaw) * x], axis=2)


def estimator_noise(world: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """(T, 17, 4) with a pose estimator's faults: per-joint jitter (white plus slowly drifting,
    about 1 cm together, since rendering adds its own), a few joints dropped for some frames
    and sometimes the whole person for a moment (visibility 0, zeros)."""
    out = world.copy()
    n = len(out)
    sigma = rng.uniform(0.004, 0.008)
    drift = rng.normal(0.0, sigma, out[..., :3].shape)
    drift = sum(np.roll(drift, i, axis=0) for i in range(9)) / 3.0
    out[..., :3] += rng.normal(0.0, sigma, drift.shape) + drift
    lost = np.zeros(out.shape[:2], bool)
    for f, jnt in zip(*np.nonzero(rng.random(lost.shape) < rng.uniform(0.0, 0.003))):
        lost[f:f + rng.integers(2, 9), jnt] = True
    if rng.random() < 0.3:
        f = rng.integers(0, n)
        lost[f:f + rng.integers(2, 7)] = True
    out[lost] = 0.0
    return out
