"""The procedural motion generator: every class, the world-landmark convention, counts.

Why: the clips are training data for the exercise classifier beside real MediaPipe world
landmarks, so they must share that convention (checked on cached corpus clips: y down, the
nose above the hips and ankles below them, the body's left at +x facing -z) and move like the
exercise (the repetition counter counts the generated repetitions).
"""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.datasets.corpus import RECOGNITION_LABELS, CorpusClip, source_folds
from rehab_core.datasets.multiview import canonicalize, project
from rehab_core.datasets.procedural import (
    PROCEDURAL_SOURCE,
    VARIANTS,
    procedural_clip,
    procedural_clips,
)
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.training.recognition_data import RecognitionData, render_clip
from rehab_core.types import Skeleton

pytestmark = pytest.mark.unit

# rigid segments (a shoulder-to-hip side is not: a side bend shortens it)
BONES = ((5, 7), (7, 9), (6, 8), (8, 10), (11, 13), (13, 15), (12, 14), (14, 16), (5, 6),
         (11, 12))


def _seen(world: np.ndarray) -> np.ndarray:
    return np.abs(world[..., :3]).sum(axis=2) > 0


def test_every_label_with_shapes_stamps_and_metadata():
    clips = procedural_clips(2, seed=3, fps=25.0)
    assert sorted({c.label for c in clips}) == sorted(RECOGNITION_LABELS)
    assert len({c.name for c in clips}) == len(clips) == 2 * len(RECOGNITION_LABELS)
    for c in clips:
        assert c.world.dtype == np.float32 and c.world.shape[1:] == (17, 4)
        assert c.keypoints is None and not c.real and c.source == PROCEDURAL_SOURCE
        assert c.stamps_ns.dtype == np.int64 and len(c.stamps_ns) == len(c.world)
        np.testing.assert_allclose(np.diff(c.stamps_ns), 1e9 / 25.0, atol=1)
        assert set(np.unique(c.world[..., 3])) <= {0.0, 1.0}
        assert (c.world[~_seen(c.world)] == 0).all() and _seen(c.world).mean() > 0.9
        assert c.name.startswith(f"procedural_{c.label}_")
    again = procedural_clips(2, seed=3, fps=25.0)
    assert all(np.array_equal(a.world, b.world) for a, b in zip(clips, again))
    assert not np.array_equal(clips[0].world, procedural_clips(1, seed=4)[0].world)


@pytest.mark.parametrize("label", RECOGNITION_LABELS)
def test_bone_lengths_constant_and_plausible(label):
    for v in VARIANTS[label]:
        w = procedural_clip(label, np.random.default_rng(7), variant=v).world
        seen = _seen(w)
        for a, b in BONES:
            ok = seen[:, a] & seen[:, b]
            length = np.linalg.norm(w[ok, a, :3] - w[ok, b, :3], axis=1)
            assert 0.12 < np.median(length) < 0.65, (v, a, b)
            assert np.std(length) < 0.03, (v, a, b)  # only the estimator's jitter
        ok = seen[:, [5, 6, 11, 12]].all(axis=1)
        torso = np.linalg.norm(w[ok][:, 5:7, :3].mean(1) - w[ok][:, 11:13, :3].mean(1), axis=1)
        assert 0.35 < np.median(torso) < 0.65 and np.std(torso) < 0.03, v


def test_up_axis_and_facing_match_mediapipe_world_landmarks():
    # cached corpus clips (MediaPipe world, COCO-17): standing, the nose has y about -0.6 and
    # the ankles +0.6..0.8 (y down); from the front the left shoulder has x > 0, the nose z < 0
    for label in ("squat", "arm_raise", "jumping_jacks"):
        w = canonicalize(procedural_clip(label, np.random.default_rng(1)).world)
        med = np.median(w[..., :3], axis=0)
        assert med[0, 1] < -0.4 and med[15, 1] > 0.5 and med[16, 1] > 0.5
        assert med[5, 0] > 0 > med[6, 0] and med[11, 0] > 0 > med[12, 0]
        assert med[0, 2] < med[5:7, 2].mean()  # the face is in front of the shoulders
    plank = canonicalize(procedural_clip("plank", np.random.default_rng(1)).world)
    med = np.median(plank[..., :3], axis=0)
    assert abs(med[0, 1] - med[15, 1]) < 0.5 < abs(med[0, 2] - med[15, 2])  # horizontal


def _count(clip: CorpusClip, label: str, yaw_deg: float) -> int:
    world = canonicalize(clip.world)
    kp = project(world, np.deg2rad(yaw_deg), np.deg2rad(8.0), 0.0, 3.5)
    kp[..., :2] = kp[..., :2] * 600 + np.array([320.0, 240.0])
    counter = RepetitionCounter(label)
    for i, stamp in enumerate(clip.stamps_ns):
        skeleton = None
        if kp[i, :, 2].max() > 0:
            skeleton = Skeleton("coco17", kp[i], keypoints_3d=clip.world[i], space_3d="model")
        counter.update(skeleton, int(stamp))
    counter.finish()
    return len(counter.repetitions)


@pytest.mark.parametrize("label", ["squat", "jumping_jacks", "push_up", "lunge"])
def test_repetition_counter_counts_the_generated_repetitions(label):
    exact = 0
    for i, v in enumerate(VARIANTS[label] * 2):
        clip = procedural_clip(label, np.random.default_rng([11, i]), variant=v)
        got = _count(clip, label, 0.0 if label in ("jumping_jacks", "squat") else 90.0)
        assert abs(got - clip.true_count) <= 1, (v, got, clip.true_count)
        exact += got == clip.true_count
    assert exact >= len(VARIANTS[label])  # most exact


def test_never_a_held_out_source():
    real = CorpusClip("a", "squat", "someone/repo", np.zeros((5, 17, 3), np.float32),
                      np.arange(5, dtype=np.int64), 30.0)
    groups = source_folds([real, *procedural_clips(1)], 0)
    assert groups == [["someone/repo"]]


@pytest.mark.parametrize("kind", ["2d", "world3d", "fused"])
def test_rendered_into_training_windows(kind):
    clip = procedural_clip("lunge", np.random.default_rng(2), name="procedural_lunge_000")
    data = RecognitionData(input=kind, views=1, uiprmd_views=1)
    out = render_clip(clip, data)
    channels = {"2d": 3, "world3d": 3, "fused": 6}[kind]
    assert out.x.ndim == 4 and out.x.shape[1:] == (channels, data.window, 17)
    assert len(out.x) > 0 and np.isfinite(out.x).all() and not out.real
    assert out.label == list(data.labels).index("lunge")
