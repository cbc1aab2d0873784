"""Streaming building blocks: a time-based signal filter and a hysteresis cycle detector.

Both take (time in seconds, value) one sample at a time and keep O(window)
state, so a counter never needs the whole video. All windows are in
seconds, so the same parameters work at 10, 24, 30 or 60 fps.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np


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
        med = float(np.median([v for _, v in self._window])) if len(self._window) > 2 else x
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
    """

    def __init__(
        self,
        rest: str,
        min_amplitude: float,
        min_cycle_s: float,
        max_cycle_s: float,
        range_window_s: float,
        hysteresis: tuple[float, float],
    ) -> None:
        self.rest = rest
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

    def update(self, t: float, v: float) -> Cycle | None:
        """Feed one filtered sample; return a Cycle when one completes on it."""
        self.lo, self.hi = self._range.update(t, v)
        self._recent.append((t, v))
        while self._recent[0][0] < t - self.range_window_s:
            self._recent.popleft()
        if self.rest == "auto":
            self._decide_rest()
        span = self.hi - self.lo
        if self.rest == "auto" or span < self.min_amplitude or len(self._recent) < 2:
            if self.away and t - self._start_t > self.max_cycle_s:
                self.abort()
            return None
        s = 1.0 if self.rest == "high" else -1.0  # moving away from rest lowers a "high" rest
        rest_level = self.hi if s > 0 else self.lo

        def depth(x: float) -> float:
            """Distance from rest as a fraction of the range: 0 at rest, 1 at the extreme."""
            return s * (rest_level - x) / span

        inner_thr = rest_level - s * self.inner * span
        if not self.away:
            if depth(v) >= self.inner:
                self.away = True
                self.reached = False
                self._start_t, k = self._departure(depth, inner_thr)
                self._rest_value = rest_level
                self._buf_t = [p[0] for p in list(self._recent)[max(0, k - 1):]]
                self._buf_v = [p[1] for p in list(self._recent)[max(0, k - 1):]]
                deepest = int(np.argmax([depth(x) for x in self._buf_v]))
                self._extreme = (self._buf_t[deepest], self._buf_v[deepest])
                self.reached = depth(self._extreme[1]) >= self.outer
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
        end_t = _cross_time(prev_t, prev_v, t, v, inner_thr)
        cycle = None
        moved = abs(self._rest_value - self._extreme[1]) >= self.min_amplitude
        if self.reached and moved and end_t - self._start_t >= self.min_cycle_s:
            cycle = Cycle(
                start_t=self._start_t,
                extreme_t=self._extreme[0],
                end_t=end_t,
                rest_value=self._rest_value,
                extreme_value=self._extreme[1],
                times=np.asarray(self._buf_t),
                values=np.asarray(self._buf_v),
            )
        else:
            self.rejected += 1
        self.away = False
        self.reached = False
        self._buf_t, self._buf_v = [], []
        return cycle
