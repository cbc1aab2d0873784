"""Object detectors behind one protocol, chosen by one string (``kind``).

Kinds: "hand_object" (fallback infant/hand/object detector: pose wrists plus
an optional COCO detector, see ``hand_object``), "yolo" (ultralytics YOLO
detect export), "yolox" (YOLOX export, e.g. YOLOX-nano ONNX). Implementations
are imported only when created.
"""

from __future__ import annotations

import importlib
from typing import Any

from rehab_core.detection.base import ObjectDetector
from rehab_core.errors import ConfigError

#: kind -> (module, class)
DETECTORS: dict[str, tuple[str, str]] = {
    "hand_object": ("rehab_core.detection.hand_object", "HandObjectDetector"),
    "yolo": ("rehab_core.detection.yolo_detect", "YoloDetector"),
    "yolox": ("rehab_core.detection.yolox", "YoloxDetector"),
}


def create_detector(
    kind: str,
    model_path: str | None = None,
    backend: str = "auto",
    **options: Any,
) -> ObjectDetector:
    """Build an object detector by kind.

    "yolo"/"yolox": ``model_path`` (required), ``backend`` and ``options``
    go to the detector. "hand_object": ``model_path`` is the optional COCO
    detector model, of kind ``object_kind`` (default "yolox"); options
    ``pose_kind`` / ``pose_model_path`` pick the pose estimator (default
    BlazePose); other options go to ``HandObjectDetector``.
    """
    kind = (kind or "").lower()
    if kind not in DETECTORS:
        raise ConfigError(f"unknown detector {kind!r}; choose one of {', '.join(DETECTORS)}")
    if kind == "hand_object":
        return _create_hand_object(model_path, backend, **options)
    if not model_path:
        raise ConfigError(f"detector {kind!r} needs model_path (a model file on disk)")
    module_name, class_name = DETECTORS[kind]
    cls = getattr(importlib.import_module(module_name), class_name)
    return cls(model_path, backend=backend, **options)


def _create_hand_object(
    model_path: str | None,
    backend: str,
    *,
    object_kind: str = "yolox",
    pose_kind: str = "blazepose",
    pose_model_path: str | None = None,
    **options: Any,
) -> ObjectDetector:
    from rehab_core.detection.hand_object import HandObjectDetector
    from rehab_core.pose import create_pose_estimator

    if object_kind == "hand_object":
        raise ConfigError("object_kind must be a COCO detector kind ('yolox' or 'yolo')")
    objects = create_detector(object_kind, model_path, backend) if model_path else None
    try:
        pose = create_pose_estimator(pose_kind, pose_model_path)
    except Exception:
        if objects is not None:
            objects.close()
        raise
    return HandObjectDetector(pose, objects, owns_components=True, **options)


__all__ = ["DETECTORS", "ObjectDetector", "create_detector"]
