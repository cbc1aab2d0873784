"""Image normalisation, letterboxing and NMS shared by every image model."""

from rehab_core.vision.encodings import SUPPORTED_ENCODINGS
from rehab_core.vision.image import (
    as_bgr8,
    box_iou,
    letterbox,
    letterbox_top_left,
    nms,
    nms_per_class,
    to_nchw_float,
    unletterbox_boxes,
    unletterbox_points,
    xywh_to_xyxy,
)

__all__ = [
    "SUPPORTED_ENCODINGS",
    "as_bgr8",
    "box_iou",
    "letterbox",
    "letterbox_top_left",
    "nms",
    "nms_per_class",
    "to_nchw_float",
    "unletterbox_boxes",
    "unletterbox_points",
    "xywh_to_xyxy",
]
