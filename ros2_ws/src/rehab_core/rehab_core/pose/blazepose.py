"""BlazePose (MediaPipe Pose, legacy solution API) as a ``PoseEstimator``.

Why it is the default: the ``mediapipe==0.10.14`` wheel bundles the real
pretrained detector and the "full" landmark model, so it works on a fresh
machine with nothing but ``pip install`` (no model file, no download) and it
is accurate on full-body exercise footage.

Single person only: MediaPipe Pose follows one person. In stream mode
(``static_image_mode=False``, the default) it runs the person detector only
until it finds someone, then tracks that person from the previous frame's
landmarks (and smooths them), re-detecting when tracking confidence drops.
That state belongs to one stream: call ``reset()`` when switching to another
video or after a seek, or use ``static_image_mode=True`` for unrelated
images (every call then runs the detector; slower, no smoothing).

Only ``model_complexity=1`` is accepted: the wheel ships
``pose_landmark_full.tflite`` only, and complexities 0 ("lite") and 2
("heavy") would make MediaPipe download a model at run time, which this
stack never does.
"""

from __future__ import annotations

import cv2
import numpy as np

from rehab_core.backends._common import import_runtime
from rehab_core.errors import ConfigError
from rehab_core.skeleton.layouts import convert_keypoints
from rehab_core.types import Skeleton
from rehab_core.vision.image import as_bgr8

#: layouts BlazePose can return: its own 33 landmarks, or converted to COCO-17
OUTPUT_LAYOUTS = ("coco17", "blazepose33")
# Landmarks below this visibility do not count for the person box.
_BOX_MIN_VISIBILITY = 0.5


class BlazePoseEstimator:
    """MediaPipe BlazePose, one person per image, pixel coordinates.

    ``layout``: "coco17" (default, what the rest of the stack consumes) or
    "blazepose33" (all landmarks, incl. hands and feet). Keypoint scores are
    MediaPipe's landmark visibility (0..1); the skeleton score is the mean
    keypoint score; ``keypoints_3d`` are MediaPipe's world landmarks (metres,
    origin between the hips, y down; ``space_3d`` "model") in the same layout;
    the box spans the landmarks with visibility >= 0.5 (all
    landmarks when fewer than 4 qualify), clipped to the image. Landmarks that
    MediaPipe places outside the image keep their (out of image) coordinates;
    their visibility is normally low.
    """

    name = "blazepose"

    def __init__(
        self,
        layout: str = "coco17",
        *,
        static_image_mode: bool = False,
        model_complexity: int = 1,
        smooth_landmarks: bool = True,
        min_detection_confidence: float = 0.5,
        min_tracking_confidence: float = 0.5,
        encoding: str = "bgr8",
    ) -> None:
        if layout not in OUTPUT_LAYOUTS:
            raise ConfigError(f"BlazePose layout must be one of {OUTPUT_LAYOUTS}, got {layout!r}")
        if model_complexity != 1:
            raise ConfigError(
                f"BlazePose model_complexity={model_complexity} is not available offline: the "
                "mediapipe wheel bundles only complexity 1 (pose_landmark_full); 0 and 2 "
                "would be downloaded at run time"
            )
        for label, value in (
            ("min_detection_confidence", min_detection_confidence),
            ("min_tracking_confidence", min_tracking_confidence),
        ):
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{label} must be in [0, 1], got {value}")
        solutions = import_runtime("mediapipe.python.solutions.pose", "mediapipe==0.10.14",
                                   "blazepose")
        self.layout = layout
        self.encoding = encoding
        self.static_image_mode = static_image_mode
        #: (33, 4) world landmarks (x, y, z m, visibility) of the last ``estimate``, or None
        self.last_world: np.ndarray | None = None
        self._pose = solutions.Pose(
            static_image_mode=static_image_mode,
            model_complexity=model_complexity,
            smooth_landmarks=smooth_landmarks,
            enable_segmentation=False,
            min_detection_confidence=min_detection_confidence,
            min_tracking_confidence=min_tracking_confidence,
        )

    def estimate(self, image: np.ndarray) -> list[Skeleton]:
        """The person in ``image`` (BGR by default), or [] when none is found."""
        if self._pose is None:
            raise RuntimeError("BlazePoseEstimator used after close()")
        bgr = as_bgr8(image, self.encoding)
        h, w = bgr.shape[:2]
        rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
        result = self._pose.process(rgb)
        self.last_world = None
        if result.pose_landmarks is None:
            return []
        if result.pose_world_landmarks is not None:
            # Metric 3-D (m, hip-centred, y down): the view-free input of the skeleton cache.
            self.last_world = np.array(
                [(lm.x, lm.y, lm.z, lm.visibility)
                 for lm in result.pose_world_landmarks.landmark], dtype=np.float32)
        raw = np.array(
            [(lm.x * w, lm.y * h, lm.visibility) for lm in result.pose_landmarks.landmark],
            dtype=np.float32,
        )
        raw[:, 2] = np.clip(raw[:, 2], 0.0, 1.0)
        keypoints = raw if self.layout == "blazepose33" else convert_keypoints(
            raw, "blazepose33", self.layout
        )
        world = None
        if self.last_world is not None:  # the model's own 3-D: Skeleton.keypoints_3d, "model"
            world = self.last_world.copy()
            world[:, 3] = np.clip(world[:, 3], 0.0, 1.0)
            if self.layout != "blazepose33":
                world = convert_keypoints(world, "blazepose33", self.layout)
        return [
            Skeleton(
                layout=self.layout,
                keypoints=keypoints,
                box=_landmark_box(raw, w, h),
                score=float(keypoints[:, 2].mean()),
                keypoints_3d=world,
                space_3d="model" if world is not None else "",
            )
        ]

    def reset(self) -> None:
        """Forget the tracked person (call between unrelated videos or after a seek)."""
        if self._pose is not None:
            self._pose.reset()

    def close(self) -> None:
        if self._pose is not None:
            self._pose.close()
            self._pose = None

    def __enter__(self) -> BlazePoseEstimator:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _landmark_box(landmarks: np.ndarray, width: int, height: int) -> np.ndarray:
    """xyxy box around the visible landmarks, clipped to the image."""
    visible = landmarks[landmarks[:, 2] >= _BOX_MIN_VISIBILITY]
    pts = visible if len(visible) >= 4 else landmarks
    x1, y1 = pts[:, 0].min(), pts[:, 1].min()
    x2, y2 = pts[:, 0].max(), pts[:, 1].max()
    return np.array(
        [np.clip(x1, 0, width), np.clip(y1, 0, height), np.clip(x2, 0, width),
         np.clip(y2, 0, height)],
        dtype=np.float32,
    )
