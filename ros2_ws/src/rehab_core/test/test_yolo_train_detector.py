"""`rehab train detector` fine-tunes on a YOLO-format dataset and `rehab eval detector` scores it.

The dataset is generated here: coloured rectangles standing for the four
classes of the reaching set-up (infant, left_hand, right_hand, object).
"""

from __future__ import annotations

import socket

import cv2
import numpy as np
import pytest
import yaml

pytest.importorskip("ultralytics")

COLOURS = {0: (180, 160, 230), 1: (40, 200, 40), 2: (40, 40, 220), 3: (220, 120, 20)}


def write_dataset(root, n_train=8, n_val=4, size=64):
    rng = np.random.default_rng(0)
    for split, count in (("train", n_train), ("val", n_val)):
        (root / "images" / split).mkdir(parents=True)
        (root / "labels" / split).mkdir(parents=True)
        for i in range(count):
            img = np.full((size, size, 3), 110, np.uint8)
            lines = []
            for cls, colour in COLOURS.items():
                w, h = (int(v) for v in rng.integers(10, 26, 2))
                x, y = (int(v) for v in rng.integers(0, size - 26, 2))
                cv2.rectangle(img, (x, y), (x + w, y + h), colour, -1)
                lines.append(f"{cls} {(x + w / 2) / size:.5f} {(y + h / 2) / size:.5f} "
                             f"{w / size:.5f} {h / size:.5f}")
            cv2.imwrite(str(root / "images" / split / f"{i}.png"), img)
            (root / "labels" / split / f"{i}.txt").write_text("\n".join(lines) + "\n")
    data = {"path": str(root), "train": "images/train", "val": "images/val",
            "names": {0: "infant", 1: "left_hand", 2: "right_hand", 3: "object"}}
    path = root / "data.yaml"
    path.write_text(yaml.safe_dump(data))
    return path


@pytest.mark.slow
def test_train_one_epoch_then_eval(tmp_path, capsys, monkeypatch):
    import torch

    from rehab_cli.main import main

    torch.set_num_threads(2)
    attempts = []

    def refuse(*args, **kwargs):
        import traceback

        attempts.append((args, "".join(traceback.format_stack(limit=30)[:14])))
        raise OSError("network access is not allowed in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.chdir(tmp_path)  # ultralytics may drop files in the working directory
    data = write_dataset(tmp_path / "ds")
    out = tmp_path / "run"
    code = main(["train", "detector", "--data", str(data), "--model", "yolo11n.yaml",
                 "--epochs", "1", "--imgsz", "64", "--batch", "4", "--workers", "0",
                 "--out", str(out)])
    assert code == 0
    weights = out / "weights" / "best.pt"
    if not weights.is_file():
        weights = out / "weights" / "last.pt"
    assert weights.is_file()
    assert "trained 4 classes ['infant', 'left_hand', 'right_hand', 'object']" in (
        capsys.readouterr().out
    )
    code = main(["eval", "detector", "--model", str(weights), "--data", str(data),
                 "--imgsz", "64", "--batch", "4"])
    assert code == 0
    assert "mAP50" in capsys.readouterr().out
    assert not attempts, f"training tried the network: {attempts}"


def test_train_refuses_bad_inputs(tmp_path, capsys):
    from rehab_cli.main import main

    data = write_dataset(tmp_path / "ds", n_train=1, n_val=1)
    missing_pt = main(["train", "detector", "--data", str(data), "--model", "yolo11n.pt",
                       "--out", str(tmp_path / "r")])
    assert missing_pt == 2
    assert "nothing is downloaded" in capsys.readouterr().err
    broken = tmp_path / "broken.yaml"
    broken.write_text(yaml.safe_dump({"train": "images/train", "names": ["a"]}))
    assert main(["train", "detector", "--data", str(broken), "--out", str(tmp_path / "r")]) == 2
    assert "lacks ['val']" in capsys.readouterr().err
