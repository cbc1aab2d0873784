"""create_pose_estimator: kinds, defaults and clear errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.pose import DEFAULT_POSE_ESTIMATOR, create_pose_estimator
from rehab_core.pose.base import PoseEstimator
from rehab_core.pose.blazepose import BlazePoseEstimator
from rehab_core.pose.movenet import MoveNetEstimator


def test_default_is_blazepose_and_needs_no_file() -> None:
    assert DEFAULT_POSE_ESTIMATOR == "blazepose"
    est = create_pose_estimator()
    try:
        assert isinstance(est, BlazePoseEstimator) and isinstance(est, PoseEstimator)
        assert est.layout == "coco17"
    finally:
        est.close()
    est = create_pose_estimator("blazepose", layout="blazepose33")
    try:
        assert est.layout == "blazepose33"
    finally:
        est.close()


def test_unknown_kind_and_misplaced_arguments() -> None:
    with pytest.raises(ConfigError, match="unknown pose estimator 'openpose'"):
        create_pose_estimator("openpose")
    with pytest.raises(ConfigError, match="needs model_path"):
        create_pose_estimator("movenet")
    with pytest.raises(ConfigError, match="needs model_path"):
        create_pose_estimator("yolo_pose")
    with pytest.raises(ConfigError, match="bundled model"):
        create_pose_estimator("blazepose", model_path="x.tflite")


def test_movenet_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelLoadError, match="not found"):
        create_pose_estimator("movenet", str(tmp_path / "none.tflite"))


@pytest.mark.shared
def test_movenet_real_model(shared_dir: Path) -> None:
    path = shared_dir / "models/movenet/movenet_singlepose_lightning_int8_4.tflite"
    est = create_pose_estimator("movenet", str(path), backend="litert", min_person_score=0.3)
    try:
        assert isinstance(est, MoveNetEstimator) and isinstance(est, PoseEstimator)
        assert est.input_size == 192 and est.min_person_score == 0.3
    finally:
        est.close()
