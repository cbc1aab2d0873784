"""Exports produce files that run and match their source; missing runtimes fail clearly."""

from __future__ import annotations

import sys

import cv2
import numpy as np
import pytest

from rehab_core.errors import BackendUnavailableError, InputSourceError, ModelLoadError

torch = pytest.importorskip("torch")


class TinyWindowClassifier(torch.nn.Module):
    """(N, C, T, V) skeleton windows -> class logits, any N and T (like ST-GCN)."""

    def __init__(self, channels: int = 3, joints: int = 17, classes: int = 4) -> None:
        super().__init__()
        self.temporal = torch.nn.Conv2d(channels, 16, (5, 1), padding=(2, 0))
        self.spatial = torch.nn.Linear(joints, 8)
        self.head = torch.nn.Linear(16 * 8, classes)

    def forward(self, x):
        h = torch.relu(self.temporal(x))  # N, 16, T, V
        h = self.spatial(h).mean(2)  # N, 16, 8
        return self.head(h.flatten(1))


def test_classifier_export_dynamic_batch_and_window(tmp_path, capsys):
    from rehab_core.backends import create_backend
    from rehab_core.export.classifier import check_onnx_parity, export_torch_classifier

    torch.manual_seed(0)
    model = TinyWindowClassifier()
    example = torch.randn(1, 3, 30, 17)
    path = export_torch_classifier(
        model, example, tmp_path / "cls.onnx",
        dynamic_axes={"input": {0: "batch", 2: "time"}, "logits": {0: "batch"}},
    )
    spec = create_backend(path).inputs[0]
    assert spec.shape[1] == 3 and spec.shape[3] == 17
    assert not isinstance(spec.shape[0], int) and not isinstance(spec.shape[2], int)
    cases = [example, torch.randn(4, 3, 30, 17), torch.randn(2, 3, 91, 17)]
    worst = check_onnx_parity(model, path, cases)
    assert worst < 1e-4
    printed = capsys.readouterr().out
    assert printed.count("max abs diff") == 3 and "(2, 3, 91, 17)" in printed
    assert model.training  # export restores the mode it found


def test_cli_classifier_export_from_torchscript(tmp_path, capsys):
    from rehab_cli.main import main

    script = tmp_path / "cls.torchscript"
    torch.jit.trace(TinyWindowClassifier().eval(), torch.randn(1, 3, 30, 17)).save(str(script))
    out = tmp_path / "cls.onnx"
    code = main(["export", "classifier", str(script), "--input-shape", "1,3,30,17",
                 "--dynamic", "0:batch", "2:time", "--check-shape", "3,3,64,17", "-o", str(out)])
    assert code == 0 and out.is_file()
    assert "max abs diff ONNX vs PyTorch" in capsys.readouterr().out
    bad = main(["export", "classifier", str(script), "--input-shape", "1,3,30,17",
                "--check-shape", "1,3,64,17", "-o", str(out)])  # time axis not dynamic
    assert bad == 2
    assert "non-dynamic axes [2]" in capsys.readouterr().err
    missing = main(["export", "classifier", str(tmp_path / "nope.pt"), "--input-shape", "1,3",
                    "-o", str(out)])
    assert missing == 2


def test_yolo_export_dynamic_from_yaml(tmp_path):
    pytest.importorskip("ultralytics")
    from rehab_core.export.yolo import export_yolo_onnx, random_yolo
    from rehab_core.pose.yolo_pose import YoloPoseEstimator

    model = random_yolo("pose", imgsz=64, work_dir=tmp_path / "work")
    out = export_yolo_onnx(model, tmp_path / "pose-dyn.onnx", imgsz=64, dynamic=True)
    est = YoloPoseEstimator(out, imgsz=128, conf_threshold=0.0, max_det=5)
    assert est.input_size == (128, 128)
    skeletons = est.estimate(np.full((90, 160, 3), 80, np.uint8))
    assert 0 < len(skeletons) <= 5
    assert all(s.keypoints.shape == (17, 3) for s in skeletons)
    assert all((s.keypoints[:, 0] <= 160).all() and (s.keypoints[:, 1] <= 90).all()
               for s in skeletons)
    with pytest.raises(ModelLoadError, match="not found"):
        export_yolo_onnx(tmp_path / "missing.pt", tmp_path / "x.onnx")
    wrong = tmp_path / "model.onnx"
    wrong.write_bytes(b"x")
    with pytest.raises(ModelLoadError, match=r"\.pt or \.yaml"):
        export_yolo_onnx(wrong, tmp_path / "x.onnx")


def test_engine_build_without_tensorrt_names_package(tmp_path, monkeypatch):
    from rehab_cli.main import main
    from rehab_core.export.tensorrt import build_engine

    monkeypatch.setitem(sys.modules, "tensorrt", None)
    onnx_file = tmp_path / "m.onnx"
    onnx_file.write_bytes(b"x")
    with pytest.raises(BackendUnavailableError, match="pip install tensorrt"):
        build_engine(onnx_file, precision="fp16")
    assert main(["export", "engine", str(onnx_file)]) == 2


def test_calibration_frames_from_folder_and_video(tmp_path):
    from rehab_core.export.tensorrt import iter_calibration_frames, yolo_preprocess

    folder = tmp_path / "frames"
    folder.mkdir()
    for i in range(6):
        cv2.imwrite(str(folder / f"{i:03d}.png"), np.full((40, 60, 3), i * 20, np.uint8))
    (folder / "notes.txt").write_text("ignored")
    frames = list(iter_calibration_frames(folder, limit=3))
    assert len(frames) == 3 and frames[0].shape == (40, 60, 3)
    video = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"MJPG"), 10, (64, 48))
    for i in range(20):
        writer.write(np.full((48, 64, 3), i * 10, np.uint8))
    writer.release()
    frames = list(iter_calibration_frames(video, limit=5))
    assert len(frames) == 5
    blob = yolo_preprocess(64)(frames[0])
    assert blob.shape == (1, 3, 64, 64) and blob.dtype == np.float32 and blob.max() <= 1.0
    with pytest.raises(InputSourceError):
        list(iter_calibration_frames(tmp_path / "empty_dir_missing.mp4"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(InputSourceError, match="no images"):
        list(iter_calibration_frames(empty))
