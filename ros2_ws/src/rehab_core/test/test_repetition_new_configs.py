"""Counting configs of lunge, deadlift, pull-up, sit-to-stand and arm raise on synthetic bodies
(and the pull-up's posture condition: a hang with the arms overhead).

A 3-D stick body performs N repetitions (raised-cosine excursions) and is
filmed by virtual cameras (``multiview.project``) from several sides, so each
config is checked from the views its key signal is meant to survive.
"""

from __future__ import annotations

import math
import sys
from dataclasses import replace
from types import SimpleNamespace

import numpy as np
import pytest

from rehab_core.datasets.multiview import project
from rehab_core.errors import ConfigError
from rehab_core.recognition.world_input import camera_rotation
from rehab_core.repetition import RepetitionCounter
from rehab_core.repetition.angles import compute_signal
from rehab_core.repetition.config import EXERCISES, get_exercise_config
from rehab_core.repetition.posture import PostureCondition, PostureGate
from rehab_core.types import Skeleton


def _unit(deg_from_down: float, forward: bool) -> np.ndarray:
    """Direction at ``deg`` from straight down, tilted forward (-z) or outward (x)."""
    a = math.radians(deg_from_down)
    return np.array([0.0, math.cos(a), -math.sin(a)]) if forward else \
        np.array([math.sin(a), math.cos(a), 0.0])


def body(thigh=(0.0, 0.0), knee_flex=(0.0, 0.0), lean=0.0, arm=(10.0, 10.0)) -> np.ndarray:
    """(17, 4) COCO-17 metres (y down, facing -z): thigh angles forward, knee flexion,
    trunk lean forward, arm (upper, fore) angles from down in the frontal plane."""
    kp = np.zeros((17, 4))
    kp[:, 3] = 0.95
    for side, (hip, knee, ankle, sh, el, wr) in ((1, (11, 13, 15, 5, 7, 9)),
                                                 (-1, (12, 14, 16, 6, 8, 10))):
        k = 0 if side == 1 else 1
        kp[hip, :3] = (0.1 * side, 0.0, 0.0)
        kp[knee, :3] = kp[hip, :3] + 0.45 * _unit(thigh[k], True)
        kp[ankle, :3] = kp[knee, :3] + 0.45 * _unit(thigh[k] - knee_flex[k], True)
        kp[sh, :3] = (0.18 * side, 0.0, 0.0) + 0.5 * np.array(
            [0.0, -math.cos(math.radians(lean)), -math.sin(math.radians(lean))])
        up, fore = _unit(arm[0], False), _unit(arm[1], False)
        up[0] *= side
        fore[0] *= side
        kp[el, :3] = kp[sh, :3] + 0.3 * up
        kp[wr, :3] = kp[el, :3] + 0.28 * fore
    head = 0.5 * (kp[5, :3] + kp[6, :3]) + (0.0, -0.2, 0.0)
    kp[0:5, :3] = head
    return kp


def pose(exercise: str, x: float) -> np.ndarray:
    """The body at excursion ``x`` (0 rest .. 1 deepest) of one repetition."""
    if exercise == "lunge":
        return body(thigh=(75 * x, -25 * x), knee_flex=(90 * x, 95 * x), lean=5 * x)
    if exercise == "deadlift":
        return body(thigh=(10 * x, 10 * x), knee_flex=(20 * x, 20 * x), lean=80 * x,
                    arm=(10 - 10 * x, 10 - 10 * x))
    if exercise == "pull_up":
        return body(arm=(165 - 75 * x, 165 + 15 * x))
    if exercise == "sit_to_stand":
        return body(thigh=(90 - 90 * x,) * 2, knee_flex=(90 - 90 * x,) * 2, lean=30 * x)
    if exercise == "arm_raise":
        return body(arm=(15 + 110 * x, 15 + 110 * x))
    raise ValueError(exercise)


def filmed(exercise: str, n_reps: int, yaw_deg: float, period_s: float = 2.5,
           fps: float = 30.0, noise_px: float = 1.5, seed: int = 0):
    """2-D px keypoints per frame and stamps of N repetitions seen from ``yaw_deg``."""
    rng = np.random.default_rng(seed)
    lead, pause = 1.0, 0.6
    t = np.arange(0.0, lead + n_reps * (period_s + pause) + 1.0, 1.0 / fps)
    phase = np.clip((t - lead) % (period_s + pause) / period_s, 0.0, 1.0)
    x = np.where((t >= lead) & (t < lead + n_reps * (period_s + pause)),
                 0.5 * (1 - np.cos(2 * math.pi * phase)), 0.0)
    world = np.stack([pose(exercise, xi) for xi in x]).astype(np.float32)
    kp = project(world, math.radians(yaw_deg), math.radians(8.0), 0.0, 4.0)
    kp[..., :2] = kp[..., :2] * 900.0 + (320.0, 240.0)
    kp[..., :2] += rng.normal(0.0, noise_px, kp[..., :2].shape)
    return kp, np.round(t * 1e9).astype(np.int64)


def count(exercise: str, kp: np.ndarray, stamps: np.ndarray) -> int:
    counter = RepetitionCounter(exercise)
    for frame, stamp in zip(kp, stamps):
        counter.update(frame, int(stamp))
    return counter.count


# (exercise, views its key signal must survive: side, diagonal and where it holds, front)
CASES = [
    ("lunge", (90.0, 45.0, -60.0)),
    ("deadlift", (90.0, -90.0, 50.0)),
    ("pull_up", (0.0, 180.0, 30.0)),
    ("sit_to_stand", (90.0, 45.0, -70.0)),
    ("arm_raise", (0.0, 180.0, 35.0)),
]


@pytest.mark.parametrize(("exercise", "views"), CASES)
def test_new_config_counts_every_repetition_from_its_views(exercise, views):
    for yaw in views:
        kp, stamps = filmed(exercise, 4, yaw, seed=int(yaw) % 7)
        assert count(exercise, kp, stamps) == 4, f"{exercise} seen from yaw {yaw}"


@pytest.mark.parametrize("exercise", [c[0] for c in CASES])
def test_new_config_ignores_standing_still(exercise):
    kp, stamps = filmed(exercise, 0, 45.0, noise_px=2.0)
    assert count(exercise, kp, stamps) == 0


def test_every_recognised_moving_class_has_a_valid_counting_config():
    from rehab_core.datasets.corpus import RECOGNITION_LABELS

    for label in RECOGNITION_LABELS:
        if label == "unknown":
            continue
        cfg = get_exercise_config(label)
        assert cfg is not None and cfg.validate() is cfg, label
    assert get_exercise_config("pull-up") is EXERCISES["pull_up"]
    assert get_exercise_config("chair_rise") is EXERCISES["sit_to_stand"]
    # what a therapist may type in a goal: the same counter and classifier class
    from rehab_core.coaching import same_exercise

    for said, meant in [("Chin-ups", "pull_up"), ("plank hold", "plank"),
                        ("star jumps", "jumping_jacks"), ("Lateral raises", "arm_raise"),
                        ("sit to stand", "sit_to_stand"), ("Push Ups", "push_up")]:
        assert same_exercise(said, meant), said


def _curl(x: float) -> np.ndarray:
    """An elbow flexion with the upper arm by the side: the elbow cycle of a pull-up, no hang."""
    return body(arm=(15.0, 15.0 + 140.0 * x))


def _counter(exercise, kp: np.ndarray, stamps: np.ndarray) -> RepetitionCounter:
    counter = RepetitionCounter(exercise)
    for frame, stamp in zip(kp, stamps):
        counter.update(frame, int(stamp))
    counter.finish()
    return counter


@pytest.mark.parametrize("yaw", [0.0, 30.0])
def test_pull_up_needs_the_hang_an_elbow_flexion_is_not_counted(yaw, monkeypatch):
    """Same elbow cycle: arms overhead counts 4 pull-ups; upper arm by the side none (the
    posture condition drops them, and only it: without it the flexions count)."""
    kp, stamps = filmed("pull_up", 4, yaw)
    hang = _counter("pull_up", kp, stamps)
    assert (hang.count, hang.posture_rejected) == (4, 0)
    monkeypatch.setattr(sys.modules[__name__], "pose", lambda _ex, x: _curl(x))
    kp, stamps = filmed("pull_up", 4, yaw)
    curl = _counter("pull_up", kp, stamps)
    assert (curl.count, curl.posture_rejected) == (0, 4)
    no_posture = replace(EXERCISES["pull_up"], posture=None)
    assert _counter(no_posture, kp, stamps).count == 4


def test_pull_up_posture_unseen_does_not_reject(monkeypatch):
    """Hips below min_score: no shoulder angle at all, so the elbow cycles count as before."""
    monkeypatch.setattr(sys.modules[__name__], "pose", lambda _ex, x: _curl(x))
    kp, stamps = filmed("pull_up", 4, 0.0)
    kp[:, [11, 12], 2] = 0.0
    counter = _counter("pull_up", kp, stamps)
    assert (counter.count, counter.posture_rejected) == (4, 0)


def test_posture_gate_holds_a_rep_until_the_hang_comes_after_it():
    """The hang may come just after the span (a clip opening mid-pull): the rep is held back
    and counts late; one whose margin passes without it is dropped, as at the input's end."""
    cond = PostureCondition("shoulder_angle", 120.0, margin_s=0.5)
    gate = PostureGate(cond, keep_s=12.0)

    def shoulder(kp: np.ndarray) -> float:
        return float(compute_signal("shoulder_angle", kp))

    rep = SimpleNamespace(start_t=1.0, end_t=2.0)
    for t in np.arange(0.0, 2.01, 0.1):
        gate.update(shoulder(body(arm=(60.0, 120.0))), float(t))
    assert gate.admit(rep) is False and gate.due(2.1) == []
    gate.update(shoulder(body(arm=(160.0, 170.0))), 2.3)
    assert gate.due(2.3) == [rep] and gate.rejected == 0
    late = SimpleNamespace(start_t=1.0, end_t=2.3)
    assert gate.admit(late) is True  # the hang is now within its margin
    gone = SimpleNamespace(start_t=0.2, end_t=1.0)
    gate.update(shoulder(body(arm=(60.0, 120.0))), 2.4)
    assert gate.admit(SimpleNamespace(start_t=3.0, end_t=3.5), final=True) is True  # unseen
    gate.pending.append(gone)
    assert gate.due(2.4) == [] and gate.rejected == 1 and not gate.pending


def test_posture_condition_is_validated():
    with pytest.raises(ConfigError, match="posture signal"):
        replace(EXERCISES["pull_up"], posture=PostureCondition("wrist_angle", 120.0)).validate()
    with pytest.raises(ConfigError, match="margin_s"):
        PostureCondition("shoulder_angle", math.nan).validate("pull_up")



def _heel_slide(x: float) -> np.ndarray:
    """A supine heel slide at excursion ``x``: lying on the back (head along +z, face up),
    the heels slide toward the hips along the floor, so the knees rise (hip 0 -> 55 deg,
    knee 0 -> 110 deg: hips and knees bend as in a squat)."""
    standing = body(thigh=(55 * x, 55 * x), knee_flex=(110 * x, 110 * x))
    out = standing.copy()
    out[:, 1], out[:, 2] = standing[:, 2], -standing[:, 1]
    return out


def _count_3d(exercise, world: np.ndarray, yaw_deg: float, posture: bool = True):
    """Count from 3-D seen by a camera at ``yaw_deg`` (8 deg down), as the pose model's
    world landmarks (camera-aligned) arrive with each 2-D skeleton."""
    rot = camera_rotation(math.radians(yaw_deg), math.radians(8.0), 0.0)
    seen = world.copy()
    seen[..., :3] = world[..., :3] @ rot.T
    kp = project(world, math.radians(yaw_deg), math.radians(8.0), 0.0, 4.0)
    cfg = EXERCISES[exercise] if posture else replace(EXERCISES[exercise], posture=None)
    counter = RepetitionCounter(cfg)
    for i, (frame, w) in enumerate(zip(kp, seen)):
        counter.update(Skeleton("coco17", frame * 900.0, keypoints_3d=w, space_3d="model"),
                       int(i * 1e9 / 30))
    counter.finish()
    return counter


def _heel_slides(n: int, period_s: float = 2.5, fps: float = 30.0) -> np.ndarray:
    t = np.arange(0.0, 1.0 + n * period_s + 1.0, 1.0 / fps)
    phase = np.clip((t - 1.0) / period_s, 0.0, n)
    x = np.where(phase < n, 0.5 * (1 - np.cos(2 * math.pi * phase)), 0.0)
    return np.stack([_heel_slide(xi) for xi in x]).astype(np.float32)


@pytest.mark.parametrize("exercise", ["squat", "lunge", "deadlift", "sit_to_stand"])
def test_squat_family_is_done_standing_a_knee_bend_lying_down_is_not_counted(exercise):
    """A supine heel slide bends hips and knees as a squat-family repetition does, but the
    hips never stand above the ankles: in 3-D no repetition counts from any side, each
    dropped by the ``STANDING`` posture condition and only by it."""
    world = _heel_slides(4)
    for yaw in (90.0, 45.0, 0.0, -135.0):
        counter = _count_3d(exercise, world, yaw)
        assert (counter.count, counter.posture_rejected) == (0, 4), f"yaw {yaw}"
        assert _count_3d(exercise, world, yaw, posture=False).count == 4, f"yaw {yaw}"


def test_squat_family_standing_posture_in_2d_reads_the_image_vertical(monkeypatch):
    """Without 3-D the image's vertical stands in for gravity: a heel slide filmed from the
    side is not a squat (a 2-D camera looking along the body could not tell)."""
    monkeypatch.setattr(sys.modules[__name__], "pose", lambda _ex, x: _heel_slide(x))
    kp, stamps = filmed("squat", 4, 90.0)
    counter = RepetitionCounter("squat")
    for frame, stamp in zip(kp, stamps):
        counter.update(frame, int(stamp))
    counter.finish()
    assert (counter.count, counter.posture_rejected) == (0, 4)
    assert count(replace(EXERCISES["squat"], posture=None), kp, stamps) == 4


def test_squat_family_standing_posture_does_not_hold_back_a_standing_repetition():
    """Standing up is where each repetition starts: it counts on the frame it ends."""
    kp, stamps = filmed("lunge", 3, 90.0)
    counter = RepetitionCounter("lunge")
    ends = []
    for frame, stamp in zip(kp, stamps):
        ends += [stamp * 1e-9 - r.end_t for r in counter.update(frame, int(stamp))]
    assert len(ends) == 3 and max(ends) < 0.05
