"""Tracking stage of the core: stable skeleton ids and the main subject."""

from rehab_core.tracking.tracker import SkeletonTracker, Track, TrackerConfig

__all__ = ["SkeletonTracker", "Track", "TrackerConfig"]
