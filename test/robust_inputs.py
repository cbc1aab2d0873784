"""Hostile and damaged inputs for the robustness tests, made on the fly (nothing committed).

Every maker writes real files the stack reads the ordinary way: videos with
OpenCV, rosbag2 MCAP bags with rosbags (images in any encoding with any
stamps, possibly short or corrupt; skeletons with NaN / inf).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
REHAB = REPO_ROOT / ".venv" / "bin" / "rehab"

def _default_stack() -> Path:
    """The stack file `rehab run` uses by default (wherever the repository keeps it)."""
    from rehab_cli.commands.run import DEFAULT_PARAMS
    from rehab_core.paths import repo_file

    return repo_file(DEFAULT_PARAMS)


STACK = _default_stack()


def make_video(path: Path, frames: int, size: tuple[int, int] = (160, 120),
               fourcc: str = "mp4v") -> Path:
    """A moving disc on grey: decodable, cheap, nothing to detect."""
    w, h = size
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*fourcc), 30.0, (w, h))
    for i in range(frames):
        img = np.full((h, w, 3), 40, np.uint8)
        cv2.circle(img, (10 + i % (w - 20), h // 2), 8, (0, 200, 255), -1)
        writer.write(img)
    writer.release()
    return path


def cut_in_half(src: Path, dst: Path) -> Path:
    data = src.read_bytes()
    dst.write_bytes(data[: len(data) // 2])
    return dst


@dataclass
class RawImage:
    """One sensor_msgs/Image as a (possibly lying) driver would send it."""

    stamp_ns: int
    encoding: str
    width: int
    height: int
    step: int
    data: bytes


def _typestore():
    from rosbags.typesys import Stores, get_typestore

    return get_typestore(Stores.ROS2_HUMBLE)


def _header(types, stamp_ns: int):
    sec, nsec = divmod(int(stamp_ns), 1_000_000_000)
    return types["std_msgs/msg/Header"](
        stamp=types["builtin_interfaces/msg/Time"](sec=sec, nanosec=nsec), frame_id="camera")


def raw_image_bag(path: Path, images: Iterable[RawImage], topic: str = "/camera/image_raw") -> int:
    """A bag of Image messages written exactly as given (no checks); returns the count."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = _typestore()
    image_t = store.types["sensor_msgs/msg/Image"]
    n = 0
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(topic, image_t.__msgtype__, typestore=store)
        for i, im in enumerate(images):
            msg = image_t(header=_header(store.types, im.stamp_ns), height=im.height,
                          width=im.width, encoding=im.encoding, is_bigendian=0, step=im.step,
                          data=np.frombuffer(im.data, np.uint8))
            # receive time strictly increasing: the bag order is the publish order
            writer.write(conn, 1_000_000 * (i + 1), store.serialize_cdr(msg, image_t.__msgtype__))
            n += 1
    return n


def jpeg_bag(path: Path, frames: int, corrupt: Sequence[int], size=(160, 120)) -> int:
    """CompressedImage JPEGs, those at indices ``corrupt`` cut to 20 bytes."""
    from rosbags.rosbag2 import StoragePlugin, Writer

    store = _typestore()
    msg_t = store.types["sensor_msgs/msg/CompressedImage"]
    rng = np.random.default_rng(7)
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection("/camera/image_raw/compressed", msg_t.__msgtype__,
                                     typestore=store)
        for i in range(frames):
            img = rng.integers(0, 255, (size[1], size[0], 3), np.uint8)
            data = cv2.imencode(".jpg", img)[1].reshape(-1)
            if i in corrupt:
                data = data[:20]
            msg = msg_t(header=_header(store.types, (i + 1) * 100_000_000), format="jpeg",
                        data=data)
            writer.write(conn, (i + 1) * 100_000_000, store.serialize_cdr(msg, msg_t.__msgtype__))
    return frames


def skeleton_bag(path: Path, keypoint_rows: Sequence[np.ndarray], stamps: Sequence[int],
                 boxes: Sequence[Sequence[float]] | None = None,
                 scores: Sequence[float] | None = None) -> int:
    """A Skeleton2DArray bag, one skeleton (coco17) per message, values written as given.

    Messages are received in list order (receive time = index), whatever their
    header stamps, so duplicate and out-of-order stamps reach the graph as such.
    """
    from rosbags.rosbag2 import StoragePlugin, Writer

    from rehab_core.io.skeleton_bag import DEFAULT_TOPIC, SKELETON_ARRAY_TYPE, typestore

    store = typestore()
    t = store.types
    with Writer(path, version=8, storage_plugin=StoragePlugin.MCAP) as writer:
        conn = writer.add_connection(DEFAULT_TOPIC, SKELETON_ARRAY_TYPE, typestore=store)
        for i, (kp, stamp) in enumerate(zip(keypoint_rows, stamps)):
            x1, y1, x2, y2 = (float(v) for v in (boxes[i] if boxes else (0, 0, 10, 10)))
            skeleton = t["rehab_interfaces/msg/Skeleton2D"](
                layout="coco17", track_id=1, score=float(scores[i] if scores else 0.9),
                box=t["rehab_interfaces/msg/BoundingBox2D"](x_min=x1, y_min=y1, x_max=x2,
                                                             y_max=y2),
                keypoints=[t["rehab_interfaces/msg/Keypoint2D"](x=float(x), y=float(y),
                                                                 score=float(c))
                           for x, y, c in np.asarray(kp, np.float64)],
                keypoints_3d=[], space_3d="")  # 2-D only
            msg = t[SKELETON_ARRAY_TYPE](header=_header(t, stamp), image_width=640,
                                         image_height=480, skeletons=[skeleton], main_track_id=1)
            writer.write(conn, (i + 1) * 1_000_000, store.serialize_cdr(msg, SKELETON_ARRAY_TYPE))
    return len(keypoint_rows)


def strict_json(text: str):
    """``json.loads`` that refuses NaN / Infinity, as strict readers do."""
    def refuse(name: str):
        raise ValueError(f"non-finite {name} in JSON")

    return json.loads(text, parse_constant=refuse)


def strict_jsonl(path: Path) -> list:
    return [strict_json(line) for line in path.read_text().splitlines() if line.strip()]


def all_finite(value) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, dict):
        return all(all_finite(v) for v in value.values())
    if isinstance(value, list):
        return all(all_finite(v) for v in value)
    return True
