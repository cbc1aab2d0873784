"""Infant / hand / object detections from a pose estimator plus a COCO detector.

Why: the reach detector (BabyNet) wants boxes labelled infant, left_hand,
right_hand and object. No pretrained infant-hand-object detector is
available offline, so this fallback composes what is:

* hands: boxes around the pose wrists (``wrist_hands``), sides from the layout;
* infant: the person. Its box is the COCO detector's "person" box that
  overlaps the skeleton best (IoU >= ``person_iou``; more complete than the
  keypoints when limbs are hidden), else the skeleton's own box. With no
  skeleton at all, every COCO person becomes an "infant" (no hands then);
  COCO persons that match no skeleton are otherwise dropped (bystanders);
* object: every COCO detection that is not a person. Its ``class_id`` is 3
  (the index of "object" in ``labels``, as the detector protocol requires);
  the COCO class name is not kept.

Without an object detector only infant and hand boxes are produced.
"""

from __future__ import annotations

import numpy as np

from rehab_core.detection.base import ObjectDetector
from rehab_core.detection.wrist_hands import hands_from_skeleton
from rehab_core.pose.base import PoseEstimator
from rehab_core.tracking.tracker import iou_matrix, skeleton_box
from rehab_core.types import Detection
from rehab_core.vision.image import as_bgr8

LABELS = ["infant", "left_hand", "right_hand", "object"]
PERSON_LABELS = ("person",)


class HandObjectDetector:
    """``ObjectDetector`` labelling infant / left_hand / right_hand / object.

    ``pose``: any ``PoseEstimator`` (BlazePose, created here, by default).
    ``objects``: any COCO ``ObjectDetector`` (YOLOX, YOLO) or None.
    ``close()`` closes what this detector created, and the given components
    too when ``owns_components`` (the registry sets it).
    """

    labels = LABELS

    def __init__(
        self,
        pose: PoseEstimator | None = None,
        objects: ObjectDetector | None = None,
        *,
        min_wrist_score: float = 0.3,
        person_iou: float = 0.3,
        max_people: int = 1,
        owns_components: bool = False,
    ) -> None:
        self._own_pose = pose is None or owns_components
        self._own_objects = owns_components
        if pose is None:
            from rehab_core.pose import create_pose_estimator

            pose = create_pose_estimator("blazepose")
        self.pose = pose
        self.objects = objects
        self.min_wrist_score = min_wrist_score
        self.person_iou = person_iou
        self.max_people = max_people

    def detect(self, image: np.ndarray, encoding: str = "bgr8") -> list[Detection]:
        """Infant, hand and object boxes in one image (pixel coordinates)."""
        bgr = as_bgr8(image, encoding)
        h, w = bgr.shape[:2]
        skeletons = sorted(self.pose.estimate(bgr), key=lambda s: -s.score)[: self.max_people]
        found = self.objects.detect(bgr) if self.objects is not None else []
        people = [d for d in found if d.label in PERSON_LABELS]
        things = [d for d in found if d.label not in PERSON_LABELS]
        out: list[Detection] = []
        if skeletons:
            person_boxes = np.array([d.box for d in people]).reshape(-1, 4)
            for skel in skeletons:
                box, score = skeleton_box(skel), skel.score
                if len(people):
                    iou = iou_matrix(box[None], person_boxes)[0]
                    best = int(iou.argmax())
                    if iou[best] >= self.person_iou:
                        box, score = people[best].box, people[best].score
                out.append(Detection("infant", float(score), box, class_id=0,
                                     track_id=skel.track_id))
                out.extend(hands_from_skeleton(skel, (w, h),
                                               min_wrist_score=self.min_wrist_score))
        else:
            out.extend(Detection("infant", d.score, d.box, class_id=0) for d in people)
        out.extend(Detection("object", d.score, d.box, class_id=3) for d in things)
        return out

    def close(self) -> None:
        if self._own_pose:
            self.pose.close()
        if self.objects is not None and self._own_objects:
            self.objects.close()
