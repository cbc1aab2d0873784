"""No callback can kill the container's executor thread (issue 12, finding 4).

Before: an exception escaping a callback (a timer, an unguarded subscriber)
ended ``executor.spin()`` in the container's only spin thread, and every
component stopped with it. Now component timers are guarded like inputs
(counted, reason kept) and the container keeps spinning past anything else.
"""

from __future__ import annotations

import threading

import pytest

from rehab_runtime.component import SUCCESS
from rehab_runtime.container import ComponentContainer


@pytest.fixture()
def container(ros_context):
    c = ComponentContainer(context=ros_context, num_threads=2)
    yield c
    c.shutdown()


def _up(node) -> None:
    assert node.trigger_configure() == SUCCESS, node.last_error
    assert node.trigger_activate() == SUCCESS, node.last_error


def test_a_raising_component_timer_is_counted_and_keeps_firing(container, wait_for):
    node = container.load("skeleton_tracker", "tracker")
    _up(node)
    calls = []

    def explode() -> None:
        calls.append(1)
        raise ValueError("injected")

    node.create_component_timer(0.02, explode)
    container.spin_in_background()
    assert wait_for(lambda: len(calls) >= 5, 20)  # the timer goes on firing after raising
    assert node.diag.drops["processing error"] >= 4
    assert "injected" in node.diag.last_reason
    assert container._thread.is_alive() and container.callback_errors == []


def test_the_container_outlives_an_unguarded_callback(container, wait_for):
    node = container.load("skeleton_tracker", "tracker")
    _up(node)
    fired, later = [], threading.Event()

    def raw_callback() -> None:  # a plain rclpy timer: no component guard around it
        fired.append(1)
        if len(fired) == 1:
            raise RuntimeError("escaped")
        later.set()

    node.create_timer(0.02, raw_callback)
    container.spin_in_background()
    assert later.wait(20), "the executor stopped after the first exception"
    assert container._thread.is_alive()
    assert container.callback_errors and "escaped" in container.callback_errors[0]


def test_common_parameters_are_validated_at_configure(container):
    node = container.load("skeleton_tracker", "tracker", {"diagnostics_period": 0.0})
    assert node.trigger_configure() != SUCCESS
    assert "'diagnostics_period'=0.0 is below its minimum 0.05" in node.last_error


def test_unknown_parameters_are_refused_with_a_suggestion(container):
    from rehab_core.errors import ConfigError

    with pytest.raises(ConfigError, match=r"unknown parameter 'keypoint_treshold'; did you mean "
                                          r"'keypoint_threshold'\?"):
        container.load("skeleton_tracker", "tracker", {"keypoint_treshold": 0.2})
    assert "tracker" not in container.nodes


def test_nan_skeletons_over_dds_reach_the_recorder_as_strict_json(ros_context, container,
                                                                  tmp_path, wait_for):
    """Before: a NaN / inf skeleton published by another process was written as NaN."""
    import math

    import rclpy
    from rclpy.qos import QoSProfile

    from rehab_core import jsonsafe
    from rehab_interfaces.msg import Keypoint2D, Skeleton2D, Skeleton2DArray

    recorder = container.load("recorder", "recorder", {"output_dir": str(tmp_path)})
    _up(recorder)
    assert recorder._inputs[0].subscription is not None  # no in-process producer: DDS
    outside = rclpy.create_node("hostile", context=ros_context)  # another process's publisher
    pub = outside.create_publisher(Skeleton2DArray, "skeletons", QoSProfile(depth=10))
    container.add_node(outside)
    container.spin_in_background()
    assert wait_for(lambda: pub.get_subscription_count() > 0, 20)
    bad = [float("nan"), float("inf"), -float("inf")]
    for i in range(6):
        msg = Skeleton2DArray(image_width=640, image_height=480)
        msg.header.stamp.sec = i + 1
        kps = [Keypoint2D(x=bad[k % 3] if k < 3 else 10.0 * k, y=5.0, score=0.9)
               for k in range(17)]
        msg.skeletons = [Skeleton2D(layout="coco17", track_id=1, score=float("nan"),
                                    keypoints=kps)]
        pub.publish(msg)
    assert wait_for(lambda: recorder.diag.processed >= 6, 20)
    assert recorder.trigger_deactivate() == SUCCESS  # flushes the last frame
    rows = [jsonsafe.loads_strict(line)
            for line in (tmp_path / "outputs.jsonl").read_text().splitlines()]
    assert len(rows) == 6
    for row in rows:
        skeleton = row["skeletons"][0]
        assert all(math.isfinite(v) for kp in skeleton["keypoints"] for v in kp)
        assert skeleton["keypoints"][0] == [0.0, 0.0, 0.0]  # not found
    outside.destroy_node()


def test_outgoing_messages_never_carry_non_finite_floats():
    from rehab_interfaces.msg import (
        ActionPrediction,
        Keypoint2D,
        RepetitionEvent,
        Skeleton2D,
        Skeleton2DArray,
    )
    from rehab_runtime.channel import UNKNOWN, finite_message

    nan, inf = float("nan"), float("inf")
    action = finite_message(ActionPrediction(confidence=nan, class_scores=[0.5, inf, -inf]))
    assert action.confidence == UNKNOWN
    assert list(action.class_scores) == [0.5, UNKNOWN, UNKNOWN]
    rep = RepetitionEvent()
    rep.quality.reference_distance = nan
    rep.quality.duration_s = 2.0
    finite_message(rep)
    assert rep.quality.reference_distance == UNKNOWN and rep.quality.duration_s == 2.0
    arr = Skeleton2DArray(skeletons=[Skeleton2D(score=nan, keypoints=[Keypoint2D(x=inf)])])
    finite_message(arr)
    assert arr.skeletons[0].score == UNKNOWN and arr.skeletons[0].keypoints[0].x == UNKNOWN


def test_a_standalone_node_refuses_a_misspelt_parameter(ros_context):
    """`ros2 run` / `ros2 launch` with a parameter file: the typo fails configure, loudly."""
    from rclpy.parameter import Parameter

    from rehab_perception.skeleton_tracker_node import SkeletonTrackerNode

    node = SkeletonTrackerNode(context=ros_context,
                               parameter_overrides=[Parameter("max_mises", value=3)])
    try:
        assert node.trigger_configure() != SUCCESS
        assert "unknown parameter 'max_mises'; did you mean 'max_misses'?" in node.last_error
    finally:
        node.destroy_node()
