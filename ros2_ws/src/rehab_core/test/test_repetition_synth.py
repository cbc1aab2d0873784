"""The synthetic exercise generator (rehab_testing.synthetic_reps) poses what it is asked."""

from __future__ import annotations

from rehab_testing.synthetic_reps import jack_pose, pushup_pose, squat_pose


def test_synthetic_poses_have_the_requested_angles():
    """The generator is itself checked, so counter tests rest on known geometry."""
    from rehab_core.repetition.angles import compute_signal

    for deg in (175.0, 120.0, 80.0):
        assert abs(float(compute_signal("knee_angle", squat_pose(deg))) - deg) < 1e-3
        assert abs(float(compute_signal("elbow_angle", pushup_pose(deg))) - deg) < 1e-3
    for deg in (15.0, 90.0, 165.0):
        assert abs(float(compute_signal("shoulder_angle", jack_pose(deg, 0.2))) - deg) < 1e-3
