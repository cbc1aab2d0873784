"""Unguided counting (``rehab run``): label bouts, count each bout with its exercise's signal.

The classifier's label over a set flickers between confusable exercises
(squat / deadlift / lunge / sit-to-stand). Restarting the counter at every
flicker loses the repetition in progress and splits one set between two
names. Instead every counted exercise's counter runs over the whole stream,
in parallel (each is a filter and a cycle detector: cheap), and a
``BoutTracker`` (``families``) decides which of them speaks for the current
bout. When the bout's majority label changes, the repetitions the new
exercise's counter found over the bout are emitted under it, and the ones
emitted under the old label are returned as ``superseded`` so a report can
drop them: a relabel re-counts the bout without losing a repetition. The
same holds for what the generic counter found just before the first label.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from rehab_core.repetition.config import EXERCISES, get_exercise_config
from rehab_core.repetition.counter import Repetition, RepetitionCounter
from rehab_core.repetition.families import UNKNOWN, Bout, BoutTracker, supersedes
from rehab_core.types import Skeleton


@dataclass
class BoutUpdate:
    """What one input changed: repetitions to publish, and emitted ones now relabelled."""

    emitted: list[Repetition] = field(default_factory=list)
    superseded: list[Repetition] = field(default_factory=list)


class BoutCounter:
    """Counts repetitions of whatever the classifier says, one bout at a time.

    ``lead_s``: a repetition that ended up to this long before the bout's
    first label still belongs to it (the classifier names a movement only
    after a window of it). Before any label, the generic most-periodic
    counter speaks (as ``RepetitionCounter(None)``).
    """

    def __init__(self, use_3d: bool = True, split_gap_s: float = 2.0,
                 lead_s: float = 2.0) -> None:
        if lead_s < 0:
            raise ValueError(f"lead_s must be >= 0, got {lead_s}")
        self.use_3d = use_3d
        self.lead_s = lead_s
        self.tracker = BoutTracker(split_gap_s)
        self.counters = {name: RepetitionCounter(name, use_3d=use_3d)
                         for name, cfg in EXERCISES.items() if cfg.counts_reps}
        self.generic = RepetitionCounter(None, use_3d=use_3d)
        self.active: str | None = None  # exercise speaking for the current bout
        self.emitted: list[Repetition] = []  # live (not superseded), in emission order

    @property
    def exercise(self) -> str:
        return self.active or self.generic.exercise

    def count_of(self, exercise: str) -> int:
        return sum(1 for r in self.emitted if r.exercise == exercise)

    def on_label(self, t: float, label: str, confidence: float) -> BoutUpdate:
        """Feed one classifier prediction at source time ``t``."""
        known = get_exercise_config(label) if label and label != UNKNOWN else None
        name = known.name if known is not None else label
        bout, new = self.tracker.update(t, name, confidence)
        out = BoutUpdate()
        if bout is None:
            return out
        label_now = bout.label
        if new or (label_now != self.active and label_now in self.counters):
            self.active = label_now if label_now in self.counters else None
            if self.active is not None:
                # the old name's reps over the bout (or the generic counter's just
                # before it) are re-counted by the new name's counter
                # (a new bout never takes over the previous bout's reps)
                out.superseded = [r for r in self.emitted
                                  if (r.exercise == UNKNOWN if new
                                      else supersedes(self.active, r.exercise))
                                  and r.end_t > bout.start_s - self.lead_s]
                self.emitted = [r for r in self.emitted if r not in out.superseded]
            out.emitted = self._late(bout)
        return out

    def update(self, skeleton: Skeleton | None, stamp_ns: int) -> list[Repetition]:
        """Feed one frame to every counter; return the repetitions the current bout counts."""
        shared: dict = {}  # this frame's signals, computed once for all the counters
        found = {name: c.update(skeleton, stamp_ns, shared) for name, c in self.counters.items()}
        if self.tracker.current is None:  # the generic counter speaks only before any label
            return [self._record(r, r.exercise)
                    for r in self.generic.update(skeleton, stamp_ns, shared)]
        if self.active is None:
            return []
        return [self._record(r, self.active) for r in found[self.active] if self._is_new(r)]

    def finish(self) -> list[Repetition]:
        """The input is over: the counter speaking for the current bout (the generic one
        before any label) closes its repetition in progress, as a goal's input_ended does
        (``RepetitionCounter.finish``); returns the repetitions to publish."""
        if self.tracker.current is None:
            return [self._record(r, r.exercise) for r in self.generic.finish()]
        if self.active is None:
            return []
        return [self._record(r, self.active) for r in self.counters[self.active].finish()
                if self._is_new(r)]

    def _late(self, bout: Bout) -> list[Repetition]:
        """The active counter's repetitions over ``bout`` that overlap no live one."""
        if self.active is None:
            return []
        out = []
        for r in self.counters[self.active].repetitions:
            if r.end_t <= bout.start_s - self.lead_s:
                continue
            if self._is_new(r):
                out.append(self._record(r, self.active))
        return out

    def _is_new(self, rep: Repetition) -> bool:
        return not any(_overlap(rep, e) for e in self.emitted)

    def _record(self, rep: Repetition, exercise: str) -> Repetition:
        rep = replace(rep, exercise=exercise, index=self.count_of(exercise))
        self.emitted.append(rep)
        return rep


def _overlap(a: Repetition, b: Repetition) -> bool:
    return a.start_t < b.end_t and b.start_t < a.end_t
