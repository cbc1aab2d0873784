"""Per-repetition quality measures a therapist reads: range of motion, tempo, similarity.

* Range of motion: the key joint angle's excursion in degrees (rest level to
  the deepest point), the clinical "how deep did the squat go".
* Tempo: total duration and its split at the extreme, i.e. eccentric time
  (moving away from rest) and concentric time (coming back); a rushed return
  or a stalled bottom shows up here.
* Reference distance: dynamic time warping between this rep's key-angle
  curve and a reference rep (e.g. the therapist's demonstration). Both are
  resampled to the same number of points over their own duration first, so
  the distance measures the *shape* of the movement, not its speed (tempo
  covers speed); it is normalised by the warping path length, so it reads
  as a mean angle difference in degrees along the aligned curves.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rehab_core.errors import ShapeMismatchError
from rehab_core.repetition.counter import Repetition

DTW_POINTS = 64


@dataclass(frozen=True)
class RepetitionQuality:
    """Quality of one repetition; ``tempo_s`` is (eccentric_s, concentric_s)."""

    duration_s: float
    range_of_motion_deg: float
    key_joint: str
    tempo_s: tuple[float, float]
    reference_distance: float | None = None
    space: str = "2d"  # "3d": the angle is from 3-D joints (view-independent), "2d": image plane

    def to_dict(self) -> dict[str, float | str]:
        """The JSON form (predictions.jsonl, reports): -1 marks "not applicable"."""
        rom = self.range_of_motion_deg
        return {
            "duration_s": float(self.duration_s),
            "range_of_motion_deg": float(rom) if np.isfinite(rom) else -1.0,
            "key_joint": self.key_joint,
            "angle_space": self.space,
            "tempo_s": float(self.tempo_s[0]),
            "tempo_concentric_s": float(self.tempo_s[1]),
            "reference_distance": -1.0 if self.reference_distance is None
            else float(self.reference_distance),
        }


def resample_curve(times: np.ndarray, values: np.ndarray, n: int = DTW_POINTS) -> np.ndarray:
    """``n`` samples evenly spaced in time over the curve (NaNs dropped first)."""
    t = np.asarray(times, dtype=np.float64).reshape(-1)
    v = np.asarray(values, dtype=np.float64).reshape(-1)
    if t.shape != v.shape:
        raise ShapeMismatchError(f"times {t.shape} and values {v.shape} differ")
    ok = np.isfinite(t) & np.isfinite(v)
    t, v = t[ok], v[ok]
    if len(t) < 2 or t[-1] <= t[0]:
        raise ShapeMismatchError("a curve needs at least two finite samples spanning time")
    return np.interp(np.linspace(t[0], t[-1], n), t, v)


def dtw_distance(a: np.ndarray, b: np.ndarray) -> float:
    """DTW distance between two 1-D curves, normalised by the warping path length.

    Classic O(len(a) * len(b)) recurrence with |a_i - b_j| as the local cost;
    the path length travels with the cost so the result is the mean cost per
    aligned pair (curves of different lengths stay comparable).
    """
    x = np.asarray(a, dtype=np.float64).reshape(-1)
    y = np.asarray(b, dtype=np.float64).reshape(-1)
    if len(x) == 0 or len(y) == 0:
        raise ShapeMismatchError("dtw_distance needs two non-empty curves")
    if not (np.isfinite(x).all() and np.isfinite(y).all()):
        raise ShapeMismatchError("dtw_distance needs finite values (drop or fill NaNs first)")
    cost = np.abs(x[:, None] - y[None, :]).tolist()
    n, m = len(x), len(y)
    inf = float("inf")
    # Rows of (accumulated cost, path length); plain floats keep the loop fast.
    prev = [(0.0, 0)] + [(inf, 0)] * m
    for i in range(n):
        row = [(inf, 0)] * (m + 1)
        ci = cost[i]
        for j in range(1, m + 1):
            # Predecessors: match (diagonal), insertion, deletion.
            best = min(prev[j - 1], prev[j], row[j - 1], key=lambda p: p[0])
            row[j] = (best[0] + ci[j - 1], best[1] + 1)
        prev = row
    total, steps = prev[m]
    return float(total / steps)


def assess_repetition(
    rep: Repetition, reference: Repetition | np.ndarray | None = None
) -> RepetitionQuality:
    """Quality of ``rep``; ``reference`` is a Repetition or an already resampled curve."""
    values = np.asarray(rep.values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size:
        rom = float(max(abs(rep.rest_value - finite.min()), abs(rep.rest_value - finite.max())))
    else:
        rom = float(rep.amplitude)
    if rep.unit != "deg":
        rom = float("nan")  # a height signal has no angle; the key joint is then unknown
    distance = None
    if reference is not None:
        ref_curve = (
            resample_curve(reference.times, reference.values)
            if isinstance(reference, Repetition)
            else np.asarray(reference, dtype=np.float64)
        )
        distance = dtw_distance(resample_curve(rep.times, rep.values), ref_curve)
    return RepetitionQuality(
        duration_s=float(rep.duration_s),
        range_of_motion_deg=rom,
        key_joint=rep.signal.removesuffix("_angle"),
        tempo_s=(float(rep.extreme_t - rep.start_t), float(rep.end_t - rep.extreme_t)),
        reference_distance=distance,
        space=getattr(rep, "space", "2d"),
    )
