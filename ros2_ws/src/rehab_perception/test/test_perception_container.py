"""The component container: zero-copy hand-off, ROS publishing on demand, run_graph, drops."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pytest
from rclpy.executors import SingleThreadedExecutor

from rehab_perception.results import FrameResult
from rehab_perception.run_graph import run_graph
from rehab_runtime import codecs
from rehab_runtime import conversions as conv
from rehab_runtime.component import SUCCESS
from rehab_runtime.container import ComponentContainer
from rehab_testing.compare import same
from rehab_testing.wire import as_received, on_the_wire

REPO = Path(__file__).resolve().parents[4]


def _up(*nodes):
    for node in nodes:
        assert node.trigger_configure() == SUCCESS, node.last_error
    for node in nodes:
        assert node.trigger_activate() == SUCCESS, node.last_error


@pytest.fixture()
def container(ros_context):
    c = ComponentContainer(context=ros_context)
    yield c
    c.shutdown()


def test_frames_are_handed_over_by_reference(container, synthetic_clip: Path):
    """The pose estimator's model gets the very buffer the source decoded: no copy, no DDS."""
    source = container.load("image_source", "image_source",
                            {"input": str(synthetic_clip), "pacing": "fast", "max_frames": 5})
    pose = container.load("pose_estimator", "pose_estimator")
    _up(source, pose)
    decoded, seen = [], []
    read = source._source.read

    def spy_read():
        frame = read()
        if frame is not None:
            decoded.append(frame.image)
        return frame

    estimate = pose.estimator.estimate

    def spy_estimate(image):
        seen.append(image)
        return estimate(image)

    source._source.read = spy_read
    pose.estimator.estimate = spy_estimate
    container.spin_in_background()
    assert source.finished.wait(20)
    assert len(seen) == len(decoded) == 5
    for a, b in zip(decoded, seen):
        assert a is b  # the same ndarray object ...
        assert np.shares_memory(a, b)  # ... so the same pixels
    assert source.out_image.sent_over_ros == 0  # nobody outside listened: nothing serialised
    assert pose.diag.processed == 5 and pose.diag.dropped == 0


def test_outputs_reach_outside_subscribers_only_when_subscribed(ros_context, container,
                                                                  synthetic_clip: Path, wait_for):
    source = container.load("image_source", "image_source",
                            {"input": str(synthetic_clip), "pacing": "fast"})
    pose = container.load("pose_estimator", "pose_estimator")
    _up(source, pose)
    assert container.bus.consumer_count("/image") == 1  # the pose estimator, in-process
    assert source.out_image.publisher.get_subscription_count() == 0
    # an outside subscriber (its own node, not on the bus) makes the output publish over ROS
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    listener = Node("outside_listener", context=ros_context)
    got = []
    listener.create_subscription(Image, "/image", got.append, codecs.IMAGE.qos)
    executor = SingleThreadedExecutor(context=ros_context)
    executor.add_node(listener)
    try:
        assert wait_for(lambda: source.out_image.publisher.get_subscription_count() == 1, 10,
                        spin=lambda: executor.spin_once(timeout_sec=0.05))
        for _ in range(3):
            source.publish_next()
        assert wait_for(lambda: len(got) >= 2, 10,
                        spin=lambda: executor.spin_once(timeout_sec=0.05))
        assert source.out_image.sent_over_ros == 3
        image = conv.msg_to_image(got[0])
        assert image.shape == (240, 320, 3)
    finally:
        executor.shutdown()
        listener.destroy_node()


def _stack(tmp_path: Path, components: list[str]) -> dict:
    return {
        "rehab_container": {"ros__parameters": {
            "components": components,
            "remappings": ["recorder:skeletons:=tracked_skeletons"],
        }},
        "lifecycle_manager": {"ros__parameters": {"node_names": components}},
        "recorder": {"ros__parameters": {"output_dir": str(tmp_path / "rec")}},
    }


def test_run_graph_calls_back_once_per_frame_in_order(tmp_path, synthetic_clip, domain_id):
    results: list[FrameResult] = []
    stack = _stack(tmp_path, ["image_source", "pose_estimator", "skeleton_tracker", "recorder"])
    run = run_graph(stack, str(synthetic_clip), results.append, domain_id=domain_id,
                    timeout_s=60)
    assert run.frames == len(results) == 12  # every frame of the file, none dropped
    assert [r.index for r in results] == list(range(12))
    stamps = [r.stamp_ns for r in results]
    assert stamps == sorted(stamps) and stamps[1] - stamps[0] == 100_000_000  # 10 fps clip
    for r in results:
        assert r.skeletons is not None and r.skeletons.stamp_ns == r.stamp_ns
        assert (r.width, r.height) == (320, 240)
        assert r.to_dict()["frame"] == r.index
    assert all(c["dropped"] == 0 for c in run.components.values())
    lines = (tmp_path / "rec" / "outputs.jsonl").read_text().splitlines()
    assert len(lines) == 12  # the recorder saw the same frames


def test_run_graph_finds_the_person(tmp_path, person_clip, domain_id):
    results: list[FrameResult] = []
    stack = _stack(tmp_path, ["image_source", "pose_estimator", "skeleton_tracker"])
    run = run_graph(stack, str(person_clip), results.append, domain_id=domain_id, timeout_s=60)
    assert run.frames == 16
    tracked = [r for r in results if r.skeletons.skeletons]
    assert len(tracked) >= 12
    assert {s.track_id for r in tracked for s in r.skeletons.skeletons} == {
        tracked[-1].skeletons.main_track_id
    }


def test_run_graph_reports_the_failing_component(tmp_path, synthetic_clip, domain_id):
    from rehab_core.errors import ConfigError

    stack = _stack(tmp_path, ["image_source", "pose_estimator"])
    stack["pose_estimator"] = {"ros__parameters": {"estimator": "movenet",
                                                   "model_path": "/nope.tflite"}}
    with pytest.raises(ConfigError, match="pose_estimator: configure failed: pose model file"):
        run_graph(stack, str(synthetic_clip), domain_id=domain_id)


def test_bad_messages_are_counted_drops_not_crashes(ros_context, container, wait_for):
    """Wrong encoding, empty image, short data, duplicate and out-of-order stamps."""
    from rclpy.node import Node
    from sensor_msgs.msg import Image

    pose = container.load("pose_estimator", "pose_estimator")
    _up(pose)  # no source in the container: it subscribes over ROS
    container.spin_in_background()
    sender = Node("bad_sender", context=ros_context)
    pub = sender.create_publisher(Image, "/image", codecs.IMAGE.qos)
    try:
        assert wait_for(lambda: pub.get_subscription_count() == 1, 10)
        good = np.zeros((48, 64, 3), np.uint8)

        def send(msg: Image, processed: int, dropped: int) -> None:
            pub.publish(msg)
            assert wait_for(
                lambda: (pose.diag.processed, pose.diag.dropped) == (processed, dropped), 10
            ), (pose.diag.processed, dict(pose.diag.drops))

        send(conv.image_to_msg(good, 1_000, encoding="bgr8"), 1, 0)
        wrong = conv.image_to_msg(good, 2_000, encoding="bgr8")
        wrong.encoding = "32FC1"
        send(wrong, 1, 1)
        send(Image(encoding="bgr8"), 1, 2)  # empty
        short = conv.image_to_msg(good, 3_000, encoding="bgr8")
        short.height = 100  # header claims more rows than the data holds
        send(short, 1, 3)
        send(conv.image_to_msg(good, 1_000, encoding="bgr8"), 1, 4)  # duplicate stamp
        send(conv.image_to_msg(good, 500, encoding="bgr8"), 1, 5)  # out of order
        send(conv.image_to_msg(good, 5_000, encoding="rgb8"), 2, 5)  # and it still works
        assert set(pose.diag.drops) == {
            "bad image message", "duplicate stamp", "out-of-order stamp"
        }
        assert pose.diag.drops["bad image message"] == 3
        status = pose.diag.to_status("pose_estimator", "active")
        values = {kv.key: kv.value for kv in status.values}
        assert values["dropped"] == "5" and values["dropped.duplicate stamp"] == "1"
        assert status.level == status.WARN and "out-of-order" in status.message
        assert pose.is_active
    finally:
        sender.destroy_node()


def test_drop_counters_reach_the_diagnostics_topic(ros_context, container, synthetic_clip,
                                                  wait_for):
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.node import Node

    source = container.load("image_source", "image_source",
                            {"input": str(synthetic_clip), "diagnostics_period": 0.1})
    _up(source)
    got = []
    listener = Node("diag_listener", context=ros_context)
    listener.create_subscription(DiagnosticArray, "/diagnostics", got.append, 10)
    container.add_node(listener)
    container.spin_in_background()
    try:
        assert wait_for(lambda: any(
            s.name == "/image_source" and any(kv.key == "rate_hz" for kv in s.values)
            for m in got for s in m.status), 10)
    finally:
        time.sleep(0)  # listener is destroyed with the container's executor shutdown


def _write_bag(path: Path, frames: int = 3) -> Path:
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    image_t = store.types["sensor_msgs/msg/Image"]
    header_t = store.types["std_msgs/msg/Header"]
    time_t = store.types["builtin_interfaces/msg/Time"]
    with Writer(path, version=8) as writer:
        conn = writer.add_connection("/camera/image", image_t.__msgtype__, typestore=store)
        for i in range(frames):
            pixels = np.full((4, 6, 3), i, np.uint8)
            msg = image_t(header=header_t(stamp=time_t(sec=1, nanosec=i * 1000), frame_id="cam"),
                          height=4, width=6, encoding="rgb8", is_bigendian=0, step=18,
                          data=pixels.reshape(-1))
            writer.write(conn, 1_000_000_000 + i * 1000,
                         store.serialize_cdr(msg, image_t.__msgtype__))
    return path


def test_image_source_replays_a_rosbag2_with_its_stamps(container, tmp_path):
    bag = _write_bag(tmp_path / "bag")
    source = container.load("image_source", "image_source", {"input": str(bag), "pacing": "fast"})
    _up(source)
    frames = []
    container.bus.subscribe(source.out_image.topic, frames.append)
    while source.publish_next():
        pass
    assert [f.stamp_ns for f in frames] == [1_000_000_000, 1_000_001_000, 1_000_002_000]
    assert [int(f.image[0, 0, 0]) for f in frames] == [0, 1, 2]
    assert frames[0].encoding == "rgb8" and frames[0].frame_id == "cam"
    assert source.finished.is_set()


def test_reach_detector_publishes_one_state_per_hand(container, tiny_babynet_dir):
    """Detections in (from an in-process producer), ReachState per hand out, message-ready."""
    from rehab_core.reach.synthetic import generate_sequence

    reach = container.load("reach_detector", "reach_detector",
                           {"model_dir": str(tiny_babynet_dir)})
    container.bus.add_producer("/detections")  # stands in for a co-located detector
    _up(reach)
    states = []
    container.bus.subscribe("/reach", states.append)
    sequence = generate_sequence(seed=0, length=20)
    for i, detections in enumerate(sequence.detections[:20]):
        container.bus.deliver("/detections",
                              codecs.DetectionsPayload((i + 1) * 33_000_000, "cam", detections))
    assert len(states) == 2 * 20 and reach.diag.dropped == 0
    assert {s.state.side for s in states} == {"left", "right"}
    for s in states:
        msg = codecs.REACH.to_msg(s)
        assert msg.phase in (0, 1, 2, 3) and msg.side in ("left", "right")
        assert msg.header.stamp.nanosec == s.stamp_ns % 1_000_000_000
        assert len(msg.scores) == 4 and all(0.0 <= v <= 1.0 for v in msg.scores)
        assert msg.confidence == msg.scores[msg.phase]  # P(reported phase)
        assert same(as_received(codecs.REACH, s), on_the_wire(s), 1e-6)


def test_wall_clock_stamps_give_end_to_end_age(container, synthetic_clip):
    source = container.load("image_source", "image_source",
                            {"input": str(synthetic_clip), "stamp_clock": "wall"})
    pose = container.load("pose_estimator", "pose_estimator")
    tracker = container.load("skeleton_tracker", "skeleton_tracker")
    _up(source, pose, tracker)
    for _ in range(3):
        source.publish_next()
    assert pose.diag.processed == 3 and tracker.diag.processed == 3
    # stamps are capture times: the age at the end of each stage is a real latency
    assert 0.0 <= pose.diag.age_ms() < 10_000.0
    assert tracker.diag.age_ms() >= pose.diag.age_ms()  # it finishes each frame later
    status = {kv.key: kv.value for kv in pose.diag.to_status("p", "active").values}
    assert float(status["age_ms"]) >= 0.0
