"""Named keypoint layouts and the conversions between them, in one place.

A layout fixes the keypoint order, the bones (edges of the skeleton graph used
by ST-GCN), the graph's centre joint (root of the spatial-configuration
partition) and the left/right pairs swapped by a horizontal flip.

Conversions go through explicit index maps; a joint that the source layout
lacks is built from others (OpenPose's neck is the shoulder midpoint) or left
at score 0 so that a missing joint is never mistaken for a seen one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class KeypointLayout:
    """A keypoint order with its skeleton graph."""

    name: str
    names: tuple[str, ...]
    edges: tuple[tuple[int, int], ...]
    center: int
    flip_pairs: tuple[tuple[int, int], ...]

    @property
    def num_keypoints(self) -> int:
        return len(self.names)

    def index(self, joint: str) -> int:
        """Index of a joint by name (ValueError naming the layout if absent)."""
        try:
            return self.names.index(joint)
        except ValueError:
            raise ValueError(f"layout {self.name!r} has no joint {joint!r}") from None

    def flip_permutation(self) -> np.ndarray:
        """Index permutation that swaps left and right joints."""
        perm = np.arange(self.num_keypoints)
        for a, b in self.flip_pairs:
            perm[a], perm[b] = b, a
        return perm


def _pairs(names: tuple[str, ...]) -> tuple[tuple[int, int], ...]:
    """Left/right pairs found by name ("left_x" <-> "right_x")."""
    out = []
    for i, n in enumerate(names):
        if n.startswith("left_"):
            j = names.index("right_" + n[len("left_"):])
            out.append((i, j))
    return tuple(out)


COCO17_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17 = KeypointLayout(
    name="coco17",
    names=COCO17_NAMES,
    edges=(
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12),
        (5, 6), (5, 7), (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2),
        (1, 3), (2, 4), (0, 5), (0, 6),
    ),
    center=0,
    flip_pairs=_pairs(COCO17_NAMES),
)

# OpenPose-18 is the Kinetics-skeleton layout ST-GCN was trained on.
OPENPOSE18_NAMES = (
    "nose", "neck", "right_shoulder", "right_elbow", "right_wrist",
    "left_shoulder", "left_elbow", "left_wrist", "right_hip", "right_knee",
    "right_ankle", "left_hip", "left_knee", "left_ankle", "right_eye",
    "left_eye", "right_ear", "left_ear",
)
OPENPOSE18 = KeypointLayout(
    name="openpose18",
    names=OPENPOSE18_NAMES,
    edges=(
        (4, 3), (3, 2), (7, 6), (6, 5), (13, 12), (12, 11), (10, 9), (9, 8),
        (11, 5), (8, 2), (5, 1), (2, 1), (0, 1), (15, 0), (14, 0), (17, 15),
        (16, 14),
    ),
    center=1,
    flip_pairs=_pairs(OPENPOSE18_NAMES),
)

BLAZEPOSE33_NAMES = (
    "nose", "left_eye_inner", "left_eye", "left_eye_outer", "right_eye_inner",
    "right_eye", "right_eye_outer", "left_ear", "right_ear", "left_mouth",
    "right_mouth", "left_shoulder", "right_shoulder", "left_elbow",
    "right_elbow", "left_wrist", "right_wrist", "left_pinky", "right_pinky",
    "left_index", "right_index", "left_thumb", "right_thumb", "left_hip",
    "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle",
    "left_heel", "right_heel", "left_foot_index", "right_foot_index",
)
BLAZEPOSE33 = KeypointLayout(
    name="blazepose33",
    names=BLAZEPOSE33_NAMES,
    # MediaPipe's POSE_CONNECTIONS plus nose-mouth and nose-shoulder links so
    # that the graph is connected (ST-GCN's hop distances need that).
    edges=(
        (0, 1), (1, 2), (2, 3), (3, 7), (0, 4), (4, 5), (5, 6), (6, 8),
        (9, 10), (0, 9), (0, 10), (0, 11), (0, 12), (11, 12), (11, 13),
        (13, 15), (15, 17), (15, 19), (15, 21), (17, 19), (12, 14), (14, 16),
        (16, 18), (16, 20), (16, 22), (18, 20), (11, 23), (12, 24), (23, 24),
        (23, 25), (24, 26), (25, 27), (26, 28), (27, 29), (28, 30), (29, 31),
        (30, 32), (27, 31), (28, 32),
    ),
    center=0,
    flip_pairs=_pairs(BLAZEPOSE33_NAMES),
)

KINECT25_NAMES = (
    "spine_base", "spine_mid", "neck", "head", "left_shoulder", "left_elbow",
    "left_wrist", "left_hand", "right_shoulder", "right_elbow", "right_wrist",
    "right_hand", "left_hip", "left_knee", "left_ankle", "left_foot",
    "right_hip", "right_knee", "right_ankle", "right_foot", "spine_shoulder",
    "left_hand_tip", "left_thumb", "right_hand_tip", "right_thumb",
)
# Kinect v2 / NTU RGB+D joint order; edges as in the ST-GCN NTU graph.
KINECT25 = KeypointLayout(
    name="kinect25",
    names=KINECT25_NAMES,
    edges=(
        (0, 1), (1, 20), (2, 20), (3, 2), (4, 20), (5, 4), (6, 5), (7, 6),
        (8, 20), (9, 8), (10, 9), (11, 10), (12, 0), (13, 12), (14, 13),
        (15, 14), (16, 0), (17, 16), (18, 17), (19, 18), (21, 7), (22, 7),
        (23, 11), (24, 11),
    ),
    center=20,
    flip_pairs=_pairs(KINECT25_NAMES),
)

LAYOUTS: dict[str, KeypointLayout] = {
    layout.name: layout for layout in (COCO17, OPENPOSE18, BLAZEPOSE33, KINECT25)
}


def register_layout(layout: KeypointLayout) -> None:
    """Add a layout (dataset readers register theirs, e.g. UI-PRMD-22)."""
    LAYOUTS[layout.name] = layout


def get_layout(name: str) -> KeypointLayout:
    """Layout by name, with the valid names in the error."""
    try:
        return LAYOUTS[name]
    except KeyError:
        raise ValueError(f"unknown keypoint layout {name!r}; known: {sorted(LAYOUTS)}") from None


# Maps: destination joint name -> source joint name, or a tuple of source
# names whose mean (with the minimum score) builds the joint.
_DERIVED = {
    ("coco17", "openpose18"): {"neck": ("left_shoulder", "right_shoulder")},
    ("blazepose33", "openpose18"): {"neck": ("left_shoulder", "right_shoulder")},
    ("kinect25", "coco17"): {},
}
_RENAMED = {
    ("blazepose33", "coco17"): {},
    ("kinect25", "coco17"): {
        "nose": "head", "left_wrist": "left_wrist", "right_wrist": "right_wrist",
    },
}


def _conversion_plan(src: KeypointLayout, dst: KeypointLayout) -> list[tuple[int, ...]]:
    """For each destination joint, the source indices that build it (empty = missing)."""
    derived = _DERIVED.get((src.name, dst.name), {})
    renamed = _RENAMED.get((src.name, dst.name), {})
    plan: list[tuple[int, ...]] = []
    for joint in dst.names:
        if joint in derived:
            plan.append(tuple(src.index(j) for j in derived[joint]))
        elif renamed.get(joint, joint) in src.names:
            plan.append((src.index(renamed.get(joint, joint)),))
        else:
            plan.append(())
    return plan


def convert_keypoints(keypoints: np.ndarray, src: str, dst: str) -> np.ndarray:
    """Convert (..., K_src, 3) keypoints from one layout to another.

    Works on single skeletons (K, 3) and sequences (T, K, 3), and on 3-D
    keypoints (..., K, 4: X, Y, Z, score). Joints the source cannot provide
    get score 0.
    """
    if src == dst:
        return np.asarray(keypoints, dtype=np.float32)
    src_layout, dst_layout = get_layout(src), get_layout(dst)
    kp = np.asarray(keypoints, dtype=np.float32)
    if kp.ndim < 2 or kp.shape[-2] != src_layout.num_keypoints or kp.shape[-1] not in (3, 4):
        raise ValueError(
            f"expected (..., {src_layout.num_keypoints}, 3) keypoints for {src}, got {kp.shape}"
        )
    out = np.zeros((*kp.shape[:-2], dst_layout.num_keypoints, kp.shape[-1]), np.float32)
    for d, sources in enumerate(_conversion_plan(src_layout, dst_layout)):
        if not sources:
            continue
        parts = kp[..., list(sources), :]
        out[..., d, :-1] = parts[..., :-1].mean(axis=-2)
        out[..., d, -1] = parts[..., -1].min(axis=-1)
    return out
