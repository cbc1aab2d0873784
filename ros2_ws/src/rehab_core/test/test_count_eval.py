"""The evaluation's counting without a goal (``training/count_eval.py``): the clip's frames and
its held-out window labels replayed through ``rehab run``'s own ``BoutCounter``."""

from __future__ import annotations

import numpy as np
import pytest

from rehab_core.datasets.corpus import CorpusClip
from rehab_core.repetition.bout_counter import BoutCounter
from rehab_core.training.count_eval import add_counts, count_repetitions, unguided_counts
from rehab_core.types import Skeleton
from rehab_testing.synthetic_reps import sequence

SPAN_S = 2.0


def _clip(label: str, kind: str, reps: int, true_count: int | None = None) -> CorpusClip:
    frames, stamps, _ = sequence(kind, reps, 2.0, 30.0)
    kp = np.stack([f if f is not None else np.zeros((17, 3), np.float32) for f in frames])
    return CorpusClip(f"synthetic_{kind}", label, "test", kp.astype(np.float32),
                      np.asarray(stamps, np.int64), 30.0, true_count=true_count)


def _windows(clip: CorpusClip, label: str, step_s: float = 0.2):
    last = clip.stamps_ns[-1] * 1e-9
    starts = np.arange(0.0, last - SPAN_S + 1e-9, step_s)
    return starts, [label] * len(starts), [0.9] * len(starts)


def test_a_labelled_set_counts_as_rehab_run_would():
    """Squats labelled squat throughout: the bout counter's count, not more, and every
    repetition under the exercise's name (the generic counter's first one relabelled)."""
    clip = _clip("squat", "squat", 4, true_count=4)
    starts, labels, conf = _windows(clip, "squat")
    counts = unguided_counts(clip, starts + SPAN_S, labels, conf)
    assert counts == {"squat": 4}


def test_it_is_the_bout_counter_fed_in_time_order():
    clip = _clip("squat", "squat", 3)
    starts, labels, conf = _windows(clip, "squat", step_s=0.4)
    counter, k = BoutCounter(), 0
    ends = starts + SPAN_S
    for i, stamp in enumerate(clip.stamps_ns):
        counter.update(Skeleton("coco17", clip.keypoints[i]), int(stamp))
        while k < len(ends) and ends[k] <= stamp * 1e-9:
            counter.on_label(float(ends[k]), labels[k], conf[k])
            k += 1
    expected = {"squat": sum(r.exercise == "squat" for r in counter.emitted)}
    assert unguided_counts(clip, ends, labels, conf) == expected


def test_unknown_labels_count_no_exercise():
    clip = _clip("unknown", "squat", 3)
    starts, labels, conf = _windows(clip, "unknown")
    counts = unguided_counts(clip, starts + SPAN_S, labels, conf)
    assert all(name == "unknown" for name in counts)


@pytest.mark.parametrize("label", ["squat", "unknown"])
def test_add_counts_keeps_goal_and_unguided_counts_side_by_side(label: str):
    clip = _clip(label, "squat", 3, true_count=3 if label == "squat" else None)
    starts, labels, conf = _windows(clip, "squat")
    out: dict = {}
    add_counts(out, clip, SPAN_S, starts, labels, conf)
    if label == "squat":
        assert out["count"]["goal"] == len(count_repetitions(clip, "squat"))
        assert out["count"]["unguided"] == out["count"]["unguided_all"].get("squat", 0) > 0
        assert "unguided_reps" not in out
    else:  # an `other` clip named squat throughout: every squat is a false repetition
        assert "count" not in out
        assert out["unguided_reps"]["squat"] > 0 and out["false_reps"]["squat"] > 0


def test_a_clip_shorter_than_a_window_gets_its_label_at_its_last_frame():
    """A single-repetition clip of 1.8 s has one front-padded window that live ends at the
    clip's last frame, not 2 s after its start: the repetition the generic counter found
    is named by it (a label 2 s after the start would come after the clip)."""
    frames, stamps, _ = sequence("squat", 1, 1.0, 30.0, lead_s=0.3)
    keep = np.asarray(stamps) * 1e-9 <= 1.8
    kp = np.stack([f for f, k in zip(frames, keep) if k]).astype(np.float32)
    clip = CorpusClip("short_squat", "squat", "test", kp, np.asarray(stamps)[keep], 30.0,
                      true_count=1)
    out: dict = {}
    add_counts(out, clip, SPAN_S, np.array([0.0]), ["squat"], [0.9])
    assert out["count"]["goal"] == 1
    assert out["count"]["unguided_all"] == {"squat": 1} and out["count"]["unguided"] == 1
