"""SkeletonTracker: synthetic people crossing, occluded, appearing; real footage."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from rehab_core.errors import ConfigError
from rehab_core.io.video import VideoSource
from rehab_core.pose.blazepose import BlazePoseEstimator
from rehab_core.tracking import SkeletonTracker, TrackerConfig
from rehab_core.tracking.tracker import iou_matrix, skeleton_box
from rehab_core.types import Skeleton

# A standing COCO-17 person, unit height, origin at the hip centre.
_TEMPLATE = np.array(
    [[0, -0.45], [-0.03, -0.47], [0.03, -0.47], [-0.06, -0.45], [0.06, -0.45],
     [-0.12, -0.3], [0.12, -0.3], [-0.16, -0.15], [0.16, -0.15], [-0.18, 0.0], [0.18, 0.0],
     [-0.08, 0.0], [0.08, 0.0], [-0.08, 0.25], [0.08, 0.25], [-0.08, 0.5], [0.08, 0.5]],
    np.float32,
)


def person(cx: float, cy: float, height: float, score: float = 0.9, arms_up: bool = False):
    kp = np.ones((17, 3), np.float32) * score
    shape = _TEMPLATE.copy()
    if arms_up:
        shape[[7, 8, 9, 10], 1] -= 0.4
    kp[:, :2] = shape * height + (cx, cy)
    return Skeleton("coco17", kp, box=skeleton_box(Skeleton("coco17", kp)), score=score)


def ids_by_truth(tracker: SkeletonTracker, frames: list[list[tuple[str, Skeleton]]]):
    """Run frames of (truth name, skeleton) pairs; map each truth name to the ids it got."""
    seen: dict[str, set[int]] = {}
    for frame in frames:
        skels = [s for _, s in frame]
        out = tracker.update(skels, image_size=(1000, 600))
        for skel in out:
            # recover which truth skeleton this is (same keypoint array object)
            name = next(n for n, s in frame if s.keypoints is skel.keypoints)
            seen.setdefault(name, set()).add(skel.track_id)
    return seen


@pytest.mark.parametrize("matcher", ["hungarian", "greedy"])
def test_two_people_crossing_keep_their_ids(matcher: str) -> None:
    tracker = SkeletonTracker(matcher=matcher)
    frames = []
    for t in range(60):
        a = person(200 + 10 * t, 300, 300)  # walks right
        b = person(800 - 10 * t, 310, 260, arms_up=True)  # walks left, smaller, arms up
        frames.append([("b", b), ("a", a)] if t % 2 else [("a", a), ("b", b)])
    seen = ids_by_truth(tracker, frames)
    assert len(seen["a"]) == 1 and len(seen["b"]) == 1
    assert seen["a"] != seen["b"]


def test_occlusion_keeps_id_and_death_never_reuses_ids() -> None:
    tracker = SkeletonTracker(max_misses=10)
    frames = []
    for t in range(40):
        visible = not 10 <= t < 18  # 8 frames behind something
        frames.append([("a", person(100 + 5 * t, 300, 300))] if visible else [])
    seen = ids_by_truth(tracker, frames)
    assert seen["a"] == {0}
    for _ in range(11):  # gone longer than max_misses: the track dies
        tracker.update([])
    assert tracker.tracks == []
    later = [tracker.update([person(300, 300, 300)]) for _ in range(4)]
    assert later[0] == [] and later[1] == []  # tentative for min_hits frames
    assert [s.track_id for s in later[3]] == [1]  # a new id, 0 is never reused


def test_one_frame_false_positive_never_gets_an_id() -> None:
    tracker = SkeletonTracker(min_hits=3)
    for t in range(10):
        skels = [person(300, 300, 300)]
        if t == 5:
            skels.append(person(800, 200, 100))
        out = tracker.update(skels)
        assert [s.track_id for s in out] == [0]
    tracker.reset()
    out = [tracker.update([person(300, 300, 300)]) for _ in range(2)]
    assert out[0][0].track_id == 1  # after reset, still never reused


def test_people_present_from_the_first_frame_get_ids_at_once() -> None:
    tracker = SkeletonTracker(min_hits=3)
    out = tracker.update([person(300, 300, 300), person(700, 300, 200)])
    assert sorted(s.track_id for s in out) == [0, 1]


def test_main_subject_rule() -> None:
    tracker = SkeletonTracker(min_hits=2)
    small, big = person(200, 300, 150), person(600, 300, 400)
    tracker.update([small, big], image_size=(1000, 600))
    main = tracker.main_track_id
    assert main >= 0 and tracker.main_skeleton().box[3] - tracker.main_skeleton().box[1] > 300
    # a bigger newcomer does not take over: the main subject is sticky
    for _ in range(5):
        tracker.update([small, big, person(500, 300, 550)], image_size=(1000, 600))
    assert tracker.main_track_id == main
    # main subject leaves for good: the longest-tracked remaining one takes over
    small_id = next(t.track_id for t in tracker.tracks if t.box[0] < 200)
    for _ in range(tracker.config.max_misses + 1):
        tracker.update([small, person(500, 300, 550)], image_size=(1000, 600))
    assert tracker.main_track_id == small_id


def test_main_subject_tie_breaks_on_centre() -> None:
    tracker = SkeletonTracker()
    tracker.update([person(150, 300, 300), person(500, 300, 300)], image_size=(1000, 600))
    assert tracker.main_skeleton().keypoints[0, 0] == pytest.approx(500)


def test_helpers_and_config_errors() -> None:
    iou = iou_matrix([[0, 0, 10, 10]], [[0, 0, 10, 10], [5, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou, [[1.0, 1 / 3, 0.0]], atol=1e-6)
    no_box = Skeleton("coco17", person(50, 50, 100).keypoints)
    assert skeleton_box(no_box)[3] > skeleton_box(no_box)[1]
    with pytest.raises(ConfigError):
        TrackerConfig(min_hits=0)
    with pytest.raises(ConfigError):
        SkeletonTracker(matcher="magic")


@pytest.mark.shared
def test_real_footage_one_person_one_id(shared_dir: Path) -> None:
    tracker = SkeletonTracker()
    ids = set()
    with BlazePoseEstimator() as est, \
            VideoSource(shared_dir / "media/exercise/squat.mp4", max_frames=90) as video:
        for frame in video:
            for skel in tracker.update(est.estimate(frame.image), (frame.width, frame.height)):
                ids.add(skel.track_id)
    assert ids == {0}
    assert tracker.main_track_id == 0


def test_short_lived_main_does_not_block_the_real_person() -> None:
    tracker = SkeletonTracker(min_hits=3)
    tracker.update([person(800, 100, 80)])  # a spurious detection in the warm-up frame
    ghost = tracker.main_track_id
    for _ in range(5):
        tracker.update([person(300, 300, 300)])
    assert tracker.main_track_id != ghost
    assert tracker.main_skeleton().keypoints[0, 0] == pytest.approx(300)


def test_occluded_main_keeps_priority_over_a_newcomer() -> None:
    tracker = SkeletonTracker(min_hits=2, max_misses=20)
    for _ in range(30):
        tracker.update([person(300, 300, 300)])
    main = tracker.main_track_id
    for _ in range(10):  # the patient is hidden, a visitor walks in
        tracker.update([person(800, 300, 300)])
    assert tracker.main_track_id == main
    assert tracker.main_skeleton() is None  # main not seen this frame


def test_long_occlusion_hands_over_and_the_patient_takes_back() -> None:
    tracker = SkeletonTracker(min_hits=2, max_misses=30, main_patience=10)
    patient, visitor = person(300, 300, 300), person(800, 300, 300)
    for _ in range(40):
        tracker.update([patient])
    patient_id = tracker.main_track_id
    for _ in range(15):  # hidden longer than main_patience: the visible visitor takes over
        tracker.update([visitor])
    assert tracker.main_track_id not in (-1, patient_id)
    tracker.update([patient, visitor])  # back: matched 40 times vs 15, more than 2x
    assert tracker.main_track_id == patient_id
    assert tracker.main_skeleton().keypoints[0, 0] == pytest.approx(300)


def test_two_people_from_the_start_main_never_flips() -> None:
    tracker = SkeletonTracker()
    mains = set()
    for t in range(50):
        # similar sizes that alternate which is larger: ties must not flip the subject
        a = person(300, 300, 300 + (5 if t % 2 else -5))
        b = person(700, 300, 300 + (-5 if t % 2 else 5))
        tracker.update([a, b], image_size=(1000, 600))
        mains.add(tracker.main_track_id)
    assert len(mains) == 1
