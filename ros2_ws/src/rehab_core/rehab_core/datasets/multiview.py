"""View and person augmentation of 3-D skeletons: canonical body frame, virtual cameras.

Why: the classifier sees 2-D skeletons from whatever camera the patient
uses (front, side, rear, a phone on the floor, portrait). One 3-D recording
(MediaPipe's world landmarks, UI-PRMD's Kinect joints) re-projected from
many virtual cameras teaches the movement rather than the view it was
filmed from.

Steps, on (T, 17, 4) COCO-17 x, y (down), z metres + visibility:

1. ``canonicalize``: centre on the hips and turn about the vertical so the
   body's own left-right hip line is the x axis (the person faces the camera);
2. ``vary_body``: body proportions (limb lengths scaled about their parent
   joint, overall width/height);
3. ``project``: rotate by yaw (all round), pitch (camera high/low), roll
   (tilted phone) and project with a pinhole camera at a random distance;
4. ``pose_noise``: the 2-D estimator's jitter and dropped joints.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# COCO-17 limb chains (parent, child), applied in order so children follow parents
_LIMBS = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16))
_HIPS = (11, 12)


def _rot_y(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]], np.float32)


def _rot_x(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[1, 0, 0], [0, c, -s], [0, s, c]], np.float32)


def _rot_z(a: float) -> np.ndarray:
    c, s = np.cos(a), np.sin(a)
    return np.array([[c, -s, 0], [s, c, 0], [0, 0, 1]], np.float32)


def canonicalize(world: np.ndarray) -> np.ndarray:
    """Hip-centred copy turned so the median left-minus-right hip line lies along +x."""
    w = np.asarray(world, np.float32).copy()
    valid = (np.abs(w[:, :, :3]).sum(axis=2) > 0)
    hips_ok = valid[:, _HIPS[0]] & valid[:, _HIPS[1]]
    if not hips_ok.any():
        return w
    centre = w[hips_ok][:, _HIPS, :3].mean(axis=1)
    w[..., :3] -= np.median(centre, axis=0)
    line = w[hips_ok, _HIPS[0], :3] - w[hips_ok, _HIPS[1], :3]
    yaw = float(np.arctan2(np.median(line[:, 2]), np.median(line[:, 0])))
    w[..., :3] = w[..., :3] @ _rot_y(yaw).T
    w[~valid] = 0.0
    return w


@dataclass
class ViewSampler:
    """Random virtual cameras and bodies (ranges in degrees, metres, fractions)."""

    yaw_deg: tuple[float, float] = (-180.0, 180.0)
    pitch_deg: tuple[float, float] = (-30.0, 30.0)
    roll_deg: tuple[float, float] = (-12.0, 12.0)
    distance_m: tuple[float, float] = (2.0, 6.0)
    limb_scale: tuple[float, float] = (0.85, 1.15)
    width_scale: tuple[float, float] = (0.85, 1.2)
    noise: float = 0.015
    dropout: float = 0.02

    def view(self, world: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """One random 2-D (T, 17, 3) rendering of a canonical 3-D sequence."""
        body = vary_body(world, rng, self.limb_scale, self.width_scale)
        kp = project(body, np.deg2rad(rng.uniform(*self.yaw_deg)),
                     np.deg2rad(rng.uniform(*self.pitch_deg)),
                     np.deg2rad(rng.uniform(*self.roll_deg)), rng.uniform(*self.distance_m))
        return pose_noise(kp, rng, self.noise, self.dropout)


def vary_body(world: np.ndarray, rng: np.random.Generator,
              limb_scale: tuple[float, float] = (0.85, 1.15),
              width_scale: tuple[float, float] = (0.85, 1.2)) -> np.ndarray:
    """Another body doing the same movement: arm/leg bones and body width rescaled."""
    w = world.copy()
    xyz = w[..., :3]
    arm, leg = rng.uniform(*limb_scale), rng.uniform(*limb_scale)
    for parent, child in _LIMBS:
        s = arm if child in (7, 8, 9, 10) else leg
        bone = xyz[:, child] - xyz[:, parent]
        shift = (s - 1.0) * bone
        # the child and everything hanging from it move with the stretched bone
        for j in _descendants(child):
            xyz[:, j] += shift
    xyz[..., 0] *= rng.uniform(*width_scale)
    w[..., :3] = xyz
    w[np.abs(world[..., :3]).sum(axis=2) == 0] = 0.0
    return w


def _descendants(joint: int) -> tuple[int, ...]:
    chain = {7: (7, 9), 9: (9,), 8: (8, 10), 10: (10,), 13: (13, 15), 15: (15,),
             14: (14, 16), 16: (16,)}
    return chain[joint]


def project(world: np.ndarray, yaw: float, pitch: float, roll: float,
            distance: float) -> np.ndarray:
    """Pinhole projection (focal 1) of (T, V, 4) metres after the camera rotation.

    Returns (T, V, 3) image coordinates (x right, y down) and the visibility;
    joints that were all-zero (never seen) stay unseen.
    """
    rot = _rot_z(roll) @ _rot_x(pitch) @ _rot_y(yaw)
    xyz = world[..., :3] @ rot.T
    depth = np.maximum(xyz[..., 2] + distance, 0.3)
    out = np.empty((*world.shape[:2], 3), np.float32)
    out[..., 0] = xyz[..., 0] / depth
    out[..., 1] = xyz[..., 1] / depth
    out[..., 2] = world[..., 3]
    out[np.abs(world[..., :3]).sum(axis=2) == 0] = 0.0
    return out


def pose_noise(kp: np.ndarray, rng: np.random.Generator, sigma: float = 0.015,
               dropout: float = 0.02) -> np.ndarray:
    """Estimator jitter (``sigma`` of the body's height) and randomly dropped joints."""
    out = kp.copy()
    seen = out[..., 2] > 0
    if seen.any():
        ys = out[..., 1][seen]
        height = float(np.percentile(ys, 98) - np.percentile(ys, 2)) or 1.0
        out[..., :2] += rng.normal(0.0, sigma * height, out[..., :2].shape).astype(np.float32)
    drop = rng.random(out.shape[:2]) < dropout
    out[drop] = 0.0
    return out
