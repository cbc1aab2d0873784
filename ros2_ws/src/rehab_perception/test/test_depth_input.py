"""The pose estimator's depth input: stamp matching (exact / approximate) and 3-D output.

A fake depth camera driver (an outside node) publishes aligned depth and
camera_info; the pose estimator matches them to colour stamps. With a real
clip (../shared) the whole path runs: BlazePose on the frame, depth lift,
``skeletons_3d`` with the camera's frame id; without depth the model's own
3-D (world landmarks) is published instead.
"""

from __future__ import annotations

import array

import cv2
import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor
from rclpy.node import Node
from sensor_msgs.msg import CameraInfo, Image

from rehab_interfaces.msg import Skeleton3DArray
from rehab_perception.depth_input import camera_info_topic_for
from rehab_runtime import codecs
from rehab_runtime import conversions as conv
from rehab_runtime.component import SUCCESS
from rehab_runtime.container import ComponentContainer

W, H = 320, 240
K = [280.0, 0.0, 159.5, 0.0, 280.0, 119.5, 0.0, 0.0, 1.0]


def _up(*nodes):
    for node in nodes:
        assert node.trigger_configure() == SUCCESS, node.last_error
    for node in nodes:
        assert node.trigger_activate() == SUCCESS, node.last_error


def _depth_msg(stamp_ns: int, metres: float, w: int = W, h: int = H) -> Image:
    mm = np.full((h, w), int(metres * 1000), np.uint16)
    msg = Image(header=conv.make_header(stamp_ns, "cam_optical"), height=h, width=w,
                encoding="16UC1", is_bigendian=0, step=w * 2)
    data = array.array("B")
    data.frombytes(mm.tobytes())
    msg.data = data
    return msg


def _info_msg(stamp_ns: int, w: int = W, h: int = H, k=K) -> CameraInfo:
    return CameraInfo(header=conv.make_header(stamp_ns, "cam_optical"), width=w, height=h,
                      k=[float(v) for v in k])


@pytest.fixture()
def driver(ros_context):
    node = Node("fake_depth_driver", context=ros_context)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(node)
    yield node, executor
    executor.shutdown()
    node.destroy_node()


@pytest.fixture()
def graph(ros_context):
    container = ComponentContainer(context=ros_context)
    container.spin_in_background()
    yield container
    container.shutdown()


def test_camera_info_topic_defaults_next_to_the_depth_topic():
    assert camera_info_topic_for("/cam/aligned_depth_to_color/image_raw") == \
        "/cam/aligned_depth_to_color/camera_info"
    assert camera_info_topic_for("depth") == "camera_info"


@pytest.mark.parametrize(("sync", "expect_near"), [("exact", False), ("approximate", True)])
def test_depth_is_matched_by_stamp(graph, driver, wait_for, sync, expect_near):
    node, _ex = driver
    pose = graph.load("pose_estimator", "pose_estimator", {
        "depth_topic": "/cam/depth/image_raw", "depth_sync": sync,
        "depth_sync_tolerance_s": 0.02})
    _up(pose)
    dpub = node.create_publisher(Image, "/cam/depth/image_raw", codecs.IMAGE.qos)
    ipub = node.create_publisher(CameraInfo, "/cam/depth/camera_info", codecs.IMAGE.qos)
    assert wait_for(lambda: dpub.get_subscription_count() == 1
                    and ipub.get_subscription_count() == 1, 20)
    stamps = [1_000_000_000 + i * 33_000_000 for i in range(3)]

    def delivered():
        for i, st in enumerate(stamps):
            dpub.publish(_depth_msg(st, 1.0 + i))
            ipub.publish(_info_msg(st))
        return pose.depth.match(stamps[1]) is not None

    assert wait_for(delivered, 20)
    depth, intrinsics, frame_id = pose.depth.match(stamps[1])
    assert np.allclose(depth, 2.0) and frame_id == "cam_optical"
    assert (intrinsics.fx, intrinsics.cx, intrinsics.width) == (280.0, 159.5, W)
    near = pose.depth.match(stamps[1] + 10_000_000)  # 10 ms off: approximate only
    assert (near is not None) == expect_near
    if near is not None:
        assert np.allclose(near[0], 2.0)  # the nearest, not the first in the buffer
    before = pose.diag.counts["no_depth"]
    assert pose.depth.match(stamps[2] + 500_000_000) is None  # nothing that close
    assert pose.diag.counts["no_depth"] == before + 1


def test_uncalibrated_camera_info_gives_no_depth(graph, driver, wait_for):
    node, _ex = driver
    pose = graph.load("pose_estimator", "pose_estimator", {"depth_topic": "/cam/d"})
    _up(pose)
    dpub = node.create_publisher(Image, "/cam/d", codecs.IMAGE.qos)
    ipub = node.create_publisher(CameraInfo, "/cam/camera_info", codecs.IMAGE.qos)
    assert wait_for(lambda: ipub.get_subscription_count() == 1, 20)
    for _ in range(5):
        dpub.publish(_depth_msg(5, 2.0))
        ipub.publish(_info_msg(5, k=[0.0] * 9))
    assert wait_for(lambda: pose.depth.match(5) is None
                    and pose.diag.counts["no_camera_info"] > 0, 20)


def _person_frame(shared_dir) -> np.ndarray:
    cap = cv2.VideoCapture(str(shared_dir / "media" / "exercise" / "squat.mp4"))
    ok, image = cap.read()
    cap.release()
    assert ok
    return cv2.resize(image, (W, int(W * image.shape[0] / image.shape[1])))


@pytest.mark.parametrize("with_depth", [True, False])
def test_real_frame_publishes_3d_skeletons(graph, driver, wait_for, shared_dir, with_depth):
    node, executor = driver
    image = _person_frame(shared_dir)
    h = image.shape[0]
    source = graph.load("image_source", "image_source", {"input": "topic:/camera/image_raw"})
    pose = graph.load("pose_estimator", "pose_estimator",
                      {"depth_topic": "/cam/depth/image_raw" if with_depth else ""})
    _up(source, pose)
    got: list[Skeleton3DArray] = []
    node.create_subscription(Skeleton3DArray, "/skeletons_3d", got.append, 10)
    cpub = node.create_publisher(Image, "/camera/image_raw", codecs.IMAGE.qos)
    dpub = node.create_publisher(Image, "/cam/depth/image_raw", codecs.IMAGE.qos)
    ipub = node.create_publisher(CameraInfo, "/cam/depth/camera_info", codecs.IMAGE.qos)
    k = [280.0, 0, (W - 1) / 2, 0, 280.0, (h - 1) / 2, 0, 0, 1]
    spin = lambda: executor.spin_once(timeout_sec=0.05)  # noqa: E731
    assert wait_for(lambda: cpub.get_subscription_count() == 1, 20, spin=spin)
    for i in range(60):
        stamp = 2_000_000_000 + i * 33_000_000
        if with_depth:
            dpub.publish(_depth_msg(stamp, 2.5, W, h))
            ipub.publish(_info_msg(stamp, W, h, k))
        cpub.publish(conv.image_to_msg(image, stamp, "camera_color_optical"))
        if wait_for(lambda: len(got) > 0, 0.2, spin=spin):
            break
    assert got, f"no skeletons_3d (pose processed {pose.diag.processed})"
    msg = got[-1]
    assert msg.skeletons and len(msg.skeletons[0].keypoints) == 17
    k3 = np.array([(p.x, p.y, p.z, p.score) for p in msg.skeletons[0].keypoints])
    if with_depth:
        assert msg.space == "camera" and msg.header.frame_id == "cam_optical"
        seen = k3[:, 3] > 0.5
        # a flat scene 2.5 m away: every joint there, pushed back by the surface offset
        assert seen.sum() >= 8 and np.all(np.abs(k3[seen, 2] - 2.55) < 0.02)
    else:
        assert msg.space == "model" and msg.header.frame_id == "camera_color_optical"
        assert np.linalg.norm((k3[11, :3] + k3[12, :3]) / 2) < 0.1  # hip-centred metres
