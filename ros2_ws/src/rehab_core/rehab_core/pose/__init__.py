"""Pose estimators behind one protocol, chosen by one string (``kind``).

Kinds: "blazepose" (default: MediaPipe, bundled in its wheel, needs no model
file), "movenet" (TFLite file, single person), "yolo_pose" (ultralytics
YOLO-pose export, multi-person). Implementations are imported only when
created, so a missing optional runtime affects only its own kind.
"""

from __future__ import annotations

import importlib
from typing import Any

from rehab_core.errors import ConfigError
from rehab_core.pose.base import PoseEstimator

#: kind -> (module, class, needs a model file)
POSE_ESTIMATORS: dict[str, tuple[str, str, bool]] = {
    "blazepose": ("rehab_core.pose.blazepose", "BlazePoseEstimator", False),
    "movenet": ("rehab_core.pose.movenet", "MoveNetEstimator", True),
    "yolo_pose": ("rehab_core.pose.yolo_pose", "YoloPoseEstimator", True),
}
DEFAULT_POSE_ESTIMATOR = "blazepose"


def create_pose_estimator(
    kind: str = DEFAULT_POSE_ESTIMATOR,
    model_path: str | None = None,
    backend: str = "auto",
    **options: Any,
) -> PoseEstimator:
    """Build a pose estimator by kind.

    ``model_path`` and ``backend`` go to kinds that load a model file
    (BlazePose takes neither: its model comes from the mediapipe wheel);
    ``options`` go to the estimator's constructor.
    """
    kind = (kind or DEFAULT_POSE_ESTIMATOR).lower()
    if kind not in POSE_ESTIMATORS:
        raise ConfigError(
            f"unknown pose estimator {kind!r}; choose one of {', '.join(POSE_ESTIMATORS)}"
        )
    module_name, class_name, needs_model = POSE_ESTIMATORS[kind]
    if needs_model and not model_path:
        raise ConfigError(f"pose estimator {kind!r} needs model_path (a model file on disk)")
    if not needs_model and (model_path or backend not in ("auto", "", None)):
        raise ConfigError(
            f"pose estimator {kind!r} uses its bundled model: model_path/backend do not apply"
        )
    cls = getattr(importlib.import_module(module_name), class_name)
    if needs_model:
        return cls(model_path, backend=backend, **options)
    return cls(**options)


__all__ = ["DEFAULT_POSE_ESTIMATOR", "POSE_ESTIMATORS", "PoseEstimator", "create_pose_estimator"]
