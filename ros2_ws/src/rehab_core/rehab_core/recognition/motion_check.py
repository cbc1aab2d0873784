"""Motion check: a counted exercise is named only while its own key joint moves.

Why: held out by whole sources, the network named movements by posture
alone: mountain climbers (a push-up position, the elbows straight) as
`push_up`, a clean and jerk as `pull_up`, a front-view deadlift bent over as
`push_up`, a shoulder abduction as `jumping_jacks`. Each counted exercise
has a key signal its repetition counter follows (the knee angle of a squat,
the elbow angle of a push-up, ``repetition/config.py``) and a minimum range a
repetition must cover (``min_amplitude``). If over the last ``LOOKBACK_S``
that signal did not cover its own minimum range (5th to 95th percentile), no
repetition of the exercise can be under way, so the window is not that
exercise: it is ``unknown``.

``LOOKBACK_S`` (``recent_frames``) is 4 s: half a repetition covers the whole range, so any
repetition up to 8 s long shows it (the counter allows 12 s; a slower one
is named once it has moved). The cost: a set's windows are named once the
joint has moved, not from its first frame, and windows of a pause longer
than 4 s within a set are ``unknown`` (no repetition is under way). Static
holds (plank) and ``unknown`` are not checked. The signal is the pose
model's 3-D angle where the skeleton has 3-D, the 2-D one otherwise, as the
counter reads it.

An exercise with a ``companion`` signal (``repetition/config.py``) must move
that one too, judged on the look-back's 3-D frames only: the network named a
shoulder abduction `jumping_jacks` (the same arm signal), and a jack's feet
open. A 3-D frame whose ankles are unseen counts as not moving (the legs are
half of the jack); with fewer than ``_MIN_SAMPLES`` 3-D frames the companion
is not judged, since a side view's 2-D hides the feet apart. A movement of
the key signal alone is then the exercise's ``without_companion`` (jumping
jacks without the feet: an arm raise, its sibling) where the model has it
and its own range is covered, ``unknown`` otherwise; and that sibling named
while the companion did move is the exercise (an "arm raise" whose feet open
and close is a jack, a step jack among them), as the stance picks the squat
family's member both ways.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from rehab_core.recognition.recent_frames import LOOKBACK_S, RecentFrames
from rehab_core.repetition.angles import DEFAULT_MIN_SCORE, compute_signal
from rehab_core.repetition.config import EXERCISES
from rehab_core.repetition.counter import as_coco17, signal_key
from rehab_core.repetition.families import UNKNOWN
from rehab_core.types import Skeleton

_MIN_SAMPLES = 3  # fewer scored frames than this in the look-back: not moving
_IN_3D = "3d:"  # a frame's companion signals are kept under this prefix, from 3-D only


def key_signals(labels: Sequence[str]) -> dict[str, tuple[str, float]]:
    """label -> (its counter's key signal, the range a repetition must cover), for every
    label that counts repetitions."""
    return {lab: (EXERCISES[lab].signal, EXERCISES[lab].min_amplitude) for lab in labels
            if lab in EXERCISES and EXERCISES[lab].counts_reps}


def covers(values: np.ndarray, amplitude: float) -> bool:
    """Whether the finite ``values`` span ``amplitude`` (5th to 95th percentile)."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) < _MIN_SAMPLES:
        return False
    lo, hi = np.percentile(v, [5.0, 95.0])
    return bool(hi - lo >= amplitude)


def judged(companion_values: np.ndarray) -> np.ndarray | None:
    """A look-back's 3-D companion values, or None when too few frames had 3-D to judge."""
    return companion_values if len(companion_values) >= _MIN_SAMPLES else None


class Companion(NamedTuple):
    """The second signal an exercise's repetitions also move, its range, and what a
    movement without it is (``ExerciseConfig.without_companion``; "": ``unknown``)."""

    signal: str
    amplitude: float
    otherwise: str = ""


def companion_signals(labels: Sequence[str]) -> dict[str, Companion]:
    """label -> its ``Companion``, where it has one."""
    return {lab: Companion(*EXERCISES[lab].companion, EXERCISES[lab].without_companion)
            for lab in labels if lab in EXERCISES and EXERCISES[lab].companion is not None}


def checked_label(label: str, signals: dict[str, tuple[str, float]], values_of,
                  companions: dict[str, Companion] | None = None,
                  companion_values_of=None) -> str:
    """``label``, or ``unknown`` when it is a counted exercise whose key signal's recent
    ``values_of(signal)`` do not cover its minimum repetition range. With ``companions``
    the recent 3-D ``companion_values_of(signal)`` (None: too few 3-D frames to judge) pick
    the family member, both ways: an exercise whose companion did not move is its
    ``otherwise`` (if the model names it and its key signal moved; else ``unknown``), and
    that ``otherwise`` whose companion did move is the exercise (jumping jacks and arm
    raise: the feet say which)."""
    if label not in signals:
        return label
    signal, amplitude = signals[label]
    if not covers(values_of(signal), amplitude):
        return UNKNOWN
    if not companions or companion_values_of is None:
        return label
    if label in companions:
        companion = companions[label]
        values = companion_values_of(companion.signal)
        if values is not None and not covers(values, companion.amplitude):
            return companion.otherwise if _moved(companion.otherwise, signals, values_of) \
                else UNKNOWN
        return label
    for owner, companion in companions.items():
        if companion.otherwise == label and _moved(owner, signals, values_of):
            values = companion_values_of(companion.signal)
            if values is not None and covers(values, companion.amplitude):
                return owner
    return label


def _moved(label: str, signals: dict[str, tuple[str, float]], values_of) -> bool:
    """Whether ``label`` is one of the model's counted exercises and its key signal covered
    its range."""
    return label in signals and covers(values_of(signals[label][0]), signals[label][1])


def frame_signals(skeleton: Skeleton, names: Sequence[str],
                  shared: dict | None = None) -> dict[str, float]:
    """The named signals of one skeleton, from its 3-D where it has them. ``shared``: the
    frame's signals other readers computed (``signal_key``); what is missing is computed
    and added."""
    shared = {} if shared is None else shared
    space = "3d" if skeleton.keypoints_3d is not None else "2d"
    kp = None
    out = {}
    for name in names:
        key = signal_key(name, space, DEFAULT_MIN_SCORE)
        if key not in shared:
            kp = as_coco17(skeleton, use_3d=True) if kp is None else kp
            shared[key] = float(compute_signal(name, kp, DEFAULT_MIN_SCORE))
        out[name] = shared[key]
    return out


class MotionTracker:
    """One person's key signals over the last ``lookback_s``, for ``checked_label``.

    Fed every frame (a stamp fed already is skipped: a classifier and its 2-D
    fallback share one tracker; a stamp going back starts a new stream).
    """

    def __init__(self, labels: Sequence[str], lookback_s: float = LOOKBACK_S) -> None:
        self.signals = key_signals(labels)
        self.companions = companion_signals(labels)
        self._names = sorted({s for s, _ in self.signals.values()})
        self._companion_names = sorted({c.signal for c in self.companions.values()})
        self._frames: RecentFrames[dict[str, float]] = RecentFrames(lookback_s)

    def reset(self) -> None:
        self._frames.clear()

    def update(self, skeleton: Skeleton | None, stamp_ns: int, shared: dict | None = None) -> None:
        """Feed one frame; ``shared``: its signals already computed (``frame_signals``)."""
        t = self._frames.advance(stamp_ns)
        if t is not None and skeleton is not None:
            # one call, so the skeleton is converted once for key and companion signals
            extra = self._companion_names if skeleton.keypoints_3d is not None else []
            values = frame_signals(skeleton, self._names + extra, shared)
            row = {name: values[name] for name in self._names}
            row.update({_IN_3D + name: values[name] for name in extra})
            self._frames.append(t, row)

    def values(self, signal: str) -> np.ndarray:
        return np.array([f[signal] for f in self._frames.values()], np.float64)

    def companion_values(self, signal: str) -> np.ndarray | None:
        """The signal over the look-back's 3-D frames; None with too few of them."""
        key = _IN_3D + signal
        return judged(np.array([f[key] for f in self._frames.values() if key in f], np.float64))

    def check(self, label: str) -> str:
        """``checked_label`` over the look-back."""
        return checked_label(label, self.signals, self.values, self.companions,
                             self.companion_values)


def clip_signals(keypoints: np.ndarray, world: np.ndarray | None,
                 names: Sequence[str]) -> dict[str, np.ndarray]:
    """A recorded clip's signals per frame, as ``MotionTracker`` reads them live: the 3-D
    (T, 17, 4) where a frame has it, the 2-D (T, 17, 3) otherwise."""
    out = {n: np.asarray(compute_signal(n, keypoints), np.float64) for n in names}
    if world is not None:
        has_3d = _frames_with_3d(world)
        for n in names:
            out[n] = np.where(has_3d, np.asarray(compute_signal(n, world), np.float64), out[n])
    return out


def clip_companions(world: np.ndarray | None, names: Sequence[str],
                    ) -> tuple[dict[str, np.ndarray], np.ndarray | None]:
    """A recorded clip's companion signals per frame from its (T, 17, 4) 3-D, and which frames
    have 3-D (None: the clip has none), as ``MotionTracker`` reads them live."""
    if world is None or not names:
        return {}, None
    return ({n: np.asarray(compute_signal(n, world), np.float64) for n in names},
            _frames_with_3d(world))


def _frames_with_3d(world: np.ndarray) -> np.ndarray:
    """(T,) which frames of a clip's (T, 17, 4) 3-D hold any landmark."""
    return world[:, :, 3].max(axis=1) > 0
