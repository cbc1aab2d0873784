"""ExoAssist -> JointTrajectory conversion (pure, no ROS graph)."""

from __future__ import annotations

import pytest

from rehab_assist.joint_trajectory_adapter import ArmJoints, assist_trajectory, rest_trajectory
from rehab_core.errors import ConfigError

ARM = ArmJoints(("sh", "el"), rest=(0.0, 0.0), reach=(1.0, 2.0), lower=(-0.1, 0.0),
                upper=(0.9, 1.5))


def test_ramp_scales_with_level_and_respects_limits():
    traj = assist_trajectory(ARM, 1.0, ramp_s=0.5, points=5)
    assert traj.joint_names == ["sh", "el"] and len(traj.points) == 5
    last = traj.points[-1]
    assert list(last.positions) == pytest.approx([0.9, 1.5])  # clamped to the upper limits
    assert last.time_from_start.sec == 0 and last.time_from_start.nanosec == 500_000_000
    half = assist_trajectory(ARM, 0.5, ramp_s=0.5, points=1).points[-1]
    assert list(half.positions) == pytest.approx([0.5, 1.0])
    times = [p.time_from_start.nanosec for p in traj.points]
    assert times == sorted(times)
    assert list(rest_trajectory(ARM, 0.3).points[0].positions) == [0.0, 0.0]


def test_bad_inputs_are_clear_errors():
    with pytest.raises(ConfigError, match="level"):
        assist_trajectory(ARM, 1.5, 0.5)
    with pytest.raises(ConfigError, match="rest"):
        ArmJoints(("a", "b"), rest=(0.0,), reach=(0, 0), lower=(0, 0), upper=(1, 1))
