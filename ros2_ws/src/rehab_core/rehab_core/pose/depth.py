"""2-D keypoints + an aligned depth image + intrinsics -> 3-D joints in the camera frame.

Why: a joint angle measured in the image plane depends on where the camera
stands (a squat filmed from the front hides the knee flexion); the same angle
from 3-D points does not. A depth camera (RealSense, OAK-D, Kinect) publishes
a depth image aligned to the colour image plus its ``camera_info``; each 2-D
keypoint is looked up in the depth image and back-projected through the
pinhole model.

Depth at a keypoint is noisy: holes (0 or NaN), flying pixels at silhouette
edges and, when the keypoint sits near the body's outline, background. So the
depth of a joint is a robust statistic of a small window: the valid values in
range are split into surfaces (gaps wider than ``band_m``); the surface under
the keypoint's own 3x3 core is taken, unless that is the farthest one covering
less than ``min_surface_fraction`` of the window (background past the
outline), in which case, as when the core is a hole, the nearest surface
covering that much is; the joint's depth is that surface's median. A joint whose
depth is still far (``max_body_depth_m``) from the skeleton's median depth is
rejected as background or occluder. The camera sees the body's surface, not
the joint centre: ``surface_offset_m`` (about a limb's radius; 0 keeps the
surface) moves each point that far further along its viewing ray.

A joint can also hide behind its own limb (the hip behind the thigh when a
squat is filmed from the front): the surface seen is then the limb's, up to
``radius / sin(angle between limb and ray)`` in front of the joint. When the
limbs (``bones``) are given and ``surface_offset_m`` > 0, each joint's depth
is refined under that capsule model: the depth on its ray whose predicted
first surface (its own sphere or the capsule to a neighbour) matches what
was measured, with the neighbours from the previous pass.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rehab_core.errors import BadFrameError, ConfigError
from rehab_core.skeleton.layouts import get_layout
from rehab_core.types import Skeleton
from rehab_core.vision.encodings import buffer_view

#: depth encoding -> metres per unit (16-bit depth is millimetres, REP-118)
DEPTH_ENCODINGS = {"16UC1": 0.001, "mono16": 0.001, "32FC1": 1.0}


@dataclass(frozen=True)
class CameraIntrinsics:
    """Pinhole intrinsics of the (depth-aligned) camera, in pixels of its own image size."""

    fx: float
    fy: float
    cx: float
    cy: float
    width: int
    height: int

    @classmethod
    def from_k(cls, k: Sequence[float], width: int, height: int) -> CameraIntrinsics:
        """From ``camera_info.k`` (row-major 3x3); an all-zero K (uncalibrated) is refused."""
        kk = np.asarray(k, dtype=np.float64).reshape(-1)
        if kk.size != 9:
            raise ConfigError(f"camera matrix K needs 9 values, got {kk.size}")
        fx, fy, cx, cy = float(kk[0]), float(kk[4]), float(kk[2]), float(kk[5])
        if not (fx > 0 and fy > 0) or width <= 0 or height <= 0:
            raise ConfigError(
                f"camera_info is uncalibrated (fx={fx}, fy={fy}, {width}x{height}); 3-D joints "
                "need the depth camera's intrinsics"
            )
        return cls(fx, fy, cx, cy, int(width), int(height))

    def project(self, points: np.ndarray) -> np.ndarray:
        """(..., 3) camera-frame points -> (..., 2) pixels."""
        p = np.asarray(points, dtype=np.float64)
        z = np.where(np.abs(p[..., 2]) > 1e-9, p[..., 2], np.nan)
        return np.stack([self.fx * p[..., 0] / z + self.cx, self.fy * p[..., 1] / z + self.cy], -1)

    def back_project(self, u: np.ndarray, v: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Pixels (u, v) at depth z (m) -> (..., 3) camera-frame points."""
        return np.stack([(u - self.cx) * z / self.fx, (v - self.cy) * z / self.fy, z], -1)


def depth_to_metres(depth: np.ndarray, encoding: str) -> np.ndarray:
    """A depth array in ``encoding`` -> float32 metres, holes (0, NaN, inf) as NaN."""
    scale = DEPTH_ENCODINGS.get(encoding)
    if scale is None:
        raise BadFrameError(f"unsupported depth encoding {encoding!r}; use one of "
                            f"{sorted(DEPTH_ENCODINGS)}")
    want = np.float32 if encoding == "32FC1" else np.uint16
    if depth.dtype != want or depth.ndim != 2:
        raise BadFrameError(f"{encoding} depth must be a 2-D {np.dtype(want).name} array, "
                            f"got {depth.dtype} {depth.shape}")
    metres = depth.astype(np.float32) * np.float32(scale)
    metres[~np.isfinite(metres) | (metres <= 0)] = np.nan
    return metres


def depth_from_buffer(data, encoding: str, width: int, height: int, step: int = 0,
                      is_bigendian: bool = False) -> np.ndarray:
    """A depth ``sensor_msgs/Image`` buffer -> float32 metres (H, W), holes NaN."""
    if encoding not in DEPTH_ENCODINGS:
        raise BadFrameError(f"unsupported depth encoding {encoding!r}; use one of "
                            f"{sorted(DEPTH_ENCODINGS)}")
    layout = "32FC1" if encoding == "32FC1" else "16UC1"
    return depth_to_metres(buffer_view(data, layout, width, height, step, is_bigendian), encoding)


@dataclass(frozen=True)
class DepthLiftConfig:
    """How keypoints are lifted (see the module docstring); validated by ``validate``."""

    window: int = 5
    min_depth_m: float = 0.2
    max_depth_m: float = 10.0
    band_m: float = 0.08
    min_valid_fraction: float = 0.15
    min_surface_fraction: float = 0.3
    max_body_depth_m: float = 1.0
    surface_offset_m: float = 0.05
    min_score: float = 0.3

    def validate(self) -> DepthLiftConfig:
        if self.window < 1 or self.window % 2 == 0:
            raise ConfigError(f"depth window must be an odd number of pixels, got {self.window}")
        if not 0 < self.min_depth_m < self.max_depth_m:
            raise ConfigError(f"need 0 < min_depth_m < max_depth_m, got {self.min_depth_m}, "
                              f"{self.max_depth_m}")
        for name in ("band_m", "max_body_depth_m"):
            if getattr(self, name) <= 0:
                raise ConfigError(f"{name} must be > 0, got {getattr(self, name)}")
        for name in ("min_valid_fraction", "min_surface_fraction"):
            if not 0 < getattr(self, name) <= 1:
                raise ConfigError(f"{name} must be in (0, 1], got {getattr(self, name)}")
        if not 0 <= self.min_score <= 1:
            raise ConfigError(f"min_score must be in [0, 1], got {self.min_score}")
        if not 0 <= self.surface_offset_m < 0.5:
            raise ConfigError(f"surface_offset_m must be in [0, 0.5), got {self.surface_offset_m}")
        return self


def joint_depth(depth_m: np.ndarray, u: float, v: float, cfg: DepthLiftConfig) -> float:
    """Robust depth (m) of the surface at pixel (u, v), or NaN (see the module docstring)."""
    h, w = depth_m.shape
    col, row = int(np.rint(u)), int(np.rint(v))
    if not (0 <= col < w and 0 <= row < h):
        return float("nan")
    r = cfg.window // 2
    patch = depth_m[max(row - r, 0): row + r + 1, max(col - r, 0): col + r + 1].reshape(-1)
    vals = patch[np.isfinite(patch) & (patch >= cfg.min_depth_m) & (patch <= cfg.max_depth_m)]
    if vals.size < max(1, cfg.min_valid_fraction * cfg.window * cfg.window):
        return float("nan")
    vals = np.sort(vals)
    # surfaces: runs of depths without a gap wider than band_m
    surfaces = np.split(vals, np.flatnonzero(np.diff(vals) > cfg.band_m) + 1)
    core = depth_m[max(row - 1, 0): row + 2, max(col - 1, 0): col + 2]
    core = core[np.isfinite(core) & (core >= cfg.min_depth_m) & (core <= cfg.max_depth_m)]
    if core.size:
        # the surface under the keypoint itself, unless that is the background seen
        # past the body's outline (the farthest surface, covering little of the window)
        c = float(np.median(core))
        i = int(np.argmin([np.min(np.abs(s - c)) for s in surfaces]))
        if i < len(surfaces) - 1 or surfaces[i].size >= cfg.min_surface_fraction * vals.size:
            return float(np.median(surfaces[i]))
    for surface in surfaces:  # else the nearest surface that covers enough of the window
        if surface.size >= cfg.min_surface_fraction * vals.size:
            return float(np.median(surface))
    return float("nan")


def _first_surface(s: np.ndarray, ray: np.ndarray, others: list[np.ndarray],
                   radius: float) -> np.ndarray:
    """Distance along unit ``ray`` to the first surface when the joint sits at ``s * ray``:
    its own sphere, or the capsule of a limb to each neighbour in ``others``."""
    t = s - radius
    for b in others:
        axis = b[None, :] - s[:, None] * ray[None, :]
        length = np.linalg.norm(axis, axis=-1)
        u = axis / np.maximum(length, 1e-9)[:, None]
        cos = u @ ray
        sin = np.sqrt(np.maximum(1.0 - cos * cos, 1e-12))
        # the limb comes toward the camera and the ray enters its side before the joint
        side = (cos < 0) & (radius * -cos / sin <= length)
        t = np.where(side, np.minimum(t, s - radius / sin), t)
    return t


def _refine(points: np.ndarray, measured: np.ndarray, bones: Sequence[tuple[int, int]],
            radius: float) -> np.ndarray:
    """Joint centres under the capsule model (see the module docstring); two passes."""
    out = points.copy()
    grid = np.linspace(0.0, 3.0 * radius, 61)
    for _ in range(2):
        prev = out.copy()
        for j in np.flatnonzero(np.isfinite(measured)):
            others = [prev[n] for a, b in bones for m, n in ((a, b), (b, a))
                      if m == j and np.isfinite(prev[n]).all()]
            if not others:
                continue
            ray = prev[j] / np.linalg.norm(prev[j])
            s = measured[j] + radius + grid
            err = np.abs(_first_surface(s, ray, others, radius) - measured[j])
            out[j] = ray * s[int(np.argmin(err))]  # ties: the nearest (smallest s)
    return out


def lift_keypoints(
    keypoints: np.ndarray,
    depth_m: np.ndarray,
    intrinsics: CameraIntrinsics,
    cfg: DepthLiftConfig | None = None,
    image_size: tuple[int, int] | None = None,
    bones: Sequence[tuple[int, int]] = (),
) -> np.ndarray:
    """(K, 3) pixel keypoints -> (K, 4) camera-frame (X, Y, Z m, score); score 0 = no depth.

    ``image_size`` (width, height) of the colour image the keypoints are in,
    when the aligned depth image has another resolution (keypoints are scaled).
    ``bones`` (index pairs of limbs) enable the self-occlusion refinement.
    """
    cfg = (cfg or DepthLiftConfig()).validate()
    kp = np.asarray(keypoints, dtype=np.float64).reshape(-1, 3)
    if depth_m.shape != (intrinsics.height, intrinsics.width):
        raise BadFrameError(f"depth image {depth_m.shape[1]}x{depth_m.shape[0]} does not match "
                            f"camera_info {intrinsics.width}x{intrinsics.height}")
    sx = intrinsics.width / image_size[0] if image_size else 1.0
    sy = intrinsics.height / image_size[1] if image_size else 1.0
    u, v = kp[:, 0] * sx, kp[:, 1] * sy
    z = np.array([
        joint_depth(depth_m, u[i], v[i], cfg) if kp[i, 2] >= cfg.min_score else np.nan
        for i in range(len(kp))
    ])
    if np.isfinite(z).any():
        body = np.nanmedian(z)
        z[np.abs(z - body) > cfg.max_body_depth_m] = np.nan  # background or an occluder
    points = intrinsics.back_project(u, v, z)
    if cfg.surface_offset_m:
        norm = np.linalg.norm(points, axis=-1, keepdims=True)
        points = points * (1.0 + cfg.surface_offset_m / np.where(norm > 0, norm, np.nan))
        if bones:
            measured = norm[:, 0]  # distance along each ray to the surface seen
            points = _refine(points, measured, bones, cfg.surface_offset_m)
    ok = np.isfinite(points).all(axis=-1)
    out = np.zeros((len(kp), 4), np.float32)
    out[ok, :3] = points[ok]
    out[ok, 3] = kp[ok, 2]
    return out


_LIMB_JOINTS = ("shoulder", "elbow", "wrist", "hip", "knee", "ankle")


def limb_bones(layout: str) -> list[tuple[int, int]]:
    """The layout's edges between limb joints (the capsules of the refinement)."""
    lay = get_layout(layout)

    def limb(i: int) -> bool:
        return any(lay.names[i].endswith(n) for n in _LIMB_JOINTS)

    return [(a, b) for a, b in lay.edges if limb(a) and limb(b)]


def lift_skeleton(skeleton: Skeleton, depth_m: np.ndarray, intrinsics: CameraIntrinsics,
                  cfg: DepthLiftConfig | None = None,
                  image_size: tuple[int, int] | None = None) -> Skeleton:
    """A copy of ``skeleton`` with ``keypoints_3d`` in the camera frame (``space_3d`` "camera")."""
    lifted = lift_keypoints(skeleton.keypoints, depth_m, intrinsics, cfg, image_size,
                            limb_bones(skeleton.layout))
    return dataclasses.replace(skeleton, keypoints_3d=lifted, space_3d="camera")
