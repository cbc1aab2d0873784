"""Synthetic depth scenes with a known 3-D skeleton: the ground truth for 3-D joint tests.

A COCO-17 body is posed in metres (a squat at any depth), placed in front of
a camera at any yaw (0 = facing the camera, 90 = side view), and rendered
into a depth image: every bone a capsule, every joint a sphere of
``radius`` (a sphere-swept surface, so the camera sees the body's surface
about one radius in front of each joint centre), a wall behind. The
pixel keypoints a pose model would return are the joint centres projected,
with MediaPipe-style visibility: a joint hidden behind the body scores low.
Used by the tests and by ``rehab_core.benchmarks.depth_rom``.
"""

from __future__ import annotations

import math

import numpy as np

from rehab_core.pose.depth import CameraIntrinsics
from rehab_core.skeleton.layouts import get_layout

COCO17 = get_layout("coco17")
J = {n: i for i, n in enumerate(COCO17.names)}
BONES = [
    ("left_ankle", "left_knee"), ("left_knee", "left_hip"), ("right_ankle", "right_knee"),
    ("right_knee", "right_hip"), ("left_hip", "right_hip"), ("left_hip", "left_shoulder"),
    ("right_hip", "right_shoulder"), ("left_shoulder", "right_shoulder"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
]
DEFAULT_CAMERA = CameraIntrinsics(fx=280.0, fy=280.0, cx=159.5, cy=119.5, width=320, height=240)


def squat_pose(depth: float) -> np.ndarray:
    """(17, 3) body-frame joints (x = the person's left, y = down, z = forward) in metres.

    ``depth`` 0 = standing, 1 = bottom of a deep squat (knee at 90 degrees):
    shank leans forward 35 deg, thigh back 55 deg, trunk forward 40 deg.
    """
    a, b, c = (math.radians(v * depth) for v in (35.0, 55.0, 40.0))
    pts = np.zeros((17, 3))
    for side, x in (("left", 1.0), ("right", -1.0)):
        ankle = np.array([0.11 * x, -0.08, 0.0])
        knee = ankle + 0.43 * np.array([0.0, -math.cos(a), math.sin(a)])
        hip = knee + 0.45 * np.array([0.0, -math.cos(b), -math.sin(b)])
        hip[0] = 0.10 * x
        shoulder = hip + 0.50 * np.array([0.0, -math.cos(c), math.sin(c)])
        shoulder[0] = 0.18 * x
        elbow = shoulder + np.array([0.02 * x, 0.0, 0.28])   # arms held forward
        wrist = elbow + np.array([0.0, 0.0, 0.26])
        for name, p in (("ankle", ankle), ("knee", knee), ("hip", hip), ("shoulder", shoulder),
                        ("elbow", elbow), ("wrist", wrist)):
            pts[J[f"{side}_{name}"]] = p
        pts[J[f"{side}_eye"]] = shoulder + np.array([-0.12 * x, -0.25, 0.08])
        pts[J[f"{side}_ear"]] = shoulder + np.array([-0.08 * x, -0.22, 0.0])
    neck = (pts[J["left_shoulder"]] + pts[J["right_shoulder"]]) / 2
    pts[J["nose"]] = neck + np.array([0.0, -0.22, 0.10])
    return pts


def place(body: np.ndarray, yaw_deg: float, distance: float = 3.2,
          floor_y: float = 0.95) -> np.ndarray:
    """Body-frame joints -> camera frame: feet on the floor ``floor_y`` below the optical
    axis, ``distance`` away, turned ``yaw_deg`` (0: facing the camera, 90: left side to it)."""
    yaw = math.radians(yaw_deg)
    # facing the camera: the person's forward is -z, their left is +x
    rot = np.array([[math.cos(yaw), 0.0, -math.sin(yaw)], [0.0, 1.0, 0.0],
                    [-math.sin(yaw), 0.0, -math.cos(yaw)]])
    return body @ rot.T + np.array([0.0, floor_y, distance])


def render_depth(joints: np.ndarray, camera: CameraIntrinsics = DEFAULT_CAMERA,
                 radius: float = 0.05, wall: float = 4.5) -> np.ndarray:
    """Float32 depth (m, along z) of the body's capsules in front of a wall at ``wall`` m."""
    depth = np.full((camera.height, camera.width), wall, np.float32)
    vv, uu = np.mgrid[: camera.height, : camera.width].astype(np.float64)
    rays = np.dstack([(uu - camera.cx) / camera.fx, (vv - camera.cy) / camera.fy,
                      np.ones_like(uu)])
    centres = [joints[J[n]] for n in COCO17.names]
    for a, b in BONES:
        pa, pb = joints[J[a]], joints[J[b]]
        steps = max(int(np.linalg.norm(pb - pa) / 0.01), 1)
        centres.extend(pa + (pb - pa) * t for t in np.linspace(0, 1, steps + 1))
    for c in centres:
        (u, v), r_px = camera.project(c), radius * camera.fx / c[2] + 2
        r0, r1 = max(int(v - r_px), 0), min(int(v + r_px) + 1, camera.height)
        c0, c1 = max(int(u - r_px), 0), min(int(u + r_px) + 1, camera.width)
        if r0 >= r1 or c0 >= c1:
            continue
        d = rays[r0:r1, c0:c1]
        # ray p = s * d (z = s): |s d - c|^2 = r^2 -> nearest root
        aa = (d * d).sum(-1)
        bb = (d * c).sum(-1)
        disc = bb * bb - aa * (c @ c - radius * radius)
        s = (bb - np.sqrt(np.maximum(disc, 0))) / aa
        hit = (disc > 0) & (s < depth[r0:r1, c0:c1])
        depth[r0:r1, c0:c1][hit] = s[hit]
    return depth


def pixel_keypoints(joints: np.ndarray, depth: np.ndarray,
                    camera: CameraIntrinsics = DEFAULT_CAMERA, radius: float = 0.05,
                    visible: float = 0.95, hidden: float = 0.1) -> np.ndarray:
    """(17, 3) projected joint centres with a visibility score: ``hidden`` when the rendered
    surface at the joint's pixel is well in front of the joint's own surface (occluded)."""
    uv = camera.project(joints)
    kp = np.zeros((len(joints), 3), np.float32)
    kp[:, :2] = uv
    for i, (u, v) in enumerate(uv):
        col, row = int(np.rint(u)), int(np.rint(v))
        seen = depth[row, col] if 0 <= row < camera.height and 0 <= col < camera.width else 0
        kp[i, 2] = visible if seen > joints[i, 2] - radius - 0.04 else hidden
    return kp


def knee_angle(joints: np.ndarray, side: str = "left") -> float:
    """Ground-truth knee angle (deg) of a (17, 3) metric skeleton."""
    h, k, a = (joints[J[f"{side}_{n}"]] for n in ("hip", "knee", "ankle"))
    v1, v2 = h - k, a - k
    return math.degrees(math.acos(np.dot(v1, v2) / np.linalg.norm(v1) / np.linalg.norm(v2)))


def squat_depths(reps: int = 3, fps: float = 15.0, rep_s: float = 2.0,
                 rest_s: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(times s, squat depth 0..1) of ``reps`` smooth squats separated by rests."""
    t = np.arange(0.0, rest_s + reps * (rep_s + rest_s), 1.0 / fps)
    phase = (t - rest_s) % (rep_s + rest_s)
    moving = (t >= rest_s) & (phase < rep_s)
    depth = np.where(moving, 0.5 - 0.5 * np.cos(2 * np.pi * phase / rep_s), 0.0)
    return t, depth
