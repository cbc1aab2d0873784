"""Per-frame, per-hand reach features from detector boxes (BabyNet's input).

BabyNet (Dechemi et al., 2021) reads the spatial relation between a hand box
and the box of the object it may reach for. For each side (left, right) and
frame we compute, against the object whose centre is nearest the hand:

====  ===============  =====================================================
idx   name             meaning
====  ===============  =====================================================
0     distance         hand-centre to object-centre distance divided by the
                       infant box diagonal (camera-scale independent),
                       clipped to [0, ``DIST_FILL``]
1     velocity         ``distance[t] - distance[t-1]`` times ``VEL_SCALE``
                       (change per frame), clipped to +-``VEL_CLIP``
2     iou              hand-object intersection over union
3     hand_present     1 if the hand was detected this frame
4     object_present   1 if any object was detected this frame
====  ===============  =====================================================

Missing values are filled, never left as NaN: no hand or no object gives
``distance = DIST_FILL`` (far away), ``iou = 0``; velocity is 0 unless both this
and the previous frame had a valid distance. The two presence flags are the
mask, so the model can tell "far away" from "not seen". Without an infant box
the last seen infant diagonal is used, then ``HAND_TO_INFANT_DIAG`` times the
hand box diagonal (an infant hand box is roughly a fifth of the body box).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rehab_core.types import Detection

SIDES: tuple[str, str] = ("left", "right")
HAND_LABELS: dict[str, str] = {"left": "left_hand", "right": "right_hand"}
INFANT_LABEL = "infant"
OBJECT_LABEL = "object"

FEATURE_NAMES: tuple[str, ...] = (
    "distance",
    "velocity",
    "iou",
    "hand_present",
    "object_present",
)
NUM_FEATURES = len(FEATURE_NAMES)
DIST_FILL = 2.0
VEL_SCALE = 10.0
VEL_CLIP = 3.0
HAND_TO_INFANT_DIAG = 5.0


@dataclass
class SideFeatures:
    """Features of one hand in one frame, plus the boxes they came from."""

    side: str
    distance: float
    velocity: float
    iou: float
    hand_present: bool
    object_present: bool
    hand_box: np.ndarray | None = None
    object_box: np.ndarray | None = None
    object_label: str = ""

    @property
    def valid(self) -> bool:
        """True when both a hand and an object were seen (distance is real)."""
        return self.hand_present and self.object_present

    def vector(self) -> np.ndarray:
        return np.array(
            [
                self.distance,
                self.velocity,
                self.iou,
                float(self.hand_present),
                float(self.object_present),
            ],
            np.float32,
        )


def box_iou(a: Sequence[float], b: Sequence[float]) -> float:
    """IoU of two (x1, y1, x2, y2) boxes; 0 for empty or disjoint boxes."""
    ix = min(a[2], b[2]) - max(a[0], b[0])
    iy = min(a[3], b[3]) - max(a[1], b[1])
    if ix <= 0 or iy <= 0:
        return 0.0
    inter = ix * iy
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return float(inter / union) if union > 0 else 0.0


def _centre(box: Sequence[float]) -> tuple[float, float]:
    return (0.5 * (box[0] + box[2]), 0.5 * (box[1] + box[3]))


def _diag(box: Sequence[float]) -> float:
    return math.hypot(box[2] - box[0], box[3] - box[1])


def _best(dets: list[Detection]) -> Detection | None:
    return max(dets, key=lambda d: d.score) if dets else None


def _box_ok(box: np.ndarray) -> bool:
    return bool(np.all(np.isfinite(box))) and box[2] > box[0] and box[3] > box[1]


class ReachFeatureExtractor:
    """Streaming feature extractor: keeps the previous distance for velocity.

    Call :meth:`update` once per frame, in order. Detections whose label is
    not one of infant/left_hand/right_hand/object are ignored; boxes that are
    not finite or have no area are dropped (a detector glitch, not an error).
    """

    def __init__(self, min_score: float = 0.0) -> None:
        self.min_score = float(min_score)
        self.reset()

    def reset(self) -> None:
        self._prev_distance: dict[str, float | None] = {s: None for s in SIDES}
        self._infant_diag: float | None = None

    def update(self, detections: Sequence[Detection]) -> dict[str, SideFeatures]:
        groups: dict[str, list[Detection]] = {}
        for det in detections:
            if det.score < self.min_score or not _box_ok(det.box):
                continue
            groups.setdefault(det.label, []).append(det)
        infant = _best(groups.get(INFANT_LABEL, []))
        if infant is not None:
            self._infant_diag = _diag(infant.box)
        objects = [o.box.tolist() for o in groups.get(OBJECT_LABEL, [])]
        labels = [o.label for o in groups.get(OBJECT_LABEL, [])]
        out: dict[str, SideFeatures] = {}
        for side in SIDES:
            hand = _best(groups.get(HAND_LABELS[side], []))
            out[side] = self._side(side, hand, objects, labels)
        return out

    def _side(
        self, side: str, hand: Detection | None, objects: list[list[float]], labels: list[str]
    ) -> SideFeatures:
        if hand is None or not objects:
            self._prev_distance[side] = None
            return SideFeatures(side, DIST_FILL, 0.0, 0.0, hand is not None, bool(objects),
                                None if hand is None else hand.box)
        hbox = hand.box.tolist()
        scale = self._infant_diag or HAND_TO_INFANT_DIAG * _diag(hbox)
        hx, hy = _centre(hbox)
        best_i, best_d = 0, math.inf
        for i, obox in enumerate(objects):
            ox, oy = _centre(obox)
            d = math.hypot(hx - ox, hy - oy)
            if d < best_d:
                best_i, best_d = i, d
        dist = min(best_d / scale, DIST_FILL)
        prev = self._prev_distance[side]
        vel = 0.0 if prev is None else (dist - prev) * VEL_SCALE
        vel = max(-VEL_CLIP, min(VEL_CLIP, vel))
        self._prev_distance[side] = dist
        obox = objects[best_i]
        return SideFeatures(
            side, dist, vel, box_iou(hbox, obox), True, True,
            hand.box, np.asarray(obox, np.float32), labels[best_i],
        )


def features_of_sequence(frames: Sequence[Sequence[Detection]]) -> np.ndarray:
    """Features of a whole sequence: float32 (T, 2, NUM_FEATURES), sides in SIDES order."""
    ext = ReachFeatureExtractor()
    out = np.zeros((len(frames), len(SIDES), NUM_FEATURES), np.float32)
    for t, dets in enumerate(frames):
        feats = ext.update(dets)
        for s, side in enumerate(SIDES):
            out[t, s] = feats[side].vector()
    return out
