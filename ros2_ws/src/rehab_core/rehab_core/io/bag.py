"""rosbag2 (sqlite3 or MCAP) read and write without ROS, via the ``rosbags`` library.

rosbag2_py is not installable from PyPI; ``rosbags`` reads and writes the same
on-disk format (``metadata.yaml`` + storage files), so bags made here open with
``ros2 bag info`` on a real install and vice versa.

``BagFrameSource`` yields ``Frame`` objects from a bag's ``sensor_msgs/Image``
(or ``CompressedImage``) topic, stamped with the message header stamp (the
camera's time), falling back to the bag receive time when the header is zero.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rehab_core.errors import BadFrameError, InputSourceError
from rehab_core.types import Frame
from rehab_core.vision import encodings

IMAGE_TYPES = ("sensor_msgs/msg/Image", "sensor_msgs/msg/CompressedImage")


def is_bag(path: str | Path) -> bool:
    """A rosbag2 directory (with metadata.yaml) or a bare .mcap / .db3 file."""
    p = Path(path)
    if p.is_dir():
        return (p / "metadata.yaml").is_file()
    return p.suffix in (".mcap", ".db3")


@contextmanager
def open_bag(path: str | Path, default_typestore=None) -> Iterator:
    """An opened ``rosbags`` AnyReader; any failure becomes one InputSourceError."""
    try:
        from rosbags.highlevel import AnyReader
        from rosbags.rosbag2 import Reader as Rosbag2Reader
    except ImportError as err:  # pragma: no cover - rosbags is in the pinned stack
        raise InputSourceError("reading bags needs the 'rosbags' package (pip install rosbags)") \
            from err
    path = Path(path)
    if not path.exists():
        raise InputSourceError(f"bag not found: {path}")
    try:
        reader = AnyReader([path], default_typestore=default_typestore)
        if path.is_dir() and not reader.is2:
            # AnyReader takes any "*.bag" path for ROS 1; a rosbag2 directory may be named so.
            reader.is2, reader.readers = True, [Rosbag2Reader(path)]
        reader.open()
    except Exception as err:  # rosbags raises several unrelated types
        raise InputSourceError(f"cannot open bag {path}: {err}") from err
    try:
        yield reader
    finally:
        reader.close()


@dataclass(frozen=True)
class BagTopic:
    name: str
    msgtype: str
    count: int


class BagFrameSource:
    """Iterate over the images of one topic of a rosbag2.

    ``topic`` may be omitted when the bag has exactly one image topic.
    Raises ``InputSourceError`` for a missing or unreadable bag, a bag with no
    image topic (or several and none chosen) and an empty image topic. A
    message that cannot be decoded (unknown encoding, short data) is skipped and
    reported to ``on_bad_frame``, so the replay goes on.
    """

    def __init__(self, path: str | Path, topic: str | None = None, max_frames: int | None = None):
        self.path = Path(path)
        self.max_frames = max_frames
        self.name = self.path.stem
        with open_bag(self.path) as reader:
            images = [c for c in reader.connections if c.msgtype in IMAGE_TYPES]
            if topic is not None:
                images = [c for c in images if c.topic == topic]
            topics = sorted({c.topic for c in images})
            if not topics:
                what = f"image topic {topic!r}" if topic else "image topic (sensor_msgs/Image)"
                raise InputSourceError(f"bag {self.path} has no {what}")
            if len(topics) > 1:
                raise InputSourceError(
                    f"bag {self.path} has several image topics {topics}; pick one with --topic"
                )
            self.topic = topics[0]
            self.frame_count = sum(c.msgcount for c in images)
            if self.frame_count == 0:
                raise InputSourceError(f"bag {self.path} topic {self.topic} has no messages")
            duration_s = max(reader.duration * 1e-9, 1e-9)
        self.fps = (self.frame_count - 1) / duration_s if self.frame_count > 1 else 0.0
        self.is_live = False
        #: messages skipped as undecodable; ``on_bad_frame(reason)`` hears of each
        self.bad_frames = 0
        self.on_bad_frame: Callable[[str], None] | None = None

    def __iter__(self) -> Iterator[Frame]:
        with open_bag(self.path) as reader:
            connections = [c for c in reader.connections if c.topic == self.topic]
            for index, (conn, recv_ns, raw) in enumerate(reader.messages(connections=connections)):
                if self.max_frames is not None and index >= self.max_frames:
                    return
                msg = reader.deserialize(raw, conn.msgtype)
                stamp_ns = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
                try:
                    image, encoding = _decode(msg, conn.msgtype)
                except BadFrameError as err:  # one bad message must not end the replay
                    self.bad_frames += 1
                    if self.on_bad_frame is not None:
                        self.on_bad_frame(f"bag message {index}: {err}")
                    continue
                yield Frame(
                    image=image,
                    stamp_ns=stamp_ns or recv_ns,
                    index=index,
                    encoding=encoding,
                    frame_id=msg.header.frame_id or "camera",
                )


def _decode(msg, msgtype: str) -> tuple[np.ndarray, str]:
    """Image or CompressedImage message -> (array, encoding) via the stack's encoding table.

    Native 8-bit encodings stay a view; others are converted to bgr8 once. An
    unknown encoding or short data raises BadFrameError, which the image source
    counts as a dropped frame.
    """
    if msgtype.endswith("CompressedImage"):
        return encodings.decode_compressed(msg.data, msg.format)
    return encodings.decode_buffer(msg.data, msg.encoding, msg.width, msg.height, msg.step,
                                   bool(msg.is_bigendian))


def bag_topics(path: str | Path) -> tuple[list[BagTopic], float, int]:
    """Topics with counts, duration (s) and start time (ns) of a bag."""
    with open_bag(path) as reader:
        counts: dict[tuple[str, str], int] = {}
        for c in reader.connections:
            key = (c.topic, c.msgtype)
            counts[key] = counts.get(key, 0) + c.msgcount
        topics = [BagTopic(t, m, n) for (t, m), n in sorted(counts.items())]
        return topics, reader.duration * 1e-9, reader.start_time


def storage_plugin(storage: str):
    """rosbags' storage plugin for a rosbag2 storage id ("mcap" or "sqlite3")."""
    from rosbags.rosbag2 import StoragePlugin

    plugins = {"mcap": StoragePlugin.MCAP, "sqlite3": StoragePlugin.SQLITE3}
    if storage not in plugins:
        raise InputSourceError(f"unknown bag storage {storage!r}; use one of {sorted(plugins)}")
    return plugins[storage]


def write_image_bag(
    path: str | Path,
    frames: Iterable[Frame],
    topic: str = "/camera/image_raw",
    storage: str = "mcap",
    camera_info_topic: str | None = "/camera/camera_info",
    encoding: str | None = None,
    row_padding: int = 0,
    big_endian: bool = False,
) -> int:
    """Write frames as sensor_msgs/Image (+ CameraInfo) to a new rosbag2; returns the count.

    ``encoding`` (any of ``rehab_core.vision.encodings``) converts each frame
    to what that camera driver would send (None: the frame's own encoding);
    ``row_padding`` bytes are added to each row (``step`` > row) and 16-bit
    data is written big-endian when ``big_endian``, as some drivers do.

    The receive time is the frame stamp, so the bag replays at the source's
    timing. ``storage`` is "mcap" (default, as rosbag2 since Iron) or "sqlite3".
    CameraInfo carries the size with an all-zero K: uncalibrated, per REP-104.
    Both topics record the sensor-data QoS our image source offers (best
    effort, keep last 5), so ``ros2 bag play`` republishes them as a camera would.
    """
    from rosbags.rosbag2 import Writer
    from rosbags.typesys import Stores, get_typestore

    from rehab_core.io.bag_qos import SENSOR_DATA_QOS

    plugin = storage_plugin(storage)
    store = get_typestore(Stores.ROS2_HUMBLE)
    types = store.types
    image_t, info_t = types["sensor_msgs/msg/Image"], types["sensor_msgs/msg/CameraInfo"]
    count = 0
    qos = [SENSOR_DATA_QOS.to_rosbags()]
    with Writer(Path(path), version=8, storage_plugin=plugin) as writer:
        conn = writer.add_connection(topic, image_t.__msgtype__, typestore=store,
                                     offered_qos_profiles=qos)
        info_conn = None
        if camera_info_topic:
            info_conn = writer.add_connection(camera_info_topic, info_t.__msgtype__,
                                              typestore=store, offered_qos_profiles=qos)
        for frame in frames:
            image, enc = _as_encoding(frame, encoding)
            rows = image.reshape(image.shape[0], -1).view(np.uint8)
            if big_endian and image.dtype.itemsize > 1:
                rows = image.astype(image.dtype.newbyteorder(">")).reshape(
                    image.shape[0], -1).view(np.uint8)
            if row_padding:
                rows = np.pad(rows, ((0, 0), (0, int(row_padding))))
            sec, nsec = divmod(int(frame.stamp_ns), 1_000_000_000)
            header = types["std_msgs/msg/Header"](
                stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec),
                frame_id=frame.frame_id,
            )
            msg = image_t(
                header=header,
                height=image.shape[0] * enc.rows_den // enc.rows_num,
                width=image.shape[1],
                encoding=enc.name,
                is_bigendian=int(big_endian and image.dtype.itemsize > 1),
                step=rows.shape[1],
                data=np.ascontiguousarray(rows).reshape(-1),
            )
            writer.write(conn, int(frame.stamp_ns), store.serialize_cdr(msg, image_t.__msgtype__))
            if info_conn is not None:
                info = _camera_info(types, header, msg.width, msg.height)
                writer.write(info_conn, int(frame.stamp_ns),
                             store.serialize_cdr(info, info_t.__msgtype__))
            count += 1
    return count


def _as_encoding(frame: Frame, encoding: str | None) -> tuple[np.ndarray, encodings.Encoding]:
    """The frame's pixels as an unpadded array in ``encoding`` (None: its own)."""
    if encoding is None:
        return np.ascontiguousarray(frame.image), encodings.lookup(frame.encoding)
    from rehab_core.vision.image import as_bgr8

    bgr = as_bgr8(frame.image, frame.encoding)
    return encodings.bgr8_to_array(bgr, encoding), encodings.lookup(encoding)


def _camera_info(types, header, width: int, height: int):
    zeros9, zeros12 = np.zeros(9, np.float64), np.zeros(12, np.float64)
    return types["sensor_msgs/msg/CameraInfo"](
        header=header, height=height, width=width, distortion_model="",
        d=np.zeros(0, np.float64), k=zeros9, r=zeros9, p=zeros12, binning_x=0, binning_y=0,
        roi=types["sensor_msgs/msg/RegionOfInterest"](
            x_offset=0, y_offset=0, height=0, width=0, do_rectify=False),
    )
