"""Guided exercise logic (ROS-free): one RunExercise goal from predictions and repetitions."""

from rehab_core.coaching.exercise_session import ExerciseSession
from rehab_core.coaching.plan import PlanGoal, load_plan
from rehab_core.coaching.reference import load_reference, save_reference
from rehab_core.coaching.session_types import (
    CountedRepetition,
    IgnoredRepetition,
    RepetitionInput,
    RepetitionVerdict,
    SessionConfig,
    SessionResult,
    SessionState,
    TimelineSample,
    quality_record,
    same_exercise,
)

__all__ = [
    "CountedRepetition", "ExerciseSession", "IgnoredRepetition", "PlanGoal", "RepetitionInput",
    "RepetitionVerdict", "SessionConfig", "SessionResult", "SessionState", "TimelineSample",
    "load_plan", "load_reference", "quality_record", "same_exercise", "save_reference",
]
