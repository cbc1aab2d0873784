"""How a classified window gets its name: the threshold, the repetition evidence, the stance.

The live classifier's decision rules in the order it applies them, in one
place (the held-out evaluation applies the same order to stored
probabilities: ``training/recognition_eval.label_windows``):

1. the top class, or ``unknown`` under the confidence threshold;
2. an ``unknown`` window whose best exercise completed a repetition in it is
   that exercise (``rep_evidence``);
3. within the squat family, the legs' stance says whether it is a lunge
   (``stance``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from rehab_core.recognition.rep_evidence import RepetitionEvidence, rescued_label
from rehab_core.recognition.stance import StanceTracker, family_member
from rehab_core.repetition.families import UNKNOWN


def name_window(probs: np.ndarray, labels: Sequence[str], threshold: float,
                evidence: RepetitionEvidence | None, stance: StanceTracker | None,
                start_s: float, end_s: float) -> tuple[str, str]:
    """(the window's label, the class whose score is its confidence): a member the stance
    picked keeps the score the network gave the member it named (the family's)."""
    top = int(np.argmax(probs))
    label = labels[top] if probs[top] >= threshold else UNKNOWN
    if label == UNKNOWN and evidence is not None:
        label = rescued_label(probs, labels, lambda name: evidence.completed(
            name, start_s, end_s)) or UNKNOWN
    named = label
    if stance is not None:
        label = family_member(label, probs, labels, stance.split())
    return label, named
