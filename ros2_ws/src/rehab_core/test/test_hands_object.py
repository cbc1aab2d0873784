"""Wrist-derived hands, the infant/hand/object fallback detector and the detector registry."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.detection import create_detector
from rehab_core.detection.base import ObjectDetector
from rehab_core.detection.hand_object import LABELS, HandObjectDetector
from rehab_core.detection.wrist_hands import hands_from_skeleton
from rehab_core.errors import ConfigError
from rehab_core.io.video import read_frames
from rehab_core.pose.blazepose import BlazePoseEstimator
from rehab_core.skeleton.layouts import BLAZEPOSE33, COCO17, convert_keypoints
from rehab_core.types import Detection, Skeleton


def arm_skeleton(wrist_score: float = 0.9, elbow_score: float = 0.9) -> Skeleton:
    """COCO-17 person: left forearm points right (elbow 200,200 -> wrist 300,200)."""
    kp = np.zeros((17, 3), np.float32)
    kp[:, 2] = 0.9
    kp[:, :2] = (150, 250)
    kp[COCO17.index("left_elbow")] = (200, 200, elbow_score)
    kp[COCO17.index("left_wrist")] = (300, 200, wrist_score)
    kp[COCO17.index("right_elbow")] = (100, 200, 0.9)
    kp[COCO17.index("right_wrist")] = (100, 280, 0.9)  # right forearm points down
    return Skeleton("coco17", kp, box=np.array([50, 100, 350, 500]), score=0.9, track_id=4)


def centre(box: np.ndarray) -> np.ndarray:
    return np.array([(box[0] + box[2]) / 2, (box[1] + box[3]) / 2])


def test_hand_boxes_follow_the_forearm() -> None:
    left, right = hands_from_skeleton(arm_skeleton())
    assert (left.label, left.class_id, right.label, right.class_id) == (
        "left_hand", 1, "right_hand", 2)
    assert left.track_id == 4 and left.score == pytest.approx(0.9)
    # forearm 100 px: box side 90 px, centre 30 px beyond the wrist along the forearm
    np.testing.assert_allclose(left.box[2] - left.box[0], 90, atol=1e-3)
    np.testing.assert_allclose(centre(left.box), [330, 200], atol=1e-3)
    np.testing.assert_allclose(centre(right.box), [100, 304], atol=1e-3)
    for det in (left, right):
        assert det.box[0] < det.box[2] and det.box[1] < det.box[3]


def test_low_wrist_score_gives_no_hand_and_missing_elbow_uses_body_size() -> None:
    hands = hands_from_skeleton(arm_skeleton(wrist_score=0.1))
    assert [h.label for h in hands] == ["right_hand"]
    (left, _) = hands_from_skeleton(arm_skeleton(elbow_score=0.0))
    np.testing.assert_allclose(centre(left.box), [300, 200], atol=1e-3)  # on the wrist
    np.testing.assert_allclose(left.box[2] - left.box[0], 0.12 * 400, atol=1e-3)


def test_boxes_clip_to_the_image_and_vanish_outside() -> None:
    (left, _) = hands_from_skeleton(arm_skeleton(), image_size=(320, 400))
    assert left.box[2] == 320
    skel = arm_skeleton()
    skel.keypoints[COCO17.index("left_elbow"), :2] = (400, 200)
    skel.keypoints[COCO17.index("left_wrist"), :2] = (500, 200)
    assert [h.label for h in hands_from_skeleton(skel, image_size=(320, 400))] == ["right_hand"]


def test_finger_landmarks_widen_the_box() -> None:
    kp33 = np.zeros((33, 3), np.float32)
    coco = arm_skeleton().keypoints
    for i, name in enumerate(COCO17.names):
        kp33[BLAZEPOSE33.index(name)] = coco[i]
    np.testing.assert_allclose(convert_keypoints(kp33, "blazepose33", "coco17"), coco)
    kp33[19] = (300, 300, 0.9)  # left index finger far below the wrist
    (left, _) = hands_from_skeleton(Skeleton("blazepose33", kp33, box=[50, 100, 350, 500]))
    assert left.box[3] > 300


class ScriptedPose:
    name = "scripted"
    layout = "coco17"

    def __init__(self, skeletons: list[Skeleton]) -> None:
        self.skeletons = skeletons
        self.closed = False

    def estimate(self, image: np.ndarray) -> list[Skeleton]:
        return self.skeletons

    def close(self) -> None:
        self.closed = True


class ScriptedCoco:
    labels = ["person", "cup"]

    def __init__(self, detections: list[Detection]) -> None:
        self.detections = detections
        self.closed = False

    def detect(self, image: np.ndarray) -> list[Detection]:
        return self.detections

    def close(self) -> None:
        self.closed = True


def test_hand_object_combines_pose_and_coco() -> None:
    skel = arm_skeleton()
    coco = ScriptedCoco([
        Detection("person", 0.8, [40, 90, 360, 520], class_id=0),
        Detection("person", 0.7, [600, 100, 700, 400], class_id=0),  # bystander
        Detection("cup", 0.6, [400, 180, 440, 230], class_id=1),
    ])
    pose = ScriptedPose([skel])
    det = HandObjectDetector(pose, coco)
    assert isinstance(det, ObjectDetector) and det.labels == LABELS
    out = det.detect(np.zeros((600, 800, 3), np.uint8))
    labels = [d.label for d in out]
    assert sorted(labels) == ["infant", "left_hand", "object", "right_hand"]
    for d in out:
        assert det.labels[d.class_id] == d.label
    infant = next(d for d in out if d.label == "infant")
    np.testing.assert_allclose(infant.box, [40, 90, 360, 520])  # the matching COCO person
    assert infant.track_id == 4
    det.close()
    assert not pose.closed and not coco.closed  # given components stay open


def test_hand_object_without_skeleton_or_detector() -> None:
    coco = ScriptedCoco([Detection("person", 0.8, [40, 90, 360, 520], class_id=0)])
    out = HandObjectDetector(ScriptedPose([]), coco).detect(np.zeros((600, 800, 3), np.uint8))
    assert [d.label for d in out] == ["infant"]
    out = HandObjectDetector(ScriptedPose([arm_skeleton()]), None).detect(
        np.zeros((600, 800, 3), np.uint8))
    infant = next(d for d in out if d.label == "infant")
    np.testing.assert_allclose(infant.box, [50, 100, 350, 500])  # the skeleton's own box


def test_registry_errors() -> None:
    with pytest.raises(ConfigError, match="unknown detector"):
        create_detector("rcnn")
    with pytest.raises(ConfigError, match="needs model_path"):
        create_detector("yolox")
    with pytest.raises(ConfigError, match="object_kind"):
        create_detector("hand_object", "x.onnx", object_kind="hand_object")


def test_registry_hand_object_owns_its_components() -> None:
    det = create_detector("hand_object")
    assert isinstance(det, HandObjectDetector) and det.objects is None
    det.close()
    assert det.pose._pose is None  # BlazePose closed


@pytest.mark.shared
def test_real_frame_hands_near_wrists(shared_dir: Path) -> None:
    (frame,) = read_frames(shared_dir / "media/exercise/jacks.mp4", [130])
    with BlazePoseEstimator(layout="blazepose33", static_image_mode=True) as pose:
        (skel,) = pose.estimate(frame.image)
    h, w = frame.image.shape[:2]
    hands = {d.label: d for d in hands_from_skeleton(skel, (w, h))}
    assert set(hands) == {"left_hand", "right_hand"}
    body_height = skel.box[3] - skel.box[1]
    for side in ("left", "right"):
        box = hands[f"{side}_hand"].box
        wrist = skel.keypoints[[15, 16][side == "right"], :2]
        index = skel.keypoints[[19, 20][side == "right"], :2]
        for point in (wrist, index):
            assert box[0] <= point[0] <= box[2] and box[1] <= point[1] <= box[3]
        assert 0.03 * body_height < box[2] - box[0] < 0.3 * body_height


@pytest.mark.shared
def test_real_frame_with_yolox(shared_dir: Path) -> None:
    (frame,) = read_frames(shared_dir / "media/exercise/squat.mp4", [30])
    det = create_detector(
        "hand_object", str(shared_dir / "models/yolox/yolox_nano.onnx"), pose_kind="blazepose"
    )
    try:
        out = det.detect(frame.image)
    finally:
        det.close()
    infants = [d for d in out if d.label == "infant"]
    assert len(infants) == 1
    hands = [d for d in out if d.label.endswith("_hand")]
    assert len(hands) == 2
    x1, y1, x2, y2 = infants[0].box
    for hand in hands:  # hands lie within (or at the edge of) the person box
        cx, cy = centre(hand.box)
        assert x1 - 40 <= cx <= x2 + 40 and y1 - 40 <= cy <= y2 + 40
    assert all(d.class_id == LABELS.index(d.label) for d in out)
