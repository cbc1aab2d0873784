"""Pose estimator: ``image`` -> ``skeletons`` (rehab_interfaces/Skeleton2DArray).

The model is chosen by one string (``estimator``: blazepose, movenet,
yolo_pose) through ``rehab_core.pose.create_pose_estimator``; a missing model
file or runtime fails ``configure`` with the core's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from rehab_core.errors import ModelLoadError
from rehab_core.types import Frame
from rehab_core.vision.image import as_bgr8
from rehab_perception import payloads
from rehab_perception.lifecycle_component import LifecycleComponent, ParamSpec, main_for


@dataclass(frozen=True)
class PoseEstimatorConfig:
    estimator: str
    model_path: str
    backend: str
    layout: str


class PoseEstimatorNode(LifecycleComponent):
    DEFAULT_NAME = "pose_estimator"
    Config = PoseEstimatorConfig
    PARAMS = (
        ParamSpec("estimator", "blazepose", "pose model kind",
                  choices=("blazepose", "movenet", "yolo_pose")),
        ParamSpec("model_path", "", "model file (not used by blazepose, bundled in its wheel)"),
        ParamSpec("backend", "auto", "inference runtime",
                  choices=("auto", "onnxruntime", "litert", "tensorrt", "torch")),
        ParamSpec("layout", "coco17", "keypoint layout of the published skeletons",
                  choices=("coco17", "blazepose33", "openpose18")),
    )

    def configure(self, cfg: PoseEstimatorConfig) -> None:
        from rehab_core.pose import create_pose_estimator

        if cfg.model_path and not Path(cfg.model_path).is_file():
            raise ModelLoadError(f"pose model file not found: {cfg.model_path}")
        options = {"layout": cfg.layout} if cfg.estimator == "blazepose" else {}
        self.estimator = create_pose_estimator(
            cfg.estimator, cfg.model_path or None, cfg.backend, **options
        )
        self.out_skeletons = self.create_output("skeletons", payloads.SKELETONS)

    def activate(self) -> None:
        self.create_input("image", payloads.IMAGE, self.on_image)

    def on_image(self, frame: Frame) -> None:
        image = as_bgr8(frame.image, frame.encoding)
        skeletons = self.estimator.estimate(image)
        self.out_skeletons.publish(payloads.SkeletonsPayload(
            frame.stamp_ns, frame.frame_id, frame.width, frame.height, skeletons
        ))

    def deactivate(self) -> None:
        reset = getattr(getattr(self, "estimator", None), "reset", None)
        if reset is not None:  # a new stream after re-activation: forget the tracked person
            reset()

    def cleanup(self) -> None:
        estimator = getattr(self, "estimator", None)
        if estimator is not None:
            estimator.close()
            self.estimator = None


main = main_for(PoseEstimatorNode)
