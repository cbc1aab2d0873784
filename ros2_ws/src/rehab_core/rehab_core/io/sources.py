"""One entry point for every input the stack takes: video file, rosbag2, camera,
skeleton file.

``open_frame_source`` decides by the spec's shape (a digit string is a camera
index, ``scheme://...`` a network stream such as an IP camera's RTSP URL, a
directory with metadata.yaml or a .mcap/.db3 file is a bag, a .npz file is a
skeleton file of ``skeleton_store``, anything else a video) and
fails at open time with an ``InputSourceError`` whose message is one line a
user can act on.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Protocol

from rehab_core.errors import InputSourceError
from rehab_core.io.bag import BagFrameSource, is_bag
from rehab_core.io.skeleton_bag import SkeletonBagSource, is_skeleton_bag
from rehab_core.io.skeleton_store import SkeletonFileSource
from rehab_core.io.video import VideoSource
from rehab_core.types import Frame


class FrameSource(Protocol):
    """What the image source needs from any input."""

    name: str
    fps: float
    frame_count: int
    is_live: bool

    def __iter__(self) -> Iterator[Frame]: ...


def input_kind(spec: str | int) -> str:
    """"camera", "stream", "skeleton_bag", "skeleton_file", "bag" or "video" for an input.

    A skeleton bag (Skeleton2DArray messages) or skeleton file (.npz) enters the
    graph after the pose stage (``SKELETON_KINDS``); everything else yields images.
    """
    if isinstance(spec, int) or str(spec).isdigit():
        return "camera"
    if re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", str(spec)):
        return "stream"
    if is_bag(spec):
        return "skeleton_bag" if is_skeleton_bag(spec) else "bag"
    if str(spec).endswith(".npz"):
        return "skeleton_file"
    return "video"


#: input kinds that carry skeletons instead of images (the graph starts at the tracker)
SKELETON_KINDS = ("skeleton_bag", "skeleton_file")
#: live inputs: opened once, by the image source (never probed ahead of it)
LIVE_KINDS = ("camera", "stream")


def open_frame_source(
    spec: str | int,
    max_frames: int | None = None,
    topic: str | None = None,
    frame_id: str = "camera",
) -> FrameSource:
    """Open a video, bag or camera; raise InputSourceError with one clear line.

    Image inputs yield ``Frame``; a skeleton bag or file yields ``SkeletonFrame``.
    """
    if spec is None or str(spec).strip() == "":
        raise InputSourceError("no input given (a video file, a camera index or a rosbag2)")
    kind = input_kind(spec)
    if kind == "camera":
        return VideoSource(int(spec), frame_id=frame_id, max_frames=max_frames)
    if kind == "stream":
        return VideoSource(str(spec), frame_id=frame_id, max_frames=max_frames)
    path = Path(spec)
    if not path.exists():
        raise InputSourceError(f"input not found: {path}")
    if kind == "skeleton_bag":
        return SkeletonBagSource(path, topic=topic, max_frames=max_frames)
    if kind == "skeleton_file":
        return SkeletonFileSource(path, max_frames=max_frames)
    if kind == "bag":
        return BagFrameSource(path, topic=topic, max_frames=max_frames)
    if path.is_dir():
        raise InputSourceError(f"{path} is a directory but not a rosbag2 (no metadata.yaml)")
    return VideoSource(path, frame_id=frame_id, max_frames=max_frames)
