"""Skeleton streams as rosbag2 files of ``rehab_interfaces/msg/Skeleton2DArray``.

Why: a bag of skeletons is the smallest honest sample of real footage the
repository can ship (numbers our own pose model extracted, no third-party
pixels), and it replays through the same graph from the tracker on. The
message definitions are read from the ``.msg`` files so the bag carries the
exact types ``ros2 bag info`` / ``ros2 bag play`` expect on a real install.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from rehab_core.errors import InputSourceError
from rehab_core.paths import repo_file
from rehab_core.types import Skeleton

SKELETON_ARRAY_TYPE = "rehab_interfaces/msg/Skeleton2DArray"
DEFAULT_TOPIC = "/skeletons"


def _msg_dirs() -> list[Path]:
    """Where rehab_interfaces' .msg files are: the checkout, or an install's share/."""
    candidates = [repo_file("ros2_ws/src/rehab_interfaces/msg")]
    candidates.append(Path(sys.prefix) / "share" / "rehab_interfaces" / "msg")
    return [c for c in candidates if c.is_dir()]


@lru_cache(maxsize=1)
def typestore():
    """A rosbags typestore that knows ROS 2 Humble's types plus ours."""
    from rosbags.typesys import Stores, get_types_from_msg, get_typestore

    store = get_typestore(Stores.ROS2_HUMBLE)
    dirs = _msg_dirs()
    if not dirs:
        raise InputSourceError("rehab_interfaces .msg files not found (is the workspace built?)")
    types = {}
    for path in sorted(dirs[0].glob("*.msg")):
        types.update(get_types_from_msg(path.read_text(), f"rehab_interfaces/msg/{path.stem}"))
    store.register(types)
    return store


@dataclass
class SkeletonFrame:
    """The skeletons of one source frame, as read back from a bag."""

    stamp_ns: int
    index: int
    width: int
    height: int
    skeletons: list[Skeleton]
    main_track_id: int = -1


def is_skeleton_bag(path: str | Path) -> bool:
    """True when a bag holds a Skeleton2DArray topic (and can skip the pose stage)."""
    from rehab_core.io.bag import bag_topics, is_bag

    if not is_bag(path):
        return False
    topics, _, _ = bag_topics(path)
    return any(t.msgtype == SKELETON_ARRAY_TYPE for t in topics)


def write_skeleton_bag(
    path: str | Path,
    frames: Iterable[SkeletonFrame],
    topic: str = DEFAULT_TOPIC,
    storage: str = "mcap",
) -> int:
    """Write skeleton frames to a new rosbag2; returns the number of messages.

    The topic records the QoS our skeleton publishers offer (reliable, keep
    last 10), so ``ros2 bag play`` republishes it the same way.
    """
    from rosbags.rosbag2 import Writer

    from rehab_core.io.bag import storage_plugin
    from rehab_core.io.bag_qos import TopicQos

    store = typestore()
    t = store.types
    count = 0
    with Writer(Path(path), version=8, storage_plugin=storage_plugin(storage)) as writer:
        conn = writer.add_connection(topic, SKELETON_ARRAY_TYPE, typestore=store,
                                     offered_qos_profiles=[TopicQos(depth=10).to_rosbags()])
        for frame in frames:
            sec, nsec = divmod(int(frame.stamp_ns), 1_000_000_000)
            skeletons = []
            for s in frame.skeletons:
                x1, y1, x2, y2 = (float(v) for v in s.box)
                skeletons.append(t["rehab_interfaces/msg/Skeleton2D"](
                    layout=s.layout,
                    track_id=int(s.track_id),
                    score=float(s.score),
                    box=t["rehab_interfaces/msg/BoundingBox2D"](
                        x_min=x1, y_min=y1, x_max=x2, y_max=y2),
                    keypoints=[
                        t["rehab_interfaces/msg/Keypoint2D"](x=float(x), y=float(y), score=float(c))
                        for x, y, c in s.keypoints
                    ],
                    keypoints_3d=_keypoints_3d(t, s),
                    space_3d=s.space_3d if s.keypoints_3d is not None else "",
                ))
            msg = t[SKELETON_ARRAY_TYPE](
                header=t["std_msgs/msg/Header"](
                    stamp=t["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec),
                    frame_id="camera",
                ),
                image_width=int(frame.width),
                image_height=int(frame.height),
                skeletons=skeletons,
                main_track_id=int(frame.main_track_id),
            )
            writer.write(conn, int(frame.stamp_ns), store.serialize_cdr(msg, SKELETON_ARRAY_TYPE))
            count += 1
    return count


def _keypoints_3d(types: dict, s: Skeleton) -> list:
    """A skeleton's 3-D rows as rosbags messages; a non-finite row is sent as no 3-D."""
    if s.keypoints_3d is None:
        return []
    make = types["rehab_interfaces/msg/Keypoint3D"]
    return [make(x=float(x), y=float(y), z=float(z), score=float(c))
            if np.isfinite((x, y, z, c)).all() else make(x=0.0, y=0.0, z=0.0, score=0.0)
            for x, y, z, c in s.keypoints_3d]


def _skeleton(s) -> Skeleton:
    """A deserialised Skeleton2D -> Skeleton; bags written before 3-D was added have none."""
    k3 = getattr(s, "keypoints_3d", None)
    return Skeleton(
        layout=s.layout,
        keypoints=np.array([(k.x, k.y, k.score) for k in s.keypoints], np.float32).reshape(-1, 3),
        box=np.array([s.box.x_min, s.box.y_min, s.box.x_max, s.box.y_max]),
        score=s.score,
        track_id=s.track_id,
        keypoints_3d=np.array([(k.x, k.y, k.z, k.score) for k in k3], np.float32).reshape(-1, 4)
        if k3 else None,
        space_3d=s.space_3d if k3 else "",
    )


class SkeletonBagSource:
    """Iterate over the skeleton frames of a bag (the replacement for image frames)."""

    def __init__(self, path: str | Path, topic: str | None = None, max_frames: int | None = None):
        from rehab_core.io.bag import bag_topics

        self.path = Path(path)
        self.name = self.path.stem
        self.max_frames = max_frames
        self.is_live = False
        topics, duration_s, _ = bag_topics(self.path)
        matches = [x for x in topics if x.msgtype == SKELETON_ARRAY_TYPE
                   and (topic is None or x.name == topic)]
        if not matches:
            raise InputSourceError(f"bag {self.path} has no {SKELETON_ARRAY_TYPE} topic")
        self.topic = matches[0].name
        self.frame_count = matches[0].count
        if self.frame_count == 0:
            raise InputSourceError(f"bag {self.path} topic {self.topic} has no messages")
        self.fps = (self.frame_count - 1) / duration_s if duration_s > 0 else 0.0

    def __iter__(self) -> Iterator[SkeletonFrame]:
        from rehab_core.io.bag import open_bag

        store = typestore()
        with open_bag(self.path, default_typestore=store) as reader:
            conns = [c for c in reader.connections if c.topic == self.topic]
            for index, (conn, recv_ns, raw) in enumerate(reader.messages(connections=conns)):
                if self.max_frames is not None and index >= self.max_frames:
                    return
                # the bag's own definitions (a bag from before 3-D joints still reads)
                msg = reader.deserialize(raw, conn.msgtype)
                stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
                skeletons = [_skeleton(s) for s in msg.skeletons]
                yield SkeletonFrame(stamp or recv_ns, index, msg.image_width, msg.image_height,
                                    skeletons, msg.main_track_id)
