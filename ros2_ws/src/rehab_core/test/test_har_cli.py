"""`rehab train har` / `rehab eval har` on toy data, npz and BVH inputs."""

from __future__ import annotations

import json

import numpy as np
import pytest

from rehab_core.har import training as har

rehab_main = pytest.importorskip("rehab_cli.main", reason="rehab_cli not on the path").main

from test_har_bvh import BVH  # noqa: E402  (the test module's tiny BVH text)


def test_train_and_eval_har_lstm_from_npz(tmp_path, capsys):
    x, y = har.synthetic_skeleton_windows(80, 16, seed=3)
    data = tmp_path / "d.npz"
    np.savez(data, x=har.normalize_skeleton_windows(x), y=y,
             labels=np.array(har.SYNTH_SKELETON_LABELS), groups=np.arange(80) // 4)
    out = tmp_path / "har"
    assert rehab_main(["train", "har", "--arch", "lstm", "--data", str(data), "--out", str(out),
                       "--epochs", "3", "--hidden", "16"]) == 0
    assert (out / "har_model.pt").is_file() and (out / "eval" / "summary.json").is_file()
    assert (out / "eval" / "confusion_matrix.png").is_file()
    capsys.readouterr()
    assert rehab_main(["eval", "har", "--model", str(out), "--data", str(data),
                       "--out", str(tmp_path / "ev")]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert printed["samples"] == 80 and 0 <= printed["accuracy"] <= 1


def test_train_har_lstm_npz_with_layout_streams_like_stgcn(tmp_path):
    from rehab_core.recognition.streaming import StreamingClassifier

    x, y = har.synthetic_skeleton_windows(40, 12, seed=4)
    data = tmp_path / "raw.npz"
    np.savez(data, x=x, y=y)  # pixel keypoints, no labels array: names become 0..3
    out = tmp_path / "stream"
    assert rehab_main(["train", "har", "--data", str(data), "--layout", "coco17", "--normalize",
                       "--fps", "15", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 0
    assert (out / "model.onnx").is_file()
    clf = StreamingClassifier.from_bundle(out)
    assert clf.config.window == 12 and clf.config.fps == 15.0 and clf.labels == list("0123")


def test_train_har_cnn_lstm_synthetic(tmp_path):
    out = tmp_path / "cnn"
    assert rehab_main(["train", "har", "--arch", "cnn_lstm", "--synthetic", "--num-synthetic",
                       "24", "--epochs", "1", "--hidden", "8", "--out", str(out)]) == 0
    assert (out / "har_model.pt").is_file() and not (out / "model.onnx").exists()


def test_train_har_from_bvh_folder(tmp_path):
    root = tmp_path / "bvh"
    for c, scale in (("still", 0.0), ("wave", 60.0)):
        (root / c).mkdir(parents=True)
        for i in range(4):
            rows = BVH.split("MOTION")[0]
            frames = "\n".join(
                f"0 0 0 0 0 0 {scale * np.sin(t / 3 + i):.3f} 0 0 5 0 0 0 0 0 0 0 0"
                for t in range(12))
            (root / c / f"s{i}.bvh").write_text(
                f"{rows}MOTION\nFrames: 12\nFrame Time: 0.04\n{frames}\n")
    out = tmp_path / "m"
    assert rehab_main(["train", "har", "--bvh-dir", str(root), "--window", "10", "--epochs", "2",
                       "--hidden", "8", "--val-fraction", "0.5", "--out", str(out)]) == 0
    assert (out / "labels.txt").read_text().split() == ["still", "wave"]


def test_missing_data_is_a_clear_error(tmp_path, capsys):
    assert rehab_main(["train", "har", "--out", str(tmp_path)]) == 2
    assert "--data" in capsys.readouterr().err
