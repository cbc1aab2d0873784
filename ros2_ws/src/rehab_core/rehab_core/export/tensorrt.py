"""Build TensorRT engines from ONNX (FP16, or INT8 calibrated on real frames).

Written for the TensorRT 10 Python API (``BuilderFlag.FP16/INT8`` and an
``IInt8EntropyCalibrator2``; TensorRT 11 removed both and is refused with a
clear message). Runs only where ``tensorrt`` is importable (Jetson / NVIDIA GPU machines);
elsewhere ``build_engine`` raises ``BackendUnavailableError`` naming the
package. The engine is written with an ``engine_cache`` sidecar so loading
it on another TensorRT version or GPU is refused with a clear message.
INT8 calibration reads real frames (a video or a folder of images) through
the same letterbox pre-processing the estimator uses, because calibration on
noise gives useless activation ranges.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from rehab_core.backends._common import import_runtime, require_model_file
from rehab_core.backends.engine_cache import current_key, write_sidecar
from rehab_core.errors import ConfigError, InputSourceError, ModelLoadError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp"}


def iter_calibration_frames(source: str | Path, limit: int = 200) -> Iterator[np.ndarray]:
    """BGR frames from a video file or a folder of images, evenly spread, at most ``limit``."""
    source = Path(source)
    if source.is_dir():
        files = sorted(p for p in source.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
        if not files:
            raise InputSourceError(f"no images ({', '.join(sorted(IMAGE_SUFFIXES))}) in {source}")
        step = max(len(files) // limit, 1)
        for path in files[::step][:limit]:
            image = cv2.imread(str(path), cv2.IMREAD_COLOR)
            if image is not None:
                yield image
        return
    cap = cv2.VideoCapture(str(source))
    if not cap.isOpened():
        raise InputSourceError(f"cannot open calibration video {source}")
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) or limit
    step = max(total // limit, 1)
    count = index = 0
    try:
        while count < limit:
            ok, frame = cap.read()
            if not ok:
                break
            if index % step == 0:
                count += 1
                yield frame
            index += 1
    finally:
        cap.release()


def yolo_preprocess(imgsz: int) -> Callable[[np.ndarray], np.ndarray]:
    """The YOLO estimator's pre-processing, for calibration batches."""
    from rehab_core.vision.yolo import yolo_blob

    return lambda frame: yolo_blob(frame, (imgsz, imgsz))[0]


def _make_calibrator(trt: Any, batches: list[np.ndarray], cache_file: Path) -> Any:
    """An ``IInt8EntropyCalibrator2`` feeding pre-processed batches from device memory."""
    from rehab_core.backends.tensorrt_backend import _cuda_memory

    memory = _cuda_memory()

    class FrameCalibrator(trt.IInt8EntropyCalibrator2):
        def __init__(self) -> None:
            super().__init__()
            self._batches = iter(batches)
            self._buffer = memory.empty(batches[0].shape, np.float32)

        def get_batch_size(self) -> int:
            return int(batches[0].shape[0])

        def get_batch(self, names: list[str]) -> list[int] | None:
            batch = next(self._batches, None)
            if batch is None:
                return None
            memory.upload(self._buffer, batch.astype(np.float32, copy=False))
            return [memory.ptr(self._buffer)]

        def read_calibration_cache(self) -> bytes | None:
            return cache_file.read_bytes() if cache_file.is_file() else None

        def write_calibration_cache(self, cache: bytes) -> None:
            cache_file.write_bytes(bytes(cache))

    return FrameCalibrator()


def build_engine(
    onnx_path: str | Path,
    engine_path: str | Path | None = None,
    precision: str = "fp16",
    calibration_source: str | Path | None = None,
    preprocess: Callable[[np.ndarray], np.ndarray] | None = None,
    calibration_frames: int = 200,
    workspace_gb: float = 2.0,
    input_shapes: dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]] | None = None,
) -> Path:
    """Build and save a TensorRT engine from ``onnx_path``; returns the engine path.

    ``precision``: fp32, fp16 or int8 (int8 needs ``calibration_source`` and a
    ``preprocess`` that turns a BGR frame into one model input, default
    YOLO letterbox at the ONNX input size). ``input_shapes``: name ->
    (min, opt, max) for dynamic inputs.
    """
    trt = import_runtime("tensorrt", "tensorrt (NVIDIA TensorRT 10 wheels)", "tensorrt")
    onnx_path = require_model_file(onnx_path)
    if precision not in ("fp32", "fp16", "int8"):
        raise ConfigError(f"precision must be fp32, fp16 or int8, got {precision!r}")
    engine_path = Path(engine_path or onnx_path.with_suffix(f".{precision}.engine"))
    logger = trt.Logger(trt.Logger.WARNING)
    builder = trt.Builder(logger)
    network = builder.create_network(0)  # TensorRT 10: explicit batch is the only mode
    parser = trt.OnnxParser(network, logger)
    if not parser.parse(onnx_path.read_bytes()):
        errors = "; ".join(str(parser.get_error(i)) for i in range(parser.num_errors))
        raise ModelLoadError(f"TensorRT cannot parse {onnx_path}: {errors}")
    config = builder.create_builder_config()
    config.set_memory_pool_limit(trt.MemoryPoolType.WORKSPACE, int(workspace_gb * (1 << 30)))
    if input_shapes:
        profile = builder.create_optimization_profile()
        for name, (lo, opt, hi) in input_shapes.items():
            profile.set_shape(name, lo, opt, hi)
        config.add_optimization_profile(profile)
    if precision != "fp32" and not hasattr(trt.BuilderFlag, precision.upper()):
        # TensorRT 11 is strongly typed: precision comes from the ONNX graph, not flags
        raise ConfigError(
            f"TensorRT {trt.__version__} has no {precision.upper()} builder flag (removed in "
            "TensorRT 11); build with tensorrt<11, or export the ONNX in that precision and "
            "use --precision fp32"
        )
    if precision in ("fp16", "int8") and getattr(builder, "platform_has_fast_fp16", True):
        config.set_flag(trt.BuilderFlag.FP16)
    if precision == "int8":
        if calibration_source is None:
            raise ConfigError("int8 needs calibration_source (a video or a folder of frames)")
        shape = tuple(network.get_input(0).shape)
        if preprocess is None:
            preprocess = yolo_preprocess(int(shape[-1]))
        batches = [preprocess(f) for f in iter_calibration_frames(calibration_source,
                                                                  calibration_frames)]
        if not batches:
            raise InputSourceError(f"no calibration frames read from {calibration_source}")
        config.set_flag(trt.BuilderFlag.INT8)
        config.int8_calibrator = _make_calibrator(
            trt, batches, engine_path.with_suffix(".calib")
        )
    serialized = builder.build_serialized_network(network, config)
    if serialized is None:
        raise ModelLoadError(f"TensorRT failed to build an engine from {onnx_path}")
    engine_path.parent.mkdir(parents=True, exist_ok=True)
    engine_path.write_bytes(bytes(serialized))
    write_sidecar(engine_path, current_key(onnx_path, precision, trt.__version__))
    return engine_path
