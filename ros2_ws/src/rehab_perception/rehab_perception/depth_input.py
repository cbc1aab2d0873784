"""The pose estimator's optional depth input: aligned depth + camera_info, matched by stamp.

A depth camera driver (realsense2_camera ``aligned_depth_to_color``, depthai,
...) publishes depth images aligned to the colour image and their
``camera_info``. Depth messages are kept in a short buffer (raw, decoded only
when matched) on their own callback group, so they arrive while the model
runs; a colour frame is matched to the depth with the same stamp ("exact") or
the nearest within a tolerance ("approximate", as message_filters'
ApproximateTime for two topics). A frame with no match is still published,
2-D only (counted as "no_depth" in diagnostics): depth is an addition, never
a reason to stall the stream.
"""

from __future__ import annotations

import threading
from collections import deque
from typing import TYPE_CHECKING

import numpy as np
from rclpy.callback_groups import MutuallyExclusiveCallbackGroup
from sensor_msgs.msg import CameraInfo, Image

from rehab_core.errors import ConfigError, RehabError
from rehab_core.pose.depth import CameraIntrinsics, depth_from_buffer
from rehab_runtime import codecs
from rehab_runtime.conversions import stamp_to_ns

if TYPE_CHECKING:
    from rehab_runtime.component import LifecycleComponent

_BUFFER = 30  # about one second of depth at 30 fps


def camera_info_topic_for(depth_topic: str) -> str:
    """``/cam/aligned_depth_to_color/image_raw`` -> ``/cam/aligned_depth_to_color/camera_info``."""
    head, _sep, _name = depth_topic.rstrip("/").rpartition("/")
    return f"{head}/camera_info" if _sep else "camera_info"


class DepthInput:
    """Depth + camera_info subscriptions; ``match(stamp_ns)`` -> (metres, intrinsics, frame_id)."""

    def __init__(self, node: LifecycleComponent, depth_topic: str, info_topic: str,
                 sync: str, tolerance_s: float, qos_name: str) -> None:
        self.node = node
        self.exact = sync == "exact"
        self.tolerance_ns = int(tolerance_s * 1e9)
        self._cond = threading.Condition()
        self._depth: deque[tuple[int, Image]] = deque(maxlen=_BUFFER)
        self._info: CameraIntrinsics | None = None
        self._info_error = ""
        group = MutuallyExclusiveCallbackGroup()
        qos = codecs.image_qos(qos_name)
        self._subs = [
            node.create_subscription(Image, depth_topic, self._on_depth, qos,
                                     callback_group=group),
            node.create_subscription(CameraInfo, info_topic, self._on_info, qos,
                                     callback_group=group),
        ]

    def _on_depth(self, msg: Image) -> None:
        with self._cond:
            self._depth.append((stamp_to_ns(msg.header.stamp), msg))
            self._cond.notify_all()

    def _on_info(self, msg: CameraInfo) -> None:
        try:
            info = CameraIntrinsics.from_k(list(msg.k), msg.width, msg.height)
        except ConfigError as err:
            if str(err) != self._info_error:
                self._info_error = str(err)
                self.node.get_logger().warning(f"depth ignored: {err}")
            return
        with self._cond:
            self._info = info

    def _find(self, stamp_ns: int) -> Image | None:
        best, best_dt = None, None
        for stamp, msg in self._depth:
            dt = abs(stamp - stamp_ns)
            if (dt == 0 or (not self.exact and dt <= self.tolerance_ns)) and \
                    (best_dt is None or dt < best_dt):
                best, best_dt = msg, dt
        return best

    def match(self, stamp_ns: int) -> tuple[np.ndarray, CameraIntrinsics, str] | None:
        """The depth (m) for a colour stamp, or None (counted) when none matches in time.

        Waits up to the tolerance (at least 20 ms) for a depth image still in flight.
        """
        wait_s = max(self.tolerance_ns * 1e-9, 0.02)
        with self._cond:
            self._cond.wait_for(lambda: self._find(stamp_ns) is not None, timeout=wait_s)
            msg, info = self._find(stamp_ns), self._info
        if msg is None or info is None:
            self.node.diag.count("no_depth" if info is not None else "no_camera_info")
            return None
        try:
            depth = depth_from_buffer(msg.data, msg.encoding, msg.width, msg.height, msg.step,
                                      bool(msg.is_bigendian))
        except RehabError as err:
            self.node.diag.count("bad_depth")
            self.node.get_logger().warning(f"depth image refused: {err}",
                                           throttle_duration_sec=5.0)
            return None
        if depth.shape != (info.height, info.width):
            self.node.diag.count("bad_depth")
            return None
        return depth, info, msg.header.frame_id

    def destroy(self) -> None:
        for sub in self._subs:
            self.node.destroy_subscription(sub)
        self._subs = []

