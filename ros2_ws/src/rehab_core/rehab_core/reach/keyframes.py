"""Reach keyframes: a per-hand state machine on top of BabyNet, and ReachDetector.

BabyNet's per-frame class alone flickers; Dechemi et al. turn it into
keyframes with simple kinematic rules, which we follow:

* **onset** when the hand-object distance is decreasing (velocity below
  ``-min_approach``) and the classifier agrees (P(RN) + P(R) >= ``agree``);
* an onset is **invalidated** (abandoned reach) after ``invalidate_after``
  (4) consecutive increasing-distance frames, or ``max_missing`` frames
  without a hand/object, or ``max_stall`` consecutive frames that do not
  approach (our addition: with detector jitter a stopped hand rarely gives
  4 strictly increasing frames, and a reach that stalls is not a reach);
* **offset** when the hand-object IoU reaches ``iou_threshold``, a value
  learned from training data (:func:`rehab_core.reach.training.fit_iou_threshold`);
* after an offset the hand is holding the toy: no new onset until the IoU
  falls back below the threshold.

Phases per frame: NO_REACH, ONSET (the onset keyframe), REACH, OFFSET (the
offset keyframe); the state type lives in ``state`` (no torch needed to read it).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.reach.babynet import CLASSES, RN, WINDOW, NumpyBabyNet, R
from rehab_core.reach.features import NUM_FEATURES, SIDES, ReachFeatureExtractor, SideFeatures
from rehab_core.reach.state import ReachPhase, ReachState, phase_probability
from rehab_core.types import Detection


class WindowClassifier(Protocol):
    def probabilities(self, x: np.ndarray) -> np.ndarray:
        """(N, T, F) feature windows -> (N, 4) class probabilities."""


@dataclass
class KeyframeConfig:
    iou_threshold: float = 0.2
    min_approach: float = 0.02  # velocity units (VEL_SCALE x distance per frame)
    agree: float = 0.5
    invalidate_after: int = 4
    max_missing: int = 5
    max_stall: int = 6

    def __post_init__(self) -> None:
        if not 0.0 < self.iou_threshold <= 1.0:
            raise ConfigError(f"iou_threshold must be in (0, 1], got {self.iou_threshold}")
        if self.invalidate_after < 1 or self.max_missing < 0 or self.max_stall < 1:
            raise ConfigError("invalidate_after, max_stall must be >= 1 and max_missing >= 0")


class _SideMachine:
    def __init__(self, side: str, cfg: KeyframeConfig) -> None:
        self.side = side
        self.cfg = cfg
        self.reset()

    def reset(self) -> None:
        self.state = ReachPhase.NO_REACH
        self.holding = False
        self.increasing = 0
        self.stalled = 0
        self.missing = 0
        self.onset: tuple[int, int] = (-1, -1)
        self.last_offset: tuple[int, int] = (-1, -1)
        self.object_box: np.ndarray | None = None
        self.object_label = ""

    def step(self, f: SideFeatures, probs: np.ndarray, index: int, stamp_ns: int) -> ReachState:
        cfg = self.cfg
        phase = ReachPhase.NO_REACH
        invalidated = False
        offset = (-1, -1)
        if self.state is ReachPhase.REACH:
            if not f.valid:
                self.missing += 1
                if self.missing > cfg.max_missing:
                    self.state, invalidated = ReachPhase.NO_REACH, True
                else:
                    phase = ReachPhase.REACH
            else:
                self.missing = 0
                self.increasing = self.increasing + 1 if f.velocity > cfg.min_approach else 0
                self.stalled = self.stalled + 1 if f.velocity > -cfg.min_approach else 0
                if f.iou >= cfg.iou_threshold:
                    phase, self.state, self.holding = ReachPhase.OFFSET, ReachPhase.NO_REACH, True
                    offset = self.last_offset = (index, stamp_ns)
                elif self.increasing >= cfg.invalidate_after or self.stalled >= cfg.max_stall:
                    self.state, invalidated = ReachPhase.NO_REACH, True
                else:
                    phase = ReachPhase.REACH
        else:
            if self.holding and (not f.hand_present or f.iou < cfg.iou_threshold):
                self.holding = False
            approaching = f.valid and f.velocity < -cfg.min_approach
            agrees = probs[RN] + probs[R] >= cfg.agree
            if not self.holding and approaching and agrees and f.iou < cfg.iou_threshold:
                phase, self.state = ReachPhase.ONSET, ReachPhase.REACH
                self.onset = (index, stamp_ns)
                self.increasing = self.stalled = self.missing = 0
        if f.valid and phase is not ReachPhase.NO_REACH:
            self.object_box, self.object_label = f.object_box, f.object_label
        in_reach = phase is not ReachPhase.NO_REACH
        if phase is ReachPhase.OFFSET:
            onset = self.onset
        elif in_reach:
            onset = self.onset
            offset = (-1, -1)
        else:
            onset = (-1, -1)
        scores = {c: float(p) for c, p in zip(CLASSES, probs)}
        return ReachState(
            side=self.side, phase=phase, index=index, stamp_ns=stamp_ns, scores=scores,
            confidence=phase_probability(phase, scores),
            distance=f.distance if f.valid else float("nan"), iou=f.iou,
            object_label=self.object_label if in_reach else f.object_label,
            object_box=self.object_box if in_reach else f.object_box,
            onset_index=onset[0], onset_stamp_ns=onset[1],
            offset_index=offset[0], offset_stamp_ns=offset[1], invalidated=invalidated,
        )


class ReachDetector:
    """Detections in, per-hand :class:`ReachState` out, one frame at a time.

    ``classifier`` is any window classifier (numpy BabyNet by default when
    loaded with :meth:`from_dir`); the two hands are classified in one batch.
    """

    def __init__(self, classifier: WindowClassifier, config: KeyframeConfig | None = None) -> None:
        self.classifier = classifier
        self.config = config or KeyframeConfig()
        self.extractor = ReachFeatureExtractor()
        self.machines = {s: _SideMachine(s, self.config) for s in SIDES}
        self._window = np.zeros((len(SIDES), WINDOW, NUM_FEATURES))
        self._seen = 0

    def reset(self) -> None:
        self.extractor.reset()
        for m in self.machines.values():
            m.reset()
        self._window[:] = 0.0
        self._seen = 0

    def update(self, detections: Sequence[Detection], index: int = -1,
               stamp_ns: int = -1) -> dict[str, ReachState]:
        feats = self.extractor.update(detections)
        self._window[:, :-1] = self._window[:, 1:]
        for s, side in enumerate(SIDES):
            self._window[s, -1] = feats[side].vector()
        if self._seen == 0:  # first frame: pad the window with itself
            self._window[:, :-1] = self._window[:, -1:]
        self._seen += 1
        probs = self.classifier.probabilities(self._window)
        return {
            side: self.machines[side].step(feats[side], probs[s], index, stamp_ns)
            for s, side in enumerate(SIDES)
        }

    @classmethod
    def from_dir(cls, model_dir: str | Path, **overrides: float) -> ReachDetector:
        """Load ``babynet.pt`` + ``config.json`` written by ``rehab train babynet``."""
        import torch

        model_dir = Path(model_dir)
        weights, cfg_path = model_dir / "babynet.pt", model_dir / "config.json"
        if not weights.is_file() or not cfg_path.is_file():
            raise ModelLoadError(f"{model_dir} lacks babynet.pt and config.json "
                                 "(create them with: rehab train babynet --out DIR)")
        try:
            state = torch.load(weights, map_location="cpu", weights_only=True)
            cfg = json.loads(cfg_path.read_text())
        except Exception as err:  # corrupt file: say which
            raise ModelLoadError(f"cannot read BabyNet model in {model_dir}: {err}") from err
        if tuple(cfg.get("classes", ())) != CLASSES:
            raise ModelLoadError(f"{cfg_path}: classes {cfg.get('classes')} != {CLASSES}")
        kf = dict(cfg.get("keyframes", {}))
        kf.update(overrides)
        try:
            classifier = NumpyBabyNet(state)
        except (KeyError, ValueError) as err:
            raise ModelLoadError(f"{weights} is not a BabyNet state dict: {err}") from err
        return cls(classifier, KeyframeConfig(**kf))
