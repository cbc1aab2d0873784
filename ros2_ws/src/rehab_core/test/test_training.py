"""Training loop, transfer learning, evaluation outputs and the ``rehab train/eval stgcn`` CLI."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from rehab_core.datasets.synthetic import synthetic_sequence
from rehab_core.errors import ConfigError
from rehab_core.recognition.stgcn import STGCN, STGCNConfig
from rehab_core.training.evaluation import EvalResult, write_evaluation
from rehab_core.training.stgcn_pipeline import StgcnSpec, make_windows
from rehab_core.training.trainer import TrainConfig, class_weights, train_classifier

torch.set_num_threads(1)
LABELS = ["squat", "jumping_jacks", "idle"]


def _sequences(per_class: int, seed: int, seconds: float = 4.0):
    rng = np.random.default_rng(seed)
    return [synthetic_sequence(k, seconds=seconds, rng=rng, video_id=f"{k}_{seed}_{i}")
            for k in LABELS for i in range(per_class)]


def _spec(**train) -> StgcnSpec:
    cfg = dict(epochs=6, batch_size=16, lr=3e-3, progress=False, seed=0)
    return StgcnSpec(labels=LABELS, window=20, stride=5, width=0.25, speeds=(1.0,),
                     train=TrainConfig(**{**cfg, **train}))


def test_learns_synthetic_exercises_on_unseen_videos():
    spec = _spec()
    train_w = make_windows(spec, _sequences(2, seed=0))
    test_w = make_windows(spec, _sequences(1, seed=99))
    torch.manual_seed(0)
    model = STGCN(spec.model_config())
    history = train_classifier(model, train_w.x, train_w.y, spec.train, len(LABELS),
                               log=None)
    assert history.epochs[-1].train_loss < history.epochs[0].train_loss
    model.eval()
    with torch.no_grad():
        pred = model(torch.from_numpy(test_w.x)).argmax(1).numpy()
    acc = float((pred == test_w.y).mean())
    print(f"synthetic held-out-video window accuracy: {acc:.2f}")
    assert acc > 0.7  # chance is 0.33; seeds 0-3 give 0.81-0.97


def test_freeze_epochs_train_only_the_head_then_everything():
    spec = _spec(epochs=2, freeze_epochs=1)
    w = make_windows(spec, _sequences(1, seed=1))
    model = STGCN(spec.model_config())
    before = model.blocks[3].tcn[2].weight.detach().clone()
    head_before = model.classifier.weight.detach().clone()
    cfg1 = TrainConfig(**{**spec.train.to_dict(), "epochs": 1, "freeze_epochs": 1})
    h = train_classifier(model, w.x, w.y, cfg1, len(LABELS), log=None)
    assert h.epochs[0].frozen
    torch.testing.assert_close(model.blocks[3].tcn[2].weight, before)  # backbone untouched
    assert not torch.equal(model.classifier.weight, head_before)
    h = train_classifier(model, w.x, w.y, spec.train, len(LABELS), log=None)
    assert [e.frozen for e in h.epochs] == [True, False]
    assert h.epochs[1].lr == pytest.approx(spec.train.lr / 2)  # unfrozen at half the rate
    assert not torch.equal(model.blocks[3].tcn[2].weight, before)


def test_class_weights_and_bad_configs():
    w = class_weights(np.array([0, 0, 0, 1]), 3)
    assert w[0] < w[1] and w[2] == 0
    with pytest.raises(ConfigError):
        TrainConfig(optimizer="adam")
    with pytest.raises(ConfigError):
        TrainConfig(epochs=2, freeze_epochs=3)
    with pytest.raises(ConfigError):
        train_classifier(STGCN(STGCNConfig(num_classes=2, width=0.25)),
                         np.zeros((0, 3, 10, 17), np.float32), np.zeros(0, np.int64),
                         TrainConfig(progress=False), 2)


def test_evaluation_writes_all_outputs(tmp_path):
    probs = np.array([[0.9, 0.1, 0.0], [0.2, 0.7, 0.1], [0.6, 0.3, 0.1], [0.1, 0.1, 0.8]])
    res = EvalResult(LABELS, np.array([0, 1, 1, 2]), probs, np.array(["a", "b", "b", "c"]))
    summary = write_evaluation(tmp_path, res, history=[{"epoch": 0, "train_loss": 1.0}])
    for name in ("confusion_matrix.png", "confusion_matrix.json", "summary.json", "scores.csv",
                 "scores.jsonl"):
        assert (tmp_path / name).stat().st_size > 0
    assert summary["accuracy"] == pytest.approx(0.75)
    assert summary["per_class"]["jumping_jacks"]["recall"] == pytest.approx(0.5)
    assert summary["videos"]["b"]["window_accuracy"] == pytest.approx(0.5)
    cm = json.loads((tmp_path / "confusion_matrix.json").read_text())["rows_true_cols_pred"]
    assert cm[1] == [1, 1, 0]
    assert len((tmp_path / "scores.jsonl").read_text().splitlines()) == 4


def _write_npz_folder(folder, seqs):
    folder.mkdir()
    for s in seqs:
        np.savez(folder / f"{s.video_id}.npz", keypoints=s.keypoints, stamps_ns=s.stamps_ns,
                 fps=s.fps, layout=s.layout, width=640, height=480)


def test_cli_train_lovo_and_eval(tmp_path, capsys):
    from rehab_cli.main import main

    rng = np.random.default_rng(5)
    seqs = []
    for k, stem in (("squat", "squat"), ("jumping_jacks", "jacks")):
        for i in range(2):
            s = synthetic_sequence(k, seconds=2, rng=rng)
            s.video_id = f"{stem}{i}"
            seqs.append(s)
    data = tmp_path / "skeletons"
    _write_npz_folder(data, seqs)
    out = tmp_path / "model"
    code = main(["train", "stgcn", "--data", str(data), "--labels", "squat,jumping_jacks",
                 "--out", str(out), "--window", "20", "--stride", "10", "--epochs", "1",
                 "--width", "0.25", "--speeds", "1", "--lovo", "--no-progress",
                 "--threads", "1"])
    assert code == 0
    for name in ("model.pt", "model.onnx", "labels.txt", "config.yaml", "eval/summary.json",
                 "lovo/summary.json", "lovo/confusion_matrix.png", "lovo/folds.json"):
        assert (out / name).is_file(), name
    folds = json.loads((out / "lovo" / "folds.json").read_text())
    assert sorted(f["video"] for f in folds) == ["jacks0", "jacks1", "squat0", "squat1"]
    code = main(["eval", "stgcn", "--model", str(out), "--data", str(data),
                 "--out", str(tmp_path / "eval")])
    assert code == 0
    assert json.loads((tmp_path / "eval" / "summary.json").read_text())["samples"] > 0
    # Bad input: a clear error and exit code 2, not a traceback.
    assert main(["eval", "stgcn", "--model", str(tmp_path / "none"), "--data", str(data),
                 "--out", str(tmp_path / "e2")]) == 2
    assert "error" in capsys.readouterr().err
    # the shipped fused bundle needs 3-D windows: pointed to the command that builds them
    shipped = Path(__file__).resolve().parents[4] / "models" / "exercise_stgcn"
    assert main(["eval", "stgcn", "--model", str(shipped), "--data", str(data),
                 "--out", str(tmp_path / "e3")]) == 2
    err = capsys.readouterr().err
    assert "rehab eval recognition --bundle" in err and "fallback_2d" in err, err
