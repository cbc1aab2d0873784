"""Per-repetition quality: range of motion, tempo split and DTW to a reference rep."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import ShapeMismatchError
from rehab_core.repetition import (
    RepetitionCounter,
    RepetitionQuality,
    assess_repetition,
    dtw_distance,
    resample_curve,
)
from rehab_testing.synthetic_reps import sequence


def counted(kind, exercise, **kw):
    frames, stamps, spans = sequence(kind, **kw)
    counter = RepetitionCounter(exercise)
    for kp, st in zip(frames, stamps):
        counter.update(kp, int(st))
    return counter.repetitions, spans


def test_range_of_motion_and_tempo_of_synthetic_squats():
    # Knee 175 -> 80 deg (95 deg ROM); 1.2 s down, 0.8 s up.
    reps, _ = counted("squat", "squat", n_reps=4, period_s=2.0, fps=30, down_frac=0.6)
    assert len(reps) == 4
    for rep in reps:
        q = assess_repetition(rep)
        assert isinstance(q, RepetitionQuality)
        assert q.key_joint == "knee"
        assert q.range_of_motion_deg == pytest.approx(95.0, abs=6.0)
        ecc, con = q.tempo_s
        # Threshold-to-threshold times: shorter than the full phases, same ratio.
        assert ecc > con
        assert ecc / con == pytest.approx(1.5, rel=0.3)
        assert q.duration_s == pytest.approx(ecc + con)
        assert q.reference_distance is None


def test_reference_distance_separates_good_and_shallow_reps():
    reps, _ = counted(
        "squat", "squat", n_reps=6, period_s=2.0, fps=30, depths=[1.0, 1.0, 0.7], noise_px=1.0
    )
    assert len(reps) == 6
    reference = reps[0]
    d = [assess_repetition(r, reference).reference_distance for r in reps]
    assert d[0] == pytest.approx(0.0, abs=1e-9)
    full, shallow = [d[1], d[3], d[4]], [d[2], d[5]]
    assert max(full) < 3.0  # degrees, mean along the aligned path
    assert min(shallow) > 3 * max(full)


def test_dtw_is_time_aligned_and_normalised():
    t = np.linspace(0, 1, 80)
    a = 170 - 90 * np.sin(np.pi * t) ** 2
    # Same shape, reached at a different pace: DTW aligns it, a plain diff would not.
    warped = 170 - 90 * np.sin(np.pi * t**1.6) ** 2
    assert dtw_distance(a, warped) < 2.0
    assert np.mean(np.abs(a - warped)) > 5.0
    assert dtw_distance(np.full(7, 90.0), np.full(11, 100.0)) == pytest.approx(10.0)
    assert dtw_distance(a, a - 30.0) > 5.0
    assert dtw_distance(a, a[::2]) < 1.5  # different lengths are comparable
    with pytest.raises(ShapeMismatchError):
        dtw_distance(a, np.array([]))
    with pytest.raises(ShapeMismatchError):
        dtw_distance(a, np.array([1.0, np.nan]))
    with pytest.raises(ShapeMismatchError):
        resample_curve(np.array([0.0]), np.array([1.0]))
