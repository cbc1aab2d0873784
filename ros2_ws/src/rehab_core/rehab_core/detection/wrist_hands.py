"""Hand boxes derived from a skeleton's wrists: the no-extra-model hand detector.

Why: the reach detector needs left/right hand boxes, and no pretrained hand
detector can be shipped offline; the pose estimator already knows where the
wrists are and which side is which. The hand extends beyond the wrist along
the forearm, so the box is centred ahead of the wrist (elbow -> wrist
direction) and sized from the forearm length (an adult or infant hand is
about 0.7-0.8 forearm lengths long). When the layout has finger landmarks
(BlazePose's index/pinky/thumb, Kinect's hand/hand_tip/thumb) that are seen,
the box also covers them.

Sides are the *subject's* left and right as the layout names them (not the
image's left and right). A wrist below ``min_wrist_score`` gives no box.
"""

from __future__ import annotations

import numpy as np

from rehab_core.skeleton.layouts import get_layout
from rehab_core.types import Detection, Skeleton

HAND_LABELS = ("left_hand", "right_hand")
_FINGER_JOINTS = ("index", "pinky", "thumb", "hand", "hand_tip")
#: box side as a fraction of the forearm length, and how far ahead of the wrist its centre is
BOX_PER_FOREARM = 0.9
AHEAD_PER_FOREARM = 0.3
#: fallback box side as a fraction of the skeleton box's larger side (no elbow seen)
BOX_PER_BODY = 0.12


def hands_from_skeleton(
    skeleton: Skeleton,
    image_size: tuple[int, int] | None = None,
    *,
    min_wrist_score: float = 0.3,
    min_joint_score: float = 0.3,
) -> list[Detection]:
    """Left/right hand boxes (xyxy px) of one skeleton, clipped to ``image_size`` (w, h).

    Each Detection has label "left_hand"/"right_hand", class_id 1/2 (the
    index in ``HandObjectDetector.labels``), the wrist's score, and the
    skeleton's track id.
    """
    layout = get_layout(skeleton.layout)
    kp = skeleton.keypoints
    names = layout.names
    out: list[Detection] = []
    for class_id, side in ((1, "left"), (2, "right")):
        if f"{side}_wrist" not in names:
            continue
        wrist = kp[names.index(f"{side}_wrist")]
        if wrist[2] < min_wrist_score:
            continue
        elbow = kp[names.index(f"{side}_elbow")] if f"{side}_elbow" in names else None
        box = _wrist_box(wrist, elbow, skeleton, min_joint_score)
        fingers = [
            kp[names.index(f"{side}_{j}"), :2]
            for j in _FINGER_JOINTS
            if f"{side}_{j}" in names and kp[names.index(f"{side}_{j}"), 2] >= min_joint_score
        ]
        if fingers:
            pts = np.vstack([np.array(fingers), wrist[None, :2]])
            margin = 0.15 * (box[2] - box[0])
            box = np.array([
                min(box[0], pts[:, 0].min() - margin), min(box[1], pts[:, 1].min() - margin),
                max(box[2], pts[:, 0].max() + margin), max(box[3], pts[:, 1].max() + margin),
            ], np.float32)
        if image_size is not None:
            w, h = image_size
            box = np.clip(box, 0, [w, h, w, h]).astype(np.float32)
            if box[2] - box[0] < 1 or box[3] - box[1] < 1:
                continue  # the hand is outside the image
        out.append(Detection(f"{side}_hand", float(wrist[2]), box, class_id=class_id,
                             track_id=skeleton.track_id))
    return out


def _wrist_box(
    wrist: np.ndarray, elbow: np.ndarray | None, skeleton: Skeleton, min_joint_score: float
) -> np.ndarray:
    """Square box ahead of the wrist, sized by the forearm (or the body when no elbow)."""
    centre = wrist[:2].astype(np.float64)
    forearm = None
    if elbow is not None and elbow[2] >= min_joint_score:
        vec = wrist[:2] - elbow[:2]
        length = float(np.hypot(*vec))
        if length > 1.0:
            forearm = length
            centre = centre + AHEAD_PER_FOREARM * vec
    if forearm is not None:
        side = BOX_PER_FOREARM * forearm
    else:
        body = float(max(skeleton.box[2] - skeleton.box[0], skeleton.box[3] - skeleton.box[1]))
        if body <= 0:
            seen = skeleton.keypoints[skeleton.keypoints[:, 2] >= min_joint_score, :2]
            body = float(np.ptp(seen, axis=0).max()) if len(seen) >= 2 else 0.0
        side = max(BOX_PER_BODY * body, 8.0)
    half = side / 2
    return np.array(
        [centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half], np.float32
    )
