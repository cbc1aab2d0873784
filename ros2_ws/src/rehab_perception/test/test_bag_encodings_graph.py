"""Bags in a camera driver's encoding run through the whole graph (rehab run's path)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.io.bag import write_image_bag
from rehab_core.io.video import VideoSource
from rehab_core.types import Frame
from rehab_perception.run_graph import run_graph

ROLES = ["image_source", "pose_estimator", "skeleton_tracker"]


def _stack() -> dict:
    return {"rehab_container": {"ros__parameters": {"components": ROLES}},
            "lifecycle_manager": {"ros__parameters": {"node_names": ROLES[::-1]}}}


@pytest.mark.parametrize("encoding", ["yuyv", "nv12", "bayer_grbg8", "rgb16"])
def test_every_frame_of_a_driver_encoded_bag_reaches_the_graph(tmp_path, synthetic_clip: Path,
                                                               domain_id, encoding):
    bag = tmp_path / encoding
    frames = list(VideoSource(synthetic_clip))
    write_image_bag(bag, frames, encoding=encoding, row_padding=8, big_endian=True)
    results = []
    run = run_graph(_stack(), str(bag), results.append, domain_id=domain_id, timeout_s=60)
    assert run.frames == len(results) == len(frames) == 12
    assert [r.stamp_ns for r in results] == [f.stamp_ns for f in frames]
    assert run.components["image_source"]["dropped"] == 0
    assert run.components["pose_estimator"]["dropped"] == 0


def test_a_bad_message_is_dropped_and_the_replay_goes_on(tmp_path, synthetic_clip, domain_id):
    frames = list(VideoSource(synthetic_clip))
    bad = frames[5]
    frames[5] = Frame(np.zeros((bad.height, bad.width - 1, 2), np.uint8), bad.stamp_ns, 5,
                      encoding="yuyv")  # odd width: YUV 4:2:2 cannot have it
    bag = tmp_path / "mixed"
    write_image_bag(bag, frames)
    results = []
    run = run_graph(_stack(), str(bag), results.append, domain_id=domain_id, timeout_s=60)
    assert run.frames == 11 and bad.stamp_ns not in [r.stamp_ns for r in results]
    assert run.components["image_source"]["dropped"] == 1
