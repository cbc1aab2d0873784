"""Scoring one replay of a bag against its hand labels: repetition counts and exercise label.

Takes one :class:`FrameOutputs` per played frame and the bag's labels
(``event_labels``) and returns a JSON-serialisable dict; the reach part is
scored by ``reach_scoring``. :func:`score_events` documents every definition.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from typing import Any

from rehab_core.errors import ConfigError
from rehab_core.evaluation.event_labels import (
    EPS,
    NO_EXERCISE,
    PHASES,
    SIDES,
    EventLabels,
    ExerciseSegment,
)
from rehab_core.evaluation.reach_scoring import DEFAULT_TOLERANCE_FRAMES, ratio, score_reach


@dataclass
class FrameOutputs:
    """What the stack said for one played frame.

    ``t_s``: the frame's time in the labels' time base (seconds from the bag's
    first image). ``label``: the exercise label in force at this frame, None
    when the classifier has said nothing (yet); callers carry the last label
    forward if the stack only publishes changes. ``repetition_ends_s``: end
    times (bag seconds) of the repetition events emitted at this frame.
    ``reach``: side -> phase (``no_reach``/``onset``/``reach``/``offset``,
    any case; a missing side is ``no_reach``). ``dropped``: the stack did not
    process this frame (its label and phases are ignored).
    """

    index: int
    t_s: float
    label: str | None = None
    repetition_ends_s: list[float] = field(default_factory=list)
    reach: dict[str, str] = field(default_factory=dict)
    dropped: bool = False


def score_events(
    labels: EventLabels,
    outputs: Sequence[FrameOutputs],
    fps: float,
    *,
    onset_tolerance_frames: float = DEFAULT_TOLERANCE_FRAMES,
    offset_tolerance_frames: float | None = None,
    repetition_slack_s: float = 1.0,
    no_exercise_labels: Iterable[str] = ("unknown",),
    timeline_bin_s: float = 1.0,
) -> dict:
    """Score one replay of a bag against its labels (a JSON-serialisable dict).

    Only truth inside the played window (first to last played frame, +-half
    a frame) is scored, so a partial replay is not charged with what it never
    saw. Frame errors are time differences x ``fps`` (floats), signed as
    predicted - truth (positive = late).

    * ``repetitions`` (segments with a count): repetition events (any label)
      are assigned to the segment containing their end time, else to the
      nearest segment within ``repetition_slack_s`` (a counter confirms a rep
      a little after the return to rest), else counted ``outside``.
      ``error`` = counted - truth; ``truncated`` marks a count-only segment
      the replay did not fully cover.
    * ``exercise``: truth at time t is the segment with start <= t < end,
      else ``no_exercise``. A predicted None / "" / ``no_exercise_labels``
      means ``no_exercise``. Non-dropped frames before the first non-None
      label are ``warmup`` and not scored; accuracy = matching frames / scored
      frames, overall, per truth label and as a confusion table; ``timeline``
      holds per-``timeline_bin_s`` majorities (truth over all frames,
      predicted over scored frames; None when the bin has none).
    * ``reach`` (both sides, when reaches are labelled): a predicted onset is
      a non-dropped frame whose phase becomes ``onset`` (rising edge; dropped
      frames are skipped), an offset likewise. Keyframes are matched one to
      one to the same side's truth, closest pairs first, within
      ``onset_tolerance_frames`` / ``offset_tolerance_frames`` (default: the
      onset one). Unmatched predicted onsets are false triggers, also per
      minute of played bag time (all played frames, dropped included). Per
      frame, truth reach = onset..offset (the onset frame only for a reach
      without offset) and predicted reach = phase onset/reach/offset.
    """
    if not fps > 0:
        raise ConfigError(f"fps must be > 0, got {fps}")
    if onset_tolerance_frames < 0 or (offset_tolerance_frames or 0) < 0:
        raise ConfigError("reach tolerances must be >= 0 frames")
    frames = _checked_outputs(outputs)
    half = 0.5 / fps
    window = (frames[0].t_s - half, frames[-1].t_s + half)
    played_s = frames[-1].t_s - frames[0].t_s + 1.0 / fps
    result: dict[str, Any] = {
        "fps": float(fps),
        "frames": len(frames),
        "dropped": sum(f.dropped for f in frames),
        "played_s": played_s,
        "window_s": [frames[0].t_s, frames[-1].t_s],
        "repetitions": None,
        "exercise": None,
        "reach": None,
    }
    if labels.exercises is not None:
        result["repetitions"] = _score_repetitions(labels.exercises, frames, window,
                                                   repetition_slack_s)
        result["exercise"] = _score_exercise(labels.exercises, frames, set(no_exercise_labels),
                                             timeline_bin_s)
    if labels.reaches is not None:
        tol_off = onset_tolerance_frames if offset_tolerance_frames is None else (
            offset_tolerance_frames)
        result["reach"] = score_reach(labels.reaches, frames, fps, window, played_s,
                                       onset_tolerance_frames, tol_off)
    return result


def _checked_outputs(outputs: Sequence[FrameOutputs]) -> list[FrameOutputs]:
    frames = list(outputs)
    if not frames:
        raise ConfigError("no played frames to score")
    for prev, cur in pairwise(frames):
        if cur.t_s <= prev.t_s:
            raise ConfigError(f"frame {cur.index}: t_s {cur.t_s} is not after the previous "
                              f"frame's {prev.t_s}; pass frames in play order")
    for f in frames:
        for side, phase in f.reach.items():
            if side not in SIDES or str(phase).lower() not in PHASES:
                raise ConfigError(f"frame {f.index}: reach {side!r}: {phase!r}; sides are "
                                  f"{list(SIDES)}, phases {list(PHASES)}")
    return frames


# --- repetitions


def _score_repetitions(segments: list[ExerciseSegment], frames: list[FrameOutputs],
                       window: tuple[float, float], slack_s: float) -> dict | None:
    counted = [0] * len(segments)
    outside = 0
    for end in (e for f in frames for e in f.repetition_ends_s):
        k = _segment_of_event(segments, end, slack_s)
        if k is None:
            outside += 1
        else:
            counted[k] += 1
    rows = []
    for seg, n in zip(segments, counted):
        if seg.truth_count is None:
            continue
        row = {"label": seg.label, "start_s": seg.start_s, "end_s": seg.end_s}
        if seg.repetitions is not None:
            truth = sum(window[0] <= e <= window[1] for _, e in seg.repetitions)
            truncated = False
        else:
            truth = seg.truth_count
            truncated = seg.start_s < window[0] or seg.end_s > window[1]
        rows.append(row | {"truth": truth, "counted": n, "error": n - truth,
                           "truncated": truncated})
    if not rows:
        return None
    return {
        "segments": rows,
        "truth_total": sum(r["truth"] for r in rows),
        "counted_total": sum(r["counted"] for r in rows),
        "total_abs_error": sum(abs(r["error"]) for r in rows),
        "outside": outside,
    }


def _segment_of_event(segments: list[ExerciseSegment], t: float, slack_s: float) -> int | None:
    best, best_gap = None, slack_s + EPS
    for k, seg in enumerate(segments):
        gap = max(seg.start_s - t, t - seg.end_s, 0.0)
        if gap < best_gap:
            best, best_gap = k, gap
    return best


# --- exercise label


def _truth_label(segments: list[ExerciseSegment], t: float) -> str:
    for seg in segments:
        if seg.start_s <= t < seg.end_s:
            return seg.label
    return NO_EXERCISE


def _score_exercise(segments: list[ExerciseSegment], frames: list[FrameOutputs],
                    no_exercise: set[str], bin_s: float) -> dict:
    if not bin_s > 0:
        raise ConfigError(f"timeline_bin_s must be > 0, got {bin_s}")
    live = [f for f in frames if not f.dropped]
    first = next((i for i, f in enumerate(live) if f.label is not None), len(live))
    warm, scored = live[:first], live[first:]
    pairs = [(_truth_label(segments, f.t_s), _predicted_label(f.label, no_exercise))
             for f in scored]
    confusion: dict[str, dict[str, int]] = {}
    for truth, pred in pairs:
        row = confusion.setdefault(truth, {})
        row[pred] = row.get(pred, 0) + 1
    per_label = {t: {"frames": sum(row.values()), "accuracy": row.get(t, 0) / sum(row.values())}
                 for t, row in sorted(confusion.items())}
    return {
        "frames_scored": len(pairs),
        "accuracy": ratio(sum(t == p for t, p in pairs), len(pairs)),
        "per_label": per_label,
        "confusion": confusion,
        "warmup": {
            "frames": len(warm),
            "first_output_s": scored[0].t_s if scored else None,
            "exercise_frames": sum(_truth_label(segments, f.t_s) != NO_EXERCISE for f in warm),
        },
        "timeline": _timeline(segments, frames, {id(f) for f in scored}, no_exercise, bin_s),
    }


def _predicted_label(label: str | None, no_exercise: set[str]) -> str:
    return NO_EXERCISE if not label or label in no_exercise else label


def _timeline(segments: list[ExerciseSegment], frames: list[FrameOutputs], scored_ids: set[int],
              no_exercise: set[str], bin_s: float) -> list[dict]:
    bins: dict[int, list[FrameOutputs]] = {}
    for f in frames:
        bins.setdefault(math.floor(f.t_s / bin_s + EPS), []).append(f)
    rows = []
    for b, members in sorted(bins.items()):
        truth = [_truth_label(segments, f.t_s) for f in members]
        mine = [(t, _predicted_label(f.label, no_exercise))
                for t, f in zip(truth, members) if id(f) in scored_ids]
        rows.append({
            "t_s": b * bin_s,
            "truth": _majority(truth),
            "predicted": _majority([p for _, p in mine]),
            "accuracy": ratio(sum(t == p for t, p in mine), len(mine)),
        })
    return rows


def _majority(values: list[str]) -> str | None:
    return Counter(values).most_common(1)[0][0] if values else None
