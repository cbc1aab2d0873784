"""Streaming building blocks: a time-based signal filter and a hysteresis cycle detector.

Both take (time in seconds, value) one sample at a time and keep O(window)
state, so a counter never needs the whole video. All windows are in
seconds, so the same parameters work at 10, 24, 30 or 60 fps.
"""

from __future__ import annotations

import math
import statistics
from collections import deque
from dataclasses import dataclass, field

import numpy as np


def _median(values: list[float]) -> float:
    """``np.median`` of a few floats (NaN if any is NaN), without numpy's per-call cost:
    the filter takes one every frame for every exercise's counter."""
    return math.nan if any(v != v for v in values) else statistics.median(values)


class SignalFilter:
    """Running median (kills single-frame pose glitches) then a one-pole low-pass.

    The low-pass uses ``alpha = 1 - exp(-dt / tau)`` so its cut-off does not
    depend on the frame rate. A gap longer than ``max_gap_s`` restarts it:
    blending across a long dropout would invent a movement.
    """

    def __init__(self, median_s: float, smoothing_s: float, max_gap_s: float) -> None:
        self.median_s = median_s
        self.tau = smoothing_s
        self.max_gap_s = max_gap_s
        self._window: deque[tuple[float, float]] = deque()
        self._y: float | None = None
        self._t: float | None = None

    def reset(self) -> None:
        self._window.clear()
        self._y = None
        self._t = None

    def update(self, t: float, x: float) -> tuple[float, bool]:
        """Filtered value and whether the filter restarted (after a gap) on this sample."""
        restarted = self._t is None or t - self._t > self.max_gap_s
        if restarted:
            self.reset()
        self._window.append((t, x))
        while self._window and self._window[0][0] < t - self.median_s:
            self._window.popleft()
        med = _median([v for _, v in self._window]) if len(self._window) > 2 else x
        if self._y is None or self.tau <= 0:
            self._y = med
        else:
            alpha = 1.0 - math.exp(-(t - self._t) / self.tau)
            self._y += alpha * (med - self._y)
        self._t = t
        return self._y, restarted


class SlidingRange:
    """Min and max over the last ``window_s`` seconds (monotonic deques, O(1) amortised)."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._min: deque[tuple[float, float]] = deque()
        self._max: deque[tuple[float, float]] = deque()

    def update(self, t: float, v: float) -> tuple[float, float]:
        while self._min and self._min[-1][1] >= v:
            self._min.pop()
        self._min.append((t, v))
        while self._max and self._max[-1][1] <= v:
            self._max.pop()
        self._max.append((t, v))
        for q in (self._min, self._max):
            while q[0][0] < t - self.window_s:
                q.popleft()
        return self._min[0][1], self._max[0][1]


@dataclass
class Cycle:
    """One completed movement cycle of a scalar signal (rest -> extreme -> rest)."""

    start_t: float
    extreme_t: float
    end_t: float
    rest_value: float
    extreme_value: float
    times: np.ndarray = field(repr=False)
    values: np.ndarray = field(repr=False)

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t

    @property
    def amplitude(self) -> float:
        return abs(self.rest_value - self.extreme_value)


def _cross_time(t0: float, v0: float, t1: float, v1: float, thr: float) -> float:
    """Linear-interpolated time at which the signal crossed ``thr`` (frame-rate independent)."""
    if v1 == v0:
        return t1
    return t0 + (thr - v0) / (v1 - v0) * (t1 - t0)


class CycleDetector:
    """Counts rest -> extreme -> rest cycles with thresholds adapted to the running range.

    The inner threshold (``hysteresis[0]`` of the range away from rest) must
    be crossed to leave rest, the outer one (``hysteresis[1]``) to reach the
    extreme, and the inner one again on the way back completes the cycle.
    The gap between the two thresholds is the hysteresis that stops jitter
    from double counting. Nothing is counted while the running range is below
    ``min_amplitude`` (standing still, static holds), a cycle whose own
    excursion from rest is below ``min_amplitude`` is dropped, and one faster than
    ``min_cycle_s`` or slower than ``max_cycle_s`` is dropped as not a repetition.

    Input rarely starts or ends at rest (a person first seen at the bottom of a
    squat, a clip cut at the top of a pull-up), hence two edge rules:
    a stream that *opens* on the extreme side, deeper than the outer threshold,
    and then comes back to rest is a repetition begun before the input
    (``_opening_cycle``); and ``finish`` closes, at the end of the input, a
    cycle that reached the extreme and either came back past the middle of its
    range or whose way out was the working (concentric) phase: ``concentric``
    "up" / "down" says which way the key signal moves while the muscles work
    (knee extension in a squat: "up"; elbow flexion in a pull-up: "down").
    """

    def __init__(
        self,
        rest: str,
        min_amplitude: float,
        min_cycle_s: float,
        max_cycle_s: float,
        range_window_s: float,
        hysteresis: tuple[float, float],
        concentric: str = "",
    ) -> None:
        self.rest = rest
        self.concentric = concentric
        self.min_amplitude = min_amplitude
        self.min_cycle_s = min_cycle_s
        self.max_cycle_s = max_cycle_s
        self.inner, self.outer = hysteresis
        self._range = SlidingRange(range_window_s)
        # Recent filtered samples (range window): rest="auto" and finding where a rep began.
        self._recent: deque[tuple[float, float]] = deque()
        self.range_window_s = range_window_s
        self.away = False
        self.reached = False
        self.rejected = 0
        self._start_t = 0.0
        self._rest_value = math.nan
        self._extreme = (0.0, math.nan)
        self._buf_t: list[float] = []
        self._buf_v: list[float] = []
        self.lo = math.nan
        self.hi = math.nan
        self._opening = True  # no sample yet: the input may begin inside a repetition
        self._first_t: float | None = None

    def abort(self) -> None:
        """Drop a cycle in progress (signal lost); the next one starts from rest."""
        if self.away:
            self.rejected += 1
        self.away = False
        self.reached = False
        self._recent.clear()
        self._buf_t, self._buf_v = [], []

    def _decide_rest(self) -> None:
        """rest="auto": rest is the side of the range where the signal spent most time."""
        if self.hi - self.lo >= self.min_amplitude:
            mid = 0.5 * (self.lo + self.hi)
            med = float(np.median([v for _, v in self._recent]))
            self.rest = "high" if med >= mid else "low"

    def _departure(self, depth, inner_thr: float) -> tuple[float, int]:
        """Time the signal last crossed the inner threshold, and the index it follows.

        Searching back (instead of using the current frame) keeps the first
        rep's start right even though thresholds only exist once the range
        has grown past ``min_amplitude`` somewhere in the middle of it.
        """
        rec = self._recent
        for k in range(len(rec) - 1, 0, -1):
            if depth(rec[k - 1][1]) < self.inner:
                (t0, v0), (t1, v1) = rec[k - 1], rec[k]
                return _cross_time(t0, v0, t1, v1, inner_thr), k
        return rec[0][0], 0

    def _depth(self) -> tuple[float, float, float]:
        """(sign, rest level, span): depth(x) = sign * (rest - x) / span (0 rest, 1 extreme)."""
        s = 1.0 if self.rest == "high" else -1.0  # moving away from rest lowers a "high" rest
        return s, (self.hi if s > 0 else self.lo), self.hi - self.lo

    def _make_cycle(self, end_t: float, half: bool = False) -> Cycle | None:
        """The cycle in progress ending at ``end_t`` if it is a repetition, else None (rejected).

        ``half``: only one way of it was seen (input began or ended at the extreme), so half
        the shortest repetition is the shortest plausible one.
        """
        moved = abs(self._rest_value - self._extreme[1]) >= self.min_amplitude
        duration = end_t - self._start_t
        shortest = self.min_cycle_s * (0.5 if half else 1.0)
        cycle = None
        if self.reached and moved and shortest <= duration <= self.max_cycle_s:
            cycle = Cycle(
                start_t=self._start_t, extreme_t=self._extreme[0], end_t=end_t,
                rest_value=self._rest_value, extreme_value=self._extreme[1],
                times=np.asarray(self._buf_t), values=np.asarray(self._buf_v),
            )
        else:
            self.rejected += 1
        self.away = False
        self.reached = False
        self._buf_t, self._buf_v = [], []
        return cycle

    def update(self, t: float, v: float) -> Cycle | None:
        """Feed one filtered sample; return a Cycle when one completes on it."""
        if self._first_t is None:
            self._first_t = t
        self.lo, self.hi = self._range.update(t, v)
        self._recent.append((t, v))
        while self._recent[0][0] < t - self.range_window_s:
            self._recent.popleft()
            self._opening = False  # the input's first samples are out of sight
        if self.rest == "auto":
            self._decide_rest()
        span = self.hi - self.lo
        if self.rest == "auto" or span < self.min_amplitude or len(self._recent) < 2:
            if self.away and t - self._start_t > self.max_cycle_s:
                self.abort()
            return None
        s, rest_level, span = self._depth()

        def depth(x: float) -> float:
            return s * (rest_level - x) / span

        inner_thr = rest_level - s * self.inner * span
        if not self.away:
            if depth(v) >= self.inner:
                self._opening = False
                self.away = True
                self.reached = False
                self._start_t, k = self._departure(depth, inner_thr)
                self._rest_value = rest_level
                self._buf_t = [p[0] for p in list(self._recent)[max(0, k - 1):]]
                self._buf_v = [p[1] for p in list(self._recent)[max(0, k - 1):]]
                deepest = int(np.argmax([depth(x) for x in self._buf_v]))
                self._extreme = (self._buf_t[deepest], self._buf_v[deepest])
                self.reached = depth(self._extreme[1]) >= self.outer
            elif self._opening and depth(v) >= depth(self._recent[-2][1]):
                return self._opening_cycle(depth, rest_level, inner_thr)  # no longer rising
            return None
        self._buf_t.append(t)
        self._buf_v.append(v)
        if depth(v) > depth(self._extreme[1]):
            self._extreme = (t, v)
        if depth(v) >= self.outer:
            self.reached = True
        if t - self._start_t > self.max_cycle_s:
            self.abort()
            return None
        if depth(v) >= self.inner:
            return None
        # Back on the rest side of the inner threshold: the cycle is over.
        prev_t, prev_v = self._recent[-2]
        return self._make_cycle(_cross_time(prev_t, prev_v, t, v, inner_thr))

    def _opening_cycle(self, depth, rest_level: float, inner_thr: float) -> Cycle | None:
        """The input began deeper than the outer threshold, turned at the extreme and came
        back to rest: a repetition begun before the first frame (decided once the signal
        stops moving towards rest: the rest level is known, so the range is too)."""
        self._opening = False
        rec = list(self._recent)
        if rec[0][0] != self._first_t or depth(rec[0][1]) < self.outer:
            return None  # the input began at rest: nothing special
        k = next(i for i, (_, x) in enumerate(rec) if depth(x) < self.inner)
        deepest = int(np.argmax([depth(x) for _, x in rec[:k]]))
        if deepest == 0 or abs(rest_level - rec[deepest][1]) < 2.0 * self.min_amplitude:
            # Only a way back was seen (no turn at the extreme), or less than most of a full
            # range (min_amplitude is about a third of one): not clearly a repetition.
            return None
        self._start_t, self._rest_value = rec[0][0], rest_level
        self._extreme = rec[deepest]
        self._buf_t, self._buf_v = [p[0] for p in rec[:k + 1]], [p[1] for p in rec[:k + 1]]
        self.reached = True
        (t0, v0), (t1, v1) = rec[k - 1], rec[k]
        return self._make_cycle(_cross_time(t0, v0, t1, v1, inner_thr), half=True)

    def finish(self) -> Cycle | None:
        """End of input: close the cycle in progress if its movement is done (see the class)."""
        self._opening = False
        if not self.away or not self.reached or not self._recent:
            return None
        s, rest_level, span = self._depth()
        t, v = self._recent[-1]
        back = s * (rest_level - v) / span <= 0.5
        worked = self.concentric == ("down" if self.rest == "high" else "up")
        if not (back or worked):
            return None
        return self._make_cycle(t, half=not back)
