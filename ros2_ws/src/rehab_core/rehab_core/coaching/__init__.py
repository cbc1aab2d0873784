"""Guided exercise logic (ROS-free): one RunExercise goal from predictions and repetitions."""

from rehab_core.coaching.exercise_session import (
    CountedRepetition,
    ExerciseSession,
    RepetitionInput,
    SessionConfig,
    SessionResult,
    SessionState,
    same_exercise,
)
from rehab_core.coaching.plan import PlanGoal, load_plan
from rehab_core.coaching.reference import load_reference, save_reference

__all__ = [
    "CountedRepetition", "ExerciseSession", "PlanGoal", "RepetitionInput", "SessionConfig",
    "SessionResult", "SessionState", "load_plan", "load_reference", "same_exercise",
    "save_reference",
]
