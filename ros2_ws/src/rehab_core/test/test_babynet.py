"""BabyNet model: size, numpy/torch parity, learning on synthetic reaches, shipped weights."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rehab_core.errors import ModelLoadError, ShapeMismatchError
from rehab_core.reach.babynet import (
    CLASSES,
    NOR,
    WINDOW,
    BabyMLP,
    BabyNet,
    NumpyBabyNet,
    NumpyMLP,
    R,
    count_parameters,
)
from rehab_core.reach.features import NUM_FEATURES
from rehab_core.reach.keyframes import ReachDetector
from rehab_core.reach.metrics import frame_metrics
from rehab_core.reach.synthetic import generate_dataset
from rehab_core.reach.training import build_windows, fit_iou_threshold, train_classifier

REPO = Path(__file__).resolve().parents[4]
SHIPPED = REPO / "models" / "babynet"


def test_parameter_count_is_about_1200():
    n = count_parameters(BabyNet())
    print(f"BabyNet parameters: {n}")
    assert 900 <= n <= 1500


def test_numpy_forward_matches_torch():
    torch.manual_seed(0)
    model = BabyNet().eval()
    x = np.random.default_rng(0).normal(size=(16, WINDOW, NUM_FEATURES)).astype(np.float32)
    with torch.inference_mode():
        ref = torch.softmax(model(torch.from_numpy(x)), -1).numpy()
    got = NumpyBabyNet(model.state_dict()).probabilities(x)
    np.testing.assert_allclose(got, ref, atol=1e-5)
    np.testing.assert_allclose(NumpyBabyNet(model.state_dict()).probabilities(x[0]), ref[0],
                               atol=1e-5)
    mlp = BabyMLP().eval()
    with torch.inference_mode():
        ref = torch.softmax(mlp(torch.from_numpy(x)), -1).numpy()
    np.testing.assert_allclose(NumpyMLP(mlp.state_dict()).probabilities(x), ref, atol=1e-5)


def test_wrong_shapes_raise_clear_errors():
    with pytest.raises(ShapeMismatchError):
        BabyNet()(torch.zeros(2, WINDOW, NUM_FEATURES + 1))
    with pytest.raises(ShapeMismatchError):
        BabyMLP()(torch.zeros(2, WINDOW + 1, NUM_FEATURES))
    with pytest.raises(ShapeMismatchError):
        NumpyBabyNet(BabyNet().state_dict()).logits(np.zeros((3, 2, 9)))


def test_babynet_learns_reach_frames_quickly():
    torch.set_num_threads(1)
    train, test = generate_dataset(60, seed=1), generate_dataset(20, seed=2)
    x, y = build_windows(train)
    model = BabyNet()
    train_classifier(model, x, y, epochs=6, seed=0)
    xt, yt = build_windows(test)
    pred = NumpyBabyNet(model.state_dict()).probabilities(xt).argmax(-1)
    m = frame_metrics(yt, pred)
    majority = float(np.mean(yt == NOR))
    print(m["accuracy"], majority, m["recall_R"])
    assert m["accuracy"] > majority + 0.02
    assert m["recall_R"] > 0.4 and m["precision_R"] > 0.4
    assert pred[yt == R].size and (pred == R).any()


def test_iou_threshold_is_learned_in_a_sensible_range():
    thr = fit_iou_threshold(generate_dataset(40, seed=5))
    assert 0.05 <= thr <= 0.7


def test_shipped_model_loads_and_detects_reaches():
    if not (SHIPPED / "babynet.pt").is_file():
        pytest.fail(f"shipped BabyNet missing at {SHIPPED}; run: rehab train babynet")
    cfg = json.loads((SHIPPED / "config.json").read_text())
    assert cfg["classes"] == list(CLASSES)
    det = ReachDetector.from_dir(SHIPPED)
    assert det.config.iou_threshold == pytest.approx(cfg["keyframes"]["iou_threshold"])
    seq = generate_dataset(1, seed=999)[0]
    offsets = []
    for t, dets in enumerate(seq.detections):
        out = det.update(dets, t, t * 66_000_000)
        offsets += [o.offset_index for o in out.values() if o.offset_index >= 0]
    assert seq.events and offsets  # it finds reaches in a fresh sequence
    onnx = SHIPPED / "babynet.onnx"
    if onnx.is_file():  # the ONNX export must agree with the numpy path
        import onnxruntime as ort

        x = np.random.default_rng(1).normal(size=(4, WINDOW, NUM_FEATURES)).astype(np.float32)
        logits = ort.InferenceSession(str(onnx)).run(None, {"features": x})[0]
        np.testing.assert_allclose(logits, det.classifier.logits(x), atol=1e-4)


def test_missing_model_dir_is_a_clear_error(tmp_path):
    with pytest.raises(ModelLoadError, match="rehab train babynet"):
        ReachDetector.from_dir(tmp_path)
