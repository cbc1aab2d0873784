"""Image source: a video file, camera or rosbag2 -> ``image`` (sensor_msgs/Image).

A bag of ``rehab_interfaces/Skeleton2DArray`` (e.g. the shipped sample) or a
skeleton file (``.npz``, ``rehab_core.io.skeleton_store``) is replayed on
``skeletons`` instead, for a graph that starts at the tracker (3-D keypoints
included when the input has them).

``input: topic:/camera/image_raw`` follows a live camera driver's topic
instead: raw ``sensor_msgs/Image`` in any encoding of the stack's table, or,
with ``transport: compressed`` or a topic named ``.../compressed``, the
compressed topic (JPEG/PNG as image_transport publishes it). Either is
decoded once here and handed to the stages in-process. Frames that arrive
while the graph still works on the previous one are skipped, latest wins, and
counted ("skipped" in diagnostics).

Frames keep their source stamp (video position, bag header stamp, camera
clock) so every downstream output can be matched to its frame. ``pacing``
"realtime" plays at the source frame rate; "fast" publishes as fast as the
stages behind it take frames (in the container the hand-off is synchronous,
so replaying a file this way drops nothing).
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from rehab_core.errors import BadFrameError, ConfigError, RehabError
from rehab_core.io.skeleton_bag import SkeletonBagSource, SkeletonFrame
from rehab_core.io.skeleton_store import SkeletonFileSource
from rehab_core.io.sources import FrameSource, open_frame_source
from rehab_core.types import Frame
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.diagnostics import INPUT_ENDED
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for


@dataclass(frozen=True)
class ImageSourceConfig:
    input: str
    bag_topic: str
    pacing: str
    fps: float
    frame_id: str
    max_frames: int
    wait_for_consumers: int
    stamp_clock: str
    transport: str
    image_qos: str


class ImageSourceNode(LifecycleComponent):
    DEFAULT_NAME = "image_source"
    Config = ImageSourceConfig
    PARAMS = (
        ParamSpec("input", "", "video file, camera index (e.g. '0'), stream URL (e.g. an IP "
                  "camera's rtsp://...), rosbag2 path, skeleton file (.npz), or "
                  "'topic:/camera/image_raw' for a live camera driver's topic"),
        ParamSpec("bag_topic", "", "image topic to read from a bag ('' = the first image topic)"),
        ParamSpec("pacing", "realtime", "realtime: source frame rate; fast: as fast as consumed",
                  choices=("realtime", "fast")),
        ParamSpec("fps", 0.0, "realtime rate override (0 = the source's own rate)", 0.0, 1000.0),
        ParamSpec("frame_id", "camera", "frame_id of the published images"),
        ParamSpec("max_frames", 0, "stop after this many frames (0 = all)", 0, 10**9),
        ParamSpec("wait_for_consumers", 0,
                  "hold the first frame until this many consumers (in-process or ROS) listen; "
                  "replaying a file then loses no frame to discovery", 0, 1000),
        ParamSpec("stamp_clock", "source",
                  "source: the video position / bag / camera stamp; wall: the capture time "
                  "(live use: every stage then reports its age = end-to-end latency)",
                  choices=("source", "wall")),
        ParamSpec("transport", "raw", "live topic: raw sensor_msgs/Image, or compressed: "
                  "<topic>/compressed (JPEG/PNG, image_transport style)",
                  choices=("raw", "compressed")),
        ParamSpec("image_qos", "sensor_data", "QoS of the live subscription and of the image "
                  "output: sensor_data (best effort, matches any driver) or reliable",
                  choices=codecs.IMAGE_QOS_CHOICES),
    )

    LIVE_PREFIX = "topic:"

    def configure(self, cfg: ImageSourceConfig) -> None:
        self.finished = threading.Event()
        self.frames_published = 0
        self.skeleton_input = False
        self.live_topic = ""
        self._last_live_stamp = -1
        if cfg.input.startswith(self.LIVE_PREFIX):
            self.live_topic = cfg.input[len(self.LIVE_PREFIX):].strip()
            if not self.live_topic:
                raise ConfigError("input 'topic:' needs a topic name, e.g. topic:/camera/image_raw")
            self._source = None
            self.out_image = self.create_output("image", codecs.IMAGE,
                                                codecs.image_qos(cfg.image_qos))
            return
        self._source: FrameSource = open_frame_source(
            cfg.input, topic=cfg.bag_topic or None, frame_id=cfg.frame_id,
            max_frames=cfg.max_frames or None,
        )
        if hasattr(self._source, "on_bad_frame"):  # a bag message that cannot be decoded
            self._source.on_bad_frame = lambda reason: self.diag.drop(f"bad frame: {reason}")
        self._frames = iter(self._source)
        self.skeleton_input = isinstance(self._source, (SkeletonBagSource, SkeletonFileSource))
        if self.skeleton_input:
            self.out_image = self.create_output("skeletons", codecs.SKELETONS)
        else:
            self.out_image = self.create_output("image", codecs.IMAGE)

    def activate(self) -> None:
        cfg = self.config
        if self.live_topic:
            # topic:/camera/image_raw/compressed names the compressed topic itself: a raw
            # subscription on it would match nothing and never say why
            named = self.live_topic.rstrip("/").endswith("/compressed")
            compressed = cfg.transport == "compressed" or named
            topic = f"{self.live_topic.rstrip('/')}/compressed" if compressed and not named \
                else self.live_topic
            codec = codecs.COMPRESSED_IMAGE if compressed else codecs.IMAGE
            # stamps are checked in on_live_frame: a driver that leaves them zero is stamped here
            self.create_input(topic, codec, self.on_live_frame, check_stamps=False,
                              qos=codecs.image_qos(cfg.image_qos), latest_wins=True)
            return
        if cfg.pacing == "fast":
            period = 0.0
        else:
            fps = cfg.fps or float(getattr(self._source, "fps", 0.0)) or 30.0
            period = 1.0 / fps
        self._timer = self.create_component_timer(period, self.publish_next)

    def publish_next(self) -> bool:
        """Read and publish one frame; at the end of the input stop and set ``finished``."""
        if not self.is_active or self.finished.is_set():
            return False
        if self.frames_published == 0 and self.consumers() < self.config.wait_for_consumers:
            return True
        started = time.perf_counter()
        self.take_downstream()
        try:
            frame = next(self._frames, None)
        except RehabError as err:
            self.diag.drop(f"unreadable frame: {err}")
            return True
        if frame is None:
            self.get_logger().info(f"input ended after {self.frames_published} frames")
            self._timer.cancel()
            self.finished.set()
            self.diag.count(INPUT_ENDED)  # the manager's end_of_input policy reads it
            return False
        if self.config.stamp_clock == "wall":
            frame.stamp_ns = time.time_ns()
        if isinstance(frame, SkeletonFrame):
            frame = codecs.SkeletonsPayload(frame.stamp_ns, self.config.frame_id, frame.width,
                                              frame.height, frame.skeletons, frame.main_track_id)
        self.out_image.publish(frame)
        self.frames_published += 1
        self.diag.frame_done(frame.stamp_ns, started, self.take_downstream())
        return True

    def on_live_frame(self, frame: Frame) -> None:
        """One decoded frame of the live topic -> ``image`` (the guard counts and times it).

        A zero header stamp (some drivers) becomes the receive time; a stamp that does
        not increase is dropped with its reason, as every stage does.
        """
        if self.config.stamp_clock == "wall" or frame.stamp_ns == 0:
            frame.stamp_ns = time.time_ns()
        if frame.stamp_ns <= self._last_live_stamp:
            raise BadFrameError(f"stamp {frame.stamp_ns} does not increase (last "
                                f"{self._last_live_stamp})")
        self._last_live_stamp = frame.stamp_ns
        frame.index = self.frames_published
        self.out_image.publish(frame)
        self.frames_published += 1

    def input_status(self) -> dict[str, Any]:
        """What the open input says of itself: its rate, frames announced and decoded, and
        whether it ended before its announced length (a truncated file)."""
        src = getattr(self, "_source", None)
        return {"fps": float(getattr(src, "fps", 0.0) or 0.0),
                "ended_early": bool(getattr(src, "ended_early", False)),
                "decoded": getattr(src, "_index", "?"),
                "announced": getattr(src, "frame_count", "?")}

    def consumers(self) -> int:
        """In-process consumers plus ROS subscribers of the image output."""
        out = self.out_image
        local = self.bus.consumer_count(out.topic) if self.bus is not None else 0
        return local + out.publisher.get_subscription_count()

    def cleanup(self) -> None:
        source = getattr(self, "_source", None)
        if source is not None:
            if hasattr(source, "close"):
                source.close()
            self._source = None
            self._frames = iter(())


main = main_for(ImageSourceNode)
