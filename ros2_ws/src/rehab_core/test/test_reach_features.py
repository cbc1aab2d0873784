"""Reach features from detector boxes: scale independence, fills and masks."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.reach.features import (
    DIST_FILL,
    FEATURE_NAMES,
    ReachFeatureExtractor,
    box_iou,
    features_of_sequence,
)
from rehab_core.types import Detection


def _scene(scale: float, hand_x: float) -> list[Detection]:
    s = scale
    return [
        Detection("infant", 0.9, [0, 0, 60 * s, 80 * s]),
        Detection("left_hand", 0.9, [hand_x * s, 50 * s, (hand_x + 10) * s, 60 * s]),
        Detection("right_hand", 0.9, [5 * s, 50 * s, 15 * s, 60 * s]),
        Detection("object", 0.9, [40 * s, 50 * s, 50 * s, 60 * s]),
    ]


def test_iou_basic_cases():
    assert box_iou([0, 0, 10, 10], [0, 0, 10, 10]) == pytest.approx(1.0)
    assert box_iou([0, 0, 10, 10], [5, 0, 15, 10]) == pytest.approx(50 / 150)
    assert box_iou([0, 0, 10, 10], [20, 20, 30, 30]) == 0.0


def test_distance_is_camera_scale_independent():
    small = features_of_sequence([_scene(1.0, 10), _scene(1.0, 20)])
    large = features_of_sequence([_scene(7.3, 10), _scene(7.3, 20)])
    np.testing.assert_allclose(small, large, atol=1e-5)
    # left hand moved towards the object: distance shrinks, velocity negative
    d = FEATURE_NAMES.index("distance")
    v = FEATURE_NAMES.index("velocity")
    assert small[1, 0, d] < small[0, 0, d]
    assert small[1, 0, v] < 0
    assert small[0, 0, v] == 0.0  # no previous frame


def test_missing_hand_and_objects_use_documented_fills():
    ext = ReachFeatureExtractor()
    dets = [d for d in _scene(1.0, 10) if d.label != "left_hand"]
    f = ext.update(dets)
    assert not f["left"].hand_present and f["left"].object_present
    assert f["left"].distance == DIST_FILL and f["left"].iou == 0.0
    assert f["right"].valid
    f = ext.update([d for d in _scene(1.0, 10) if d.label != "object"])
    for side in ("left", "right"):
        assert f[side].distance == DIST_FILL and not f[side].object_present
        assert f[side].velocity == 0.0
    assert np.isfinite(f["left"].vector()).all()


def test_without_infant_box_falls_back_to_last_then_hand_size():
    ext = ReachFeatureExtractor()
    with_infant = ext.update(_scene(1.0, 10))["left"].distance
    no_infant = [d for d in _scene(1.0, 10) if d.label != "infant"]
    assert ext.update(no_infant)["left"].distance == pytest.approx(with_infant)
    fresh = ReachFeatureExtractor().update(no_infant)["left"]
    assert np.isfinite(fresh.distance) and 0 < fresh.distance < DIST_FILL


def test_bad_boxes_are_dropped_not_crashing():
    dets = _scene(1.0, 10)
    dets.append(Detection("object", 0.9, [np.nan, 0, 1, 1]))
    dets.append(Detection("left_hand", 0.99, [5, 5, 5, 5]))  # zero area
    f = ReachFeatureExtractor().update(dets)
    assert f["left"].valid and np.isfinite(f["left"].vector()).all()


def test_nearest_object_is_chosen():
    dets = [*_scene(1.0, 10), Detection("object", 0.5, [20, 50, 30, 60])]
    f = ReachFeatureExtractor().update(dets)["left"]
    np.testing.assert_allclose(f.object_box, [20, 50, 30, 60])
