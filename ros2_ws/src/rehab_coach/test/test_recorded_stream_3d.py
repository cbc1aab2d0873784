"""Replays of skeleton files carry the pose model's 3-D, so the exercise model's fused input
and the repetition counter's 3-D angles answer on a replay as they do live."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from coach_testutil import REPO_ROOT

from rehab_coach.recorded_stream import sequence_frames
from rehab_core.io.skeleton_store import SkeletonSequence, load_skeletons, save_skeletons
from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.recognition.streaming import StreamingClassifier
from rehab_core.recognition.world_input import world_fraction
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.types import Skeleton
from rehab_runtime import codecs

MODEL = REPO_ROOT / "models" / "exercise_stgcn"


class Recording:
    """Passes skeletons to a classifier (or none) and keeps what it was given."""

    def __init__(self, inner: StreamingClassifier | None = None) -> None:
        self.inner = inner
        self.seen: list[Skeleton | None] = []

    def update(self, skeleton: Skeleton | None, stamp_ns: int) -> ActionPrediction | None:
        self.seen.append(skeleton)
        return self.inner.update(skeleton, stamp_ns) if self.inner is not None else None


def synthetic(with_3d: bool) -> SkeletonSequence:
    t = 6
    kp = np.full((t, 17, 3), 0.9, np.float32)
    kp[..., 0] = np.arange(17) * 10 + 100
    kp[..., 1] = 200.0
    kp[2] = 0  # nobody on frame 2
    k3 = None
    if with_3d:
        k3 = np.full((t, 17, 4), 0.7, np.float32)
        k3[2] = 0
    return SkeletonSequence(kp, np.arange(t) * 33_333_333, "coco17", 30.0, width=640,
                            height=480, keypoints_3d=k3, space_3d="model" if with_3d else "")


def test_replayed_skeletons_carry_the_files_3d(tmp_path: Path) -> None:
    seq = load_skeletons(save_skeletons(tmp_path / "s3d", synthetic(with_3d=True)))
    rec = Recording()
    frames = list(sequence_frames(seq, rec))
    got = [f.skeletons.skeletons[0] if f.skeletons.skeletons else None for f in frames]
    assert got[2] is None and rec.seen == got
    for sk in (s for s in got if s is not None):
        assert sk.space_3d == "model" and sk.keypoints_3d.shape == (17, 4)
        np.testing.assert_allclose(sk.keypoints_3d, 0.7)
    # over the wire (Skeleton2DArray) the 3-D travels with the 2-D
    back = codecs.SKELETONS.from_msg(codecs.SKELETONS.to_msg(frames[0].skeletons))
    np.testing.assert_allclose(back.skeletons[0].keypoints_3d, got[0].keypoints_3d)
    assert back.skeletons[0].space_3d == "model"
    # a file without 3-D (older ones) replays 2-D only, as before
    plain = load_skeletons(save_skeletons(tmp_path / "s2d", synthetic(with_3d=False)))
    assert all(f.skeletons.skeletons[0].keypoints_3d is None
               for f in sequence_frames(plain, None) if f.skeletons.skeletons)


@pytest.fixture(scope="module")
def squat_file(shared_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The first 10 s of squat.mp4 (two squats) through our BlazePose extraction, saved."""
    from rehab_core.datasets.extract import extract_skeletons

    seq = extract_skeletons(shared_dir / "media" / "exercise" / "squat.mp4", max_frames=240)
    return save_skeletons(tmp_path_factory.mktemp("squat3d") / "squat.npz", seq)


def _replay(seq: SkeletonSequence) -> tuple[StreamingClassifier, list[str]]:
    classifier = StreamingClassifier.from_bundle(MODEL)
    labels = [f.action.prediction.label for f in sequence_frames(seq, classifier)
              if f.action is not None]
    return classifier, labels


def test_real_replay_takes_the_fused_and_3d_paths(squat_file: Path) -> None:
    assert (MODEL / "labels.txt").is_file(), f"the shipped exercise model is missing: {MODEL}"
    seq = load_skeletons(squat_file)
    assert seq.space_3d == "model" and seq.keypoints_3d is not None
    classifier, labels = _replay(seq)
    assert classifier.config.input_space == "fused"
    window = np.stack([f for _, f in classifier._frames])
    assert world_fraction(window) >= classifier.config.min_seen_fraction  # the fused model
    assert labels and labels[-1] == "squat"
    # the same file without its 3-D: the window has none, the 2-D fallback answers
    flat = dataclasses.replace(seq, keypoints_3d=None, space_3d="")
    classifier2d, _ = _replay(flat)
    assert world_fraction(np.stack([f for _, f in classifier2d._frames])) == 0.0
    # the counter measures 3-D joint angles on the replayed skeletons
    counter = RepetitionCounter("squat")
    for i, stamp in enumerate(seq.stamps_ns):
        counter.update(seq.skeleton(i), int(stamp))
    assert counter.count >= 1 and {r.space for r in counter.repetitions} == {"3d"}
