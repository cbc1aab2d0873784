"""Keyframe state machine: onset, invalidation after 4 increasing frames, IoU offset."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.errors import ConfigError
from rehab_core.reach.keyframes import KeyframeConfig, ReachDetector, ReachPhase
from rehab_core.reach.metrics import match_keyframes, merge_keyframe_results
from rehab_core.types import Detection


class AlwaysReach:
    """A classifier stub that always votes 'reaching' so the rules alone are tested."""

    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return np.tile([0.3, 0.0, 0.6, 0.1], (len(x), 1))


class NeverReach:
    def probabilities(self, x: np.ndarray) -> np.ndarray:
        return np.tile([0.0, 0.0, 0.1, 0.9], (len(x), 1))


def _frame(left_x: float) -> list[Detection]:
    return [
        Detection("infant", 0.9, [0, 0, 300, 400]),
        Detection("left_hand", 0.9, [left_x, 300, left_x + 30, 330]),
        Detection("object", 0.9, [250, 300, 280, 330]),
    ]


def _run(det: ReachDetector, xs: list[float]) -> list:
    return [det.update(_frame(x), i, i * 100)["left"] for i, x in enumerate(xs)]


def test_onset_reach_offset_sequence():
    xs = [20, 20, 20, 60, 110, 160, 200, 240, 250, 250]
    states = _run(ReachDetector(AlwaysReach(), KeyframeConfig(iou_threshold=0.4)), xs)
    phases = [s.phase for s in states]
    assert phases[:3] == [ReachPhase.NO_REACH] * 3
    assert phases[3] is ReachPhase.ONSET
    assert ReachPhase.OFFSET in phases
    off = phases.index(ReachPhase.OFFSET)
    assert all(p is ReachPhase.REACH for p in phases[4:off])
    assert states[off].onset_index == 3 and states[off].offset_index == off
    assert states[off].offset_stamp_ns == off * 100 and states[off].object_label == "object"
    # holding the toy afterwards: no new onset
    assert all(p is ReachPhase.NO_REACH for p in phases[off + 1:])


def test_abandoned_reach_is_invalidated_after_four_increasing_frames():
    xs = [20, 20, 60, 100, 90, 80, 70, 60, 50, 50]
    states = _run(ReachDetector(AlwaysReach(), KeyframeConfig(iou_threshold=0.4)), xs)
    phases = [s.phase for s in states]
    assert phases[2] is ReachPhase.ONSET
    assert phases[4:7] == [ReachPhase.REACH] * 3  # 3 increasing frames: still a reach
    assert phases[7] is ReachPhase.NO_REACH and states[7].invalidated
    assert ReachPhase.OFFSET not in phases


def test_classifier_must_agree_for_onset():
    xs = [20, 20, 60, 110, 160, 200, 240, 250]
    phases = [s.phase for s in _run(ReachDetector(NeverReach()), xs)]
    assert set(phases) == {ReachPhase.NO_REACH}


def test_missing_hand_frames_keep_then_drop_reach():
    det = ReachDetector(AlwaysReach(), KeyframeConfig(iou_threshold=0.4, max_missing=2))
    _run(det, [20, 20, 60])
    no_hand = [d for d in _frame(0) if d.label != "left_hand"]
    phases = [det.update(no_hand, 10 + i, 0)["left"].phase for i in range(4)]
    assert phases[:2] == [ReachPhase.REACH] * 2 and phases[2] is ReachPhase.NO_REACH


def test_bad_config_raises():
    with pytest.raises(ConfigError):
        KeyframeConfig(iou_threshold=0.0)
    with pytest.raises(ConfigError):
        KeyframeConfig(invalidate_after=0)


def test_keyframe_matching_counts():
    r = match_keyframes([10, 50, 90], [11, 48, 200], tolerance=5)
    assert r["matched"] == 2 and r["missed"] == 1 and r["false"] == 1
    merged = merge_keyframe_results([r, match_keyframes([5], [5])])
    assert merged["mean_abs_error_frames"] == pytest.approx(1.0)
    assert merged["exact_rate"] == pytest.approx(1 / 3)
