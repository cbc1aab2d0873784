"""Accuracy of what the stack emitted against hand labels (ROS-free; numpy/yaml only).

``event_accuracy``: the labels sidecar format of a bag (load, find, save,
conversion from ``test/data/repetitions_truth.yaml``) and ``score_events``,
which scores repetition counts, exercise labels over time and reach
onsets/offsets of one replay.
"""

from rehab_core.evaluation.event_accuracy import (
    DEFAULT_TOLERANCE_FRAMES,
    NO_EXERCISE,
    EventLabels,
    ExerciseSegment,
    FrameOutputs,
    Reach,
    find_labels,
    labels_from_dict,
    labels_from_repetition_truth,
    labels_to_dict,
    load_labels,
    save_labels,
    score_events,
    validate_labels,
)

__all__ = [
    "DEFAULT_TOLERANCE_FRAMES", "NO_EXERCISE", "EventLabels", "ExerciseSegment", "FrameOutputs",
    "Reach", "find_labels", "labels_from_dict", "labels_from_repetition_truth", "labels_to_dict",
    "load_labels", "save_labels", "score_events", "validate_labels",
]
