"""The live classifier's smoothing, emulated on the held-out evaluation's windows.

Live (``StreamingClassifier``), every ``stride`` model frames: the class
probabilities' exponential moving average (``ema_alpha``) goes to the decision
rules, and the reported label changes only once a new one has led for
``hysteresis`` windows. The evaluation cuts its windows at its own stride (3
frames, 0.2 s; live 5, 0.33 s), so the same time constants are applied per
elapsed second: a window ``dt`` after the previous keeps ``(1 - alpha) **
(dt / step)`` of the average, and a new label takes over once it has led for
``(hysteresis - 1)`` live steps. On the live grid this is the live rule; on a
finer grid an approximation (a new label takes over up to one evaluation step
later, and the live stream's first, front-padded windows are not there).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rehab_core.errors import ConfigError


@dataclass(frozen=True)
class LiveSmoothing:
    """A bundle's live smoothing: EMA weight of the newest window, hold, window step."""

    ema_alpha: float = 0.5  # 1.0: no averaging
    hysteresis: int = 2
    step_s: float = 5 / 15.0  # the live stride at the model's frame rate

    def __post_init__(self) -> None:
        if not 0.0 < self.ema_alpha <= 1.0 or self.hysteresis < 1 or self.step_s <= 0:
            raise ConfigError(f"live smoothing needs ema_alpha in (0, 1], hysteresis >= 1 "
                              f"and a step > 0, got {self}")

    @classmethod
    def from_bundle(cls, root: str | Path) -> LiveSmoothing:
        """The settings a model folder's classifier runs with, read as it reads them."""
        from rehab_core.recognition.model_bundle import load_bundle
        from rehab_core.recognition.streaming_config import StreamingConfig

        cfg = StreamingConfig.from_bundle_config(load_bundle(root).config)
        if cfg.smoothing not in ("ema", "none"):
            raise ConfigError(f"{root}: smoothing {cfg.smoothing!r} is not emulated "
                              "(ema or none)")
        return cls(cfg.ema_alpha if cfg.smoothing == "ema" else 1.0, cfg.hysteresis,
                   cfg.stride / cfg.fps)


def smooth_probs(probs: np.ndarray, starts_s: np.ndarray, s: LiveSmoothing) -> np.ndarray:
    """Each window's probabilities averaged with the earlier ones', as live."""
    out = np.array(probs, np.float64)
    for k in range(1, len(out)):
        dt = float(starts_s[k] - starts_s[k - 1])
        keep = (1.0 - s.ema_alpha) ** (max(dt, 0.0) / s.step_s)
        out[k] = (1.0 - keep) * out[k] + keep * out[k - 1]
    return out


def hold_labels(labels_w: Sequence[str], conf: Sequence[float], probs: np.ndarray,
                labels: Sequence[str], starts_s: np.ndarray,
                s: LiveSmoothing) -> tuple[list[str], list[float]]:
    """The reported labels: a new label once it has led ``hysteresis`` live windows; a
    window still reporting the old label carries that label's (smoothed) score, as live."""
    hold = (s.hysteresis - 1) * s.step_s - 1e-9
    out, scores = [], []
    current, candidate, since = None, None, 0.0
    for k, label in enumerate(labels_w):
        t = float(starts_s[k])
        if current is None or label == current:
            current, candidate = label, None
        else:
            if label != candidate:
                candidate, since = label, t
            if t - since >= hold:
                current, candidate = label, None
        out.append(current)
        held = current != label and current in labels
        scores.append(float(probs[k][list(labels).index(current)]) if held else float(conf[k]))
    return out, scores
