"""3-D joints from an aligned depth image, checked on rendered scenes with a known skeleton.

The scene (``rehab_core.pose.depth_scene``) renders a metric COCO-17 body as
capsules into a depth image seen by a known camera, adds sensor noise,
quantises to 16UC1 millimetres and punches holes (random pixels, and right on
the knees); the lifted joints must land within 2 cm of the truth and the
knee angle within 3 degrees, from any viewpoint. A squat filmed from the
front and from the side must give the same range of motion in 3-D (within 5
degrees) while the 2-D figures differ.
"""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.benchmarks.depth_rom import view_rom
from rehab_core.errors import BadFrameError, ConfigError
from rehab_core.pose import depth_scene as scene
from rehab_core.pose.depth import (
    CameraIntrinsics,
    DepthLiftConfig,
    depth_from_buffer,
    depth_to_metres,
    lift_keypoints,
    lift_skeleton,
    limb_bones,
)
from rehab_core.repetition.angles import bilateral_angle, joint_angles, space_of
from rehab_core.types import Skeleton

CAM = scene.DEFAULT_CAMERA
BODY = slice(5, 17)  # shoulders..ankles (the face joints have no limbs in the scene)


def _sensor(depth_m: np.ndarray, kp: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """What a 16UC1 driver would send: 3 mm noise, mm steps, 10 % holes and holes on the knees."""
    noisy = depth_m + rng.normal(0.0, 0.003, depth_m.shape).astype(np.float32)
    mm = np.round(noisy * 1000).astype(np.uint16)
    mm[rng.random(mm.shape) < 0.10] = 0
    for i in (13, 14):
        u, v = np.rint(kp[i, :2]).astype(int)
        mm[v - 1: v + 2, u - 1: u + 2] = 0
    return mm


@pytest.mark.parametrize("yaw", [0.0, 30.0, 60.0, 90.0])
@pytest.mark.parametrize("squat", [0.4, 1.0])
def test_depth_scene_recovers_joints_within_2cm_and_knee_within_3deg(yaw, squat):
    rng = np.random.default_rng(int(yaw * 10 + squat * 100))
    joints = scene.place(scene.squat_pose(squat), yaw)
    kp = scene.pixel_keypoints(joints, scene.render_depth(joints))
    mm = _sensor(scene.render_depth(joints), kp, rng)
    lifted = lift_keypoints(kp, depth_to_metres(mm, "16UC1"), CAM, bones=limb_bones("coco17"))
    seen = (kp[:, 2] > 0.5) & (np.arange(17) >= 5)
    assert (lifted[seen, 3] > 0).all(), "a visible joint lost its depth"
    err = np.linalg.norm(lifted[seen, :3] - joints[seen], axis=1)
    assert err.max() < 0.02, dict(zip(np.flatnonzero(seen), err.round(3), strict=True))
    true_knee = scene.knee_angle(joints)
    assert abs(float(bilateral_angle(lifted, "knee")) - true_knee) < 3.0
    assert space_of(lifted) == "3d"


def test_32fc1_buffer_with_padding_and_nan_holes():
    joints = scene.place(scene.squat_pose(0.7), 45.0)
    depth = scene.render_depth(joints)
    kp = scene.pixel_keypoints(joints, depth)
    depth[::7, ::5] = np.nan
    rows = np.pad(depth.view(np.uint8).reshape(CAM.height, -1), ((0, 0), (0, 8)))
    metres = depth_from_buffer(rows.tobytes(), "32FC1", CAM.width, CAM.height,
                               step=CAM.width * 4 + 8)
    assert np.isnan(metres[0, 0]) and np.allclose(metres[1, 1:4], depth[1, 1:4])
    lifted = lift_keypoints(kp, metres, CAM, bones=limb_bones("coco17"))
    seen = kp[:, 2] > 0.5
    seen[:5] = False
    assert np.linalg.norm(lifted[seen, :3] - joints[seen], axis=1).max() < 0.02


def test_keypoint_past_the_outline_never_takes_the_background():
    """A keypoint slid off the body: the body's depth while it is on the body, then no
    3-D at all; never the wall behind."""
    joints = scene.place(scene.squat_pose(0.0), 0.0)
    depth = scene.render_depth(joints)  # the wall is 4.5 m away, the body ~2.7-3.3 m
    kp = scene.pixel_keypoints(joints, depth)
    wrist = 9
    outcomes = []
    for shift in range(0, 14):
        moved = kp.copy()
        moved[wrist, 0] += shift
        u, v = np.rint(moved[wrist, :2]).astype(int)
        lifted = lift_keypoints(moved, depth, CAM)[wrist]
        if lifted[3] > 0:
            assert abs(lifted[2] - joints[wrist, 2]) < 0.1, (shift, lifted)
        outcomes.append((depth[v, u] > 4.0, lifted[3] > 0))
    assert outcomes[0] == (False, True)  # on the body: lifted
    assert outcomes[-1] == (True, False)  # only wall around: rejected


def test_low_score_joints_and_holes_have_no_3d():
    joints = scene.place(scene.squat_pose(0.5), 90.0)
    depth = scene.render_depth(joints)
    kp = scene.pixel_keypoints(joints, depth)
    depth[:, :] = np.where(np.arange(CAM.width)[None, :] < 160, np.nan, depth)
    lifted = lift_keypoints(kp, depth, CAM)
    hidden = kp[:, 2] < DepthLiftConfig().min_score
    assert (lifted[hidden, 3] == 0).all()
    in_hole = kp[:, 0] < 150
    assert (lifted[in_hole, 3] == 0).all() and np.all(lifted[in_hole, :3] == 0)


def test_lift_skeleton_sets_camera_space_and_angles_use_it():
    joints = scene.place(scene.squat_pose(1.0), 0.0)
    depth = scene.render_depth(joints)
    skel = lift_skeleton(Skeleton("coco17", scene.pixel_keypoints(joints, depth)), depth, CAM)
    assert skel.space_3d == "camera" and skel.keypoints_3d.shape == (17, 4)
    angles = joint_angles(skel.keypoints_3d)
    assert abs(angles["left_knee"] - 90.0) < 3.0
    assert float(bilateral_angle(skel.keypoints, "knee")) > 150.0  # the 2-D front view hides it


def test_bad_camera_and_depth_inputs_raise_clearly():
    with pytest.raises(ConfigError, match="uncalibrated"):
        CameraIntrinsics.from_k([0.0] * 9, 640, 480)
    with pytest.raises(BadFrameError, match="unsupported depth encoding"):
        depth_to_metres(np.zeros((4, 4), np.uint8), "8UC1")
    with pytest.raises(BadFrameError, match="does not match camera_info"):
        lift_keypoints(np.zeros((17, 3)), np.zeros((10, 10), np.float32), CAM)
    with pytest.raises(BadFrameError, match="needs"):
        depth_from_buffer(b"\0" * 10, "16UC1", 4, 4)
    with pytest.raises(ConfigError, match="odd"):
        DepthLiftConfig(window=4).validate()
    cam = CameraIntrinsics.from_k([500, 0, 320, 0, 510, 240, 0, 0, 1], 640, 480)
    assert (cam.fx, cam.fy, cam.cx, cam.cy) == (500, 510, 320, 240)


def test_front_and_side_give_the_same_3d_range_of_motion_where_2d_differs():
    front, side = view_rom(0.0), view_rom(90.0)
    assert front["reps_3d"] == side["reps_3d"] == 3
    assert front["spaces_3d"] == side["spaces_3d"] == ["3d"]
    assert abs(front["rom_3d"] - side["rom_3d"]) < 5.0, (front, side)
    truth = scene.knee_angle(scene.squat_pose(0.0)) - scene.knee_angle(scene.squat_pose(1.0))
    assert abs(side["rom_3d"] - truth) < 5.0
    # 2-D: the side view sees the knee bend, the front view nearly nothing
    assert side["knee_2d_excursion"] - front["knee_2d_excursion"] > 45.0
    assert front["spaces_2d"] in ([], ["2d"])
