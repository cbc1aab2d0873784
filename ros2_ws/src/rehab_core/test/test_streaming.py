"""Streaming classifier: frame-rate matching, normalisation, threshold, smoothing, gaps."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.datasets.synthetic import synthetic_sequence
from rehab_core.errors import ConfigError
from rehab_core.recognition.preprocess import (
    FrameRateMatcher,
    normalize_window,
    resample_to_rate,
)
from rehab_core.recognition.streaming import StreamingClassifier, StreamingConfig
from rehab_core.types import Skeleton

LABELS = ["squat", "jumping_jacks", "unknown"]


def _stamps(fps: float, seconds: float) -> np.ndarray:
    return np.round(np.arange(int(fps * seconds)) * 1e9 / fps).astype(np.int64)


def test_low_camera_rate_repeats_frames_9fps_to_30():
    stamps = _stamps(9, 2.0)
    frames = np.arange(len(stamps), dtype=np.float32)[:, None, None] * np.ones((1, 1, 3))
    out, _ticks = resample_to_rate(frames, stamps, 30.0)
    assert abs(len(out) - 30 * (stamps[-1] - stamps[0]) / 1e9) <= 1
    counts = np.bincount(out[:, 0, 0].astype(int))
    assert set(counts[:-1].tolist()) <= {3, 4}  # each 9 fps frame held 3-4 ticks
    assert np.all(np.diff(out[:, 0, 0]) >= 0)  # order preserved


def test_high_camera_rate_drops_frames_and_online_matches_offline():
    stamps = _stamps(60, 1.0)
    frames = np.arange(len(stamps), dtype=np.float32)[:, None, None] * np.ones((1, 1, 3))
    offline, _ticks = resample_to_rate(frames, stamps, 30.0)
    assert np.all(np.diff(offline[:, 0, 0]) == 2)  # every other frame
    matcher = FrameRateMatcher(30.0)
    online = [f for s, fr in zip(stamps, frames) for _, f in matcher.push(int(s), fr)]
    np.testing.assert_array_equal(np.stack(online)[:, 0, 0], offline[:, 0, 0])


def test_normalisation_is_invariant_to_distance_position_and_portrait():
    seq = synthetic_sequence("squat", seconds=2, rng=np.random.default_rng(1))
    w = seq.keypoints[:30]
    moved = w.copy()
    moved[..., :2] = w[..., :2] * 2.7 + np.array([300.0, 900.0])  # closer camera, portrait frame
    a, b = normalize_window(w, "coco17"), normalize_window(moved, "coco17")
    np.testing.assert_allclose(a, b, atol=1e-4)
    assert abs(np.median(np.abs(a[..., 1]))) < 3  # torso units, not pixels


def test_normalisation_handles_missing_joints_and_empty_windows():
    seq = synthetic_sequence("squat", seconds=1, rng=np.random.default_rng(2))
    w = seq.keypoints[:30].copy()
    w[:, 11:13, 2] = 0.0  # hips never seen: centre falls back to the shoulders
    out = normalize_window(w, "coco17")
    assert out is not None and np.all(out[:, 11:13] == 0)
    assert normalize_window(np.zeros((30, 17, 3), np.float32), "coco17") is None
    box = normalize_window(seq.keypoints[:30], "coco17", mode="box")
    assert box is not None and np.isfinite(box).all()


def test_normalisation_centres_on_the_median_of_the_frames_whose_hips_are_seen():
    seq = synthetic_sequence("squat", seconds=1, rng=np.random.default_rng(3))
    w = seq.keypoints[:30].copy()
    w[::3, 11, 2] = 0.0  # the left hip unseen on every third frame
    w[5:9, 5:7, 2] = 0.0  # shoulders unseen too: those frames have no torso length
    both = np.ones(30, bool)
    both[::3] = False
    hips = (w[both, 11, :2] + w[both, 12, :2]) / 2.0
    torso_frames = both.copy()
    torso_frames[5:9] = False
    shoulders = (w[torso_frames, 5, :2] + w[torso_frames, 6, :2]) / 2.0
    torso = np.median(np.linalg.norm(
        shoulders - (w[torso_frames, 11, :2] + w[torso_frames, 12, :2]) / 2.0, axis=1))
    out = normalize_window(w, "coco17")
    expected = (w[10, 0, :2] - np.median(hips, axis=0)) / torso  # the nose of a seen frame
    np.testing.assert_allclose(out[10, 0, :2], expected, rtol=1e-5)


class FixedRunner:
    """A stand-in model returning scripted logits, one per call."""

    def __init__(self, logits: list[list[float]]) -> None:
        self.logits = [np.asarray(v, np.float32) for v in logits]
        self.calls = 0

    def __call__(self, x: np.ndarray) -> np.ndarray:
        assert x.shape == (1, 3, 10, 17)
        out = self.logits[min(self.calls, len(self.logits) - 1)]
        self.calls += 1
        return out


def _feed(clf: StreamingClassifier, n: int, fps: float = 30.0, start_ns: int = 0, seq=None):
    seq = seq or synthetic_sequence("squat", seconds=n / fps + 1, fps=fps,
                                    rng=np.random.default_rng(3))
    out = []
    for i in range(n):
        stamp = start_ns + round(i * 1e9 / fps)
        pred = clf.update(Skeleton("coco17", seq.keypoints[i]), stamp)
        if pred is not None:
            out.append(pred)
    return out


def _config(**kw) -> StreamingConfig:
    base = dict(window=10, stride=5, fps=30.0, threshold=0.6, smoothing="none", hysteresis=1)
    return StreamingConfig(**{**base, **kw})


def test_low_confidence_maps_to_unknown_and_output_fields():
    clf = StreamingClassifier(FixedRunner([[0.3, 0.2, 0.0]]), LABELS, _config(), "toy")
    preds = _feed(clf, 20)
    assert len(preds) == 3  # windows ending at frames 10, 15, 20
    p = preds[0]
    assert p.label == "unknown" and p.raw_label == "squat"
    assert set(p.scores) == set(LABELS) and abs(sum(p.scores.values()) - 1) < 1e-6
    assert p.window_end_ns - p.window_start_ns == pytest.approx(9 * 1e9 / 30, abs=2)
    assert p.model == "toy"


def test_hysteresis_and_ema_stop_flicker():
    script = [[5, 0, 0], [0, 5, 0], [5, 0, 0], [0, 5, 0], [0, 5, 0], [0, 5, 0]]
    plain = StreamingClassifier(FixedRunner(script), LABELS, _config(threshold=0.0))
    raw = [p.label for p in _feed(plain, 35)]
    assert raw == ["squat", "jumping_jacks", "squat", "jumping_jacks", "jumping_jacks",
                   "jumping_jacks"]
    steady = StreamingClassifier(FixedRunner(script), LABELS,
                                 _config(threshold=0.0, hysteresis=2))
    labels = [p.label for p in _feed(steady, 35)]
    assert labels == ["squat", "squat", "squat", "squat", "jumping_jacks", "jumping_jacks"]
    ema = StreamingClassifier(FixedRunner(script), LABELS,
                              _config(threshold=0.0, smoothing="ema", ema_alpha=0.3))
    ema_labels = [p.label for p in _feed(ema, 35)]
    assert ema_labels.count("squat") >= 3 and ema_labels[-1] == "jumping_jacks"
    vote = StreamingClassifier(FixedRunner(script), LABELS,
                               _config(threshold=0.0, smoothing="majority", majority_k=3))
    assert [p.label for p in _feed(vote, 35)][-1] == "jumping_jacks"


def test_low_camera_rate_still_fills_windows():
    clf = StreamingClassifier(FixedRunner([[5, 0, 0]]), LABELS, _config())
    preds = _feed(clf, 9, fps=9.0)  # one second at 9 fps = ~30 model frames
    assert len(preds) >= 3


def test_missing_person_and_gaps():
    clf = StreamingClassifier(FixedRunner([[5, 0, 0]]), LABELS, _config())
    for i in range(30):  # nobody seen: no prediction, no crash
        assert clf.update(None, round(i * 1e9 / 30)) is None
    preds = _feed(clf, 12, start_ns=round(30 * 1e9 / 30))
    assert len(preds) >= 1
    # A 5 s gap clears the window: the next window needs 10 fresh frames.
    later = _feed(clf, 9, start_ns=int(10e9))
    assert later == []
    # Bad keypoints (NaN) are treated as unseen, not propagated.
    kp = synthetic_sequence("squat", seconds=1, rng=np.random.default_rng(5)).keypoints[0].copy()
    kp[3] = np.nan
    clf.update(Skeleton("coco17", kp), int(20e9))


def test_other_layouts_are_converted():
    seen = {}

    def runner(x):
        seen["shape"] = x.shape
        return np.array([5.0, 0, 0])

    clf = StreamingClassifier(runner, LABELS, _config())
    kp = np.random.default_rng(0).uniform(100, 200, (33, 3)).astype(np.float32)
    kp[:, 2] = 0.9
    for i in range(10):
        clf.update(Skeleton("blazepose33", kp), round(i * 1e9 / 30))
    assert seen["shape"] == (1, 3, 10, 17)


def test_bad_config_is_rejected():
    with pytest.raises(ConfigError):
        StreamingConfig(window=0)
    with pytest.raises(ConfigError):
        StreamingConfig(smoothing="median")
    with pytest.raises(ConfigError):
        StreamingClassifier(FixedRunner([[0]]), [], _config())


def test_bundle_with_torch_and_onnx_gives_same_labels(tmp_path):
    pytest.importorskip("onnxruntime")
    import torch

    from rehab_core.recognition.stgcn import STGCN
    from rehab_core.training.stgcn_pipeline import StgcnSpec, write_bundle

    torch.manual_seed(0)
    spec = StgcnSpec(labels=LABELS, window=10, width=0.25, name="toy_bundle")
    write_bundle(tmp_path, spec, STGCN(spec.model_config()).eval(), {})
    seq = synthetic_sequence("jumping_jacks", seconds=3, rng=np.random.default_rng(4))
    results = {}
    for runtime in ("torch", "onnx"):
        clf = StreamingClassifier.from_bundle(tmp_path, runtime=runtime, threshold=0.0)
        assert clf.model_name == "toy_bundle" and clf.config.window == 10
        preds = _feed(clf, 60, seq=seq)
        results[runtime] = np.array([[p.scores[k] for k in LABELS] for p in preds])
    assert len(results["torch"]) > 5
    np.testing.assert_allclose(results["torch"], results["onnx"], atol=1e-4)
