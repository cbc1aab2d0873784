"""Posture conditions: what the body must do during a repetition besides the counted joint.

Why: a counter follows one joint, so any movement of that joint counts. An elbow
flexion or a curl moves the elbow as a pull-up does; what a pull-up has and they
lack is a hang with the arms overhead. A ``PostureCondition`` names a signal (in
the counted signal's space: 3-D angles when the skeleton has them) and a value it
must reach at least once around the repetition; ``PostureGate`` checks it online.

The hang lies at rest, outside the repetition's span (which runs between crossings
of the inner threshold, 30 % of the range away from rest), before the first pull
or after the last one: the check looks ``margin_s`` seconds either side of the span.
A repetition that fails at its end is held for ``margin_s`` (the posture may come
just after it) and is emitted late if the value is reached, else dropped.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass

import numpy as np

from rehab_core.errors import ConfigError
from rehab_core.repetition.angles import SIGNALS, compute_signal


@dataclass(frozen=True)
class PostureCondition:
    """``signal`` must reach ``value`` (``at_least``: max >= value; else min <= value)
    somewhere within ``margin_s`` of a repetition's span for it to count; ``missing`` says
    to a therapist why a movement without it was not counted."""

    signal: str
    value: float
    at_least: bool = True
    margin_s: float = 0.5
    missing: str = "the exercise's posture was not reached"

    def validate(self, exercise: str) -> PostureCondition:
        """Raise ConfigError naming the bad field; return self for chaining."""
        if self.signal not in SIGNALS:
            raise ConfigError(f"{exercise}: unknown posture signal {self.signal!r}; "
                              f"known {sorted(SIGNALS)}")
        if not math.isfinite(self.value) or not 0.0 <= self.margin_s <= 5.0:
            raise ConfigError(f"{exercise}: posture value must be finite and margin_s in "
                              f"[0, 5] s, got {self.value}, {self.margin_s}")
        return self

    def reached(self, values: np.ndarray) -> bool | None:
        """Whether any of ``values`` reaches the value; None when none was seen (NaN)."""
        seen = values[np.isfinite(values)]
        if len(seen) == 0:
            return None
        return bool(seen.max() >= self.value if self.at_least else seen.min() <= self.value)


class PostureGate:
    """Online check of a ``PostureCondition``: per-frame values, held-back repetitions.

    ``update`` records a frame's value; ``admit`` says whether a just-completed
    repetition counts now (True), is held back (False, see ``due``) or dropped.
    ``rejected`` counts the dropped ones (posture seen, never reached).
    """

    def __init__(self, condition: PostureCondition, keep_s: float) -> None:
        self.condition = condition
        self.keep_s = keep_s + 2.0 * condition.margin_s
        self._history: deque[tuple[float, float]] = deque()
        self.pending: list = []  # items held back, each with .start_t and .end_t
        self.rejected = 0

    def update(self, value: float, t: float) -> None:
        """Record this frame's value of the condition's signal (NaN: its joints not seen)."""
        self._history.append((t, float(value)))
        while self._history and self._history[0][0] < t - self.keep_s:
            self._history.popleft()

    def _verdict(self, start_t: float, end_t: float) -> bool | None:
        m = self.condition.margin_s
        vals = np.array([v for t, v in self._history if start_t - m <= t <= end_t + m])
        return self.condition.reached(vals)

    def admit(self, item, final: bool = False) -> bool:
        """True: counts now. False: held back (``final``: the input is over, so dropped)."""
        if self._verdict(item.start_t, item.end_t) is not False:
            return True
        if final:
            self.rejected += 1
        else:
            self.pending.append(item)
        return False

    def due(self, t: float, final: bool = False) -> list:
        """Held-back items that now count (the posture came after them); drops expired ones."""
        out, keep = [], []
        for item in self.pending:
            if self._verdict(item.start_t, item.end_t) is not False:
                out.append(item)
            elif final or t > item.end_t + self.condition.margin_s:
                self.rejected += 1
            else:
                keep.append(item)
        self.pending = keep
        return out


def in_plank_posture(
    kp: np.ndarray, min_score: float = 0.3, min_line_deg: float = 150.0, max_tilt_deg: float = 45.0
) -> bool:
    """Straight shoulder-hip-ankle line with the trunk within ``max_tilt_deg`` of horizontal.

    The tilt test assumes an upright image (y down); it is what separates a
    plank from standing, which is also a straight line.
    """
    line = float(compute_signal("body_line_angle", kp, min_score))
    if not math.isfinite(line) or line < min_line_deg:
        return False
    ok = kp[:, 2] >= min_score
    sh = [i for i in (5, 6) if ok[i]]
    hp = [i for i in (11, 12) if ok[i]]
    if not sh or not hp:
        return False
    d = kp[sh, :2].mean(axis=0) - kp[hp, :2].mean(axis=0)
    tilt = math.degrees(math.atan2(abs(d[1]), abs(d[0]) + 1e-9))
    return tilt <= max_tilt_deg
