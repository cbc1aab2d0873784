"""The shipped exercise bundle: a fused (2-D + 3-D) model with its 2-D fallback. With
BlazePose's world landmarks the fused model answers; without them (MoveNet, YOLO-pose) the
2-D model does; on a real squat clip (BlazePose skeletons with 3-D; a training clip, so a
sanity check of the live path, not an accuracy figure) both say squat."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from rehab_core.recognition.model_bundle import load_bundle
from rehab_core.recognition.runners import usable_cpus
from rehab_core.recognition.streaming import StreamingClassifier
from rehab_core.types import Skeleton

MODEL = Path(__file__).resolve().parents[4] / "models" / "exercise_stgcn"


def test_shipped_bundle_is_fused_with_a_2d_fallback_of_the_same_classes():
    bundle = load_bundle(MODEL)
    assert bundle.config["input_space"] == "fused" and bundle.config["model"]["in_channels"] == 6
    fallback = load_bundle(MODEL / bundle.config["fallback"])
    assert fallback.config.get("input_space", "2d") == "2d"
    assert fallback.labels == bundle.labels and "unknown" in bundle.labels
    clf = StreamingClassifier.from_bundle(MODEL)
    assert clf.fallback is not None and clf.fallback.labels == clf.labels
    # with 3-D both ensembles answer together; one set of repetition-evidence counters
    assert clf.config.fallback_weight == 0.5
    assert clf.evidence is not None and clf.fallback.evidence is clf.evidence
    # a decision setting given at load (the action_classifier's threshold) holds for both
    plain = StreamingClassifier.from_bundle(MODEL, threshold=0.6, repetition_evidence=False)
    assert plain.fallback.config.threshold == 0.6 == plain.config.threshold
    assert plain.evidence is None and plain.fallback.evidence is None


def test_shipped_models_are_three_seed_ensembles_as_their_configs_say():
    from rehab_core.recognition.ensemble import SeedEnsemble
    from rehab_core.recognition.model_bundle import load_torch_model

    for root in (MODEL, MODEL / "fallback_2d"):
        bundle = load_bundle(root)
        ensemble = bundle.config["metadata"]["ensemble"]
        model = load_torch_model(bundle.torch_path)
        assert isinstance(model, SeedEnsemble) and len(model.members) == len(ensemble["seeds"])
        assert ensemble["seeds"] == [0, 1, 2] and model.flip_channels == ()
        assert bundle.config["threshold"] == 0.5


def _labels(clf, skeletons, with_3d: bool) -> list[str]:
    out = []
    for stamp, sk in skeletons:
        if sk is not None and not with_3d:
            sk = Skeleton(sk.layout, sk.keypoints, box=sk.box, score=sk.score)  # as MoveNet
        p = clf.update(sk, stamp)
        if p is not None:
            out.append(p.raw_label)
    return out


def test_shipped_bundle_on_a_real_squat_with_and_without_3d(shared_dir):
    """Live path: BlazePose's skeletons (with keypoints_3d) straight into the classifier."""
    from rehab_core.io.video import VideoSource
    from rehab_core.pose.blazepose import BlazePoseEstimator

    estimator = BlazePoseEstimator()
    skeletons = []
    try:
        with VideoSource(shared_dir / "media" / "exercise" / "squat2.mp4") as video:
            for frame in video:
                people = estimator.estimate(frame.image)
                skeletons.append((frame.stamp_ns, people[0] if people else None))
    finally:
        estimator.close()
    assert sum(s is not None and s.keypoints_3d is not None for _, s in skeletons) > 100
    clf = StreamingClassifier.from_bundle(MODEL)
    fused = _labels(clf, skeletons, True)
    clf.reset()
    flat = _labels(clf, skeletons, False)
    assert len(fused) > 5 and len(flat) > 5
    for name, labels in (("fused", fused), ("2-D fallback", flat)):
        share = labels.count("squat") / len(labels)
        assert share > 0.6, (name, share, labels)
    # with two CPUs the 2-D ensemble runs on a second thread while the fused one runs:
    # every prediction (labels, every score) is the one the two give in turn
    assert (clf._side is not None) == (usable_cpus() >= 2)
    clf.reset()
    beside = _predictions(clf, skeletons)
    clf.close()
    clf.close()  # twice is harmless
    clf.reset()
    assert clf._side is None and _predictions(clf, skeletons) == beside and len(beside) > 5


def _predictions(clf, skeletons) -> list:
    out = [clf.update(sk, stamp) for stamp, sk in skeletons]
    return [p for p in out if p is not None]


def test_one_cpu_runs_the_two_ensembles_in_turn(monkeypatch):
    import rehab_core.recognition.streaming as streaming

    monkeypatch.setattr(streaming, "usable_cpus", lambda: 1)
    assert StreamingClassifier.from_bundle(MODEL)._side is None
    monkeypatch.setattr(streaming, "usable_cpus", lambda: 2)
    clf = StreamingClassifier.from_bundle(MODEL)
    side = clf._side
    assert side is not None
    clf.close()
    assert side.submit(len, "ab") is None  # closed: the caller runs the call itself
    # closed by another thread while a window is classified: that window runs in turn
    clf._side = side
    window = np.zeros((30, 17, 7), np.float32)
    window[..., :2] = np.random.default_rng(0).uniform(0.3, 0.7, (30, 17, 2))
    window[..., 2] = 1.0
    probs, flat = clf._classify_both(window)
    assert probs is not None and flat is not None
    clf._side = None
    assert np.array_equal(clf._classify_both(window)[1], flat)
    # a 2-D bundle alone, or a fused one that does not mix, has nothing to run beside it
    assert StreamingClassifier.from_bundle(MODEL / "fallback_2d")._side is None
    assert StreamingClassifier.from_bundle(MODEL, fallback_weight=0.0)._side is None
