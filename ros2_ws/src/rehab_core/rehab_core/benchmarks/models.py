"""Latency of every pose/detection model on this machine, in one run.

For YOLO11n-pose (random init, exported on the fly: no weights exist
offline, and latency does not depend on the weights' values) it separates
the raw backend call from our full estimator (letterbox + infer + decode),
and puts ultralytics' own ``predict`` on the same ONNX file and on the
PyTorch model next to them, so the overhead of our pre/post-processing and
the gain over ultralytics are visible. MoveNet and YOLOX-nano (real models
from ``../shared``) and mediapipe BlazePose are added when available.
Numbers are printed, never asserted.
"""

from __future__ import annotations

import contextlib
import io
import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import numpy as np

ROW_KEYS = ("model", "stage", "runtime", "frames", "p50_ms", "p95_ms", "fps")


def time_calls(fn: Callable[[Any], Any], inputs: list[Any], warmup: int = 3) -> np.ndarray:
    """Milliseconds of ``fn(x)`` for each input (after ``warmup`` untimed calls)."""
    for x in inputs[: max(warmup, 0)]:
        fn(x)
    times = np.empty(len(inputs))
    for i, x in enumerate(inputs):
        t0 = time.perf_counter()
        fn(x)
        times[i] = (time.perf_counter() - t0) * 1e3
    return times


def make_row(model: str, stage: str, runtime: str, times_ms: np.ndarray) -> dict[str, Any]:
    mean = float(np.mean(times_ms))
    return {
        "model": model,
        "stage": stage,
        "runtime": runtime,
        "frames": len(times_ms),
        "p50_ms": float(np.percentile(times_ms, 50)),
        "p95_ms": float(np.percentile(times_ms, 95)),
        "fps": 1e3 / mean if mean > 0 else float("inf"),
    }


def read_frames(video: str | Path | None, count: int) -> list[np.ndarray]:
    """``count`` BGR frames from ``video`` (looping), or synthetic 720p frames without one."""
    import cv2

    frames: list[np.ndarray] = []
    if video is not None and Path(video).is_file():
        cap = cv2.VideoCapture(str(video))
        while len(frames) < count:
            ok, frame = cap.read()
            if not ok:
                if not frames:
                    break
                cap.set(cv2.CAP_PROP_POS_FRAMES, 0)
                continue
            frames.append(frame)
        cap.release()
    if not frames:
        rng = np.random.default_rng(0)
        frames = [rng.integers(0, 255, (720, 1280, 3), dtype=np.uint8) for _ in range(count)]
    return frames


def _yolo_pose_rows(frames, imgsz, cache_dir, include_ultralytics, threads) -> list[dict]:
    from rehab_core.export.yolo import cached_random_yolo_onnx, random_yolo
    from rehab_core.pose.yolo_pose import YoloPoseEstimator
    from rehab_core.vision.yolo import decode_yolo, yolo_blob

    name = f"yolo11n-pose@{imgsz} (random)"
    onnx_path = cached_random_yolo_onnx(cache_dir, "pose", imgsz=imgsz)
    # same settings as ultralytics predict defaults (conf 0.25, iou 0.7, max_det 300)
    est = YoloPoseEstimator(onnx_path, max_det=300, intra_op_threads=threads)
    runtime = f"onnxruntime {est.backend.providers[0]}"
    blobs = [yolo_blob(f, est.input_size)[0] for f in frames]
    outputs = [est.infer_raw(b) for b in blobs]
    candidates = int(np.mean([(o[0, 4] > est.conf_threshold).sum() for o in outputs]))
    buffer = np.empty_like(blobs[0])

    def decode(output):
        return decode_yolo(output, est.nc, est.conf_threshold, est.iou_threshold, est.max_det)

    rows = [
        make_row(name, "raw backend call", runtime, time_calls(est.infer_raw, blobs)),
        make_row(name, "our pre-processing alone", "numpy/opencv",
                 time_calls(lambda f: yolo_blob(f, est.input_size, out=buffer), frames)),
        make_row(name, f"our decode+NMS alone ({candidates} cand.)", "numpy",
                 time_calls(decode, outputs)),
        make_row(name, "our estimator (pre+infer+post)", runtime, time_calls(est.estimate, frames)),
    ]
    est.close()
    if include_ultralytics:
        from rehab_core.export.ultralytics_offline import import_ultralytics

        ultralytics = import_ultralytics()
        with contextlib.redirect_stdout(io.StringIO()):
            ul_onnx = ultralytics.YOLO(str(onnx_path), task="pose")
            ul_torch = random_yolo("pose", imgsz=imgsz, work_dir=Path(cache_dir) / "work-bench")

        def predict(model):
            return lambda f: model.predict(f, imgsz=imgsz, verbose=False)

        rows.append(make_row(name, "ultralytics predict (same ONNX)", "onnxruntime",
                             time_calls(predict(ul_onnx), frames)))
        rows.append(make_row(name, "ultralytics predict (PyTorch)", "torch cpu",
                             time_calls(predict(ul_torch), frames)))
    return rows


def _movenet_rows(frames, shared: Path, threads) -> list[dict]:
    from rehab_core.pose.movenet import MoveNetEstimator

    model = shared / "models/movenet/movenet_singlepose_lightning_int8_4.tflite"
    if not model.is_file():
        return []
    est = MoveNetEstimator(model, num_threads=threads)
    rows = [make_row("movenet-lightning int8", "estimator (pre+infer+post)", "litert",
                     time_calls(est.estimate, frames))]
    backend = est.backend
    spec = backend.inputs[0]
    x = np.zeros(spec.shape, spec.dtype)
    rows.insert(0, make_row("movenet-lightning int8", "raw backend call", "litert",
                            time_calls(lambda _: backend.run({spec.name: x}), frames)))
    est.close()
    return rows


def _yolox_rows(frames, shared: Path, threads) -> list[dict]:
    from rehab_core.detection.yolox import YoloxDetector

    model = shared / "models/yolox/yolox_nano.onnx"
    if not model.is_file():
        return []
    det = YoloxDetector(model, intra_op_threads=threads)
    blobs = [det.preprocess(f)[0] for f in frames]
    rows = [
        make_row("yolox-nano@416", "raw backend call", "onnxruntime",
                 time_calls(det.infer_raw, blobs)),
        make_row("yolox-nano@416", "our detector (pre+infer+post)", "onnxruntime",
                 time_calls(det.detect, frames)),
    ]
    det.close()
    return rows


def _blazepose_rows(frames) -> list[dict]:
    try:
        from rehab_core.pose.blazepose import BlazePoseEstimator
    except ImportError:
        return []
    est = BlazePoseEstimator()
    rows = [make_row("blazepose full (mediapipe)", "estimator (tracking on)", "mediapipe",
                     time_calls(est.estimate, frames))]
    est.close()
    return rows


def benchmark_models(
    frames: list[np.ndarray] | None = None,
    n_frames: int = 100,
    imgsz: int = 320,
    cache_dir: str | Path = ".cache/models",
    shared_dir: str | Path | None = None,
    include_ultralytics: bool = True,
    include: Iterable[str] = ("yolo_pose", "movenet", "yolox", "blazepose"),
    threads: int = 2,
) -> list[dict[str, Any]]:
    """Rows of ``ROW_KEYS`` for each model/stage available here (see module docstring)."""
    import torch

    torch.set_num_threads(threads)
    shared = Path(shared_dir) if shared_dir else Path(os.environ.get("REHAB_SHARED_DIR", ""))
    if frames is None:
        frames = read_frames(shared / "media/exercise/squat.mp4" if shared_dir else None, n_frames)
    include = set(include)
    rows: list[dict[str, Any]] = []
    if "yolo_pose" in include:
        rows += _yolo_pose_rows(frames, imgsz, Path(cache_dir), include_ultralytics, threads)
    if shared_dir and "movenet" in include:
        rows += _movenet_rows(frames, shared, threads)
    if shared_dir and "yolox" in include:
        rows += _yolox_rows(frames, shared, threads)
    if "blazepose" in include:
        rows += _blazepose_rows(frames)
    return rows


def format_table(rows: list[dict[str, Any]]) -> str:
    """Fixed-width text table of benchmark rows."""
    header = f"{'model':<28} {'stage':<38} {'runtime':<34} {'n':>4} {'p50 ms':>8} " \
             f"{'p95 ms':>8} {'fps':>7}"
    lines = [header, "-" * len(header)]
    for r in rows:
        lines.append(f"{r['model']:<28} {r['stage']:<38} {r['runtime']:<34} {r['frames']:>4} "
                     f"{r['p50_ms']:>8.2f} {r['p95_ms']:>8.2f} {r['fps']:>7.1f}")
    return "\n".join(lines)
