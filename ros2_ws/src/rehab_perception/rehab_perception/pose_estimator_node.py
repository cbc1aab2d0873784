"""Pose estimator: ``image`` -> ``skeletons`` (rehab_interfaces/Skeleton2DArray).

The model is chosen by one string (``estimator``: blazepose, movenet,
yolo_pose) through ``rehab_core.pose.create_pose_estimator``; a missing model
file or runtime fails ``configure`` with the core's message.

3-D joints: with ``depth_topic`` set, each frame is matched to an aligned
depth image (see ``depth_input``) and its keypoints are lifted into the
camera frame (``rehab_core.pose.depth``); without depth, the model's own 3-D
estimate is kept where it has one (BlazePose world landmarks). Either is
published beside the 2-D skeletons on ``skeletons_3d`` (Skeleton3DArray, its
``space`` saying which) and travels in-process with the skeletons, so joint
angles downstream use it. Images from another process are taken latest-wins.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.pose.depth import DepthLiftConfig, lift_skeleton
from rehab_core.types import Frame
from rehab_core.vision.image import as_bgr8
from rehab_perception.depth_input import DepthInput, camera_info_topic_for
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for


@dataclass(frozen=True)
class PoseEstimatorConfig:
    estimator: str
    model_path: str
    backend: str
    layout: str
    image_qos: str
    latest_wins: bool
    depth_topic: str
    camera_info_topic: str
    depth_sync: str
    depth_sync_tolerance_s: float
    depth_window: int
    surface_offset_m: float
    publish_3d: bool


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
        ParamSpec("image_qos", "sensor_data", "QoS of the image input when it comes from "
                  "another process (sensor_data: best effort, or reliable)",
                  choices=codecs.IMAGE_QOS_CHOICES),
        ParamSpec("latest_wins", True, "image from another process: skip frames that arrive "
                  "while the model runs (counted as 'skipped'); false: take every frame the "
                  "QoS queue keeps"),
        ParamSpec("depth_topic", "", "aligned depth image (16UC1 mm or 32FC1 m) for 3-D joints "
                  "in the camera frame ('' = no depth)"),
        ParamSpec("camera_info_topic", "", "camera_info of the depth image ('' = camera_info "
                  "next to depth_topic)"),
        ParamSpec("depth_sync", "approximate", "match depth to colour by identical stamp "
                  "(exact) or the nearest within depth_sync_tolerance_s (approximate)",
                  choices=("exact", "approximate")),
        ParamSpec("depth_sync_tolerance_s", 0.02, "largest colour/depth stamp difference "
                  "(approximate sync)", 0.0, 1.0),
        ParamSpec("depth_window", 5, "pixels (odd) of the window whose robust depth a joint "
                  "takes", 1, 31),
        ParamSpec("surface_offset_m", 0.05, "body surface to joint centre along the ray, "
                  "about a limb's radius (0 = the surface)", 0.0, 0.3),
        ParamSpec("publish_3d", True, "publish skeletons_3d (depth or the model's own 3-D)"),
    )

    def configure(self, cfg: PoseEstimatorConfig) -> None:
        from rehab_core.pose import create_pose_estimator

        if cfg.model_path and not Path(cfg.model_path).is_file():
            raise ModelLoadError(f"pose model file not found: {cfg.model_path}")
        options = {"layout": cfg.layout} if cfg.estimator == "blazepose" else {}
        self.estimator = create_pose_estimator(
            cfg.estimator, cfg.model_path or None, cfg.backend, **options
        )
        self.out_skeletons = self.create_output("skeletons", codecs.SKELETONS)
        self.out_3d = self.create_output("skeletons_3d", codecs.SKELETONS_3D) \
            if cfg.publish_3d else None
        if cfg.depth_window % 2 == 0:
            raise ConfigError(f"parameter 'depth_window'={cfg.depth_window} must be odd")
        self.lift_config = DepthLiftConfig(window=cfg.depth_window,
                                           surface_offset_m=cfg.surface_offset_m).validate()
        self.depth = None

    def activate(self) -> None:
        cfg = self.config
        self.create_input("image", codecs.IMAGE, self.on_image,
                          qos=codecs.image_qos(cfg.image_qos), latest_wins=cfg.latest_wins)
        if cfg.depth_topic:
            self.depth = DepthInput(
                self, cfg.depth_topic, cfg.camera_info_topic or camera_info_topic_for(
                    cfg.depth_topic), cfg.depth_sync, cfg.depth_sync_tolerance_s, cfg.image_qos)

    def on_image(self, frame: Frame) -> None:
        image = as_bgr8(frame.image, frame.encoding)
        skeletons = self.estimator.estimate(image)
        frame_id_3d = frame.frame_id
        if self.depth is not None and skeletons:
            matched = self.depth.match(frame.stamp_ns)
            if matched is not None:
                depth_m, intrinsics, frame_id_3d = matched
                size = (frame.width, frame.height)
                skeletons = [lift_skeleton(s, depth_m, intrinsics, self.lift_config, size)
                             for s in skeletons]
        payload = codecs.SkeletonsPayload(
            frame.stamp_ns, frame.frame_id, frame.width, frame.height, skeletons
        )
        self.out_skeletons.publish(payload)
        if self.out_3d is not None and any(s.keypoints_3d is not None for s in skeletons):
            self.out_3d.publish(dataclasses.replace(payload, frame_id=frame_id_3d or
                                                    frame.frame_id))

    def deactivate(self) -> None:
        if self.depth is not None:
            self.depth.destroy()
            self.depth = None
        reset = getattr(getattr(self, "estimator", None), "reset", None)
        if reset is not None:  # a new stream after re-activation: forget the tracked person
            reset()

    def cleanup(self) -> None:
        estimator = getattr(self, "estimator", None)
        if estimator is not None:
            estimator.close()
            self.estimator = None


main = main_for(PoseEstimatorNode)
