"""How a classified window gets its name: threshold, repetition evidence, stance, motion.

The live classifier's decision rules in the order it applies them, in one
place (the held-out evaluation applies the same order to stored
probabilities: ``training/recognition_eval.label_windows``):

1. the top class, or ``unknown`` under the confidence threshold;
2. an ``unknown`` window whose likeliest exercise completed a repetition in the
   last 4 s is that exercise (``rep_evidence``);
3. within the squat family, the legs' stance says whether it is a lunge
   (``stance``);
4. a counted exercise whose key joint did not move through a repetition's
   range in the last seconds is ``unknown`` (``motion_check``); the 3-D feet pick
   jumping jacks (they open) or arm raise (they stay put).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rehab_core.recognition.motion_check import MotionTracker
from rehab_core.recognition.rep_evidence import RepetitionEvidence, evidence_span, rescued_label
from rehab_core.recognition.stance import StanceTracker, family_member
from rehab_core.repetition.families import UNKNOWN


def name_window(probs: np.ndarray, labels: Sequence[str], threshold: float,
                evidence: RepetitionEvidence | None, stance: StanceTracker | None,
                start_s: float, end_s: float,
                motion: MotionTracker | None = None) -> tuple[str, str]:
    """(the window's label, the class whose score is its confidence): a member the stance
    picked keeps the score the network gave the member it named (the family's); an
    exercise the motion check refused is ``unknown`` with ``unknown``'s score."""
    top = int(np.argmax(probs))
    label = labels[top] if probs[top] >= threshold else UNKNOWN
    if label == UNKNOWN and evidence is not None:
        since_s, until_s = evidence_span(start_s, end_s)
        label = rescued_label(probs, labels, lambda name: evidence.completed(
            name, since_s, until_s)) or UNKNOWN
    named = label
    if stance is not None:
        label = family_member(label, probs, labels, stance.split())
    if motion is not None:
        checked = motion.check(label)
        if checked == UNKNOWN:
            return UNKNOWN, UNKNOWN
        label = checked  # or the family member the feet picked (jacks or arm raise)
    return label, named
