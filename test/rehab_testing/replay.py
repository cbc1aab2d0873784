"""What the benchmark tests replay: a cheap real graph, a small image bag, their own domains."""

from __future__ import annotations

import os
import zlib
from pathlib import Path

import cv2
import numpy as np

from rehab_core.io.bag import write_image_bag
from rehab_core.types import Frame


def pose_tracker_stack() -> dict:
    """A cheap but real graph: BlazePose (bundled in the mediapipe wheel) + the tracker."""
    return {
        "rehab_container": {"ros__parameters": {
            "components": ["image_source", "pose_estimator", "skeleton_tracker"]}},
        "pose_estimator": {"ros__parameters": {"estimator": "blazepose"}},
    }


def moving_disc_bag(path: Path, frames: int, fps: float, step_px: int) -> Path:
    """An image bag of ``frames`` 160x120 images, a green disc moving ``step_px`` right each."""
    period_ns = round(1e9 / fps)

    def images():
        for i in range(frames):
            image = np.full((120, 160, 3), 40, np.uint8)
            cv2.circle(image, (20 + step_px * i, 60), 15, (0, 220, 0), -1)
            yield Frame(image, 1_000_000_000 + i * period_ns, i, "bgr8", "camera")

    write_image_bag(path, images())
    return path


def graph_domain_id(name: str) -> int:
    """A ROS_DOMAIN_ID (101..200) for a graph a test starts itself, apart from the module's own."""
    return 101 + (os.getpid() * 31 + zlib.crc32(name.encode())) % 100
