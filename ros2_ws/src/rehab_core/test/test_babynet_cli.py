"""`rehab train babynet` / `rehab eval babynet` end to end on a tiny generated set."""

from __future__ import annotations

import json

import pytest

rehab_main = pytest.importorskip("rehab_cli.main", reason="rehab_cli not on the path").main


def test_train_then_eval_babynet(tmp_path, capsys):
    out = tmp_path / "babynet"
    rc = rehab_main(["train", "babynet", "--out", str(out), "--num-train", "16",
                     "--num-test", "4", "--epochs", "2", "--no-onnx"])
    assert rc == 0
    for name in ("babynet.pt", "mlp.pt", "config.json", "metrics.json", "labels.txt"):
        assert (out / name).is_file()
    metrics = json.loads((out / "metrics.json").read_text())
    assert 900 <= metrics["babynet"]["parameters"] <= 1500
    assert 0 < metrics["keyframes"]["iou_threshold"] <= 1
    report = tmp_path / "eval.json"
    rc = rehab_main(["eval", "babynet", "--model", str(out), "--num-test", "3",
                     "--json", str(report)])
    assert rc == 0
    ev = json.loads(report.read_text())
    assert ev["sequences"] == 3 and 0 <= ev["model_frames"]["accuracy"] <= 1
    assert "onset" in ev and "offset" in ev


def test_eval_without_model_is_a_clear_error(tmp_path, capsys):
    assert rehab_main(["eval", "babynet", "--model", str(tmp_path)]) == 2
    assert "rehab train babynet" in capsys.readouterr().err
