"""The model benchmark runs end to end on a few frames and reports the right columns."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.benchmarks.models import ROW_KEYS, benchmark_models, format_table

pytest.importorskip("ultralytics")


def test_benchmark_rows_on_three_frames(tmp_path):
    frames = [np.random.default_rng(i).integers(0, 255, (240, 320, 3), np.uint8) for i in range(3)]
    rows = benchmark_models(frames, imgsz=64, cache_dir=tmp_path, include=("yolo_pose",))
    stages = [r["stage"] for r in rows]
    assert stages[:2] == ["raw backend call", "our pre-processing alone"]
    assert stages[2].startswith("our decode+NMS alone")
    assert stages[3:] == ["our estimator (pre+infer+post)", "ultralytics predict (same ONNX)",
                          "ultralytics predict (PyTorch)"]
    for row in rows:
        assert tuple(row) == ROW_KEYS
        assert row["frames"] == 3 and row["p50_ms"] > 0 and row["p95_ms"] >= row["p50_ms"]
    assert "p50 ms" in format_table(rows)


@pytest.mark.shared
def test_benchmark_with_shared_models(tmp_path, shared_dir):
    frames = [np.zeros((360, 640, 3), np.uint8)] * 3
    rows = benchmark_models(frames, cache_dir=tmp_path, shared_dir=shared_dir,
                            include=("movenet", "yolox"))
    models = {r["model"] for r in rows}
    assert models == {"movenet-lightning int8", "yolox-nano@416"}
    assert all(tuple(r) == ROW_KEYS and r["frames"] == 3 for r in rows)
