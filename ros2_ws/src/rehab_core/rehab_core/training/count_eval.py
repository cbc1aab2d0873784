"""Counting figures of the held-out evaluation: with a goal, and without one (``rehab run``).

With a goal (``RunExercise``) the exercise is known: its own key signal is
counted, and each repetition is vetoed only when the held-out classifier's
windows over it confidently name another exercise (``repetition/verdict.py``).

Without a goal, ``rehab run`` counts whatever the classifier says, one bout
at a time (``repetition/bout_counter.py``). ``unguided_counts`` replays that:
the clip's frames and the held-out window labels, each at its window's end
(when the live classifier would publish it), in time order, into the same
``BoutCounter`` the repetition counter node runs; the clip's end closes the
repetition in progress (``BoutCounter.finish``), as ``rehab run`` does at the
end of its input and a goal on ``input_ended``. The evaluation's
windows start where a full window (or, in a clip shorter than one, the
clip) fits; live, the first, front-padded windows from 0.67 s on also name
the movement earlier, so this is the later of the two.

On ``unknown`` clips (other movements) ``false_repetitions`` is the headline
approximation (a counted class's repetitions inside windows mostly labelled
as it); the unguided replay's counts are kept beside it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator, Sequence

import numpy as np

from rehab_core.coaching.session_types import REJECT_CONFIDENCE
from rehab_core.datasets.corpus import CorpusClip
from rehab_core.repetition.bout_counter import BoutCounter
from rehab_core.repetition.config import get_exercise_config
from rehab_core.repetition.counter import RepetitionCounter
from rehab_core.repetition.verdict import UNKNOWN, judge_repetition
from rehab_core.types import Skeleton


def clip_skeletons(clip: CorpusClip) -> Iterator[tuple[int, Skeleton | None]]:
    """(stamp_ns, skeleton) per frame as live: the 2-D skeleton carrying the pose model's
    3-D world landmarks where the frame has them; None where no person was seen."""
    seen = clip.keypoints[:, :, 2].max(axis=1) > 0
    for i, (ok, stamp) in enumerate(zip(seen, clip.stamps_ns)):
        skeleton = None
        if ok:
            world = None
            if clip.world is not None and clip.world[i, :, 3].max() > 0:
                world = clip.world[i]
            skeleton = Skeleton("coco17", clip.keypoints[i], keypoints_3d=world,
                                space_3d="model" if world is not None else "")
        yield int(stamp), skeleton


def count_repetitions(clip: CorpusClip, exercise: str, use_3d: bool = True):
    """Repetitions of ``exercise`` over the clip (goal mode, no classifier), as live; the
    clip's end is the input's end (``RepetitionCounter.finish``, as a goal's input_ended)."""
    counter = RepetitionCounter(exercise, use_3d=use_3d)
    for stamp, skeleton in clip_skeletons(clip):
        counter.update(skeleton, stamp)
    counter.finish()
    return counter.repetitions


def unguided_counts(clip: CorpusClip, ends_s: np.ndarray, labels_w: Sequence[str],
                    confidences: Sequence[float], use_3d: bool = True) -> dict[str, int]:
    """{exercise: repetitions} ``rehab run`` would report over the clip: its frames and the
    window labels (each published at its window's end ``ends_s``) through one
    ``BoutCounter``, in time order, closed at the clip's end."""
    counter = BoutCounter(use_3d=use_3d)
    order = np.argsort(np.asarray(ends_s, np.float64), kind="stable")
    k = 0
    for stamp, skeleton in clip_skeletons(clip):
        counter.update(skeleton, stamp)
        t = stamp * 1e-9
        while k < len(order) and ends_s[order[k]] <= t:
            j = int(order[k])
            counter.on_label(float(ends_s[j]), labels_w[j], float(confidences[j]))
            k += 1
    counter.finish()
    return dict(Counter(r.exercise for r in counter.emitted))


def _votes(starts_s: np.ndarray, span_s: float, labels_w: list[str],
           confidences: Sequence[float], t0: float, t1: float) -> list[tuple[str, float]]:
    """(label, confidence) of every window overlapping [t0, t1]."""
    out = []
    for k, s in enumerate(starts_s):
        if s <= t1 and s + span_s >= t0:
            out.append((labels_w[k], float(confidences[k])))
    return out


def add_counts(out: dict, clip: CorpusClip, span_s: float, starts_s: np.ndarray,
               labels_w: list[str], confidences: Sequence[float],
               reject_confidence: float = REJECT_CONFIDENCE) -> None:
    """The clip's goal count (its exercise's repetitions, each judged by the windows over
    it) and its unguided count (``unguided_counts``: the clip's exercise's repetitions
    that ``rehab run`` reports) where the true count is known; on an ``unknown`` clip, the
    repetitions ``rehab run`` would wrongly count (``false_reps``, and ``unguided_reps``)."""
    out.pop("count", None)
    out.pop("false_reps", None)
    out.pop("unguided_reps", None)
    cfg = get_exercise_config(clip.label)
    counted = clip.true_count is not None and cfg is not None and cfg.counts_reps
    if not counted and clip.label != UNKNOWN:
        return
    # a window is published with its newest frame: a clip shorter than a window has one,
    # front-padded, ending at the clip's last frame
    last_s = clip.stamps_ns[-1] * 1e-9 if len(clip.stamps_ns) else 0.0
    ends = np.minimum(np.asarray(starts_s, np.float64) + span_s, last_s)
    unguided = unguided_counts(clip, ends, labels_w, confidences)
    if counted:
        reps = count_repetitions(clip, clip.label)
        verdicts = [judge_repetition(clip.label, _votes(starts_s, span_s, labels_w, confidences,
                                                        r.start_t, r.end_t), reject_confidence)
                    for r in reps]
        out["count"] = {
            "true": clip.true_count, "counter": len(reps),
            "goal": int(sum(v.counted for v in verdicts)),
            "unguided": int(unguided.get(cfg.name, 0)), "unguided_all": unguided,
            "verdicts": [{"verdict": v.verdict, "label": v.label,
                          "confidence": round(v.confidence, 3)} for v in verdicts],
        }
    if clip.label == UNKNOWN:
        out["false_reps"] = _false_reps(clip, starts_s, span_s, labels_w)
        out["unguided_reps"] = {k: v for k, v in unguided.items() if k != UNKNOWN}


def _false_reps(clip: CorpusClip, starts_s: np.ndarray, span: float,
                labels_w: list[str]) -> dict[str, int]:
    """Repetitions a counted class would add inside segments labelled as that class."""
    out: dict[str, int] = {}
    for label in sorted(set(labels_w) - {UNKNOWN}):
        cfg = get_exercise_config(label)
        if cfg is None or not cfg.counts_reps:
            continue
        n = 0
        for rep in count_repetitions(clip, label):
            mid = 0.5 * (rep.start_t + rep.end_t)
            cover = [labels_w[k] for k, s in enumerate(starts_s) if s <= mid <= s + span]
            if cover and Counter(cover).most_common(1)[0][0] == label:
                n += 1
        if n:
            out[label] = n
    return out
