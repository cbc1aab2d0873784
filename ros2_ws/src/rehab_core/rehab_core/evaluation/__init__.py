"""Accuracy of what the stack emitted against hand labels (ROS-free; numpy/yaml only).

``event_labels``: the labels sidecar format of a bag (load, find, save,
conversion from ``test/data/repetitions_truth.yaml``). ``event_scoring``:
``score_events``, which scores repetition counts and exercise labels over
time of one replay; ``reach_scoring``: its reach onsets/offsets part.
"""

from rehab_core.evaluation.event_labels import (
    NO_EXERCISE,
    EventLabels,
    ExerciseSegment,
    Reach,
    find_labels,
    labels_from_dict,
    labels_from_repetition_truth,
    labels_to_dict,
    load_labels,
    save_labels,
    validate_labels,
)
from rehab_core.evaluation.event_scoring import FrameOutputs, score_events
from rehab_core.evaluation.reach_scoring import DEFAULT_TOLERANCE_FRAMES

__all__ = [
    "DEFAULT_TOLERANCE_FRAMES", "NO_EXERCISE", "EventLabels", "ExerciseSegment", "FrameOutputs",
    "Reach", "find_labels", "labels_from_dict", "labels_from_repetition_truth", "labels_to_dict",
    "load_labels", "save_labels", "score_events", "validate_labels",
]
