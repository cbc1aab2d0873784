"""Keypoint layouts, conversions between them, and their skeleton graphs."""

from rehab_core.skeleton.layouts import (
    LAYOUTS,
    KeypointLayout,
    convert_keypoints,
    get_layout,
)

__all__ = ["LAYOUTS", "KeypointLayout", "convert_keypoints", "get_layout"]
