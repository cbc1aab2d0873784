"""Reach detector (BabyNet): ``detections`` (hands + objects) -> ``reach`` (ReachState per hand).

The core's ReachState is published as is: its ``confidence`` is the probability
of the reported phase, which the exoskeleton's ``min_confidence`` gate reads.
"""

from __future__ import annotations

from dataclasses import dataclass

from rehab_core.errors import ModelLoadError
from rehab_core.paths import repo_file
from rehab_runtime import codecs
from rehab_runtime.component import LifecycleComponent
from rehab_runtime.params import ParamSpec
from rehab_runtime.process import main_for


@dataclass(frozen=True)
class ReachDetectorConfig:
    model_dir: str


class ReachDetectorNode(LifecycleComponent):
    DEFAULT_NAME = "reach_detector"
    Config = ReachDetectorConfig
    PARAMS = (
        ParamSpec("model_dir", "models/babynet", "BabyNet folder (babynet.pt + config.json)"),
    )

    def configure(self, cfg: ReachDetectorConfig) -> None:
        from rehab_core.reach.keyframes import ReachDetector

        model_dir = repo_file(cfg.model_dir)  # models/... from any working directory
        if not model_dir.is_dir():
            raise ModelLoadError(f"BabyNet model folder not found: {cfg.model_dir}")
        self.detector = ReachDetector.from_dir(model_dir)
        self.out_reach = self.create_output("reach", codecs.REACH)
        self._frames = 0

    def activate(self) -> None:
        self.create_input("detections", codecs.DETECTIONS, self.on_detections)

    def on_detections(self, p: codecs.DetectionsPayload) -> None:
        states = self.detector.update(p.detections, self._frames, p.stamp_ns)
        self._frames += 1
        for state in states.values():
            self.out_reach.publish(codecs.ReachPayload(p.stamp_ns, p.frame_id, state))

    def deactivate(self) -> None:
        self.detector.reset()
        self._frames = 0

    def cleanup(self) -> None:
        self.detector = None


main = main_for(ReachDetectorNode)
