"""HAR classifiers learn small synthetic sets; bundles save, load and stream like ST-GCN."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from rehab_core.errors import ConfigError, ModelLoadError, ShapeMismatchError
from rehab_core.har import training as har
from rehab_core.har.cnn_lstm import CnnLSTM, CnnLstmConfig
from rehab_core.har.skeleton_lstm import SkeletonLSTM, SkeletonLstmConfig
from rehab_core.har.streaming import har_streaming_classifier, streaming_classifier_from_config
from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.recognition.streaming import StreamingClassifier
from rehab_core.training.trainer import TrainConfig
from rehab_core.types import Skeleton

FRAMES = 20


def _cfg(epochs: int, lr: float = 1e-2) -> TrainConfig:
    return TrainConfig(epochs=epochs, batch_size=32, lr=lr, progress=False, seed=0)


@pytest.fixture(scope="module")
def skeleton_model():
    torch.set_num_threads(2)
    x, y = har.synthetic_skeleton_windows(400, FRAMES, seed=0)
    xn = har.normalize_skeleton_windows(x)
    flat = har.prepare_inputs("lstm", xn)
    tr, va = har.split_indices(y, 0.3, seed=0)
    model = har.build_model("lstm", flat.shape[1:], 4, hidden=32)
    hist = har.fit(model, flat[tr], y[tr], 4, _cfg(25, lr=3e-3), flat[va], y[va], log=None)
    return model, flat[va], y[va], hist


def test_skeleton_lstm_learns_well_above_chance(skeleton_model, tmp_path):
    model, xv, yv, hist = skeleton_model
    summary = har.evaluate(model, xv, yv, har.SYNTH_SKELETON_LABELS, tmp_path, history=hist)
    print("skeleton LSTM validation accuracy", summary["accuracy"])
    assert summary["accuracy"] > 0.7  # chance is 0.25
    for name in ("confusion_matrix.json", "confusion_matrix.png", "summary.json", "scores.csv"):
        assert (tmp_path / name).is_file()


def test_cnn_lstm_learns_motion_direction():
    torch.set_num_threads(2)
    x, y = har.synthetic_clips(300, frames=6, size=24, seed=1)
    xf = har.prepare_inputs("cnn_lstm", x)
    assert xf.dtype == np.float32 and xf.max() <= 1.0
    tr, va = har.split_indices(y, 0.3, seed=0)
    model = CnnLSTM(CnnLstmConfig(4, channels=(8, 16, 32), hidden=32))
    har.fit(model, xf[tr], y[tr], 4, _cfg(12), xf[va], y[va], log=None)
    acc = har.evaluate(model, xf[va], y[va], har.SYNTH_CLIP_LABELS)["accuracy"]
    print("CNN+LSTM validation accuracy", acc)
    assert acc > 0.7  # chance is 0.25


def test_shapes_are_checked():
    with pytest.raises(ShapeMismatchError):
        SkeletonLSTM(SkeletonLstmConfig(10, 3))(torch.zeros(2, 5, 11))
    with pytest.raises(ShapeMismatchError):
        CnnLSTM(CnnLstmConfig(3))(torch.zeros(2, 5, 1, 16, 16))
    with pytest.raises(ConfigError):
        har.build_model("gru", (10, 4), 3)
    # ST-GCN layout (N, C, T, V) equals the flattened (N, T, V*C) input
    m = SkeletonLSTM(SkeletonLstmConfig(17 * 3, 4)).eval()
    x = torch.randn(2, 3, 12, 17)
    flat = x.permute(0, 2, 3, 1).reshape(2, 12, 51)
    torch.testing.assert_close(m(x), m(flat))


def test_split_by_group_keeps_groups_apart():
    y = np.repeat([0, 1], 10)
    groups = np.arange(20) // 4
    tr, va = har.split_indices(y, 0.4, groups=groups)
    assert not set(groups[tr]) & set(groups[va]) and len(tr) + len(va) == 20


def test_bundle_roundtrip_and_streaming_like_stgcn(skeleton_model, tmp_path):
    model, xv, _, _ = skeleton_model
    streaming = {"layout": "coco17", "window": FRAMES, "fps": 30.0, "normalization": "torso",
                 "stride": 5, "threshold": 0.0, "hysteresis": 1, "smoothing": "none"}
    har.save_bundle(tmp_path, model, har.SYNTH_SKELETON_LABELS, streaming)
    loaded = har.load_model(tmp_path)
    torch.testing.assert_close(loaded(torch.from_numpy(xv[:4])), model.eval()(
        torch.from_numpy(xv[:4])))

    raw, y = har.synthetic_skeleton_windows(12, FRAMES, seed=7)
    streams = {
        "torch": har_streaming_classifier(tmp_path),
        "onnx": StreamingClassifier.from_bundle(tmp_path, runtime="onnx"),
        "auto": streaming_classifier_from_config(tmp_path),
    }
    for name, clf in streams.items():
        assert isinstance(clf, StreamingClassifier)
        correct = 0
        for window, label in zip(raw, y):
            clf.reset()
            pred = None
            for t, kp in enumerate(window):
                out = clf.update(Skeleton("coco17", kp), stamp_ns=int(t * 1e9 / 30))
                pred = out or pred
            assert isinstance(pred, ActionPrediction) and pred.model == "har_lstm"
            correct += pred.raw_label == har.SYNTH_SKELETON_LABELS[label]
        print(name, "streaming accuracy", correct / len(y))
        assert correct / len(y) > 0.5


def test_loading_errors(tmp_path):
    with pytest.raises(ModelLoadError):
        har.load_model(tmp_path)
    (tmp_path / har.HAR_PT).write_bytes(b"not a model")
    with pytest.raises(ModelLoadError):
        har.load_model(tmp_path)
