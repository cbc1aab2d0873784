"""What the exercise classifier says about one window: the payload from classifier to consumers."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass
class ActionPrediction:
    """One classified window.

    ``label``/``confidence``: the reported (smoothed, hysteresis-held) label and
    its smoothed score ("unknown" from the threshold carries the best class's
    too-low score unless the model has an "unknown" class); ``scores``: the
    smoothed score of every class; ``raw_*``: this window alone, before
    smoothing; stamps are model-clock ticks of the window's first and last frame.
    """

    label: str
    confidence: float
    scores: dict[str, float]
    window_start_ns: int
    window_end_ns: int
    model: str
    raw_label: str = ""
    raw_confidence: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)
