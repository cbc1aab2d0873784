"""Repetition evidence: a doubtful window whose best exercise completed a repetition is it.

Synthetic stick-figure squats (exact repetitions) and a stub network whose
answer is fixed, so what changes the label is the rule alone: the same rule
live (``StreamingClassifier``) and in the held-out evaluation (``rescue_windows``).
"""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.datasets.corpus import CorpusClip
from rehab_core.errors import ConfigError
from rehab_core.recognition.rep_evidence import (
    RepetitionEvidence,
    ended_within,
    evidence_span,
    rescued_label,
)
from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.training.recognition_eval import rescue_windows, window_labels
from rehab_core.types import Skeleton
from rehab_testing.synthetic_reps import sequence, squat_pose

LABELS = ["squat", "push_up", "plank", "unknown"]


def _probs(**scores: float) -> np.ndarray:
    return np.array([scores.get(name, 0.0) for name in LABELS])


def test_rescue_needs_an_exercise_at_least_as_likely_as_unknown_and_its_repetition():
    doubtful = _probs(squat=0.40, push_up=0.10, plank=0.15, unknown=0.35)
    assert rescued_label(doubtful, LABELS, lambda name: name == "squat") == "squat"
    assert rescued_label(doubtful, LABELS, lambda name: False) is None  # no repetition
    # the network positively prefers unknown: a repetition does not overrule it
    assert rescued_label(_probs(squat=0.30, unknown=0.45, push_up=0.25), LABELS,
                         lambda name: True) is None
    # a hold (plank) counts no repetitions, so it is never a candidate
    assert rescued_label(_probs(plank=0.45, squat=0.05, unknown=0.40), LABELS,
                         lambda name: True) is None
    # a lower-ranked exercise is asked too, if the network prefers it to unknown ...
    ranked = _probs(squat=0.30, push_up=0.28, plank=0.17, unknown=0.25)
    assert rescued_label(ranked, LABELS, lambda name: name == "push_up") == "push_up"
    assert rescued_label(ranked, LABELS, lambda name: True) == "squat"  # best first
    # ... but not one under unknown
    assert rescued_label(doubtful, LABELS, lambda name: name == "push_up") is None
    assert rescued_label(doubtful, ["walk", "unknown"], lambda name: True) is None


class _FixedNetwork:
    """Always the same doubtful answer: squat first, under the 0.5 threshold."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return np.log(_probs(squat=0.40, push_up=0.10, plank=0.15, unknown=0.35))


def _stream(frames, stamps, evidence: bool) -> list[tuple[float, str, float]]:
    config = StreamingConfig(window=30, stride=5, fps=15.0, threshold=0.5, smoothing="none",
                             hysteresis=1, repetition_evidence=evidence)
    clf = StreamingClassifier(_FixedNetwork(), LABELS, config)
    out = []
    for kp, stamp in zip(frames, stamps):
        sk = None if kp is None else Skeleton("coco17", kp)
        p = clf.update(sk, int(stamp))
        if p is not None:
            out.append((int(stamp) * 1e-9, p.label, p.confidence))
    return out


def test_live_a_doubtful_window_over_a_completed_squat_is_a_squat():
    frames, stamps, spans = sequence("squat", 5, 2.0, 30.0)
    plain = _stream(frames, stamps, evidence=False)
    assert {label for _, label, _ in plain} == {"unknown"}
    found = _stream(frames, stamps, evidence=True)
    counter = RepetitionCounter("squat")
    for kp, stamp in zip(frames, stamps):
        counter.update(None if kp is None else Skeleton("coco17", kp), int(stamp))
    assert counter.count == len(spans)
    first_end = counter.repetitions[0].end_t
    before = [label for t, label, _ in found if t < first_end]
    assert before and set(before) == {"unknown"}  # nothing completed yet: the doubt stands
    squats = [(t, c) for t, label, c in found if label == "squat"]
    assert len(squats) >= len(found) // 2
    # the rescued label keeps its own, under-threshold score: it can never veto a goal
    assert all(abs(c - 0.40) < 1e-6 for _, c in squats)


def test_live_standing_still_stays_unknown():
    still = squat_pose(175.0)
    still[:, :2] = still[:, :2] * 200.0 + np.array([640.0, 600.0])
    stamps = np.arange(0, int(8e9), int(1e9 / 30), dtype=np.int64)
    found = _stream([still.astype(np.float32)] * len(stamps), stamps, evidence=True)
    assert found and {label for _, label, _ in found} == {"unknown"}


def test_a_repetition_in_the_last_four_seconds_vouches_for_a_window_between_repetitions():
    # a slow set: the 2 s window [10, 12] holds no repetition's end, but one ended at 8.5 s
    since, until = evidence_span(10.0, 12.0)
    assert (since, until) == (8.0, 12.0)
    assert ended_within([8.5], since, until)
    assert not ended_within([7.5], since, until)  # a set that stopped more than 4 s ago
    assert not ended_within([12.5], since, until)  # causal: nothing after the window's end
    assert evidence_span(0.0, 10.0) == (0.0, 10.0)  # a longer window keeps its own span


def test_evidence_is_fed_once_per_frame_and_a_new_stream_starts_over():
    evidence = RepetitionEvidence(LABELS)
    assert evidence.names == ["squat", "push_up"]
    frames, stamps, spans = sequence("squat", 3, 2.0, 30.0)
    for kp, stamp in zip(frames, stamps):
        sk = None if kp is None else Skeleton("coco17", kp)
        evidence.update(sk, int(stamp))
        evidence.update(sk, int(stamp))  # the fallback classifier feeds the same frame
    assert len(evidence.counters["squat"].repetitions) == 3
    end = spans[0][1]
    assert evidence.completed("squat", end - 2.0, end + 1.0)
    assert not evidence.completed("push_up", 0.0, 1e9)
    evidence.update(None, 0)  # time went back: another stream
    assert evidence.counters["squat"].repetitions == []


@pytest.mark.parametrize("evidence", [False, True])
def test_evaluation_applies_the_same_rule(evidence: bool):
    frames, stamps, _spans = sequence("squat", 4, 2.0, 30.0)
    kp = np.stack([f if f is not None else np.zeros((17, 3), np.float32) for f in frames])
    clip = CorpusClip("synthetic_squat", "squat", "test", kp, stamps, 30.0)
    starts_s = np.arange(0.0, stamps[-1] * 1e-9 - 2.0, 1.0)
    probs = np.tile(_probs(squat=0.40, push_up=0.10, plank=0.15, unknown=0.35),
                    (len(starts_s), 1))
    labels_w = window_labels(probs, LABELS, 0.5)
    assert set(labels_w) == {"unknown"}
    if evidence:
        labels_w, conf = rescue_windows(probs, LABELS, labels_w, clip, starts_s, 2.0)
        assert labels_w[0] == "unknown"  # the first window ends before any squat does
        assert labels_w.count("squat") >= len(labels_w) // 2
        assert all(abs(c - 0.40) < 1e-6 for lab, c in zip(labels_w, conf) if lab == "squat")


def test_a_trained_bundle_carries_the_rule_into_its_streaming_config():
    from rehab_core.training.stgcn_pipeline import StgcnSpec

    for on in (False, True):
        settings = StgcnSpec(labels=LABELS, repetition_evidence=on).streaming_config()
        assert settings["repetition_evidence"] is on
        clf = StreamingClassifier(_FixedNetwork(), LABELS, StreamingConfig.from_dict(settings))
        assert (clf.evidence is not None) is on


class _Network:
    def __init__(self, **scores: float) -> None:
        self.logits = np.log(_probs(**scores) + 1e-9)
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        self.calls += 1
        return self.logits


@pytest.mark.parametrize("weight", [0.0, 0.5, 1.0])
def test_with_3d_the_answer_mixes_the_fused_and_the_2d_models(weight: float):
    """``fallback_weight``: both inputs' models read every window with 3-D; their
    probabilities are averaged (the held-out evaluation's ``--mix``)."""
    config = StreamingConfig(window=30, stride=5, fps=15.0, smoothing="none", hysteresis=1,
                             input_space="fused", fallback_weight=weight)
    clf = StreamingClassifier(_Network(squat=0.8, unknown=0.2), LABELS, config)
    flat = _Network(squat=0.2, unknown=0.8)
    clf.fallback = StreamingClassifier(flat, LABELS,
                                       StreamingConfig(window=30, stride=5, fps=15.0))
    frames, stamps, _spans = sequence("squat", 2, 2.0, 30.0)
    scores = []
    for kp, stamp in zip(frames, stamps):
        world = np.concatenate([kp[:, :2] / 200.0, np.zeros((17, 1)), np.ones((17, 1))], axis=1)
        sk = Skeleton("coco17", kp, keypoints_3d=world.astype(np.float32), space_3d="model")
        p = clf.update(sk, int(stamp))
        if p is not None:
            scores.append(p.scores["squat"])
    assert scores and np.allclose(scores, 0.8 - 0.6 * weight, atol=1e-6)
    # the fallback's own update asks for the window the mix already classified: once
    assert flat.calls == len(scores)
    with pytest.raises(ConfigError, match="fallback_weight"):
        StreamingConfig(fallback_weight=1.5)


def test_counters_sharing_a_frames_signals_count_as_alone():
    """One dict per frame lets the counters of exercises that follow the same joint (squat,
    lunge, sit-to-stand: the knee) compute it once; the counts must not change."""
    from rehab_core.repetition.config import EXERCISES

    names = [n for n, cfg in EXERCISES.items() if cfg.counts_reps]
    for kind in ("squat", "jacks", "pushup"):
        frames, stamps, _spans = sequence(kind, 4, 1.5, 30.0, noise_px=2.0, seed=3)
        alone = {n: RepetitionCounter(n) for n in names}
        together = {n: RepetitionCounter(n) for n in names}
        for kp, stamp in zip(frames, stamps):
            sk = None if kp is None else Skeleton("coco17", kp)
            shared: dict = {}
            for n in names:
                alone[n].update(sk, int(stamp))
                together[n].update(sk, int(stamp), shared)
        for n in names:
            assert [(r.start_t, r.end_t) for r in alone[n].repetitions] == \
                [(r.start_t, r.end_t) for r in together[n].repetitions], (kind, n)
        assert alone["squat" if kind == "squat" else "jumping_jacks" if kind == "jacks"
                     else "push_up"].count == 4
