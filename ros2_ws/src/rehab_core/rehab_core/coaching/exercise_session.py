"""The logic of one RunExercise goal: count only the requested exercise, know when to stop.

Inputs, all stamped with the caller's clock in seconds (source time):

* classifier predictions of the tracked patient (label, confidence);
* presence of the patient (a skeleton seen or not);
* completed repetitions, either as events from an external counter
  (``on_repetition``) or counted here from the patient's skeletons
  (``on_skeleton`` with ``count_from_skeletons``: then the key-angle curve is
  known and each repetition gets a DTW distance to the patient's reference).

Why repetitions are *decided* after they end rather than when they end: the
classifier looks at a sliding window, so its verdict on a movement arrives a
little after the movement. A repetition is therefore held until the first
decisive prediction stamped at or after its end (or ``decision_horizon_s``
has passed). The exercise is known, so the classifier may only veto: a
repetition is rejected (kept in ``ignored`` with the reason) only when most
predictions over it confidently (``reject_confidence``) name a *different*
exercise; an ``unknown`` or unsure classifier never costs the patient a
repetition (``repetition/verdict.py``). Every repetition's verdict, label and
confidence is reported in ``verdicts``.

A hold (plank: its counter times the posture instead of counting cycles)
is counted in seconds: ``repetitions`` is the seconds to hold, and each whole
second held is one unit, judged like a repetition (a confident push-up over it
is vetoed).

Ending: ``completed`` (target reached, success), ``timeout`` (time limit),
``person_lost`` (patient unseen for ``person_lost_timeout_s`` after having
been seen), or whatever ``finish`` is told (``canceled``, ``preempted``, ...).
"""

from __future__ import annotations

from collections import deque

import numpy as np

from rehab_core.coaching.session_types import (
    UNKNOWN,
    CountedRepetition,
    IgnoredRepetition,
    RepetitionInput,
    RepetitionVerdict,
    SessionConfig,
    SessionResult,
    SessionState,
    TimelineSample,
    canonical_exercise,
    same_exercise,
)
from rehab_core.repetition.counter import Repetition, RepetitionCounter
from rehab_core.repetition.quality import assess_repetition
from rehab_core.repetition.verdict import judge_repetition
from rehab_core.types import Skeleton

__all__ = ["ExerciseSession", "RepetitionInput", "SessionConfig", "SessionResult",
           "SessionState", "same_exercise"]


class ExerciseSession:
    """State of one goal. Feed it in time order; read ``state``, ``done`` and ``result()``."""

    def __init__(self, config: SessionConfig,
                 reference: Repetition | np.ndarray | None = None) -> None:
        self.config = config
        self.reference = reference
        self.started_t: float | None = None
        self.now: float | None = None
        self.current_label = ""
        self.current_confidence = 0.0
        self.counted: list[CountedRepetition] = []
        self.ignored: list[IgnoredRepetition] = []
        self._posture_rejected = 0  # the counter's movements dropped for their posture
        self.verdicts: list[RepetitionVerdict] = []
        self.timeline: list[TimelineSample] = []
        self._pending: list[RepetitionInput] = []
        self._predictions: deque[tuple[float, str, float]] = deque()
        self._last_seen: float | None = None
        self._present = False
        self._result: SessionResult | None = None
        self._counter = RepetitionCounter(config.exercise) if config.count_from_skeletons else None
        self._seconds_held = 0  # a hold's whole seconds already handed on as units

    # -- queries -----------------------------------------------------------------------

    @property
    def done(self) -> bool:
        return self._result is not None

    @property
    def repetitions_done(self) -> int:
        return len(self.counted)

    @property
    def state(self) -> SessionState:
        if self.done:
            return SessionState.DONE
        if not self._present:
            return SessionState.WAITING_FOR_PERSON
        if self._decisive(self.current_label, self.current_confidence) and not same_exercise(
            self.current_label, self.config.exercise
        ):
            return SessionState.WRONG_EXERCISE
        return SessionState.EXERCISING

    def result(self) -> SessionResult | None:
        return self._result

    # -- inputs ------------------------------------------------------------------------

    def start(self, t: float) -> None:
        """The goal became active at ``t`` (otherwise the first input starts it)."""
        if self.started_t is None:
            self.started_t = float(t)
            self.now = float(t)

    def on_prediction(self, t: float, label: str, confidence: float) -> None:
        if not self._advance(t):
            return
        self.current_label, self.current_confidence = str(label), float(confidence)
        self._predictions.append((t, self.current_label, self.current_confidence))
        self._decide_pending(t, final=False)
        self._sample(t)
        self._check_end(t)

    def on_presence(self, t: float, present: bool) -> None:
        if not self._advance(t):
            return
        self._present = bool(present)
        if present:
            self._last_seen = t
        self._check_end(t)

    def on_skeleton(self, t: float, skeleton: Skeleton | np.ndarray | None) -> None:
        """Presence, plus counting here when ``count_from_skeletons`` is set."""
        self.on_presence(t, skeleton is not None)
        if self.done or self._counter is None:
            return
        self._count(t, self._counter.update(skeleton, round(t * 1e9)))
        if not self._counter.config.counts_reps:
            self._count_hold(t)

    def _count_hold(self, t: float) -> None:
        """Each whole second of a hold (the counter's ``hold_s``) is one unit of the goal."""
        while not self.done and self._seconds_held < int(self._counter.hold_s):
            self._seconds_held += 1
            self._add(t, RepetitionInput(self.config.exercise, t - 1.0, t))

    def _count(self, t: float, reps: list[Repetition]) -> None:
        for rep in reps:
            q = assess_repetition(rep, self.reference)
            self._add(t, RepetitionInput.of(self.config.exercise, rep.start_t, rep.end_t, q))
        rejected = self._counter.posture_rejected  # a movement without its posture (a squat
        if rejected > self._posture_rejected:     # lying down): reported, never counted
            why = self._counter.config.posture.missing
            self.ignored += [IgnoredRepetition(t, self.config.exercise, why)
                             for _ in range(rejected - self._posture_rejected)]
            self._posture_rejected = rejected

    def on_repetition(self, t: float, rep: RepetitionInput) -> None:
        """A repetition from an external counter (ignored when counting from skeletons)."""
        if self._counter is not None:
            return
        if not self._advance(t):
            return
        self._add(t, rep)

    def tick(self, t: float) -> None:
        """Time passes without input: time limit, person lost, overdue decisions."""
        if self._advance(t):
            self._decide_pending(t, final=False)
            self._check_end(t)

    def finish(self, t: float, reason: str) -> SessionResult:
        """End now (cancel, preemption, end of input); pending repetitions are decided.

        The input is over for this goal, so a repetition in progress whose movement is done
        counts (``RepetitionCounter.finish``: the server ends a goal on input_ended this way).
        """
        if self._result is None:
            self._advance(t)
            if self._counter is not None:
                self._count(self.now if self.now is not None else t, self._counter.finish())
            self._decide_pending(self.now if self.now is not None else t, final=True)
            if self._result is None:
                self._close(reason)
        return self._result

    # -- internals ---------------------------------------------------------------------

    def _advance(self, t: float) -> bool:
        if self.done:
            return False
        t = float(t)
        if self.started_t is None:
            self.started_t = t
        if self.now is None or t > self.now:
            self.now = t
        return True

    def _decisive(self, label: str, confidence: float) -> bool:
        return bool(label) and label != UNKNOWN and confidence >= self.config.min_confidence

    def _add(self, t: float, rep: RepetitionInput) -> None:
        if not same_exercise(rep.exercise, self.config.exercise):
            self.ignored.append(IgnoredRepetition(t, rep.exercise,
                                                  "counter reported another exercise"))
            return
        self._pending.append(rep)
        self._decide_pending(t, final=False)
        self._sample(t)
        self._check_end(t)

    def _decide_pending(self, t: float, final: bool) -> None:
        while self._pending:
            rep = self._pending[0]
            decided_by = [p for p in self._predictions
                          if p[0] >= rep.end_t and self._decisive(p[1], p[2])]
            overdue = t - rep.end_t >= self.config.decision_horizon_s
            if not (decided_by or overdue or final):
                return
            self._pending.pop(0)
            until = decided_by[0][0] if decided_by else t
            self._judge(rep, until)
            if len(self.counted) >= self.config.repetitions:
                self._pending.clear()
                self._close("completed")
                return
        self._forget_old_predictions()

    def _judge(self, rep: RepetitionInput, until: float) -> None:
        # votes: every prediction from the rep's start to the deciding one, plus the
        # one in force when the rep started
        before = [p for p in self._predictions if p[0] < rep.start_t]
        votes = [p for p in self._predictions if rep.start_t <= p[0] <= until]
        if before:
            votes.insert(0, before[-1])
        verdict = judge_repetition(
            canonical_exercise(self.config.exercise),
            [(canonical_exercise(v[1]) if v[1] else "", v[2]) for v in votes],
            max(self.config.reject_confidence, self.config.min_confidence), same_exercise)
        self.verdicts.append(RepetitionVerdict(rep.start_t, rep.end_t, verdict.verdict,
                                               verdict.label, verdict.confidence, verdict.votes))
        if not verdict.counted:
            self.ignored.append(IgnoredRepetition(
                rep.end_t, rep.exercise, f"recognised exercise was {verdict.label!r} "
                                         f"(confidence {verdict.confidence:.2f})"))
            return
        self.counted.append(CountedRepetition(
            index=len(self.counted), start_t=rep.start_t, end_t=rep.end_t,
            confidence=verdict.confidence, quality=rep.quality))

    def _forget_old_predictions(self) -> None:
        keep_from = min((r.start_t for r in self._pending), default=self.now or 0.0) - 30.0
        while len(self._predictions) > 1 and self._predictions[1][0] < keep_from:
            self._predictions.popleft()

    def _check_end(self, t: float) -> None:
        if self.done:
            return
        cfg = self.config
        if cfg.time_limit_s > 0 and t - self.started_t >= cfg.time_limit_s:
            self.finish(t, "timeout")
        elif self._last_seen is not None and t - self._last_seen >= cfg.person_lost_timeout_s:
            self.finish(t, "person_lost")

    def _sample(self, t: float) -> None:
        if self.done:
            return  # the closing sample is the last
        self.timeline.append(TimelineSample(t, self.current_label, self.current_confidence,
                                            self.repetitions_done, self.state))

    def _close(self, reason: str) -> None:
        reps = self.counted
        self.timeline.append(TimelineSample(
            float(self.now if self.now is not None else 0.0), self.current_label,
            self.current_confidence, len(reps), SessionState.DONE))
        success = len(reps) >= self.config.repetitions
        self._result = SessionResult(
            exercise=self.config.exercise,
            success=success,
            repetitions_done=len(reps),
            repetition_durations_s=[r.duration_s for r in reps],
            mean_confidence=float(np.mean([r.confidence for r in reps])) if reps else 0.0,
            reason="completed" if success else reason,
            quality=[r.quality for r in reps],
            started_t=float(self.started_t if self.started_t is not None else 0.0),
            ended_t=float(self.now if self.now is not None else 0.0),
            ignored=list(self.ignored),
            verdicts=list(self.verdicts),
            timeline=list(self.timeline),
        )
