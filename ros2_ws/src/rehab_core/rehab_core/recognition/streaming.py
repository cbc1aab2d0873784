"""Streaming exercise recognition over one tracked person's skeletons.

Per camera frame: convert the skeleton to the model's layout, match the
camera's frame rate to the model's (repeat / drop, see ``preprocess``), keep
the last ``window`` model-rate frames, and every ``stride`` frames classify
the normalised window. Scores are smoothed (exponential moving average or a
majority over the last k windows) and the reported label only changes after
the new label has led for ``hysteresis`` consecutive windows, so it does not
flicker. A smoothed top score under ``threshold`` reports ``unknown``.

Missing input: a frame without a skeleton (``None``) enters the window as an
all-unseen frame; a gap longer than ``max_gap_s`` (or a stamp going back)
clears the window, since a window spanning the gap would mix two moments;
a window with too few seen frames is not classified. With ``min_frames`` > 0
the first windows are classified once ``min_frames`` model frames have arrived,
front-padded by holding the first frame (as training pads short clips).

A ``fused`` bundle also reads the pose model's 3-D (``world_input.py``); while the
window lacks it (MoveNet, YOLO-pose) the bundle's ``fallback`` 2-D model answers, and
while it has it the two answer together; with two or more CPUs the 2-D network runs
on a worker thread while the fused one runs (``runners.SideThread``).
The decision rules after the network are in ``window_rules.py``.
"""

from __future__ import annotations

from collections import deque
from pathlib import Path
from typing import Any

import numpy as np

from rehab_core.errors import ConfigError, ModelLoadError
from rehab_core.recognition.model_bundle import ModelBundle, load_bundle
from rehab_core.recognition.motion_check import MotionTracker
from rehab_core.recognition.prediction import ActionPrediction
from rehab_core.recognition.preprocess import (
    FrameRateMatcher,
    normalize_window,
    pad_front,
    window_to_input,
)
from rehab_core.recognition.rep_evidence import RepetitionEvidence
from rehab_core.recognition.runners import (
    OnnxRunner,
    SideThread,
    TorchRunner,
    softmax,
    usable_cpus,
)
from rehab_core.recognition.stance import StanceTracker
from rehab_core.recognition.streaming_config import StreamingConfig
from rehab_core.recognition.window_rules import name_window
from rehab_core.recognition.world_input import fused_input, skeleton_world, world_fraction
from rehab_core.skeleton.layouts import convert_keypoints, get_layout
from rehab_core.types import Skeleton

_SHARED_SETTINGS = ("threshold", "repetition_evidence", "stance", "motion_check")  # fallback's too
_TRACKERS = ("evidence", "stance", "motion")  # fed every frame, shared with the fallback


class StreamingClassifier:
    """Sliding-window ST-GCN classifier for one tracked person.

    Build it from a bundle folder (``from_bundle``) or from a torch model and
    its labels. ``update(skeleton, stamp_ns)`` returns an ``ActionPrediction``
    when a window was classified on this call, else None.
    """

    def __init__(
        self,
        runner,
        labels: list[str],
        config: StreamingConfig,
        model_name: str = "stgcn",
    ) -> None:
        if not labels:
            raise ConfigError("labels must not be empty")
        self.run_model = runner if callable(runner) else TorchRunner(runner)
        self.labels = list(labels)
        self.config = config
        self.model_name = model_name
        self.layout = get_layout(config.layout)
        self._matcher = FrameRateMatcher(config.fps)
        self.fallback: StreamingClassifier | None = None
        self._side: SideThread | None = None  # runs the fallback beside this model
        self.evidence = RepetitionEvidence(labels) if config.repetition_evidence else None
        self.stance = StanceTracker() if config.stance else None
        self.motion = MotionTracker(labels) if config.motion_check else None
        self.reset()

    @classmethod
    def from_torch(cls, model, labels: list[str], config: StreamingConfig,
                   model_name: str = "stgcn") -> StreamingClassifier:
        return cls(TorchRunner(model), labels, config, model_name)

    @classmethod
    def from_bundle(cls, root: str | Path, runtime: str = "auto",
                    **overrides: Any) -> StreamingClassifier:
        """Load a bundle; runtime "onnx", "torch" or "auto" (ONNX when present)."""
        bundle: ModelBundle = load_bundle(root)
        config = StreamingConfig.from_bundle_config(bundle.config, **overrides)
        if runtime == "auto":
            runtime = "onnx" if bundle.onnx_path.is_file() else "torch"
        if runtime == "onnx":
            if not bundle.onnx_path.is_file():
                raise ModelLoadError(f"no ONNX model in {bundle.root}")
            runner = OnnxRunner(bundle.onnx_path)
        elif runtime == "torch":
            from rehab_core.recognition.model_bundle import load_torch_model

            runner = TorchRunner(load_torch_model(bundle.torch_path))
        else:
            raise ConfigError(f"runtime must be auto, onnx or torch, got {runtime!r}")
        out = cls(runner, bundle.labels, config, model_name=bundle.name)
        if config.fallback:
            # the decision settings hold for the whole classifier, the fallback's answers too
            shared = {k: v for k, v in overrides.items() if k in _SHARED_SETTINGS}
            out.fallback = cls.from_bundle(bundle.root / config.fallback, runtime, **shared)
            if out.fallback.labels != out.labels:
                raise ModelLoadError(f"the fallback {config.fallback} has other classes: "
                                     f"{out.fallback.labels} against {out.labels}")
            for name in _TRACKERS:  # one set (or none) for both
                setattr(out.fallback, name, getattr(out, name))
            if config.fallback_weight > 0 and usable_cpus() >= 2:
                out._side = SideThread("classifier-2d")
        return out

    def close(self) -> None:
        """Stop the fallback's worker thread (the classifier still works, in turn)."""
        if self._side is not None:
            self._side.close()
            self._side = None

    def reset(self) -> None:
        """Forget the window, the smoothing state and the current label."""
        self._matcher.reset()
        self._frames: deque[tuple[int, np.ndarray]] = deque(maxlen=self.config.window)
        self._since_last = 0
        self._last_stamp: int | None = None
        self._ema: np.ndarray | None = None
        self._recent: deque[int] = deque(maxlen=self.config.majority_k)
        self._current: str | None = None
        self._candidate: str | None = None
        self._candidate_count = 0
        self._memo: tuple[bytes, np.ndarray | None] = (b"", None)
        if getattr(self, "fallback", None) is not None:
            self.fallback.reset()
        for rule in self._trackers():
            rule.reset()

    def _to_layout(self, skeleton: Skeleton | None) -> np.ndarray:
        if self.config.input_space == "fused":
            flat = self._to_layout_2d(skeleton)
            return np.concatenate([flat, skeleton_world(skeleton, self.layout.name)], axis=1)
        return self._to_layout_2d(skeleton)

    def _to_layout_2d(self, skeleton: Skeleton | None) -> np.ndarray:
        if skeleton is None:
            return np.zeros((self.layout.num_keypoints, 3), np.float32)
        kp = skeleton.keypoints
        if skeleton.layout != self.layout.name:
            kp = convert_keypoints(kp, skeleton.layout, self.layout.name)
        kp = np.asarray(kp, np.float32).copy()
        bad = ~np.isfinite(kp).all(axis=1)
        kp[bad] = 0.0
        return kp

    def update(self, skeleton: Skeleton | None, stamp_ns: int) -> ActionPrediction | None:
        """Add one camera frame's skeleton (None when the person was not seen)."""
        stamp_ns = int(stamp_ns)
        if self._last_stamp is not None:
            gap = (stamp_ns - self._last_stamp) * 1e-9
            if gap < 0 or gap > self.config.max_gap_s:
                self.reset()
        self._last_stamp = stamp_ns
        shared: dict = {}  # this frame's joint signals, computed once for every rule
        for rule in self._trackers():
            rule.update(skeleton, stamp_ns, shared)
        result = None
        for tick, frame in self._matcher.push(stamp_ns, self._to_layout(skeleton)):
            self._frames.append((tick, frame))
            self._since_last += 1
            if self._ready() and self._since_last >= self.config.stride:
                self._since_last = 0
                prediction = self._classify()
                if prediction is not None:
                    result = prediction
        if self.fallback is not None:
            other = self.fallback.update(skeleton, stamp_ns)
            if result is None and other is None:
                return None  # no window on this frame: nothing to choose between
            frames = np.stack([f for _, f in self._frames]) if self._frames else np.zeros(0)
            if world_fraction(frames) < self.config.min_seen_fraction:
                return other  # no 3-D in this window: the 2-D model's answer
        return result

    def _trackers(self) -> list:  # the rules' per-frame state
        return [t for n in _TRACKERS if (t := getattr(self, n, None)) is not None]

    def _ready(self) -> bool:
        n = len(self._frames)
        return n == self.config.window or 0 < self.config.min_frames <= n

    def classify_window(self, window: np.ndarray) -> np.ndarray | None:
        """Class probabilities of one raw (T, V, 3) window, or None if no body is seen.
        The last answer is kept: a mixing classifier and its fallback ask for the same
        window (the fallback's own update follows), and it is computed once."""
        key = window.tobytes()
        if key == self._memo[0]:
            return self._memo[1]
        self._memo = (key, self._classify_raw(window))
        return self._memo[1]

    def _classify_raw(self, window: np.ndarray) -> np.ndarray | None:
        x = self._model_input(window)
        return None if x is None else self._probabilities(self.run_model(x))

    def _model_input(self, window: np.ndarray,
                     flat: np.ndarray | None = None) -> np.ndarray | None:
        """The network's (1, C, T, V) input for one raw window, None if no body is seen;
        ``flat``: its normalised 2-D when already computed (``_normalized_2d``)."""
        normed = self._normalized_2d(window) if flat is None else flat
        if normed is None:
            return None
        if self.config.input_space == "fused":
            normed = fused_input(normed, window[..., 3:7])
        return window_to_input(normed)

    def _normalized_2d(self, window: np.ndarray) -> np.ndarray | None:
        normed = normalize_window(window[..., :3], self.layout, self.config.normalization,
                                  self.config.min_score)
        if normed is not None and self.config.binary_score:
            normed[..., 2] = (normed[..., 2] > 0).astype(np.float32)
        return normed

    def _same_2d(self, other: StreamingClassifier) -> bool:
        """Both normalise a window's 2-D alike (then it is computed once for both)."""
        a, b = self.config, other.config
        return (a.layout, a.normalization, a.min_score, a.binary_score) == \
            (b.layout, b.normalization, b.min_score, b.binary_score)

    def _probabilities(self, logits: np.ndarray) -> np.ndarray:
        logits = np.asarray(logits, np.float64).reshape(-1)
        if logits.shape[0] != len(self.labels):
            raise ModelLoadError(
                f"model gives {logits.shape[0]} scores but there are {len(self.labels)} labels")
        return softmax(logits)

    def _classify(self) -> ActionPrediction | None:
        window = pad_front(np.stack([f for _, f in self._frames]), self.config.window)
        seen = (window[:, :, 2] >= self.config.min_score).any(axis=1).mean()
        if seen < self.config.min_seen_fraction:
            return None
        probs, flat = self._classify_both(window)
        if probs is None:
            return None
        if flat is not None:  # two inputs' views of one window
            w = self.config.fallback_weight
            probs = (1.0 - w) * probs + w * flat
        smoothed = self._smooth(probs)
        end_s = self._last_stamp * 1e-9  # the window: its span up to this frame
        proposal, named = name_window(smoothed, self.labels, self.config.threshold, self.evidence,
                                      self.stance, end_s - self.config.window / self.config.fps,
                                      end_s, self.motion)
        label = self._hysteresis(proposal)
        raw_top = int(np.argmax(probs))
        score_of = named if label == proposal else label
        return ActionPrediction(
            label=label,
            confidence=float(smoothed[self.labels.index(score_of)]) if score_of in self.labels
            else float(smoothed.max()),
            scores={name: float(p) for name, p in zip(self.labels, smoothed)},
            window_start_ns=int(self._frames[0][0]),
            window_end_ns=int(self._frames[-1][0]),
            model=self.model_name,
            raw_label=self.labels[raw_top],
            raw_confidence=float(probs[raw_top]),
        )

    def _classify_both(self, window: np.ndarray) -> tuple[np.ndarray | None, np.ndarray | None]:
        """This model's and, when mixing, the 2-D fallback's probabilities of one window;
        the fallback's network on the side thread (if any) while this one runs."""
        if not (self.config.fallback_weight > 0 and self.fallback is not None):
            return self.classify_window(window), None
        flat_window = window[..., :3]
        fallback = self.fallback
        flat = fallback._normalized_2d(flat_window)
        flat_x = None if flat is None else window_to_input(flat)
        side = self._side  # read once: close() may run on another thread
        pending = None if flat_x is None or side is None else side.submit(fallback.run_model,
                                                                           flat_x)
        try:  # this model's input while the fallback's network runs (it releases the GIL)
            x = self._model_input(window, flat if self._same_2d(fallback) else None)
            probs = None if x is None else self._probabilities(self.run_model(x))
        finally:
            flat_logits = None if pending is None else pending.result()
        if flat_x is not None and pending is None:  # no worker (one CPU, or closed): in turn
            flat_logits = fallback.run_model(flat_x)
        flat = None if flat_x is None else fallback._probabilities(flat_logits)
        fallback._memo = (flat_window.tobytes(), flat)  # its own update asks for this window
        return probs, flat

    def _smooth(self, probs: np.ndarray) -> np.ndarray:
        mode = self.config.smoothing
        if mode == "ema":
            a = self.config.ema_alpha
            self._ema = probs if self._ema is None else a * probs + (1 - a) * self._ema
            return self._ema
        if mode == "majority":
            self._recent.append(int(np.argmax(probs)))
            votes = np.bincount(np.asarray(self._recent), minlength=len(self.labels))
            # Majority picks the class; the confidence is the vote share.
            return votes / votes.sum()
        return probs

    def _hysteresis(self, proposal: str) -> str:
        if self._current is None:
            self._current = proposal
            return proposal
        if proposal == self._current:
            self._candidate, self._candidate_count = None, 0
            return self._current
        if proposal == self._candidate:
            self._candidate_count += 1
        else:
            self._candidate, self._candidate_count = proposal, 1
        if self._candidate_count >= self.config.hysteresis:
            self._current = proposal
            self._candidate, self._candidate_count = None, 0
        return self._current
