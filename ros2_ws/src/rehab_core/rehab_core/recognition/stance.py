"""Stance: the squat family's split-stance member (lunge) is told by the feet, not the network.

Why: held out by whole sources, the classifier knows a squat-family movement
(knees and hips bending together) but not which one: every real lunge in the
corpus was called squat or deadlift, and a sumo squat was called lunge. The
network learned lunges mostly from UI-PRMD's lab recordings, which do not
transfer. What makes a lunge a lunge is anatomical and view-independent in
the pose model's 3-D (metric world landmarks): at the bottom of the movement
the legs are split, either

* front to back (forward, reverse, walking lunge): the ankles are apart
  perpendicular to the hip line by at least ``SPLIT_LEG_LENGTHS`` of a leg
  (a lunge step is 0.7-1 leg length; a squat's or deadlift's feet are side
  by side: the median bottom frame under 0.35 on every corpus squat and
  deadlift), or
* sideways (side lunge): one knee bent, the other straight (knee angles
  differing by at least ``ASYMMETRY_DEG``; a squat bends both) with the feet
  more than a leg length apart (a sumo squat is as wide but bends both).

The bottom is the frames in the recent past where a knee is bent at least
``BOTTOM_FLEXION_DEG``; the verdict is what most of them show. With none
(standing, a straight-legged deadlift) or without 3-D (MoveNet, YOLO-pose)
there is no verdict and the label stands. Frames whose feet are not both on
the floor are left out: in the pose model's 3-D a hidden leg is a guess.
The thresholds are anatomy (a lunge step, a leg), not fitted to clips.
The rule only chooses among the family's members: it never turns an
exercise of another family, or ``unknown``, into a lunge.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from rehab_core.recognition.recent_frames import LOOKBACK_S, RecentFrames
from rehab_core.repetition.counter import as_coco17
from rehab_core.repetition.families import family_of
from rehab_core.types import Skeleton

LUNGE = "lunge"
SPLIT_LEG_LENGTHS = 0.5  # feet apart front to back at the bottom, in leg lengths
ASYMMETRY_DEG = 45.0  # one knee bent, the other straight: a side lunge ...
SPREAD_LEG_LENGTHS = 1.0  # ... with the feet more than a leg apart sideways (a sumo squat: 1)
GROUNDED_LEG_LENGTHS = 0.5  # ankle heights closer than this: both feet on the floor
BOTTOM_FLEXION_DEG = 45.0  # a knee bent this far (180 - knee angle) is at a bottom
MIN_SCORE = 0.2  # a joint under this 3-D visibility is missing

# COCO-17 indices
_L_HIP, _R_HIP, _L_KNEE, _R_KNEE, _L_ANKLE, _R_ANKLE = 11, 12, 13, 14, 15, 16
_LEGS = (_L_HIP, _R_HIP, _L_KNEE, _R_KNEE, _L_ANKLE, _R_ANKLE)


@dataclass(frozen=True)
class FrameStance:
    """One frame's legs: the deeper knee's flexion (180 - angle), the feet apart front to
    back (``split``) and sideways (``spread``) in leg lengths, the knee angles' difference."""

    flexion_deg: float
    split: float
    spread: float
    asymmetry_deg: float

    @property
    def lunge(self) -> bool:
        """A lunge's stance: split front to back, or one leg bent and the feet wide apart."""
        return self.split >= SPLIT_LEG_LENGTHS or (
            self.asymmetry_deg >= ASYMMETRY_DEG and self.spread >= SPREAD_LEG_LENGTHS)


def _knee_angle(hip: np.ndarray, knee: np.ndarray, ankle: np.ndarray) -> float:
    u, v = hip - knee, ankle - knee
    cos = float(u @ v) / (float(np.linalg.norm(u) * np.linalg.norm(v)) + 1e-9)
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def frame_stance(kp3d: np.ndarray, min_score: float = MIN_SCORE) -> FrameStance | None:
    """One COCO-17 3-D skeleton's (17, 4: X, Y down, Z m, score) legs; None when a hip,
    knee or ankle is missing, or the feet are not both on the floor (ankle heights apart
    by more than ``GROUNDED_LEG_LENGTHS``: a step or a kick, or the pose model's 3-D guess
    of a hidden leg, which can put it anywhere)."""
    kp = np.asarray(kp3d, np.float64)
    if kp.shape != (17, 4) or not np.all(np.isfinite(kp[_LEGS, :3])) \
            or np.any(kp[_LEGS, 3] < min_score):
        return None
    p = kp[:, :3]
    left = _knee_angle(p[_L_HIP], p[_L_KNEE], p[_L_ANKLE])
    right = _knee_angle(p[_R_HIP], p[_R_KNEE], p[_R_ANKLE])
    leg = 0.5 * sum(float(np.linalg.norm(p[a] - p[b])) for a, b in (
        (_L_HIP, _L_KNEE), (_L_KNEE, _L_ANKLE), (_R_HIP, _R_KNEE), (_R_KNEE, _R_ANKLE)))
    hip_line = p[_L_HIP] - p[_R_HIP]
    hip_line[1] = 0.0  # on the floor plane
    width = float(np.linalg.norm(hip_line))
    if width < 1e-6 or leg < 1e-6:
        return None
    feet = p[_L_ANKLE] - p[_R_ANKLE]
    if abs(feet[1]) > GROUNDED_LEG_LENGTHS * leg:
        return None
    feet[1] = 0.0
    across = hip_line / width
    sideways = float(feet @ across)
    return FrameStance(flexion_deg=180.0 - min(left, right),
                       split=float(np.linalg.norm(feet - sideways * across)) / leg,
                       spread=abs(sideways) / leg, asymmetry_deg=abs(left - right))


def is_split(bottoms: Sequence[FrameStance]) -> bool | None:
    """The verdict over frames (``frame_stance``): most of those at a bottom are a lunge's
    (``FrameStance.lunge``); None without a bottom."""
    rows = [b for b in bottoms if b.flexion_deg >= BOTTOM_FLEXION_DEG]
    if not rows:
        return None
    return 2 * sum(r.lunge for r in rows) > len(rows)


def family_member(label: str, probs: np.ndarray, labels: Sequence[str],
                  split: bool | None) -> str:
    """``label`` with the stance choosing within the lunge's family: a split stance is a
    lunge, a level one is the family's best-scored other member; ``label`` itself when
    there is no verdict, no lunge class, or ``label`` is not in the family."""
    family = family_of(LUNGE)
    if split is None or LUNGE not in labels or label not in family:
        return label
    if split:
        return LUNGE
    if label != LUNGE:
        return label
    others = [n for n in labels if n in family and n != LUNGE]
    return max(others, key=lambda n: probs[labels.index(n)]) if others else label


class StanceTracker:
    """One person's recent bottoms (``frame_stance``) over a stream, for ``family_member``.

    Fed every frame; keeps the last ``LOOKBACK_S`` of frames at a bottom. A stamp
    going back starts a new stream.
    """

    def __init__(self, lookback_s: float = LOOKBACK_S) -> None:
        self._bottoms: RecentFrames[FrameStance] = RecentFrames(lookback_s)

    def reset(self) -> None:
        self._bottoms.clear()

    def update(self, skeleton: Skeleton | None, stamp_ns: int, shared: dict | None = None) -> None:
        """Feed one frame (``shared``, the frame's joint signals, is not needed here)."""
        t = self._bottoms.advance(stamp_ns)
        if t is None or skeleton is None or skeleton.keypoints_3d is None:
            return
        row = frame_stance(as_coco17(skeleton, use_3d=True))
        if row is not None and row.flexion_deg >= BOTTOM_FLEXION_DEG:
            self._bottoms.append(t, row)

    def split(self) -> bool | None:
        """``is_split`` over the bottoms of the look-back."""
        return is_split(self._bottoms.values())


def clip_verdicts(world: np.ndarray | None, stamps_ns: np.ndarray, ends_s: Sequence[float],
                  lookback_s: float = LOOKBACK_S) -> list[bool | None]:
    """``StanceTracker.split()`` as it would read at each of ``ends_s`` over a recorded clip's
    COCO-17 3-D (T, 17, 4; None: no 3-D), for the offline evaluation."""
    if world is None:
        return [None] * len(ends_s)
    t = np.asarray(stamps_ns, np.float64) * 1e-9
    rows = [frame_stance(w) if w[:, 3].max() > 0 else None for w in world]
    out = []
    for end in ends_s:
        recent = [r for r, s in zip(rows, t) if r is not None and end - lookback_s <= s <= end]
        out.append(is_split(recent))
    return out
