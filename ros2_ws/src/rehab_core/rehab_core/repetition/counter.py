"""Streaming repetition counter: skeletons in, completed repetitions out, frame by frame.

``RepetitionCounter.update`` takes one skeleton (COCO-17 or any registered
layout) with its stamp and returns the repetitions that completed on that
frame, so a node can publish feedback as soon as a rep ends. The counter
never looks ahead and keeps only a few seconds of state.

Per exercise (see ``config.py``) it follows one key signal; for an
exercise without a config it runs a detector on every candidate signal and
reports the one that is currently most periodic (autocorrelation over the
last seconds), which is how an unknown rehab movement still gets counted.
Static holds (plank) count no repetitions and report the hold time.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, fields

import numpy as np

from rehab_core.errors import ShapeMismatchError
from rehab_core.repetition.angles import SIGNALS, compute_signal
from rehab_core.repetition.config import ExerciseConfig, get_exercise_config
from rehab_core.repetition.cycles import Cycle, CycleDetector, SignalFilter
from rehab_core.repetition.posture import PostureGate, in_plank_posture
from rehab_core.skeleton.layouts import convert_keypoints
from rehab_core.types import Skeleton


@dataclass(kw_only=True)
class Repetition(Cycle):
    """One counted repetition: a key-signal ``Cycle`` with what was counted.

    Times are source seconds (stamp_ns * 1e-9). ``start_t`` / ``end_t`` are
    where the key signal left and re-entered the rest band (interpolated
    between frames); ``extreme_t`` is the deepest point. ``times`` / ``values``
    are the filtered key signal over the rep, starting at the rest level
    before it, for quality scoring.
    """

    index: int
    exercise: str
    signal: str
    unit: str
    space: str = "2d"  # "3d" when the signal came from 3-D keypoints (see angles.space_of)


def as_coco17(skeleton: Skeleton | np.ndarray, layout: str = "coco17",
              use_3d: bool = False) -> np.ndarray:
    """(17, 3) keypoints from a Skeleton or an array in ``layout``.

    With ``use_3d``, a Skeleton's ``keypoints_3d`` come back instead, as
    (17, 4) (X, Y, Z, score), when it has them; an array may be (K, 4) too.
    """
    if isinstance(skeleton, Skeleton):
        kp, layout = skeleton.keypoints, skeleton.layout
        if use_3d and skeleton.keypoints_3d is not None:
            kp = skeleton.keypoints_3d
    else:
        kp = np.asarray(skeleton, dtype=np.float32)
    if kp.ndim != 2 or kp.shape[1] not in (3, 4):
        raise ShapeMismatchError(f"expected (K, 3) or (K, 4) keypoints, got {kp.shape}")
    try:
        return convert_keypoints(kp, layout, "coco17")
    except ValueError as err:
        raise ShapeMismatchError(str(err)) from None


def signal_key(name: str, space: str | None, min_score: float) -> tuple:
    """How one frame's signal is keyed in the dict its readers share (``update(..., shared)``):
    the same signal from the same keypoints ("2d" / "3d") with the same masking."""
    return (name, space, min_score)


class _Track:
    """One signal followed by its own filter and cycle detector."""

    def __init__(self, signal: str, cfg: ExerciseConfig) -> None:
        self.signal = signal
        self.unit = SIGNALS[signal][1]
        self.filter = SignalFilter(cfg.median_s, cfg.smoothing_s, cfg.max_gap_s)
        amp = cfg.min_amplitude if self.unit == "deg" else _TORSO_AMPLITUDE
        self.detector = CycleDetector(
            cfg.rest, amp, cfg.min_rep_s, cfg.max_rep_s, cfg.range_window_s, cfg.hysteresis,
            cfg.concentric,
        )
        self.last_t: float | None = None
        self.value = math.nan
        self.recent: deque[Cycle] = deque(maxlen=16)  # for late emission after a switch

    def update(self, t: float, raw: float) -> Cycle | None:
        if not math.isfinite(raw):
            if self.last_t is not None and t - self.last_t > self.filter.max_gap_s:
                self.detector.abort()
            return None
        y, restarted = self.filter.update(t, raw)
        if restarted:
            self.detector.abort()
        self.last_t, self.value = t, y
        return self.detector.update(t, y)


# Smallest movement that counts for height-like signals, in torso lengths.
_TORSO_AMPLITUDE = 0.3
# Signals the generic counter tries when an exercise has no config.
GENERIC_SIGNALS = ("knee_angle", "hip_angle", "elbow_angle", "shoulder_angle")


class RepetitionCounter:
    """Counts repetitions of one exercise from a stream of skeletons.

    ``exercise`` is a label with a config ("squat", "jumping_jacks",
    "push_up", "plank"), an ``ExerciseConfig``, or any other label / None for
    the generic most-periodic-signal counter. Frames must arrive in stamp
    order; a frame whose stamp does not increase is dropped (counted in
    ``dropped_frames``), never mixed into the signal.
    """

    def __init__(
        self,
        exercise: str | ExerciseConfig | None = None,
        periodicity_window_s: float = 10.0,
        reselect_every_s: float = 1.0,
        use_3d: bool = True,
    ) -> None:
        if isinstance(exercise, ExerciseConfig):
            cfg: ExerciseConfig | None = exercise.validate()
        else:
            cfg = get_exercise_config(exercise) if exercise else None
        self.generic = cfg is None
        if cfg is None:
            cfg = ExerciseConfig(
                name=str(exercise or "unknown"), signal=GENERIC_SIGNALS[0], rest="auto"
            ).validate()
        self.config = cfg
        self.exercise = cfg.name
        signals = GENERIC_SIGNALS if self.generic else (cfg.signal,)
        self._tracks = {s: _Track(s, cfg) for s in signals}
        self._selected = cfg.signal
        self._history: dict[str, deque[tuple[float, float]]] = {s: deque() for s in signals}
        self.periodicity_window_s = periodicity_window_s
        self.reselect_every_s = reselect_every_s
        self._next_select = -math.inf
        self.repetitions: list[Repetition] = []
        self.dropped_frames = self.frames = 0
        self.use_3d = use_3d
        # "2d" or "3d", fixed by the first skeleton seen: one signal never mixes the two
        self.space: str | None = None
        self._last_t: float | None = None
        # Static hold (plank): accumulated time in the hold posture.
        self.hold_s = 0.0
        self._hold_since: float | None = None
        # The exercise's posture condition (pull-up: a hang, squat: standing), or None.
        self._posture = None if cfg.posture is None else PostureGate(
            cfg.posture, cfg.max_rep_s)

    @property
    def count(self) -> int:
        return len(self.repetitions)

    @property
    def posture_rejected(self) -> int:
        """Repetitions dropped because the exercise's posture was seen but never reached."""
        return 0 if self._posture is None else self._posture.rejected

    @property
    def signal(self) -> str:
        """The key signal currently followed (changes only in generic mode)."""
        return self._selected

    @property
    def in_repetition(self) -> bool:
        """True while a repetition has started but not yet finished."""
        return self._tracks[self._selected].detector.away

    def key_value(self) -> float:
        """Latest filtered value of the key signal (NaN before the first valid frame)."""
        return self._tracks[self._selected].value

    def update(self, skeleton: Skeleton | np.ndarray | None, stamp_ns: int,
               shared: dict | None = None) -> list[Repetition]:
        """Feed one frame (None = nobody seen); return repetitions completed on it.
        ``shared``: one dict per frame handed to every counter fed that frame, so a signal
        several exercises follow (the knee angle of squat, lunge, sit-to-stand) is computed
        once."""
        t = int(stamp_ns) * 1e-9
        if self._last_t is not None and t <= self._last_t:
            self.dropped_frames += 1
            return []
        self._last_t = t
        self.frames += 1
        kp = None if skeleton is None else as_coco17(skeleton)
        if not self.config.counts_reps:
            self._update_hold(kp, t)
            return []
        kp = None if skeleton is None else self._angle_keypoints(skeleton)
        done: list[Repetition] = []
        if self._posture is not None:  # its signal through ``shared`` too (4 share standing)
            p = self._posture
            p.update(math.nan if kp is None else self._signal(p.condition.signal, kp, shared), t)
            done += [self._emit(self._selected, c) for c in self._posture.due(t)]
        for name, track in self._tracks.items():
            raw = math.nan if kp is None else self._signal(name, kp, shared)
            cycle = track.update(t, raw)
            if self.generic and math.isfinite(track.value) and track.last_t == t:
                self._remember(name, t, track.value)
            if cycle is not None:
                track.recent.append(cycle)
                if name == self._selected and self._is_new(cycle) and self._admit(cycle):
                    done.append(self._emit(name, cycle))
        if self.generic and t >= self._next_select:
            self._next_select = t + self.reselect_every_s
            if self._reselect():
                # Cycles the newly chosen signal completed while another one was
                # followed are emitted late rather than lost (never twice: a cycle
                # overlapping a counted repetition is the same repetition).
                for cycle in self._tracks[self._selected].recent:
                    if cycle.end_t >= t - self.periodicity_window_s and self._is_new(cycle):
                        done.append(self._emit(self._selected, cycle))
        return done

    def finish(self) -> list[Repetition]:
        """The input is over (a goal ending on input_ended, the last frame of a clip): count
        the repetition in progress if its movement is done (``CycleDetector.finish``), and
        those held back for their posture if it came in the last frames."""
        if not self.config.counts_reps:
            return []
        done = [] if self._posture is None else [
            self._emit(self._selected, c) for c in self._posture.due(math.inf, final=True)]
        cycle = self._tracks[self._selected].detector.finish()
        if cycle is None or not self._is_new(cycle) or not self._admit(cycle, final=True):
            return done
        return [*done, self._emit(self._selected, cycle)]

    def _signal(self, name: str, kp: np.ndarray, shared: dict | None) -> float:
        if shared is None:
            return float(compute_signal(name, kp, self.config.min_score))
        key = signal_key(name, self.space, self.config.min_score)
        if key not in shared:
            shared[key] = float(compute_signal(name, kp, self.config.min_score))
        return shared[key]

    def _angle_keypoints(self, skeleton: Skeleton | np.ndarray) -> np.ndarray | None:
        """Keypoints in this counter's space (3-D when the first skeleton had them)."""
        has_3d = isinstance(skeleton, Skeleton) and skeleton.keypoints_3d is not None
        if self.space is None:
            self.space = "3d" if (self.use_3d and has_3d) else "2d"
        if self.space == "3d":
            return as_coco17(skeleton, use_3d=True) if has_3d else None  # a gap, not 2-D
        return as_coco17(skeleton)

    def _is_new(self, cycle: Cycle) -> bool:
        """False when the cycle overlaps (in time) a repetition already counted."""
        return not self.repetitions or cycle.start_t >= self.repetitions[-1].end_t

    def _admit(self, cycle: Cycle, final: bool = False) -> bool:
        """True when the cycle counts now; False: held back for its posture, or dropped."""
        return self._posture is None or self._posture.admit(cycle, final)

    def _emit(self, name: str, cycle: Cycle) -> Repetition:
        rep = Repetition(
            index=len(self.repetitions), exercise=self.exercise, signal=name,
            unit=SIGNALS[name][1], space=self.space or "2d",
            **{f.name: getattr(cycle, f.name) for f in fields(Cycle)},
        )
        self.repetitions.append(rep)
        return rep

    # -- generic mode -------------------------------------------------------------------

    def _remember(self, name: str, t: float, v: float) -> None:
        hist = self._history[name]
        hist.append((t, v))
        while hist and hist[0][0] < t - self.periodicity_window_s:
            hist.popleft()

    def _reselect(self) -> bool:
        """Follow the most periodic signal; never switch in the middle of a repetition."""
        if self._tracks[self._selected].detector.away:
            return False
        scores = {}
        for name, track in self._tracks.items():
            hist = np.array(self._history[name])
            if len(hist) == 0:
                scores[name] = 0.0
                continue
            # A periodic signal too small to count is worth less than a big one.
            span = float(np.ptp(hist[:, 1]))
            scale = min(1.0, span / (2.0 * track.detector.min_amplitude))
            scores[name] = scale * periodicity(
                hist, self.config.min_rep_s, self.config.max_rep_s, self.periodicity_window_s
            )
        best = max(scores, key=scores.__getitem__)
        # Hysteresis on the choice itself, so two similar signals do not flip-flop.
        if scores[best] > scores[self._selected] + 0.1:
            self._selected = best
            return True
        return False

    # -- static hold --------------------------------------------------------------------

    def _update_hold(self, kp: np.ndarray | None, t: float) -> None:
        """Accumulate time while the body is a straight, roughly horizontal line."""
        ok = kp is not None and in_plank_posture(kp, self.config.min_score)
        if ok:
            if self._hold_since is not None and t - self._hold_since <= self.config.max_gap_s:
                self.hold_s += t - self._hold_since
            self._hold_since = t
        elif self._hold_since is not None and t - self._hold_since > self.config.max_gap_s:
            self._hold_since = None


def periodicity(
    history: np.ndarray, min_period_s: float, max_period_s: float, window_s: float | None = None
) -> float:
    """Peak normalised autocorrelation (0..1) of a (N, 2) [t, value] history.

    Resampled to 10 Hz first so that the score does not depend on the frame
    rate; lags from ``min_period_s`` to half the window are searched (a
    period needs two cycles in view to be believed). Stretches without
    samples (joint not seen) are zeroed rather than interpolated, and the
    score is scaled by the fraction of the window actually seen: a straight
    line drawn across a gap must not look periodic.
    """
    if len(history) < 8:
        return 0.0
    t, v = history[:, 0], history[:, 1]
    rate = 10.0
    grid = np.arange(t[0], t[-1], 1.0 / rate)
    if len(grid) < 8:
        return 0.0
    idx = np.clip(np.searchsorted(t, grid), 1, len(t) - 1)
    gap = np.minimum(np.abs(t[idx] - grid), np.abs(t[idx - 1] - grid))
    seen = gap <= 0.25
    span = window_s if window_s else float(t[-1] - t[0])
    coverage = min(1.0, float(seen.sum()) / (span * rate)) if span > 0 else 0.0
    x = np.interp(grid, t, v)
    x = np.where(seen, x - x[seen].mean(), 0.0)
    denom = float(np.dot(x, x))
    if denom <= 1e-12:
        return 0.0
    lo = max(1, int(min_period_s * rate))
    hi = min(len(x) // 2, int(max_period_s * rate))
    if hi <= lo:
        return 0.0
    ac = np.array([np.dot(x[:-k], x[k:]) for k in range(lo, hi + 1)]) / denom
    return float(max(0.0, ac.max())) * coverage
