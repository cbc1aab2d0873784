"""Repetition counting, exercise hold timing and per-repetition quality (streaming, ROS-free)."""

from rehab_core.repetition.angles import (
    SIGNALS,
    bilateral_angle,
    compute_signal,
    joint_angles,
    torso_length,
)
from rehab_core.repetition.config import EXERCISES, ExerciseConfig, get_exercise_config
from rehab_core.repetition.counter import Repetition, RepetitionCounter, periodicity
from rehab_core.repetition.quality import (
    RepetitionQuality,
    assess_repetition,
    dtw_distance,
    resample_curve,
)

__all__ = [
    "EXERCISES", "SIGNALS", "ExerciseConfig", "Repetition", "RepetitionCounter",
    "RepetitionQuality", "assess_repetition", "bilateral_angle", "compute_signal",
    "dtw_distance", "get_exercise_config", "joint_angles", "periodicity", "resample_curve",
    "torso_length",
]
