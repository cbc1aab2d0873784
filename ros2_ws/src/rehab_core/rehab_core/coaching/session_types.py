"""What one RunExercise goal takes in and gives back (ROS-free).

Why a module of its own: these are the payloads that travel in the
``RunExercise`` result (``rehab_runtime.conversions`` converts each to its
message and back), so the server, the session runner and the report share one
type per thing: a repetition's quality is the core ``RepetitionQuality`` from
the counter to the report; timeline samples, verdicts and ignored repetitions
are the dataclasses below.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from enum import IntEnum
from typing import Any

from rehab_core.errors import ConfigError
from rehab_core.repetition.config import exercise_key
from rehab_core.repetition.quality import RepetitionQuality

#: a repetition is vetoed when most predictions over it name another exercise at least this
#: sure (``SessionConfig.reject_confidence``; the held-out evaluation scores goals with it)
REJECT_CONFIDENCE = 0.6

UNKNOWN = "unknown"


class SessionState(IntEnum):
    """Numbered as the RunExercise feedback constants."""

    WAITING_FOR_PERSON = 0
    EXERCISING = 1
    WRONG_EXERCISE = 2
    DONE = 3


def canonical_exercise(name: str) -> str:
    return exercise_key(name)


def same_exercise(a: str, b: str) -> bool:
    """True when two labels name the same exercise (case, spaces and aliases ignored)."""
    return canonical_exercise(a) == canonical_exercise(b)


@dataclass(frozen=True)
class SessionConfig:
    exercise: str
    repetitions: int
    time_limit_s: float = 0.0
    person_lost_timeout_s: float = 3.0
    min_confidence: float = 0.0
    decision_horizon_s: float = 3.0
    count_from_skeletons: bool = False
    reject_confidence: float = REJECT_CONFIDENCE

    def __post_init__(self) -> None:
        if not self.exercise.strip():
            raise ConfigError("exercise must not be empty")
        if self.repetitions < 1:
            raise ConfigError(f"repetitions must be > 0, got {self.repetitions}")
        if not math.isfinite(self.time_limit_s) or self.time_limit_s < 0:
            raise ConfigError(f"time_limit_s must be >= 0 (0 = no limit), got {self.time_limit_s}")
        if not self.person_lost_timeout_s > 0:
            raise ConfigError("person_lost_timeout_s must be > 0")
        if not 0.0 <= self.min_confidence <= 1.0:
            raise ConfigError(f"min_confidence must be in [0, 1], got {self.min_confidence}")
        if self.decision_horizon_s < 0:
            raise ConfigError("decision_horizon_s must be >= 0")
        if not 0.0 < self.reject_confidence <= 1.0:
            raise ConfigError(f"reject_confidence must be in (0, 1], got {self.reject_confidence}")


@dataclass
class RepetitionInput:
    """A completed repetition as a counter reports it; no quality: only its duration known."""

    exercise: str
    start_t: float
    end_t: float
    quality: RepetitionQuality | None = None

    def __post_init__(self) -> None:
        if self.quality is None:
            nan = float("nan")
            self.quality = RepetitionQuality(self.duration_s, nan, "", (nan, nan))

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t

    @classmethod
    def of(cls, exercise: str, start_t: float, end_t: float,
           q: RepetitionQuality) -> RepetitionInput:
        """From the core's quality, as both counting paths (skeletons, events) report it."""
        return cls(exercise, start_t, end_t, q)


@dataclass
class CountedRepetition:
    index: int
    start_t: float
    end_t: float
    confidence: float
    quality: RepetitionQuality

    @property
    def duration_s(self) -> float:
        return self.end_t - self.start_t


@dataclass(frozen=True)
class TimelineSample:
    """The goal at one moment (each prediction and repetition): what the report plots."""

    t: float
    label: str
    confidence: float
    repetitions: int
    state: SessionState


@dataclass(frozen=True)
class RepetitionVerdict:
    """The decision on one repetition (``repetition.verdict``) and its evidence."""

    start_t: float
    end_t: float
    verdict: str
    label: str
    confidence: float
    votes: int


@dataclass(frozen=True)
class IgnoredRepetition:
    t: float
    exercise: str
    reason: str


@dataclass
class SessionResult:
    exercise: str
    success: bool
    repetitions_done: int
    repetition_durations_s: list[float]
    mean_confidence: float
    reason: str
    quality: list[RepetitionQuality]
    started_t: float
    ended_t: float
    ignored: list[IgnoredRepetition] = field(default_factory=list)
    verdicts: list[RepetitionVerdict] = field(default_factory=list)
    timeline: list[TimelineSample] = field(default_factory=list)

    @property
    def counted_end_t(self) -> list[float]:
        """End of every counted repetition (source time, s)."""
        from rehab_core.repetition.verdict import REJECTED

        return [v.end_t for v in self.verdicts if v.verdict != REJECTED]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (session.json): quality as ``quality_record``, states by name."""
        out = {k: v for k, v in asdict(self).items() if k not in ("quality", "timeline")}
        out["quality"] = [quality_record(q) for q in self.quality]
        out["timeline"] = [{**asdict(s), "state": SessionState(s.state).name}
                           for s in self.timeline]
        return _json_safe(out)


def quality_record(q: RepetitionQuality) -> dict[str, Any]:
    """A counted repetition's quality as the session report reads it (None: not measured,
    reference_distance -1: no reference)."""
    return _json_safe({
        "duration_s": float(q.duration_s), "range_of_motion_deg": float(q.range_of_motion_deg),
        "key_joint": q.key_joint, "tempo_s": float(q.tempo_s[0]),
        "reference_distance": -1.0 if q.reference_distance is None
        else float(q.reference_distance),
    })


def _json_safe(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, dict):
        return {k: _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    return x
