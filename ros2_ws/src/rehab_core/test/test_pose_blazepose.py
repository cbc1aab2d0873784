"""BlazePose estimator: real people in real clips, nothing in a blank image, bad input."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.errors import BadFrameError, ConfigError
from rehab_core.io.video import read_frames
from rehab_core.pose.base import PoseEstimator
from rehab_core.pose.blazepose import BlazePoseEstimator, _landmark_box
from rehab_core.skeleton.layouts import convert_keypoints


def assert_upright_person(keypoints: np.ndarray, width: int, height: int) -> None:
    """COCO-17 pixel keypoints of a standing or squatting person, seen well."""
    scores = keypoints[:, 2]
    assert scores.mean() > 0.6, f"low keypoint scores {scores.round(2)}"
    seen = keypoints[scores > 0.5]
    assert np.all((seen[:, 0] >= 0) & (seen[:, 0] <= width))
    assert np.all((seen[:, 1] >= 0) & (seen[:, 1] <= height))
    nose_y = keypoints[0, 1]
    shoulders_y, hips_y = keypoints[[5, 6], 1].mean(), keypoints[[11, 12], 1].mean()
    ankles_y = keypoints[[15, 16], 1].mean()
    assert nose_y < shoulders_y < hips_y < ankles_y


@pytest.fixture(scope="module")
def blazepose() -> BlazePoseEstimator:
    est = BlazePoseEstimator()
    yield est
    est.close()


def test_is_a_pose_estimator(blazepose: BlazePoseEstimator) -> None:
    assert isinstance(blazepose, PoseEstimator)
    assert blazepose.layout == "coco17"


def test_blank_image_has_no_person() -> None:
    with BlazePoseEstimator(static_image_mode=True) as est:
        assert est.estimate(np.zeros((480, 640, 3), np.uint8)) == []
        assert est.estimate(np.full((256, 340, 3), 200, np.uint8)) == []


@pytest.mark.parametrize(
    "bad",
    [None, np.zeros((0, 0, 3), np.uint8), np.zeros((48, 64, 3), np.float32),
     np.zeros((48, 64, 4), np.uint8)],
)
def test_bad_frames_are_refused(blazepose: BlazePoseEstimator, bad: object) -> None:
    with pytest.raises(BadFrameError):
        blazepose.estimate(bad)


@pytest.mark.parametrize("complexity", [0, 2])
def test_complexities_that_would_download_are_refused(complexity: int) -> None:
    with pytest.raises(ConfigError, match="not available offline"):
        BlazePoseEstimator(model_complexity=complexity)


def test_bad_options_are_refused() -> None:
    with pytest.raises(ConfigError, match="layout"):
        BlazePoseEstimator(layout="openpose18")
    with pytest.raises(ConfigError, match="min_detection_confidence"):
        BlazePoseEstimator(min_detection_confidence=1.5)


def test_landmark_box_uses_visible_landmarks_and_clips() -> None:
    lm = np.array(
        [[10, 20, 0.9], [50, 80, 0.9], [30, 40, 0.8], [45, 25, 0.7], [500, 500, 0.1]], np.float32
    )
    np.testing.assert_allclose(_landmark_box(lm, 640, 480), [10, 20, 50, 80])
    lm[:, 2] = 0.1  # too few visible: all landmarks, clipped to the image
    np.testing.assert_allclose(_landmark_box(lm, 320, 240), [10, 20, 320, 240])


@pytest.mark.shared
@pytest.mark.parametrize(("clip", "start"), [("squat.mp4", 0), ("jacks.mp4", 120)])
def test_person_found_in_real_clip(
    blazepose: BlazePoseEstimator, shared_dir: Path, clip: str, start: int
) -> None:
    blazepose.reset()
    frames = read_frames(shared_dir / "media/exercise" / clip, range(start, start + 8))
    results = [blazepose.estimate(f.image) for f in frames]
    assert all(len(r) == 1 for r in results), "one person in every frame"
    h, w = frames[0].image.shape[:2]
    for (skel,) in results:
        assert skel.layout == "coco17" and skel.keypoints.shape == (17, 3)
        assert_upright_person(skel.keypoints, w, h)
        assert skel.score > 0.6
        x1, y1, x2, y2 = skel.box
        assert 0 <= x1 < x2 <= w and 0 <= y1 < y2 <= h
        seen = skel.keypoints[skel.keypoints[:, 2] > 0.5]
        assert np.all((seen[:, 0] >= x1 - 1) & (seen[:, 0] <= x2 + 1))
        # a standing/squatting person is taller than wide in this footage
        assert (y2 - y1) > 0.3 * h


@pytest.mark.shared
def test_blazepose33_layout_matches_coco17(shared_dir: Path) -> None:
    (frame,) = read_frames(shared_dir / "media/exercise/squat.mp4", [10])
    with BlazePoseEstimator(layout="blazepose33", static_image_mode=True) as est33, \
            BlazePoseEstimator(static_image_mode=True) as est17:
        (s33,), (s17,) = est33.estimate(frame.image), est17.estimate(frame.image)
    assert s33.layout == "blazepose33" and s33.keypoints.shape == (33, 3)
    np.testing.assert_allclose(
        convert_keypoints(s33.keypoints, "blazepose33", "coco17"), s17.keypoints, atol=1e-3
    )


@pytest.mark.shared
def test_rgb_input_gives_same_result(shared_dir: Path) -> None:
    (frame,) = read_frames(shared_dir / "media/non_exercise/ta_chi.mp4", [30])
    with BlazePoseEstimator(static_image_mode=True) as bgr_est, \
            BlazePoseEstimator(static_image_mode=True, encoding="rgb8") as rgb_est:
        (a,) = bgr_est.estimate(frame.image)
        (b,) = rgb_est.estimate(np.ascontiguousarray(frame.image[:, :, ::-1]))
    np.testing.assert_allclose(a.keypoints, b.keypoints, atol=1e-3)


@pytest.mark.shared
def test_world_landmarks_give_metric_model_space_3d(shared_dir: Path) -> None:
    """Without a depth camera the skeleton still carries 3-D: MediaPipe's world landmarks."""
    (frame,) = read_frames(shared_dir / "media/exercise/squat.mp4", [10])
    with BlazePoseEstimator(static_image_mode=True) as est:
        (skel,) = est.estimate(frame.image)
    assert skel.space_3d == "model" and skel.keypoints_3d.shape == (17, 4)
    k3 = skel.keypoints_3d
    hips = (k3[11, :3] + k3[12, :3]) / 2
    assert np.linalg.norm(hips) < 0.1  # origin between the hips
    torso = np.linalg.norm((k3[5, :3] + k3[6, :3]) / 2 - hips)
    assert 0.3 < torso < 0.8  # metres, an adult's torso
    assert k3[15, 1] > hips[1]  # ankles below the hips: y points down
    np.testing.assert_allclose(k3[:, 3], np.clip(k3[:, 3], 0, 1))
