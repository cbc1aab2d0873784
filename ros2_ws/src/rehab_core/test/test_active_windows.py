"""Training on moving windows only: the activity rule of each class, on synthetic legs."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import ConfigError
from rehab_core.training.active_windows import activity_rule, window_is_active
from rehab_core.training.recognition_data import RecognitionData, fused_windows

L_HIP, R_HIP, L_KNEE, R_KNEE, L_ANK, R_ANK = 11, 12, 13, 14, 15, 16


def _legs(knee_deg: np.ndarray, depth: bool = False) -> np.ndarray:
    """(T, 17, 3) 2-D or (T, 17, 4) 3-D keypoints whose knees bend to ``knee_deg``."""
    t = len(knee_deg)
    kp = np.zeros((t, 17, 4 if depth else 3))
    kp[..., -1] = 1.0
    kp[:, 5, :2], kp[:, 6, :2] = (-0.2, -1.0), (0.2, -1.0)  # shoulders above the hips
    bend = np.deg2rad(180.0 - knee_deg)
    for hip, knee, ank, x in ((L_HIP, L_KNEE, L_ANK, -0.15), (R_HIP, R_KNEE, R_ANK, 0.15)):
        kp[:, hip, 0] = x
        kp[:, knee, 0], kp[:, knee, 1] = x, 0.5
        kp[:, ank, 0], kp[:, ank, 1] = x + 0.5 * np.sin(bend), 0.5 + 0.5 * np.cos(bend)
    return kp


def test_rules_follow_the_counting_configs():
    signal, span = activity_rule("squat")
    assert signal == "knee_angle" and span > 0
    assert activity_rule("unknown") is None and activity_rule("plank") is None


def test_a_standing_window_is_idle_and_a_squatting_one_active():
    rule = activity_rule("squat")
    standing = _legs(np.full(30, 175.0))
    squatting = _legs(175.0 - 80.0 * np.sin(np.linspace(0, np.pi, 30)))
    assert not window_is_active(rule, standing)
    assert window_is_active(rule, squatting)
    assert window_is_active(None, standing)  # unknown and holds keep every window
    unseen = standing.copy()
    unseen[..., 2] = 0.0
    assert window_is_active(rule, unseen)  # nothing measurable: kept, not judged


def test_3d_is_preferred_when_every_frame_has_it():
    rule = activity_rule("squat")
    flat_2d = _legs(np.full(30, 175.0))  # a side camera may see the knee hardly move
    moving_3d = _legs(175.0 - 80.0 * np.sin(np.linspace(0, np.pi, 30)), depth=True)
    assert window_is_active(rule, flat_2d, moving_3d)
    moving_3d[5] = 0.0  # a frame without 3-D: judged on the 2-D
    assert not window_is_active(rule, flat_2d, moving_3d)


def test_fused_windows_drop_the_idle_part_of_a_clip():
    data = RecognitionData(input="fused", window=10, stride=10, fps=10.0, active_only=True)
    knee = np.concatenate([np.full(30, 175.0), 175.0 - 80.0 * np.abs(np.sin(np.linspace(
        0, 3 * np.pi, 30)))])
    kp = _legs(knee) * np.array([100.0, 100.0, 1.0]) + np.array([320.0, 240.0, 0.0])
    world = _legs(knee, depth=True)
    stamps = (np.arange(len(knee)) * 1e8).astype(np.int64)
    every, _ = fused_windows(kp, world, stamps, data, data.stride)
    moving, starts = fused_windows(kp, world, stamps, data, data.stride, activity_rule("squat"))
    assert len(every) == 6 and len(moving) == 3
    assert (starts >= stamps[30]).all()
    with pytest.raises(ConfigError, match="fused"):
        RecognitionData(input="2d", active_only=True)
