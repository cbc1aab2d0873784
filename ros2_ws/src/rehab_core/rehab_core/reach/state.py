"""One hand's reach state: the single type from the detector to the exoskeleton gate.

Why a module of its own: every consumer (the ROS codec, the exoskeleton's
safety gate, the recorder) needs this type, and none of them should pay for
importing torch (``babynet``/``keyframes``) to get it.

BabyNet's classes (RN onset, RF offset, R reaching, NoR no reach) are not in
the order of the reported phases (NO_REACH, ONSET, REACH, OFFSET, numbered as
in rehab_interfaces/ReachState). ``confidence`` is the probability of the
*reported* phase, which is what a gate such as the exoskeleton's
``min_confidence`` must read; the highest class score may belong to another
phase (the state machine, not the classifier, decides the phase).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

import numpy as np

#: BabyNet's output classes, in the network's order
CLASSES: tuple[str, ...] = ("RN", "RF", "R", "NoR")


class ReachPhase(str, Enum):
    """Reach phases, declared in the order of their ReachState.msg numbers (0..3)."""

    NO_REACH = "NO_REACH"
    ONSET = "ONSET"
    REACH = "REACH"
    OFFSET = "OFFSET"

    @property
    def number(self) -> int:
        """The ReachState.msg constant of this phase."""
        return PHASES.index(self)

    @classmethod
    def from_number(cls, number: int) -> ReachPhase:
        if not 0 <= int(number) < len(PHASES):
            raise ValueError(f"reach phase {number} is not one of 0..{len(PHASES) - 1}")
        return PHASES[int(number)]


#: phases by ReachState.msg number
PHASES: tuple[ReachPhase, ...] = tuple(ReachPhase)
#: the BabyNet class that scores each phase
PHASE_CLASS: dict[ReachPhase, str] = {
    ReachPhase.NO_REACH: "NoR", ReachPhase.ONSET: "RN",
    ReachPhase.REACH: "R", ReachPhase.OFFSET: "RF",
}


def phase_probability(phase: ReachPhase, scores: Mapping[str, float]) -> float:
    """P(``phase``) from BabyNet's class scores (0 when the class is missing)."""
    return float(scores.get(PHASE_CLASS[phase], 0.0))


@dataclass
class ReachState:
    """One hand's reach status in one frame.

    ``confidence`` is P(``phase``) (see the module docstring); ``scores`` maps
    BabyNet's class names to probabilities. ``index``, ``object_box`` and
    ``invalidated`` describe the detector's own frame and do not cross the ROS
    edge (a state read from a message has -1 / None / False there).
    ``distance`` is NaN when no object is near; stamps are -1 when absent.
    """

    side: str
    phase: ReachPhase
    index: int
    stamp_ns: int
    scores: dict[str, float] = field(default_factory=dict)
    confidence: float = 0.0
    distance: float = float("nan")
    iou: float = 0.0
    object_label: str = ""
    object_box: np.ndarray | None = None
    onset_index: int = -1
    onset_stamp_ns: int = -1
    offset_index: int = -1
    offset_stamp_ns: int = -1
    invalidated: bool = False  # an onset was dropped this frame (abandoned reach)

    def phase_scores(self) -> list[float]:
        """The class scores in phase order [NO_REACH, ONSET, REACH, OFFSET] (ReachState.msg)."""
        return [phase_probability(p, self.scores) for p in PHASES]

    @staticmethod
    def scores_from_phase_order(values: list[float]) -> dict[str, float]:
        """Inverse of :meth:`phase_scores`: class name -> score."""
        return {PHASE_CLASS[p]: float(v) for p, v in zip(PHASES, values)}
