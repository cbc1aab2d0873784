"""Lifecycle transitions of every component, including the failure paths (real rclpy)."""

from __future__ import annotations

from pathlib import Path

import pytest

from rehab_runtime.component import FAILURE, SUCCESS, LifecycleComponent
from rehab_runtime.container import component_class


def make(ctx: object, plugin: str, **params: object) -> LifecycleComponent:
    from rclpy.parameter import Parameter

    cls = component_class(plugin)
    return cls(context=ctx, parameter_overrides=[Parameter(k, value=v) for k, v in params.items()])


def state(node: LifecycleComponent) -> str:
    return node._state_machine.current_state[1]


@pytest.fixture(scope="module")
def good_params(synthetic_clip: Path, tiny_stgcn_bundle: Path, tiny_babynet_dir: Path,
                tmp_path_factory) -> dict:
    return {
        "image_source": {"input": str(synthetic_clip)},
        "pose_estimator": {},
        "skeleton_tracker": {},
        "action_classifier": {"model_dir": str(tiny_stgcn_bundle), "runtime": "torch"},
        "repetition_counter": {"exercise": "squat"},
        "reach_detector": {"model_dir": str(tiny_babynet_dir)},
        "overlay": {},
        "recorder": {"output_dir": str(tmp_path_factory.mktemp("rec"))},
    }


@pytest.mark.parametrize("plugin", [
    "image_source", "pose_estimator", "skeleton_tracker", "action_classifier",
    "repetition_counter", "reach_detector", "overlay", "recorder",
])
def test_full_lifecycle(ros_context, good_params, plugin):
    node = make(ros_context, plugin, **good_params[plugin])
    try:
        assert state(node) == "unconfigured"
        assert node.trigger_configure() == SUCCESS, node.last_error
        assert state(node) == "inactive" and node.config is not None
        assert node.trigger_activate() == SUCCESS, node.last_error
        assert state(node) == "active" and node.is_active
        assert node.trigger_deactivate() == SUCCESS
        assert not node.is_active and node._inputs == [] and node._timers == []
        assert node.trigger_cleanup() == SUCCESS
        assert node.config is None and node.outputs() == []
        # a second bring-up works (models reloaded), and shutdown works from active
        assert node.trigger_configure() == SUCCESS, node.last_error
        assert node.trigger_activate() == SUCCESS
        assert node.trigger_shutdown() == SUCCESS
        assert state(node) == "finalized"
    finally:
        node.destroy_node()


def test_shutdown_from_unconfigured(ros_context):
    node = make(ros_context, "skeleton_tracker")
    try:
        assert node.trigger_shutdown() == SUCCESS
        assert state(node) == "finalized"
    finally:
        node.destroy_node()


@pytest.mark.parametrize(("plugin", "params", "needle"), [
    ("image_source", {"input": "x.avi", "pacing": "warp"}, "'pacing'='warp' must be one of"),
    ("image_source", {"input": "x.avi", "fps": -5.0}, "below its minimum"),
    ("image_source", {"input": "x.avi", "max_frames": "ten"}, "must be of type int"),
    ("image_source", {"input": "/nonexistent/clip.mp4"}, "input not found"),
    ("image_source", {"input": ""}, "no input given"),
    ("pose_estimator", {"estimator": "openpose"}, "'estimator'='openpose' must be one of"),
    ("pose_estimator", {"estimator": "movenet", "model_path": "/nonexistent/m.tflite"},
     "pose model file not found"),
    ("pose_estimator", {"estimator": "movenet"}, "needs model_path"),
    ("skeleton_tracker", {"keypoint_threshold": 1.5}, "above its maximum"),
    ("object_detector", {"model_path": "/nonexistent/yolox.onnx"},
     "detector model file not found"),
    ("object_detector", {}, "needs model_path"),
    ("action_classifier", {"model_dir": "/nonexistent/stgcn"}, "action model folder not found"),
    ("action_classifier", {"classifier": "lstm"}, "must be one of"),
    ("reach_detector", {"model_dir": "/nonexistent/babynet"}, "BabyNet model folder not found"),
    ("recorder", {"output_dir": ""}, "recorder needs output_dir"),
])
def test_configure_failure_has_a_message(ros_context, plugin, params, needle):
    node = make(ros_context, plugin, **params)
    try:
        assert node.trigger_configure() == FAILURE
        assert needle in node.last_error, node.last_error
        assert state(node) == "unconfigured"
        assert node.outputs() == [] and node.config is None  # cleaned up, nothing half-built
    finally:
        node.destroy_node()


def test_missing_backend_fails_configure(ros_context, tmp_path):
    """A runtime that is not installed (TensorRT without a GPU) fails with its name."""
    model = tmp_path / "yolox.onnx"
    model.write_bytes(b"not really a model")
    node = make(ros_context, "object_detector", model_path=str(model), backend="tensorrt")
    try:
        assert node.trigger_configure() == FAILURE
        assert "tensorrt" in node.last_error.lower(), node.last_error
    finally:
        node.destroy_node()


def test_action_classifier_missing_onnx_runtime_model(ros_context, tiny_stgcn_bundle):
    node = make(ros_context, "action_classifier", model_dir=str(tiny_stgcn_bundle),
                runtime="onnx")
    try:
        assert node.trigger_configure() == FAILURE
        assert "no ONNX model" in node.last_error
    finally:
        node.destroy_node()


def test_object_detector_lifecycle_with_real_model(ros_context, shared_dir):
    model = shared_dir / "models" / "yolox" / "yolox_nano.onnx"
    labels = shared_dir / "models" / "yolox" / "coco_classes.txt"
    node = make(ros_context, "object_detector", model_path=str(model), labels_path=str(labels))
    try:
        assert node.trigger_configure() == SUCCESS, node.last_error
        assert node.trigger_activate() == SUCCESS
        assert node.trigger_deactivate() == SUCCESS
        assert node.trigger_cleanup() == SUCCESS
    finally:
        node.destroy_node()
