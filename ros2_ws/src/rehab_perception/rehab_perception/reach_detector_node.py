"""Reach detector (BabyNet): ``detections`` (hands + objects) -> ``reach`` (ReachState per hand)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rehab_core.errors import ModelLoadError
from rehab_core.paths import repo_file
from rehab_perception import payloads
from rehab_perception.lifecycle_component import LifecycleComponent, ParamSpec, main_for

#: core phase name -> ReachState.msg constant
_PHASES = {"NO_REACH": 0, "ONSET": 1, "REACH": 2, "OFFSET": 3}


@dataclass(frozen=True)
class ReachDetectorConfig:
    model_dir: str


@dataclass
class _ReachView:
    """A core ReachState with the fields the ReachState message needs."""

    phase: int
    side: str
    object_label: str
    confidence: float
    scores: list[float]
    onset_ns: int | None
    offset_ns: int | None
    distance: float
    iou: float


def _view(state: Any) -> _ReachView:
    from rehab_core.reach.babynet import CLASSES

    scores = [float(state.scores.get(c, 0.0)) for c in CLASSES]
    phase = getattr(state.phase, "value", state.phase)
    distance = float(state.distance)
    return _ReachView(
        phase=_PHASES.get(str(phase), 0),
        side=state.side,
        object_label=state.object_label,
        confidence=max(scores, default=0.0),
        scores=scores,
        onset_ns=state.onset_stamp_ns if state.onset_stamp_ns >= 0 else None,
        offset_ns=state.offset_stamp_ns if state.offset_stamp_ns >= 0 else None,
        distance=distance if distance == distance else -1.0,  # NaN (no object) -> -1
        iou=float(state.iou),
    )


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
        self.out_reach = self.create_output("reach", payloads.REACH)
        self._frames = 0

    def activate(self) -> None:
        self.create_input("detections", payloads.DETECTIONS, self.on_detections)

    def on_detections(self, p: payloads.DetectionsPayload) -> None:
        states = self.detector.update(p.detections, self._frames, p.stamp_ns)
        self._frames += 1
        for state in states.values():
            self.out_reach.publish(payloads.ReachPayload(p.stamp_ns, p.frame_id, _view(state)))

    def deactivate(self) -> None:
        self.detector.reset()
        self._frames = 0

    def cleanup(self) -> None:
        self.detector = None


main = main_for(ReachDetectorNode)
