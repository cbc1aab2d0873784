"""Skeleton tracker: ``skeletons`` -> ``tracked_skeletons`` (stable ids + main subject)."""

from __future__ import annotations

from dataclasses import dataclass

from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for


@dataclass(frozen=True)
class SkeletonTrackerConfig:
    max_misses: int
    keypoint_threshold: float


class SkeletonTrackerNode(LifecycleComponent):
    DEFAULT_NAME = "skeleton_tracker"
    Config = SkeletonTrackerConfig
    PARAMS = (
        ParamSpec("max_misses", 15, "frames a track survives unseen", 0, 10_000),
        ParamSpec("keypoint_threshold", 0.3, "keypoint score counted as seen", 0.0, 1.0),
    )

    def configure(self, cfg: SkeletonTrackerConfig) -> None:
        from rehab_core.tracking import SkeletonTracker

        self.tracker = SkeletonTracker(
            max_misses=cfg.max_misses, keypoint_threshold=cfg.keypoint_threshold
        )
        self.out_tracked = self.create_output("tracked_skeletons", codecs.SKELETONS)

    def activate(self) -> None:
        self.create_input("skeletons", codecs.SKELETONS, self.on_skeletons)

    def on_skeletons(self, p: codecs.SkeletonsPayload) -> None:
        tracked = self.tracker.update(p.skeletons, (p.width, p.height))
        self.out_tracked.publish(codecs.SkeletonsPayload(
            p.stamp_ns, p.frame_id, p.width, p.height, tracked, self.tracker.main_track_id
        ))

    def deactivate(self) -> None:
        self.tracker.reset()

    def cleanup(self) -> None:
        self.tracker = None


main = main_for(SkeletonTrackerNode)
