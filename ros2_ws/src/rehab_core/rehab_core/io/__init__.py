"""Input/output of the core: video frames in, skeleton sequences to and from disk."""

from rehab_core.io.skeleton_store import SkeletonSequence, load_skeletons, save_skeletons
from rehab_core.io.video import VideoSource, read_frames

__all__ = ["SkeletonSequence", "VideoSource", "load_skeletons", "read_frames", "save_skeletons"]
