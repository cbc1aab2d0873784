"""Unguided counting by bouts: a relabel within a confusion family loses no repetition.

Synthetic skeleton streams (``rehab_testing.synthetic_reps``) with known
repetitions, and synthetic label streams as the classifier would give them,
go through ``BoutCounter`` and the ``rehab run`` report (``RunRecorder``).
"""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.repetition import verdict
from rehab_core.repetition.bout_counter import BoutCounter
from rehab_core.repetition.families import FAMILIES, BoutTracker, merge_segments, siblings
from rehab_core.reporting.run_outputs import RunRecorder, frame_record
from rehab_testing.synthetic_reps import sequence

FPS = 30.0


def _stream(parts: list[tuple[str, int]]) -> tuple[list, np.ndarray]:
    """Concatenated synthetic sets: [(kind, n_reps)] -> keypoints, stamps_ns."""
    frames: list = []
    stamps: list[np.ndarray] = []
    offset = 0
    for kind, n in parts:
        f, s, _ = sequence(kind, n, fps=FPS, period_s=1.6)
        frames += f
        stamps.append(s + offset)
        offset = int(stamps[-1][-1]) + int(1e9 / FPS)
    return frames, np.concatenate(stamps)


def _run(frames: list, stamps: np.ndarray, label_at, tmp_path) -> dict:
    """Feed skeletons + a label every 0.5 s through BoutCounter into a RunRecorder."""
    counter = BoutCounter(use_3d=False)
    recorder = RunRecorder(tmp_path, "synthetic", input_fps=FPS)
    next_label = 0.0
    action = None
    for i, (kp, ns) in enumerate(zip(frames, stamps, strict=True)):
        t = ns * 1e-9
        reps = []
        if t >= next_label:
            next_label = t + 0.5
            label, conf = label_at(t)
            action = {"label": label, "confidence": conf}
            reps += counter.on_label(t, label, conf).emitted
        reps += counter.update(kp, int(ns))
        row = {"frame": i, "t": t, "skeletons": [], "detections": []}
        if reps:
            row["repetitions"] = [{"exercise": r.exercise, "count": r.index + 1,
                                   "start_ns": round(r.start_t * 1e9),
                                   "end_ns": round(r.end_t * 1e9)} for r in reps]
        recorder.add(frame_record(row, action))
    return recorder.close(wall_s=1.0)


def test_a_bout_that_starts_as_deadlift_and_turns_squat_gives_all_reps_to_squat(tmp_path):
    frames, stamps = _stream([("squat", 6)])
    end = stamps[-1] * 1e-9
    summary = _run(frames, stamps,
                   lambda t: ("deadlift", 0.65) if t < 0.3 * end else ("squat", 0.8), tmp_path)
    assert summary["repetitions"] == {"squat": 6}, summary["repetitions"]
    # the reps first published as deadlifts were re-counted, not lost and not doubled
    assert {e["exercise"] for e in summary["superseded_repetitions"]} == {"deadlift"}
    assert [a["label"] for a in summary["actions"]] == ["squat"], summary["actions"]
    assert {a["label"] for a in summary["actions"][0]["parts"]} == {"deadlift", "squat"}


def test_the_confidence_weighted_majority_names_the_bout(tmp_path):
    """Mostly "deadlift" with confidence: the bout is a deadlift, counted by the hip angle."""
    frames, stamps = _stream([("squat", 5)])
    end = stamps[-1] * 1e-9
    summary = _run(frames, stamps,
                   lambda t: ("squat", 0.5) if t < 0.2 * end else ("deadlift", 0.9), tmp_path)
    assert list(summary["repetitions"]) == ["deadlift"], summary["repetitions"]
    assert [a["label"] for a in summary["actions"]] == ["deadlift"]


def test_two_exercises_of_different_families_stay_separate(tmp_path):
    squats, s1 = _stream([("squat", 4)])
    pushups, s2 = _stream([("pushup", 4)])
    s2 = s2 + s1[-1] + int(1e9 / FPS)
    switch = s2[0] * 1e-9
    summary = _run(squats + pushups, np.concatenate([s1, s2]),
                   lambda t: ("squat", 0.8) if t < switch else ("push_up", 0.8), tmp_path)
    assert summary["repetitions"] == {"squat": 4, "push_up": 4}, summary["repetitions"]
    assert [a["label"] for a in summary["actions"]] == ["squat", "push_up"]


def test_unknown_between_bouts_splits_them_and_a_flicker_does_not():
    tracker = BoutTracker(split_gap_s=2.0)
    stream = [(0.0, "squat"), (1.0, "squat"), (1.5, "unknown"), (2.0, "squat"),  # flicker
              (3.0, "unknown"), (4.0, "unknown"), (5.5, "unknown"), (6.0, "deadlift")]
    news = [tracker.update(t, lab, 0.8)[1] for t, lab in stream]
    assert news == [True, False, False, False, False, False, False, True]
    assert [b.label for b in tracker.bouts] == ["squat", "deadlift"]
    # the report's segments follow the same rule
    segs = [{"label": "squat", "start_s": 0.0, "end_s": 2.0, "confidence": 0.8},
            {"label": "deadlift", "start_s": 6.0, "end_s": 9.0, "confidence": 0.7},
            {"label": "squat", "start_s": 9.3, "end_s": 10.0, "confidence": 0.6}]
    assert [b["label"] for b in merge_segments(segs)] == ["squat", "deadlift"]


def test_unknown_between_two_sets_keeps_their_counts_apart(tmp_path):
    frames, stamps = _stream([("squat", 3), ("squat", 3)])
    half = stamps[len(stamps) // 2] * 1e-9

    def label(t: float) -> tuple[str, float]:
        if abs(t - half) < 1.6:
            return "unknown", 0.9
        return ("squat", 0.8) if t < half else ("lunge", 0.8)

    summary = _run(frames, stamps, label, tmp_path)
    assert [a["label"] for a in summary["actions"]] == ["squat", "lunge"]
    assert sum(summary["repetitions"].values()) == 6, summary["repetitions"]
    assert summary["repetitions"]["lunge"] >= 2


def test_the_families_are_one_definition_shared_with_the_goal_verdict():
    assert verdict.FAMILIES is FAMILIES and verdict.siblings is siblings
    assert siblings("squat", "deadlift") and not siblings("squat", "push_up")


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="split_gap_s"):
        BoutTracker(split_gap_s=0.0)
    with pytest.raises(ValueError, match="lead_s"):
        BoutCounter(lead_s=-1.0)


def test_a_first_label_late_after_a_rep_takes_over_what_the_generic_counter_found(tmp_path):
    """The classifier names a movement only after a window of it: the generic counter's
    first repetition, counted as "unknown", becomes the squat bout's first."""
    frames, stamps, spans = sequence("squat", 4, fps=FPS, period_s=1.6)
    first_end = spans[0][1]
    summary = _run(frames, stamps,
                   lambda t: ("unknown", 0.3) if t < first_end + 0.5 else ("squat", 0.8),
                   tmp_path)
    assert summary["repetitions"] == {"squat": 4}, summary["repetitions"]
    assert {e["exercise"] for e in summary["superseded_repetitions"]} == {"unknown"}


@pytest.mark.parametrize("labelled", [True, False])
def test_the_end_of_the_input_closes_the_repetition_in_progress(labelled: bool):
    """Squats cut on the way up of the last one (nearly up again): the end of
    the input counts it, under the bout's label, or the generic counter's before any label,
    as a goal's input_ended does; nothing is counted twice."""
    frames, stamps, spans = sequence("squat", 3, 1.6, FPS)
    end_ns = (spans[-1][0] + 0.88 * (spans[-1][1] - spans[-1][0])) * 1e9
    cut = int(np.searchsorted(stamps, end_ns))
    counter = BoutCounter(use_3d=False)
    emitted = []
    for kp, ns in zip(frames[:cut], stamps[:cut], strict=True):
        if labelled and ns * 1e-9 >= 1.5:
            emitted += counter.on_label(ns * 1e-9, "squat", 0.9).emitted
        emitted += counter.update(kp, int(ns))
    assert len(counter.emitted) == 2
    closed = counter.finish()
    assert [r.exercise for r in closed] == ["squat" if labelled else "unknown"]
    assert len(counter.emitted) == 3 and counter.finish() == []
