"""Object / hand detector: ``image`` -> ``detections`` (rehab_interfaces/Detection2DArray)."""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.types import Frame
from rehab_core.vision.image import as_bgr8
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for

#: detector kind -> (module, class); used when the core has no factory for it
_DETECTORS = {
    "yolox": ("rehab_core.detection.yolox", "YoloxDetector"),
    "yolo": ("rehab_core.detection.yolo_detect", "YoloDetector"),
}


@dataclass(frozen=True)
class ObjectDetectorConfig:
    detector: str
    model_path: str
    labels_path: str
    backend: str
    score_threshold: float


def create_detector(cfg: ObjectDetectorConfig) -> Any:
    """The core's ``create_detector`` when it has one, else the class for ``cfg.detector``."""
    detection = importlib.import_module("rehab_core.detection")
    labels = cfg.labels_path or None
    factory = getattr(detection, "create_detector", None)
    if factory is not None:
        return factory(cfg.detector, cfg.model_path, backend=cfg.backend, labels=labels,
                       conf_threshold=cfg.score_threshold)
    if cfg.detector not in _DETECTORS:
        raise ConfigError(f"unknown detector {cfg.detector!r}; choose one of {list(_DETECTORS)}")
    module, name = _DETECTORS[cfg.detector]
    cls = getattr(importlib.import_module(module), name)
    return cls(cfg.model_path, labels=labels, backend=cfg.backend,
               conf_threshold=cfg.score_threshold)


class ObjectDetectorNode(LifecycleComponent):
    DEFAULT_NAME = "object_detector"
    Config = ObjectDetectorConfig
    PARAMS = (
        ParamSpec("detector", "yolox", "detector model kind", choices=tuple(_DETECTORS)),
        ParamSpec("model_path", "", "detector model file (ONNX / TFLite / engine)"),
        ParamSpec("labels_path", "", "class names file, one per line ('' = from the model)"),
        ParamSpec("backend", "auto", "inference runtime",
                  choices=("auto", "onnxruntime", "litert", "tensorrt", "torch")),
        ParamSpec("score_threshold", 0.3, "minimum detection score", 0.0, 1.0),
    )

    def configure(self, cfg: ObjectDetectorConfig) -> None:
        if not cfg.model_path:
            raise ConfigError("object_detector needs model_path (a detector model file)")
        if not Path(cfg.model_path).is_file():
            raise ModelLoadError(f"detector model file not found: {cfg.model_path}")
        self.detector = create_detector(cfg)
        self.out_detections = self.create_output("detections", codecs.DETECTIONS)

    def activate(self) -> None:
        self.create_input("image", codecs.IMAGE, self.on_image)

    def on_image(self, frame: Frame) -> None:
        detections = self.detector.detect(as_bgr8(frame.image, frame.encoding))
        self.out_detections.publish(
            codecs.DetectionsPayload(frame.stamp_ns, frame.frame_id, detections)
        )

    def cleanup(self) -> None:
        detector = getattr(self, "detector", None)
        if detector is not None:
            detector.close()
            self.detector = None


main = main_for(ObjectDetectorNode)
