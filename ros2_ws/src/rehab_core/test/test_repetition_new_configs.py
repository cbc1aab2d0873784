"""Counting configs of lunge, deadlift, pull-up, sit-to-stand and arm raise on synthetic bodies.

A 3-D stick body performs N repetitions (raised-cosine excursions) and is
filmed by virtual cameras (``multiview.project``) from several sides, so each
config is checked from the views its key signal is meant to survive.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from rehab_core.datasets.multiview import project
from rehab_core.repetition import RepetitionCounter
from rehab_core.repetition.config import EXERCISES, get_exercise_config


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
