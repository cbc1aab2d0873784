"""Settings of the streaming classifier, checked when built (a bundle's config.yaml fills them)."""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from rehab_core.errors import ConfigError
from rehab_core.recognition.preprocess import NORMALIZATIONS
from rehab_core.skeleton.layouts import get_layout


@dataclass
class StreamingConfig:
    """Settings of the streaming classifier (a bundle's config.yaml fills them)."""

    layout: str = "coco17"
    window: int = 30
    stride: int = 5
    fps: float = 30.0
    normalization: str = "torso"
    min_score: float = 0.2
    threshold: float = 0.5
    smoothing: str = "ema"  # "ema", "majority" or "none"
    ema_alpha: float = 0.5
    majority_k: int = 5
    hysteresis: int = 2
    max_gap_s: float = 1.0
    min_seen_fraction: float = 0.5
    min_frames: int = 0  # 0: classify full windows only
    binary_score: bool = False  # score channel = seen (1) / unseen (0), not the raw score
    input_space: str = "2d"  # "fused": 2-D and the pose model's 3-D (6 channels)
    fallback: str = ""  # a 2-D bundle (relative to this one) for windows without 3-D
    # an unknown window is its likeliest exercise that completed a repetition (rep_evidence.py)
    repetition_evidence: bool = False
    stance: bool = False  # the legs' stance picks the squat family's member (stance.py)
    motion_check: bool = False  # an exercise whose key joint is still is unknown (motion_check)
    # with 3-D, the answer is (1 - w) x this model's + w x the 2-D fallback's probabilities
    fallback_weight: float = 0.0

    def __post_init__(self) -> None:
        if self.window < 1 or self.stride < 1:
            raise ConfigError(f"window and stride must be >= 1, got {self.window}, {self.stride}")
        if not 0 <= self.min_frames <= self.window:
            raise ConfigError(f"min_frames must be in [0, window], got {self.min_frames}")
        if self.fps <= 0:
            raise ConfigError(f"fps must be > 0, got {self.fps}")
        if self.normalization not in NORMALIZATIONS:
            raise ConfigError(f"normalization must be one of {NORMALIZATIONS}")
        if self.smoothing not in ("ema", "majority", "none"):
            raise ConfigError(f"smoothing must be ema, majority or none, got {self.smoothing!r}")
        if not 0.0 < self.ema_alpha <= 1.0:
            raise ConfigError(f"ema_alpha must be in (0, 1], got {self.ema_alpha}")
        if not 0.0 <= self.threshold <= 1.0:
            raise ConfigError(f"threshold must be in [0, 1], got {self.threshold}")
        if self.hysteresis < 1 or self.majority_k < 1:
            raise ConfigError("hysteresis and majority_k must be >= 1")
        if not 0.0 <= self.fallback_weight <= 1.0:
            raise ConfigError(f"fallback_weight must be in [0, 1], got {self.fallback_weight}")
        if self.input_space not in ("2d", "fused"):
            raise ConfigError(f"input_space must be 2d or fused, got {self.input_space!r}")
        get_layout(self.layout)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> StreamingConfig:
        return cls(**{k: v for k, v in d.items() if k in {f.name for f in fields(cls)}})

    @classmethod
    def from_bundle_config(cls, config: dict[str, Any], **overrides: Any) -> StreamingConfig:
        """A bundle's settings: its config.yaml's top level over its ``streaming`` section,
        ``overrides`` (e.g. a node's parameters) over both."""
        return cls.from_dict({**config.get("streaming", {}), **config, **overrides})
