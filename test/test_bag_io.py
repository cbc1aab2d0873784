"""rosbag2 input without ROS: image bags and skeleton bags, both storages."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.errors import InputSourceError
from rehab_core.io.bag import BagFrameSource, bag_topics, write_image_bag
from rehab_core.io.skeleton_bag import SkeletonBagSource, SkeletonFrame, write_skeleton_bag
from rehab_core.io.sources import input_kind, open_frame_source
from rehab_core.types import Frame, Skeleton


def _frames(n: int = 6, fps: float = 15.0) -> list[Frame]:
    rng = np.random.default_rng(0)
    return [
        Frame(image=rng.integers(0, 255, (24, 32, 3), dtype=np.uint8),
              stamp_ns=5_000_000_000 + int(i * 1e9 / fps), index=i, encoding="rgb8")
        for i in range(n)
    ]


@pytest.mark.parametrize("storage", ["mcap", "sqlite3"])
def test_image_bag_roundtrip(tmp_path, storage):
    frames = _frames()
    assert write_image_bag(tmp_path / "bag", frames, storage=storage) == len(frames)
    assert input_kind(tmp_path / "bag") == "bag"
    source = open_frame_source(str(tmp_path / "bag"))
    assert isinstance(source, BagFrameSource)
    assert source.frame_count == 6 and source.fps == pytest.approx(15.0, rel=1e-3)
    back = list(source)
    assert [f.stamp_ns for f in back] == [f.stamp_ns for f in frames]
    assert all(np.array_equal(a.image, b.image) for a, b in zip(back, frames))
    assert back[0].encoding == "rgb8"
    topics, duration, start = bag_topics(tmp_path / "bag")
    assert [(t.name, t.msgtype, t.count) for t in topics] == [
        ("/camera/camera_info", "sensor_msgs/msg/CameraInfo", 6),
        ("/camera/image_raw", "sensor_msgs/msg/Image", 6),
    ]
    assert start == frames[0].stamp_ns and duration == pytest.approx(5 / 15, abs=1e-6)


def test_bag_with_two_image_topics_needs_a_choice(tmp_path):
    from rosbags.rosbag2 import StoragePlugin, Writer

    write_image_bag(tmp_path / "a", _frames(2))
    # add a second image topic by writing both into one bag
    from rosbags.typesys import Stores, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    with Writer(tmp_path / "two", version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        for topic in ("/left/image", "/right/image"):
            conn = writer.add_connection(topic, "sensor_msgs/msg/Image", typestore=store)
            for frame in BagFrameSource(tmp_path / "a"):
                msg = store.types["sensor_msgs/msg/Image"](
                    header=store.types["std_msgs/msg/Header"](
                        stamp=store.types["builtin_interfaces/msg/Time"](sec=1, nanosec=0),
                        frame_id="c"),
                    height=24, width=32, encoding="rgb8", is_bigendian=0, step=96,
                    data=frame.image.reshape(-1))
                writer.write(conn, frame.stamp_ns, store.serialize_cdr(msg, conn.msgtype))
    with pytest.raises(InputSourceError, match="several image topics"):
        BagFrameSource(tmp_path / "two")
    assert len(list(BagFrameSource(tmp_path / "two", topic="/right/image"))) == 2


def test_rosbag2_directory_named_like_a_ros1_bag(tmp_path):
    write_image_bag(tmp_path / "clip.bag", _frames(3))
    assert input_kind(tmp_path / "clip.bag") == "bag"
    assert len(list(open_frame_source(str(tmp_path / "clip.bag")))) == 3


def test_bag_cli_from_video_and_info(tmp_path):
    import subprocess

    import cv2

    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 20.0, (64, 48))
    for i in range(10):
        writer.write(np.full((48, 64, 3), i * 20, np.uint8))
    writer.release()
    rehab = str(Path(__file__).resolve().parents[1] / ".venv/bin/rehab")
    made = subprocess.run([rehab, "bag", "from-video", str(video), str(tmp_path / "b"),
                           "--storage", "sqlite3"], capture_output=True, text=True, timeout=60)
    assert made.returncode == 0, made.stderr
    info = subprocess.run([rehab, "bag", "info", str(tmp_path / "b")],
                          capture_output=True, text=True, timeout=60)
    assert info.returncode == 0, info.stderr
    assert "/camera/image_raw" in info.stdout and "10 msgs" in info.stdout
    assert "20.00 Hz" in info.stdout
    again = subprocess.run([rehab, "bag", "from-video", str(video), str(tmp_path / "b")],
                           capture_output=True, text=True, timeout=60)
    assert again.returncode == 2 and "exists" in again.stderr


def test_skeleton_bag_roundtrip(tmp_path):
    rng = np.random.default_rng(1)
    frames = [
        SkeletonFrame(
            stamp_ns=1_000_000_000 + i * 33_333_333, index=i, width=640, height=480,
            skeletons=[Skeleton("coco17", rng.random((17, 3)) * 100, np.array([1, 2, 30, 40]),
                                0.9, track_id=2)],
            main_track_id=2,
        )
        for i in range(8)
    ]
    assert write_skeleton_bag(tmp_path / "sk", frames) == 8
    assert input_kind(tmp_path / "sk") == "skeleton_bag"
    source = open_frame_source(str(tmp_path / "sk"))
    assert isinstance(source, SkeletonBagSource) and source.frame_count == 8
    back = list(source)
    assert [f.stamp_ns for f in back] == [f.stamp_ns for f in frames]
    assert back[3].main_track_id == 2 and back[3].width == 640
    np.testing.assert_allclose(back[3].skeletons[0].keypoints, frames[3].skeletons[0].keypoints,
                               rtol=1e-6)


def test_skeleton_bag_keeps_3d_joints_and_reads_bags_from_before_them(tmp_path):
    """3-D rows and their space go into the bag (a non-finite row as no 3-D); a bag written
    before Skeleton2D had 3-D (the first shipped sample, kept in test/data) still reads
    with its own definition."""
    k3 = np.tile(np.array([[0.25, -0.5, 2.0, 0.75]], np.float32), (17, 1))
    with_3d = Skeleton("coco17", np.full((17, 3), 5.0), np.array([1, 2, 30, 40]), 0.9,
                       track_id=2, keypoints_3d=k3, space_3d="model")
    with_3d.keypoints_3d[4, 1] = np.nan  # set past the constructor's check
    frame = SkeletonFrame(stamp_ns=1_000_000_000, index=0, width=64, height=48,
                          skeletons=[with_3d, Skeleton("coco17", np.full((17, 3), 6.0))])
    write_skeleton_bag(tmp_path / "sk", [frame])
    a, b = next(iter(SkeletonBagSource(tmp_path / "sk"))).skeletons
    assert a.space_3d == "model" and b.keypoints_3d is None and b.space_3d == ""
    assert (a.keypoints_3d[4] == 0.0).all()
    np.testing.assert_array_equal(np.delete(a.keypoints_3d, 4, 0), np.delete(k3, 4, 0))
    old = Path(__file__).resolve().parent / "data" / "skeleton_bag_before_3d"
    frames = list(SkeletonBagSource(old / "skeleton_bag_before_3d.mcap"))
    assert len(frames) == 596 and sum(bool(f.skeletons) for f in frames) > len(frames) // 2
    assert all(s.keypoints_3d is None for f in frames for s in f.skeletons)
    # the shipped sample now carries the pose model's 3-D (the default, fused path)
    sample = Path(__file__).resolve().parents[1] / "models" / "samples" / "squat_skeletons"
    people = [s for f in SkeletonBagSource(sample) for s in f.skeletons]
    assert sum(s.space_3d == "model" for s in people) > 0.9 * len(people)


def test_skeleton_bag_records_the_qos_our_publishers_offer(tmp_path):
    import yaml

    from rehab_core.io.rosbag2_metadata import check_rosbag2_metadata

    frame = SkeletonFrame(stamp_ns=1_000_000_000, index=0, width=64, height=48,
                          skeletons=[], main_track_id=-1)
    write_skeleton_bag(tmp_path / "sk", [frame])
    assert check_rosbag2_metadata(tmp_path / "sk", require_qos=True) == []
    info = yaml.safe_load((tmp_path / "sk" / "metadata.yaml").read_text())
    qos = info["rosbag2_bagfile_information"]["topics_with_message_count"][0]
    assert "reliability: 1" in qos["topic_metadata"]["offered_qos_profiles"]  # 1 = reliable


def test_bag_cli_skeletons_keep_the_pose_models_3d(shared_dir, tmp_path):
    """``rehab bag skeletons`` over real footage writes BlazePose's world landmarks beside
    the 2-D, so a replay of the bag reaches the fused classifier and 3-D angles."""
    from rehab_cli.main import main as rehab

    out = tmp_path / "squat_skeletons"
    assert rehab(["bag", "skeletons", str(shared_dir / "media/exercise/squat.mp4"), str(out),
                  "--max-frames", "48"]) == 0
    frames = list(SkeletonBagSource(out))
    people = [s for f in frames for s in f.skeletons]
    assert len(frames) == 48 and len(people) > 40
    assert all(s.keypoints_3d is not None and s.keypoints_3d.shape == (17, 4)
               and s.space_3d == "model" for s in people)
    assert all(f.main_track_id == f.skeletons[0].track_id for f in frames if f.skeletons)
