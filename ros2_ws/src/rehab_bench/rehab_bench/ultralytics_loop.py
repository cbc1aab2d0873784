"""The baseline most users write today: a plain ultralytics ``predict`` loop on the pose model.

Why: ``--compare`` must say what our container buys over the usual
yolo_ros-style node, which calls ``YOLO(model).predict(image)`` per frame and
lets ultralytics do the pre-processing, inference and NMS. This player feeds
that loop from the same in-memory frames with the same fixed-rate ticker and
drop rule as the container (``play_fixed_rate``), so the figures compare
like for like. It measures pose only; the container runs pose + tracker +
classifier behind it, so the ratio is conservative for us.
"""

from __future__ import annotations

import contextlib
import io
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import psutil

from rehab_bench.replay import (
    FrameRecord,
    FreshStamps,
    RunResult,
    cpu_seconds,
    play_fixed_rate,
)
from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.types import Frame

#: model files ultralytics' YOLO() loads for pose (the .yaml builds a random-init model)
SUFFIXES = (".pt", ".onnx", ".engine", ".yaml", ".yml")


def ultralytics_model_for(stack_pose: dict[str, Any]) -> tuple[Path | None, str]:
    """The pose model the stack uses, as ultralytics would load it, or None and why not.

    Prefers a ``.pt`` next to the stack's ONNX/engine (what a user of the
    ultralytics API loads); otherwise the stack's own file.
    """
    estimator = str(stack_pose.get("estimator", "blazepose"))
    model_path = str(stack_pose.get("model_path", "") or "")
    if estimator != "yolo_pose" or not model_path:
        return None, (f"the stack's pose estimator is {estimator!r}, not a YOLO-pose model; "
                      "pass --ultralytics-model FILE.pt to compare with ultralytics")
    path = Path(model_path)
    sibling = path.with_suffix(".pt")
    return (sibling if sibling.is_file() else path), ""


class UltralyticsLoopPlayer:
    """``YOLO(model).predict(frame)`` per frame; ``play`` has the container player's contract."""

    def __init__(self, model: str | Path, imgsz: int, conf: float = 0.25,
                 threads: int | None = None) -> None:
        from rehab_core.export.ultralytics_offline import import_ultralytics
        from rehab_core.export.yolo import random_yolo

        path = Path(model)
        if path.suffix not in SUFFIXES:
            raise ConfigError(f"--ultralytics-model must be one of {SUFFIXES}, got {path.name}")
        if not path.is_file():
            raise ModelLoadError(f"ultralytics model not found: {path}")
        ultralytics = import_ultralytics()
        if threads:
            import torch

            torch.set_num_threads(threads)
        self.imgsz, self.conf = int(imgsz), float(conf)
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                if path.suffix in (".yaml", ".yml"):  # same random init as our exported ONNX
                    self.model = random_yolo("pose", imgsz=self.imgsz,
                                             work_dir=path.parent / f"work-{path.stem}")
                else:
                    self.model = ultralytics.YOLO(str(path), task="pose")
            except Exception as err:  # ultralytics raises many kinds
                raise ModelLoadError(f"ultralytics cannot load {path}: {err}") from err
        self.model_path = path
        self.runtime = {".pt": "torch", ".onnx": "onnxruntime", ".engine": "tensorrt"}.get(
            path.suffix, "torch")
        self.process = psutil.Process()
        self.stamps = FreshStamps()

    def _predict(self, frame: Frame) -> Any:
        return self.model.predict(frame.image, imgsz=self.imgsz, conf=self.conf, verbose=False)

    def _deliver(self, frame: Frame, record: FrameRecord, sent: float) -> None:
        self._predict(frame)
        record.status = "ok"
        record.latency_ms = (time.perf_counter() - sent) * 1e3

    def warm_up(self, frames: list[Frame], count: int = 5) -> float:
        """Predict ``count`` frames synchronously; mean ms/frame after the first."""
        times = []
        for i in range(count):
            started = time.perf_counter()
            self._predict(frames[i % len(frames)])
            times.append((time.perf_counter() - started) * 1e3)
        steady = times[1:] or times
        return sum(steady) / len(steady)

    def play(self, frames: list[Frame], rate_hz: float, count: int | None = None,
             on_tick: Callable[[], None] | None = None, drain_timeout_s: float = 30.0
             ) -> RunResult:
        cpu0 = cpu_seconds(self.process)
        records, wall = play_fixed_rate(frames, rate_hz, count, self.stamps.stamp, self._deliver,
                                        on_tick, drain_timeout_s)
        cpu = (cpu_seconds(self.process) - cpu0) / wall * 100.0
        return RunResult(rate_hz, records, wall, cpu, self.process.memory_info().rss / 2**20)

    def close(self) -> None:
        self.model = None

    def __enter__(self) -> UltralyticsLoopPlayer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
