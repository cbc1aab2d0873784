"""Overlay's ``markers`` as RViz / Foxglove get them over ROS: keypoints, bones and the
exercise label with its count, for an in-process image + skeletons pair."""

from __future__ import annotations

import threading

import numpy as np
from rclpy.executors import SingleThreadedExecutor
from visualization_msgs.msg import Marker, MarkerArray

from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.repetition.quality import RepetitionQuality
from rehab_core.types import Frame, Skeleton
from rehab_perception.overlay_node import OverlayNode
from rehab_runtime import codecs
from rehab_runtime.channel import InProcessBus
from rehab_runtime.component import SUCCESS, LifecycleComponent


class _Upstream(LifecycleComponent):
    DEFAULT_NAME = "marker_test_upstream"

    def configure(self, cfg) -> None:
        self.image = self.create_output("image", codecs.IMAGE)
        self.skeletons = self.create_output("skeletons", codecs.SKELETONS)
        self.action = self.create_output("action", codecs.ACTION)
        self.reps = self.create_output("repetitions", codecs.REPETITION)


def _person() -> Skeleton:
    kp = np.zeros((17, 3), np.float32)
    kp[:, 0] = np.linspace(100, 200, 17)
    kp[:, 1] = np.linspace(50, 400, 17)
    kp[:, 2] = 0.9
    kp[3, 2] = 0.0  # an unseen keypoint: neither a point nor a bone end
    return Skeleton("coco17", kp, box=np.array([100, 50, 200, 400], np.float32), score=0.9,
                    track_id=4)


def test_markers_carry_keypoints_bones_and_the_counted_exercise(ros_context, wait_for):
    import rclpy

    bus = InProcessBus()
    up = _Upstream(context=ros_context, bus=bus)
    overlay = OverlayNode(context=ros_context, bus=bus)
    listener = rclpy.create_node("marker_listener", context=ros_context)
    got: list[MarkerArray] = []
    listener.create_subscription(MarkerArray, "markers", got.append, 10)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(listener)
    spin = threading.Thread(target=executor.spin, daemon=True)
    spin.start()
    try:
        for n in (up, overlay):
            assert n.trigger_configure() == SUCCESS, n.last_error
        for n in (up, overlay):
            assert n.trigger_activate() == SUCCESS, n.last_error
        assert wait_for(lambda: overlay.marker_pub.get_subscription_count() > 0, 10)
        pred = codecs.ActionPayload(10**9, "camera", ActionPrediction(
            label="squat", confidence=0.9, scores={}, window_start_ns=0, window_end_ns=10**9,
            model="test"), track_id=4)
        up.action.publish(pred)
        up.reps.publish(codecs.RepetitionPayload(
            stamp_ns=10**9, frame_id="camera", track_id=4, exercise="squat", count=3,
            start_ns=0, end_ns=10**9,
            quality=RepetitionQuality(1.0, 80.0, "knee", (0.5, 0.5))))
        stamp = 2 * 10**9
        up.image.publish(Frame(np.zeros((480, 640, 3), np.uint8), stamp, 0, "bgr8", "camera"))
        up.skeletons.publish(codecs.SkeletonsPayload(stamp, "camera", 640, 480, [_person()], 4))
        assert wait_for(lambda: got, 10), "no markers arrived"
        markers = {(m.ns, m.type): m for m in got[-1].markers}
        assert got[-1].markers[0].action == Marker.DELETEALL
        points = markers[("skeletons", Marker.POINTS)]
        assert len(points.points) == 16 and points.header.frame_id == "camera"
        bones = markers[("bones", Marker.LINE_LIST)]
        assert bones.points and len(bones.points) % 2 == 0
        assert all(abs(p.x - 100 - 100 * 3 / 16) > 1e-3 for p in bones.points)  # not kp 3
        label = markers[("labels", Marker.TEXT_VIEW_FACING)]
        assert label.text == "squat: 3" and label.pose.position.y < 50
    finally:
        executor.shutdown()
        for n in (overlay, up):
            n.trigger_deactivate()
            n.trigger_cleanup()
            n.destroy_node()
        listener.destroy_node()
