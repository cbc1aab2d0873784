"""Whether a counted repetition of a known exercise stands: the classifier may only veto.

In a goal the exercise is known, so its repetitions are counted from its own
key signal. The classifier gates them only by naming a *different* exercise
with confidence: a window it cannot place (``unknown``, low confidence, or a
view it never saw) must not cost the patient a repetition. Every verdict
carries the label and confidence it was based on, for the report.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rehab_core.repetition.families import FAMILIES, UNKNOWN, siblings

__all__ = ["COUNTED", "FAMILIES", "REJECTED", "UNCONFIRMED", "UNKNOWN", "Verdict",
           "judge_repetition", "siblings"]

# The confusion families live in one place, shared with the unguided bouts of `rehab run`.
COUNTED = "counted"  # the classifier named the exercise
UNCONFIRMED = "counted_unconfirmed"  # nobody contradicted it, nobody confirmed it
REJECTED = "rejected_other_exercise"


@dataclass(frozen=True)
class Verdict:
    """The decision on one repetition and the evidence for it."""

    verdict: str
    label: str
    confidence: float
    votes: int

    @property
    def counted(self) -> bool:
        return self.verdict != REJECTED


def judge_repetition(
    exercise: str,
    votes: Sequence[tuple[str, float]],
    reject_confidence: float = 0.7,
    same: Callable[[str, str], bool] = lambda a, b: a == b,
    confirm_confidence: float = 0.5,
) -> Verdict:
    """Verdict on a repetition of ``exercise`` from the (label, confidence) predictions over it.

    Rejected only when more than half of the predictions name one other
    exercise (not ``unknown``, not a sibling in ``FAMILIES``) with at least
    ``reject_confidence`` and none
    names ``exercise`` itself with at least ``confirm_confidence``: a
    classifier that also saw the requested exercise during the repetition is
    torn between the two, and the doubt goes to the patient.
    """
    n = len(votes)
    mine = [c for lab, c in votes if same(lab, exercise)]
    others = Counter(lab for lab, c in votes
                     if lab and lab != UNKNOWN and not same(lab, exercise)
                     and not siblings(lab, exercise) and c >= reject_confidence)
    confirmed = any(c >= confirm_confidence for c in mine)
    if others and not confirmed:
        other, k = others.most_common(1)[0]
        if k * 2 > n:
            conf = [c for lab, c in votes if lab == other and c >= reject_confidence]
            return Verdict(REJECTED, other, float(sum(conf) / len(conf)), n)
    if mine:
        return Verdict(COUNTED, exercise, float(sum(mine) / len(mine)), n)
    return Verdict(UNCONFIRMED, exercise, 0.0, n)

