"""Streaming repetition counter on synthetic skeletons with exact expected counts.

No ../shared needed: the sequences come from rehab_testing.synthetic_reps's stick
figure, across frame rates, scales, noise, dropouts and rotations.
"""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import ConfigError, ShapeMismatchError
from rehab_core.repetition import (
    EXERCISES,
    ExerciseConfig,
    RepetitionCounter,
    bilateral_angle,
    get_exercise_config,
    joint_angles,
    torso_length,
)
from rehab_core.repetition.angles import compute_signal
from rehab_core.repetition.cycles import CycleDetector
from rehab_core.types import Skeleton
from rehab_testing.synthetic_reps import sequence


def run(counter: RepetitionCounter, frames, stamps):
    events = []
    for kp, st in zip(frames, stamps):
        for rep in counter.update(kp, int(st)):
            events.append((int(st) * 1e-9, rep))
    return events


@pytest.mark.parametrize("fps", [10, 24, 30, 60])
@pytest.mark.parametrize(
    "kind,exercise,n,period",
    [
        ("squat", "squat", 7, 2.0),
        ("jacks", "jumping_jacks", 12, 1.0),
        ("pushup", "push_up", 6, 1.6),
    ],
)
def test_exact_count_across_frame_rates(fps, kind, exercise, n, period):
    frames, stamps, spans = sequence(kind, n, period, fps, noise_px=2.0, seed=fps)
    counter = RepetitionCounter(exercise)
    events = run(counter, frames, stamps)
    assert counter.count == n
    # Each rep is reported on the frame it ends, inside its true span (+ latency).
    for (t_emit, rep), (s, e) in zip(events, spans):
        assert s - 0.05 <= rep.start_t < rep.extreme_t < rep.end_t <= e + 0.05
        assert rep.end_t <= t_emit < e + 0.5


@pytest.mark.parametrize("scale", [40.0, 200.0, 900.0])
@pytest.mark.parametrize("rotate_deg", [0.0, 45.0, -30.0])
def test_scale_and_rotation_do_not_change_the_count(scale, rotate_deg):
    """Angles are scale- and rotation-free: tiny or huge people, portrait or tilted video.
    (A squat's standing posture reads the image's vertical, so a roll up to about 60 deg.)"""
    frames, stamps, _ = sequence(
        "squat", 6, 1.8, 30, scale=scale, noise_px=0.01 * scale, rotate_deg=rotate_deg, seed=3
    )
    counter = RepetitionCounter("squat")
    run(counter, frames, stamps)
    assert counter.count == 6


@pytest.mark.parametrize("kind, exercise", [("jacks", "jumping_jacks"), ("pushup", "push_up")])
def test_a_quarter_turn_does_not_change_the_count(kind, exercise):
    """Exercises without a standing posture count in a video turned a quarter."""
    frames, stamps, _ = sequence(kind, 6, 1.6, 30, noise_px=2.0, rotate_deg=90.0, seed=3)
    counter = RepetitionCounter(exercise)
    run(counter, frames, stamps)
    assert counter.count == 6


def test_dropouts_and_missing_keypoints():
    """10 % frames without a person and 8 % joints below score: still exact."""
    frames, stamps, _ = sequence(
        "jacks", 10, 1.2, 30, noise_px=3.0, drop_frames=0.10, drop_joints=0.08, seed=7
    )
    counter = RepetitionCounter("jacks")
    run(counter, frames, stamps)
    assert counter.count == 10


def test_long_dropout_aborts_the_rep_in_progress():
    """A rep whose bottom was never seen (person lost for 2 s) is not counted."""
    frames, stamps, spans = sequence("squat", 4, 2.0, 30, seed=1, pause_s=0.5)
    s, e = spans[1]
    t = stamps * 1e-9
    frames = [None if s + 0.5 < ti < e + 0.6 else kp for kp, ti in zip(frames, t)]
    counter = RepetitionCounter("squat")
    run(counter, frames, stamps)
    assert counter.count == 3


def test_varying_depth_counts_shallow_reps_after_deep_ones():
    """Thresholds follow the running range, so a 70 % deep rep after a full one still counts
    (the outer threshold is 60 % of the range: shallower reps are deliberately not counted)."""
    frames, stamps, _ = sequence("squat", 8, 1.6, 30, noise_px=1.5, depths=[1.0, 0.7], seed=2)
    counter = RepetitionCounter("squat")
    run(counter, frames, stamps)
    assert counter.count == 8


def test_jitter_without_movement_counts_nothing():
    """Standing still with pose jitter (and a slow 10-degree sway) is not a repetition."""
    frames, stamps, _ = sequence("squat", 5, 2.0, 30, noise_px=4.0, depths=[0.1], seed=4)
    counter = RepetitionCounter("squat")
    run(counter, frames, stamps)
    assert counter.count == 0


def test_too_fast_cycles_are_rejected():
    """A 0.3 s 'squat' is below min_rep_s: dropped, not counted."""
    frames, stamps, _ = sequence("squat", 5, 0.3, 60, seed=5, pause_s=0.4)
    counter = RepetitionCounter("squat")
    run(counter, frames, stamps)
    assert counter.count == 0


def test_plank_reports_hold_time_and_no_reps():
    frames, stamps, _ = sequence("plank", 5, 1.0, 25, noise_px=2.0, seed=6, lead_s=0.0)
    counter = RepetitionCounter("plank")
    run(counter, frames, stamps)
    duration = (stamps[-1] - stamps[0]) * 1e-9
    assert counter.count == 0
    assert abs(counter.hold_s - duration) < 0.1


def test_standing_is_not_a_plank_hold():
    frames, stamps, _ = sequence("squat", 2, 2.0, 25, seed=6)
    counter = RepetitionCounter("plank")
    run(counter, frames, stamps)
    assert counter.hold_s == 0.0


@pytest.mark.parametrize("kind,n,period", [("squat", 7, 2.0), ("jacks", 12, 1.0)])
def test_generic_counter_finds_the_periodic_signal(kind, n, period):
    """No config: the most periodic candidate signal is followed; reps seen before the
    switch are reported late rather than lost, and never twice."""
    frames, stamps, _ = sequence(kind, n, period, 30, noise_px=2.0, seed=8)
    counter = RepetitionCounter("unknown_exercise")
    run(counter, frames, stamps)
    assert counter.generic
    assert counter.count == n
    starts = [r.start_t for r in counter.repetitions]
    assert starts == sorted(starts)


def test_bad_input_is_rejected_or_dropped():
    counter = RepetitionCounter("squat")
    with pytest.raises(ShapeMismatchError):
        counter.update(np.zeros((5, 2)), 0)
    frames, stamps, _ = sequence("squat", 1, 2.0, 30)
    counter.update(frames[0], int(stamps[5]))
    assert counter.update(frames[1], int(stamps[5])) == []  # same stamp again: dropped
    assert counter.dropped_frames == 1
    # Other layouts are converted; a Skeleton object works as well.
    blaze = np.zeros((33, 3), np.float32)
    counter.update(Skeleton("blazepose33", blaze), int(stamps[6]))
    with pytest.raises(ConfigError):
        ExerciseConfig("x", "knee_angle", hysteresis=(0.7, 0.3)).validate()
    with pytest.raises(ConfigError):
        ExerciseConfig("x", "no_such_signal").validate()
    assert get_exercise_config("Push-Up").name == "push_up"
    assert get_exercise_config("tai_chi") is None


def test_angles_mask_low_scores_and_normalise_scale():
    frames, _, _ = sequence("squat", 1, 2.0, 10)
    kp = frames[0].copy()
    assert np.isfinite(joint_angles(kp)["left_knee"])
    kp[13, 2] = 0.1  # left knee below min_score
    assert np.isnan(joint_angles(kp)["left_knee"])
    # The right side alone still gives the bilateral knee angle.
    assert np.isfinite(bilateral_angle(kp, "knee"))
    big = frames[0].copy()
    big[:, :2] *= 3.0
    assert torso_length(big) == pytest.approx(3.0 * torso_length(frames[0]), rel=1e-5)
    seq = np.stack([f for f in frames if f is not None])
    assert bilateral_angle(seq, "knee").shape == (len(seq),)


@pytest.mark.parametrize("joint", ["knee", "hip", "elbow", "shoulder", "body_line"])
def test_one_frame_angle_equals_the_batched_one_masks_included(joint):
    # the counters take one frame at a time through a plain-float path: it must agree
    frames, _, _ = sequence("squat", 2, 2.0, 15, noise_px=2.0, seed=1)
    seq = np.stack([f for f in frames if f is not None]).astype(np.float64)
    seq[3, 13, 2] = 0.1  # one knee below min_score
    seq[5, 11, 0] = np.nan  # a hip with no coordinate
    seq[7, :, 2] = 0.0  # nobody seen
    seq[9, 14] = seq[9, 16]  # a degenerate (zero-length) limb
    world = np.concatenate([seq[..., :2], seq[..., :1] * 0.3, seq[..., 2:]], axis=-1)
    for kp in (seq, world):  # 2-D and 3-D
        batched = bilateral_angle(kp, joint)
        single = np.array([bilateral_angle(frame, joint) for frame in kp])
        assert np.array_equal(np.isnan(single), np.isnan(batched))
        assert np.allclose(single, batched, equal_nan=True, atol=1e-9)
    assert np.isnan(bilateral_angle(seq[7], joint))


@pytest.mark.parametrize("signal", ["ankle_spread", "hip_height", "shoulder_height",
                                    "wrist_elevation"])
def test_one_frame_torso_signals_equal_the_batched_ones_masks_included(signal):
    # the motion check (ankle spread) and the posture conditions (hip height: standing) read
    # them one frame at a time through a plain-float path
    frames, _, _ = sequence("jacks", 2, 1.0, 15, noise_px=2.0, seed=2)
    seq = np.stack([f for f in frames if f is not None]).astype(np.float64)
    seq[2, 15, 2] = 0.1  # one ankle below min_score
    seq[4, 5, 2] = 0.0  # one shoulder unseen: the midpoint is the other one
    seq[6, 11:13, 2] = 0.0  # no hips: no torso length
    seq[8, 16, 1] = np.nan  # an ankle with no coordinate
    seq[10, 5:7, :2] = seq[10, 11:13, :2]  # shoulders on the hips: a zero torso
    world = np.concatenate([seq[..., :2], seq[..., :1] * 0.3, seq[..., 2:]], axis=-1)
    for kp in (seq, world):
        batched = compute_signal(signal, kp)
        single = np.array([compute_signal(signal, frame) for frame in kp])
        assert np.array_equal(np.isnan(single), np.isnan(batched))
        assert np.allclose(single, batched, equal_nan=True, rtol=1e-12)
    assert np.isnan(single[[6, 10]]).all() and np.isfinite(single[4])
    assert np.isnan(single[[2, 8]]).all() == (signal == "ankle_spread")  # one ankle: its own


# -- the input's edges: a stream that opens inside a repetition, one that ends inside it ---

FPS = 30.0


def _detector(rest: str = "high", concentric: str = "up") -> CycleDetector:
    return CycleDetector(rest, 35.0, 0.4, 12.0, 8.0, (0.3, 0.6), concentric)


def _rep(rest: float, extreme: float, period_s: float, upto: float = 1.0) -> np.ndarray:
    """Raised-cosine rest -> extreme -> rest, cut at phase ``upto`` (0..1)."""
    phase = np.arange(0.0, upto * period_s, 1.0 / FPS) / period_s
    return rest + (extreme - rest) * 0.5 * (1.0 - np.cos(2.0 * np.pi * phase))


def _feed(det: CycleDetector, *parts: np.ndarray) -> list:
    v = np.concatenate(parts)
    t = np.arange(len(v)) / FPS
    return [c for c in (det.update(float(a), float(b)) for a, b in zip(t, v)) if c is not None]


def test_end_of_input_closes_a_rep_that_came_back_past_the_middle():
    """A clip cut while the person is on the way back up: the rep is done but for the last
    few degrees; ``finish`` (end of input) counts it, once."""
    det = _detector()
    done = _feed(det, np.full(30, 170.0), _rep(170, 80, 2.0), _rep(170, 80, 2.0, upto=0.8))
    assert len(done) == 1
    last = det.finish()
    assert last is not None and last.extreme_value == pytest.approx(80.0, abs=1.0)
    assert det.finish() is None and not det.away


@pytest.mark.parametrize("concentric,counted", [("up", False), ("down", True), ("", False)])
def test_end_of_input_at_the_extreme_counts_only_a_finished_working_phase(concentric, counted):
    """Cut just past the extreme: a squat (work on the way up) is half done, a pull-up (rest
    hanging, work on the way down of the elbow angle) is done at the top."""
    det = _detector(concentric=concentric)
    assert _feed(det, np.full(30, 170.0), _rep(170, 80, 2.0, upto=0.55)) == []
    assert (det.finish() is not None) is counted


def test_end_of_input_closes_a_lift_from_the_floor():
    """rest "auto" resolves to the bottom (a deadlift or chair rise starting low); a clip
    ending at lockout / standing holds one finished repetition."""
    lift = 50.0 + 125.0 * 0.5 * (1.0 - np.cos(np.pi * np.arange(0, 1.0, 1 / FPS)))
    det = _detector(rest="auto")
    assert _feed(det, np.full(20, 50.0), lift, np.full(3, 175.0)) == []
    assert det.rest == "low" and det.finish() is not None
    plain = _detector(rest="auto", concentric="")
    _feed(plain, np.full(20, 50.0), lift, np.full(3, 175.0))
    assert plain.finish() is None


def test_input_opening_inside_a_rep_counts_it_when_the_turn_is_seen():
    """First seen near the bottom, going deeper, then standing up: a repetition begun before
    the first frame. Only rising (no turn seen), or less than most of a full range: not."""
    down = np.linspace(80.0, 65.0, 10)
    up = 65.0 + 100.0 * 0.5 * (1.0 - np.cos(np.pi * np.arange(0, 0.7, 1 / FPS) / 0.7))
    det = _detector()
    done = _feed(det, down, up, np.full(30, 165.0))
    assert len(done) == 1 and done[0].start_t == 0.0
    assert done[0].extreme_value == pytest.approx(65.0, abs=0.5)
    assert _feed(_detector(), up[10:], np.full(30, 165.0)) == []  # only the way up
    small = np.linspace(140.0, 130.0, 10)
    assert _feed(_detector(), small, np.linspace(130, 172, 20), np.full(30, 172.0)) == []


def test_counter_finish_counts_the_last_rep_once_and_plank_nothing():
    frames, stamps, spans = sequence("squat", 3, 2.0, 30, noise_px=1.0, seed=4)
    cut = spans[-1][0] + 0.85 * 2.0
    keep = [i for i, st in enumerate(stamps) if st * 1e-9 <= cut]
    counter = RepetitionCounter("squat")
    run(counter, [frames[i] for i in keep], stamps[keep])
    assert counter.count == 2
    assert [r.index for r in counter.finish()] == [2] and counter.finish() == []
    assert RepetitionCounter("plank").finish() == []
    assert {c.concentric for c in EXERCISES.values()} <= {"", "up", "down"}
    with pytest.raises(ConfigError):
        ExerciseConfig("x", "knee_angle", concentric="sideways").validate()
