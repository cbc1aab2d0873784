"""A camera driver's live topic played through the graph: compressed, raw encodings, latest wins.

An outside node plays the part of the driver (usb_cam / image_transport):
it publishes with sensor-data QoS on ``/camera/image_raw`` (any encoding of
the stack's table) or ``/camera/image_raw/compressed`` (JPEG), and the
image source (``input: topic:...``) decodes each frame once and hands it to
the pose estimator in-process.
"""

from __future__ import annotations

import array
import time

import cv2
import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CompressedImage, Image

from rehab_core.vision.encodings import bgr8_to_array
from rehab_runtime import codecs
from rehab_runtime import conversions as conv
from rehab_runtime.component import SUCCESS
from rehab_runtime.container import ComponentContainer


def _up(*nodes):
    for node in nodes:
        assert node.trigger_configure() == SUCCESS, node.last_error
    for node in nodes:
        assert node.trigger_activate() == SUCCESS, node.last_error


def _scene(i: int = 0) -> np.ndarray:
    image = np.full((240, 320, 3), 60, np.uint8)
    cv2.rectangle(image, (40 + 10 * i, 60), (140 + 10 * i, 200), (30, 160, 230), -1)
    cv2.circle(image, (240, 120), 40, (200, 40, 90), -1)
    return image


@pytest.fixture()
def driver(ros_context):
    """An outside node with its own executor, as a camera driver in another process."""
    node = Node("fake_camera_driver", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    yield node
    executor.shutdown()
    node.destroy_node()


@pytest.fixture()
def graph(ros_context):
    container = ComponentContainer(context=ros_context)
    yield container
    container.shutdown()


def _start(graph, params):
    source = graph.load("image_source", "image_source", params)
    pose = graph.load("pose_estimator", "pose_estimator")
    _up(source, pose)
    seen: list[np.ndarray] = []
    estimate = pose.estimator.estimate

    def spy(image):
        seen.append(image.copy())
        return estimate(image)

    pose.estimator.estimate = spy
    graph.spin_in_background()
    return source, pose, seen


def _compressed(image: np.ndarray, stamp_ns: int, fmt: str = "jpeg") -> CompressedImage:
    ok, buf = cv2.imencode(".jpg" if fmt == "jpeg" else ".png", image)
    assert ok
    data = array.array("B")
    data.frombytes(buf.tobytes())
    return CompressedImage(header=conv.make_header(stamp_ns, "camera_optical"),
                           format=f"bgr8; {fmt} compressed bgr8", data=data)


@pytest.mark.parametrize("params", [
    {"input": "topic:/camera/image_raw", "transport": "compressed"},
    # the compressed topic named itself (a raw subscription there would match nothing)
    {"input": "topic:/camera/image_raw/compressed"},
], ids=["transport_compressed", "topic_named"])
def test_compressed_topic_played_live_through_the_graph(graph, driver, wait_for, params):
    source, pose, seen = _start(graph, params)
    pub = driver.create_publisher(CompressedImage, "/camera/image_raw/compressed",
                                  codecs.IMAGE.qos)
    assert wait_for(lambda: pub.get_subscription_count() == 1, 20)
    for i in range(40):  # best effort: keep sending until enough got through
        pub.publish(_compressed(_scene(i % 8), 1_000_000_000 + i * 50_000_000,
                                "png" if i % 2 else "jpeg"))
        if wait_for(lambda: pose.diag.processed >= 5, 0.1):
            break
    assert wait_for(lambda: pose.diag.processed >= 5, 20), pose.diag.processed
    assert seen[0].shape == (240, 320, 3)
    # decoded once in the image stage: the model got the picture, within JPEG's loss
    assert min(np.abs(seen[0].astype(int) - _scene(k)).mean() for k in range(8)) < 4.0
    assert source.diag.dropped == 0 and pose.diag.dropped == 0
    bad = CompressedImage(header=conv.make_header(9_000_000_000), format="jpeg",
                          data=array.array("B", b"garbage"))
    drops = source.diag.dropped
    for _ in range(20):
        pub.publish(bad)
        if wait_for(lambda: source.diag.dropped > drops, 0.2):
            break
    assert source.diag.dropped > drops
    assert "undecodable compressed image" in source.diag.last_reason


@pytest.mark.parametrize("encoding", ["yuv422_yuy2", "nv12", "bayer_rggb8", "mono16"])
def test_raw_driver_encodings_reach_the_model_as_bgr(graph, driver, wait_for, encoding):
    _source, _pose, seen = _start(graph, {"input": "topic:/camera/image_raw"})
    pub = driver.create_publisher(Image, "/camera/image_raw", codecs.IMAGE.qos)
    assert wait_for(lambda: pub.get_subscription_count() == 1, 20)
    bgr = _scene()
    for i in range(40):
        pub.publish(conv.image_to_msg(bgr8_to_array(bgr, encoding), 1_000 + i, "cam", encoding))
        if wait_for(lambda: len(seen) >= 2, 0.1):
            break
    assert wait_for(lambda: len(seen) >= 2, 20)
    want = cv2.cvtColor(cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR) \
        if encoding == "mono16" else bgr
    assert np.abs(seen[0].astype(int) - want).mean() < 8.0


def test_slow_stage_skips_to_the_latest_frame_and_counts_it(graph, driver, wait_for):
    source, pose, _seen = _start(graph, {"input": "topic:/camera/image_raw"})
    estimate = pose.estimator.estimate
    stamps: list[int] = []
    graph.bus.subscribe("/skeletons", lambda p: stamps.append(p.stamp_ns))

    def slow(image):
        time.sleep(0.25)  # a model slower than the camera
        return estimate(image)

    pose.estimator.estimate = slow
    pub = driver.create_publisher(Image, "/camera/image_raw", codecs.IMAGE.qos)
    assert wait_for(lambda: pub.get_subscription_count() == 1, 20)
    bgr = _scene()
    sent = 30
    for i in range(sent):
        pub.publish(conv.image_to_msg(bgr, 1_000_000_000 + i * 10_000_000, "cam"))
        time.sleep(0.02)
    assert wait_for(lambda: source.diag.counts["skipped"] > 0, 20)
    last = 1_000_000_000 + (sent - 1) * 10_000_000
    # the newest frames are processed (latest wins), not a queue of stale ones
    assert wait_for(lambda: stamps and stamps[-1] >= last - 3 * 10_000_000, 20), stamps
    assert source.diag.processed < sent and len(stamps) == source.diag.processed
    assert stamps == sorted(stamps) and max(np.diff(stamps)) > 10_000_000  # frames skipped
    status = {kv.key: kv.value for kv in source.diag.to_status("image_source", "active").values}
    assert int(status["skipped"]) == source.diag.counts["skipped"]
    assert status["dropped"] == "0"  # skipping is by design, not a fault


def test_reliable_qos_by_parameter(graph, driver, wait_for):
    """A driver that publishes reliable is followed reliably when asked (image_qos)."""
    from rclpy.qos import ReliabilityPolicy

    source, pose, seen = _start(graph, {"input": "topic:/camera/image_raw",
                                        "image_qos": "reliable"})
    assert source.out_image.publisher.qos_profile.reliability == ReliabilityPolicy.RELIABLE
    pub = driver.create_publisher(Image, "/camera/image_raw", codecs.image_qos("reliable"))
    assert wait_for(lambda: pub.get_subscription_count() == 1, 20)
    for i in range(3):
        pub.publish(conv.image_to_msg(_scene(i), 1_000 + i, "cam"))
    # reliable: none lost in transport; each one processed or skipped for a newer one
    assert wait_for(lambda: source.diag.processed + source.diag.counts["skipped"] == 3, 20)
    assert wait_for(lambda: pose.diag.processed == source.diag.processed, 20)
    assert np.abs(seen[-1].astype(int) - _scene(2)).mean() == 0  # the newest got through


def test_zero_stamps_are_stamped_on_receipt_and_stale_ones_dropped(graph, driver, wait_for):
    source, pose, _seen = _start(graph, {"input": "topic:/camera/image_raw",
                                         "image_qos": "reliable"})
    pub = driver.create_publisher(Image, "/camera/image_raw", codecs.image_qos("reliable"))
    assert wait_for(lambda: pub.get_subscription_count() == 1, 20)
    pub.publish(conv.image_to_msg(_scene(), 0, "cam"))  # a driver that leaves stamps at 0
    assert wait_for(lambda: pose.diag.processed == 1, 20)
    pub.publish(conv.image_to_msg(_scene(), 5, "cam"))  # far older than the receive time
    assert wait_for(lambda: source.diag.dropped == 1, 20)
    assert "does not increase" in source.diag.last_reason
