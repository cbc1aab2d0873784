"""Repetition evidence: a doubtful window is the likeliest exercise that just did a repetition.

Why: held out by whole sources, most wrong answers were exercises called
``unknown`` (21 of the shipped ensemble's 26 wrong corpus clips): on a view or
a person it never saw, the classifier still ranks the right exercise first
but under the confidence threshold. The exercise's own repetition counter
(joint angles, the signals chosen to survive the view) is evidence the
network does not have: a squat seen from an unfamiliar angle still bends and
straightens the knees through a full range.

The rule, per classified window, causal (only what has happened by the
window's end):

* it applies only where the threshold made the window ``unknown``;
* the candidates are the counted exercises that score at least as high as
  ``unknown`` (the classifier's own preference: a window the network
  positively calls ``unknown`` stays so), best-ranked first;
* the first candidate whose counter completed a repetition that ended in the
  last ``LOOKBACK_S`` (4 s, the look-back of the stance and motion rules) up to
  the window's end names it (``evidence_span``). (At first only the best-ranked exercise was
  asked; when the network ranks a posture-alike first, e.g. jumping jacks
  over a prisoner squat with the hands behind the head, the exercise whose
  joint actually went through a repetition is the better answer: held out,
  corpus video 0.86 -> 0.88, see the model card.)

Then the window is that exercise, with its own (under-threshold) score as
confidence, so a rescued label can never veto a goal's repetition
(``SessionConfig.reject_confidence`` is above the threshold). Measured on
stored held-out probabilities, see the exercise model's card.

Why the look-back and not the window alone: a window is 2 s; a squat with a
barbell or a pull-up takes 3-4 s a repetition, so most windows inside a slow
set hold no repetition's end and stayed ``unknown`` between repetitions. A
repetition in the last 4 s says the person is in a set of that exercise.
Held out (corpus windows, no retraining): 0.745 -> 0.79 on the shipped
networks, 0.76 -> 0.80 on a second seed set; clips and open-set unchanged.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from rehab_core.recognition.recent_frames import LOOKBACK_S
from rehab_core.repetition.config import EXERCISES
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.repetition.families import UNKNOWN
from rehab_core.types import Skeleton

_RECENT = 16  # repetitions looked at per query (several windows' worth at any tempo)


def counted_exercises(labels: Sequence[str]) -> list[str]:
    """The labels whose exercise counts repetitions (the only ones a counter can vouch for)."""
    return [lab for lab in labels if lab in EXERCISES and EXERCISES[lab].counts_reps]


def rescued_label(probs: np.ndarray, labels: Sequence[str],
                  completed: Callable[[str], bool]) -> str | None:
    """The exercise an ``unknown`` window is, given ``completed(name)``: whether that
    exercise's counter completed a repetition over its evidence span. The best-ranked counted
    exercise scoring at least as high as ``unknown`` that did; None when none did."""
    floor = probs[labels.index(UNKNOWN)] if UNKNOWN in labels else 0.0
    ranked = sorted(counted_exercises(labels), key=lambda name: -probs[labels.index(name)])
    for name in ranked:
        if probs[labels.index(name)] < floor:
            return None
        if completed(name):
            return name
    return None


def evidence_span(start_s: float, end_s: float) -> tuple[float, float]:
    """The span a repetition's end must lie in to vouch for the window [start_s, end_s]:
    the last ``LOOKBACK_S`` up to its end (or the whole window, were it longer)."""
    return min(start_s, end_s - LOOKBACK_S), end_s


def ended_within(ends_s: Sequence[float], start_s: float, end_s: float) -> bool:
    """Whether any repetition end time lies in [start_s, end_s]."""
    return any(start_s <= t <= end_s for t in ends_s)


class RepetitionEvidence:
    """Every counted exercise's counter over one person's stream, for ``rescued_label``.

    Shared by a classifier and its 2-D fallback: a frame is fed once (a stamp
    not after the last one fed is skipped, unless it goes back, which starts a
    new stream). Cost: one angle filter per counted exercise per frame.
    """

    def __init__(self, labels: Sequence[str], use_3d: bool = True) -> None:
        self.names = counted_exercises(labels)
        self.use_3d = use_3d
        self.reset()

    def reset(self) -> None:
        self.counters = {n: RepetitionCounter(n, use_3d=self.use_3d) for n in self.names}
        self._last_ns: int | None = None

    def update(self, skeleton: Skeleton | None, stamp_ns: int,
               shared: dict | None = None) -> None:
        """Feed one frame; ``shared``: this frame's signals, filled for other readers."""
        stamp_ns = int(stamp_ns)
        if self._last_ns is not None and stamp_ns < self._last_ns:
            self.reset()
        elif self._last_ns is not None and stamp_ns == self._last_ns:
            return
        self._last_ns = stamp_ns
        shared = {} if shared is None else shared  # computed once for all the counters
        for counter in self.counters.values():
            counter.update(skeleton, stamp_ns, shared)

    def completed(self, name: str, start_s: float, end_s: float) -> bool:
        """Whether ``name``'s counter completed a repetition ending in [start_s, end_s]."""
        counter = self.counters.get(name)
        if counter is None:
            return False
        # the newest few: a window is seconds long (a posture gate may emit one late,
        # so the list is only roughly in order of end time)
        return ended_within([r.end_t for r in counter.repetitions[-_RECENT:]], start_s, end_s)
