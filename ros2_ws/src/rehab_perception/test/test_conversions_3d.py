"""3-D skeletons at the ROS edge: Skeleton3DArray both ways, JSON lines, quality's angle space."""

from __future__ import annotations

import numpy as np

from rehab_core.repetition.quality import RepetitionQuality
from rehab_core.types import Skeleton
from rehab_perception.results import _skeleton_dict
from rehab_runtime import codecs
from rehab_runtime import conversions as conv


def _skeleton(track: int, space: str = "camera") -> Skeleton:
    kp = np.tile(np.array([[10.0, 20.0, 0.9]], np.float32), (17, 1))
    k3 = np.tile(np.array([[0.1, -0.2, 2.5, 0.8]], np.float32), (17, 1))
    k3[3] = 0.0  # a joint without depth
    return Skeleton("coco17", kp, score=0.7, track_id=track, keypoints_3d=k3, space_3d=space)


def test_skeletons_3d_round_trip_through_the_message():
    payload = codecs.SkeletonsPayload(5_000, "cam_optical", 320, 240,
                                        [_skeleton(3), Skeleton("coco17", np.zeros((17, 3)))])
    msg = codecs.SKELETONS_3D.to_msg(payload)
    assert msg.space == "camera" and msg.header.frame_id == "cam_optical"
    assert len(msg.skeletons) == 1 and msg.skeletons[0].track_id == 3  # 2-D only: left out
    back = codecs.SKELETONS_3D.from_msg(msg)
    assert back.stamp_ns == 5_000
    np.testing.assert_allclose(back.skeletons[0].keypoints_3d, payload.skeletons[0].keypoints_3d)
    assert back.skeletons[0].space_3d == "camera"


def test_attach_3d_joins_by_track_id():
    msg = conv.skeletons3d_to_msg([_skeleton(7, "model")], conv.make_header(1))
    plain = Skeleton("coco17", np.zeros((17, 3), np.float32), track_id=7)
    other = Skeleton("coco17", np.zeros((17, 3), np.float32), track_id=8)
    conv.attach_3d([other, plain], msg)
    assert plain.space_3d == "model" and plain.keypoints_3d.shape == (17, 4)
    assert other.keypoints_3d is None


def test_json_lines_carry_3d_when_present():
    row = _skeleton_dict(_skeleton(1))
    assert row["space_3d"] == "camera" and len(row["keypoints_3d"]) == 17
    assert row["keypoints_3d"][0] == [0.1, -0.2, 2.5, 0.8]
    assert "keypoints_3d" not in _skeleton_dict(Skeleton("coco17", np.zeros((17, 3))))


def test_repetition_quality_says_its_angle_space():
    quality = RepetitionQuality(1.0, 85.0, "knee", (0.5, 0.5), space="3d")
    p = codecs.RepetitionPayload(1, "cam", 1, "squat", 1, 0, 10, quality)
    msg = codecs.REPETITION.to_msg(p)
    assert msg.quality.angle_space == "3d"
    assert codecs.REPETITION.from_msg(msg).quality.space == "3d"
