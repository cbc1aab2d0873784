"""Reader of UI-PRMD Kinect skeletons (Vakanski et al. 2018), 22 joints at 30 Hz.

``*_positions.txt`` holds per frame 22 x (x, y, z) in cm. Joint 0 (waist) is
absolute; every other joint is an offset from its parent expressed in the
parent's local frame (the offsets are constant bone vectors such as
(0, 27.8, 0) for the spine), so converting to absolute needs the joint
orientations of ``*_angles.txt`` (degrees about x, y, z, composed as
R = Rz @ Rx @ Ry): forward kinematics ``R_j = R_parent @ E(angles_j)``,
``p_j = p_parent + R_parent @ offset_j``. The composition order is not
documented; we chose the one of the six under which the feet stay still
during the deep squat and the sit-to-stand (ankle and toe motion ~2-3 cm
std, against 11-25 cm for the other orders, including the Rz Ry Rx order
used by some public scripts). Without the angles file the offsets can only be summed along the
hierarchy (a rest pose that moves with the waist only); ``read_ui_prmd``
refuses that unless ``allow_without_angles=True``.

The joint order (from the dataset's documentation): waist, spine, chest,
neck, head, head tip, left collar, left upper arm (= shoulder), left forearm
(= elbow), left hand (= wrist), the same for the right arm, left upper leg
(= hip), left lower leg (= knee), left foot (= ankle), left toes, and the
same for the right leg. We name them by the joint each position marks so
that normalisation finds the hips and shoulders.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rehab_core.datasets.skeleton_dataset import SkeletonSequence
from rehab_core.errors import InputSourceError
from rehab_core.skeleton.layouts import LAYOUTS, KeypointLayout, register_layout

UIPRMD22_NAMES = (
    "waist", "spine", "chest", "neck", "head", "head_tip",
    "left_collar", "left_shoulder", "left_elbow", "left_wrist",
    "right_collar", "right_shoulder", "right_elbow", "right_wrist",
    "left_hip", "left_knee", "left_ankle", "left_toes",
    "right_hip", "right_knee", "right_ankle", "right_toes",
)
# Parent of each joint in the Kinect v2 hierarchy as UI-PRMD stores it (-1 = root).
UIPRMD22_PARENTS = (-1, 0, 1, 2, 3, 4, 2, 6, 7, 8, 2, 10, 11, 12, 0, 14, 15, 16, 0, 18, 19, 20)
UIPRMD22 = KeypointLayout(
    name="uiprmd22",
    names=UIPRMD22_NAMES,
    edges=tuple((j, p) for j, p in enumerate(UIPRMD22_PARENTS) if p >= 0),
    center=2,  # chest, like the spine-shoulder centre of the NTU graph
    flip_pairs=tuple(
        (i, UIPRMD22_NAMES.index("right_" + n[len("left_"):]))
        for i, n in enumerate(UIPRMD22_NAMES) if n.startswith("left_")),
)
UI_PRMD_FPS = 30.0


def register_uiprmd_layout() -> KeypointLayout:
    """Make "uiprmd22" known to ``get_layout`` (idempotent)."""
    if "uiprmd22" not in LAYOUTS:
        register_layout(UIPRMD22)
    return UIPRMD22


register_uiprmd_layout()


def euler_to_matrix(angles_deg: np.ndarray) -> np.ndarray:
    """(..., 3) angles about (x, y, z) in degrees -> (..., 3, 3) rotation Rz @ Rx @ Ry."""
    a = np.deg2rad(np.asarray(angles_deg, np.float64))
    cx, cy, cz = np.cos(a[..., 0]), np.cos(a[..., 1]), np.cos(a[..., 2])
    sx, sy, sz = np.sin(a[..., 0]), np.sin(a[..., 1]), np.sin(a[..., 2])
    one, zero = np.ones_like(cx), np.zeros_like(cx)
    rx = np.stack([one, zero, zero, zero, cx, -sx, zero, sx, cx], -1).reshape(*a.shape[:-1], 3, 3)
    ry = np.stack([cy, zero, sy, zero, one, zero, -sy, zero, cy], -1).reshape(*a.shape[:-1], 3, 3)
    rz = np.stack([cz, -sz, zero, sz, cz, zero, zero, zero, one], -1).reshape(*a.shape[:-1], 3, 3)
    return rz @ rx @ ry


def relative_to_absolute(offsets: np.ndarray, angles: np.ndarray | None) -> np.ndarray:
    """(T, 22, 3) parent-relative positions (+ local Euler angles) -> absolute positions."""
    t, v, _ = offsets.shape
    absolute = np.zeros((t, v, 3))
    absolute[:, 0] = offsets[:, 0]
    if angles is None:
        for j in range(1, v):
            absolute[:, j] = absolute[:, UIPRMD22_PARENTS[j]] + offsets[:, j]
        return absolute
    local = euler_to_matrix(angles)
    world = np.zeros((t, v, 3, 3))
    world[:, 0] = local[:, 0]
    for j in range(1, v):  # parents always come before their children
        parent = UIPRMD22_PARENTS[j]
        absolute[:, j] = absolute[:, parent] + np.einsum("tij,tj->ti", world[:, parent],
                                                         offsets[:, j])
        world[:, j] = world[:, parent] @ local[:, j]
    return absolute


def _load_table(path: Path) -> np.ndarray:
    try:
        data = np.loadtxt(path, delimiter=",", ndmin=2)
    except (OSError, ValueError) as err:
        raise InputSourceError(f"cannot read UI-PRMD file {path}: {err}") from err
    if data.shape[1] != 66:
        raise InputSourceError(f"{path}: expected 66 columns (22 joints x 3), got {data.shape[1]}")
    return data.reshape(len(data), 22, 3)


def read_ui_prmd_xyz(positions_path: str | Path, allow_without_angles: bool = False) -> np.ndarray:
    """Absolute (T, 22, 3) joint positions in cm (Kinect camera axes, y up)."""
    pos_path = Path(positions_path)
    ang_path = pos_path.with_name(pos_path.name.replace("_positions", "_angles"))
    offsets = _load_table(pos_path)
    if ang_path.is_file() and ang_path != pos_path:
        angles = _load_table(ang_path)
        if len(angles) != len(offsets):
            raise InputSourceError(f"{ang_path}: {len(angles)} frames vs {len(offsets)} positions")
    elif allow_without_angles:
        angles = None
    else:
        raise InputSourceError(f"{ang_path} not found: UI-PRMD offsets are in local joint "
                               "frames, absolute positions need the angles file")
    return relative_to_absolute(offsets, angles)


def read_ui_prmd(positions_path: str | Path, label: str = "",
                 allow_without_angles: bool = False) -> SkeletonSequence:
    """A UI-PRMD repetition as a 2D front view: (x, -y) cm with score 1.

    The y axis is negated so that, as in an image, y grows downwards; the 3D
    positions stay in ``meta["xyz"]``. The label defaults to the movement id
    in the file name (``m01`` .. ``m10``).
    """
    path = Path(positions_path)
    xyz = read_ui_prmd_xyz(path, allow_without_angles)
    kp = np.ones((len(xyz), 22, 3), np.float32)
    kp[:, :, 0] = xyz[:, :, 0]
    kp[:, :, 1] = -xyz[:, :, 1]
    return SkeletonSequence(
        keypoints=kp,
        stamps_ns=SkeletonSequence.stamps_for(len(xyz), UI_PRMD_FPS),
        layout="uiprmd22",
        label=label or path.stem.split("_")[0],
        video_id=path.stem.replace("_positions", ""),
        fps=UI_PRMD_FPS,
        meta={"xyz": xyz.astype(np.float32), "source": "ui-prmd"},
    )
