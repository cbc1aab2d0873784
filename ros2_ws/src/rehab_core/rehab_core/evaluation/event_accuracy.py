"""Event accuracy of a replayed bag against hand labels (repetitions, exercise label, reaches).

Throughput and latency say how fast the stack is; this says whether what it
emitted was right. Labels live in a YAML sidecar next to the bag, found by
:func:`find_labels`: ``labels.yaml`` inside a bag folder, or
``<bag>.labels.yaml`` beside a bag folder or file (``run1.labels.yaml`` or
``run1.mcap.labels.yaml`` for ``run1.mcap``). Two candidates at once is an
error, so a stale file is never scored by accident.

Labels file, version 1::

    version: 1
    time_base: bag        # seconds from the bag's first image message
    notes: free text      # optional
    exercises:            # exercise segments (no overlaps; touching is fine)
      - label: squat
        start_s: 1.6
        end_s: 37.0
        repetitions: [[1.6, 3.8], [5.2, 7.6]]  # [start_s, end_s] per rep, inside the segment
      - label: plank
        start_s: 40.0
        end_s: 60.0
        count: 0          # instead of (or with, if equal) a repetitions list
    reaches:              # taken as complete for both sides when present
      - side: left        # left | right
        onset_s: 3.2
        offset_s: 4.1     # optional: a reach that never touched has none

A section that is absent is "not labelled" and its score is ``None``; an
empty list is a label ("no exercise / no reach here") and is scored. A
segment without ``repetitions``/``count`` is scored for its label only.
Clips converted by :func:`labels_from_repetition_truth` keep the clip's time
base, which equals the bag's when the bag was written from the clip's first
frame (``rehab_core.io.bag.write_image_bag``).

Scoring (:func:`score_events`) takes one :class:`FrameOutputs` per played
frame and returns a JSON-serialisable dict; see its docstring for the exact
definitions.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from itertools import pairwise
from pathlib import Path
from typing import Any

import yaml

from rehab_core.errors import ConfigError

VERSION = 1
TIME_BASE = "bag"
SIDES = ("left", "right")
PHASES = ("no_reach", "onset", "reach", "offset")
#: what the label accuracy calls frames outside every segment (truth) or without an exercise
NO_EXERCISE = "no_exercise"
#: default reach keyframe tolerance: at 30 fps 0.5 s, i.e. hand-labelling error (~0.2 s) plus
#: the detector's confirmation lag, still shorter than one infant reach, so neighbours don't merge
DEFAULT_TOLERANCE_FRAMES = 15
_EPS = 1e-6
_TOP_KEYS = {"version", "time_base", "notes", "exercises", "reaches"}
_EXERCISE_KEYS = {"label", "start_s", "end_s", "repetitions", "count"}
_REACH_KEYS = {"side", "onset_s", "offset_s"}


# ----------------------------------------------------------------------------- labels


@dataclass(frozen=True)
class ExerciseSegment:
    """One labelled stretch of one exercise; ``repetitions``/``count`` None = reps not labelled."""

    label: str
    start_s: float
    end_s: float
    repetitions: tuple[tuple[float, float], ...] | None = None
    count: int | None = None

    @property
    def truth_count(self) -> int | None:
        """Number of repetitions (from the list when there is one)."""
        return len(self.repetitions) if self.repetitions is not None else self.count


@dataclass(frozen=True)
class Reach:
    """One labelled reach of one hand; ``offset_s`` None = it never touched the object."""

    side: str
    onset_s: float
    offset_s: float | None = None


@dataclass
class EventLabels:
    """A bag's labels; ``None`` sections were not labelled, empty ones were (nothing there)."""

    exercises: list[ExerciseSegment] | None = None
    reaches: list[Reach] | None = None
    notes: str = ""
    version: int = VERSION
    time_base: str = TIME_BASE
    source: Path | None = field(default=None, compare=False)


def find_labels(bag_path: str | Path) -> Path | None:
    """The labels sidecar of a bag, or None; ConfigError when two candidates exist."""
    bag = Path(bag_path)
    names = [f"{bag.name}.labels.yaml"]
    if bag.suffix:
        names.append(f"{bag.stem}.labels.yaml")
    candidates = [bag / "labels.yaml"] if bag.is_dir() else []
    candidates += [bag.parent / n for n in names]
    found = [p for p in candidates if p.is_file()]
    if len(found) > 1:
        raise ConfigError(f"{bag}: more than one labels file ({', '.join(map(str, found))}); "
                          "keep one")
    return found[0] if found else None


def load_labels(path: str | Path) -> EventLabels:
    """Read and validate a labels file (ConfigError names the file and the bad entry)."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read labels file: {exc}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from exc
    labels = labels_from_dict(data, str(path))
    labels.source = path
    return labels


def labels_from_dict(data: Any, where: str = "labels") -> EventLabels:
    """Validate a parsed labels mapping; ``where`` prefixes every error message."""
    if not isinstance(data, dict):
        raise ConfigError(f"{where}: expected a mapping with version/exercises/reaches")
    _check_keys(data, _TOP_KEYS, where)
    if data.get("version") != VERSION:
        raise ConfigError(f"{where}: version must be {VERSION}, got {data.get('version')!r}")
    if data.get("time_base", TIME_BASE) != TIME_BASE:
        raise ConfigError(f"{where}: time_base must be {TIME_BASE!r} (seconds from the bag's "
                          f"first image), got {data['time_base']!r}")
    notes = data.get("notes") or ""
    if not isinstance(notes, str):
        raise ConfigError(f"{where}: notes must be text")
    exercises = reaches = None
    if data.get("exercises") is not None:
        items = _as_list(data["exercises"], f"{where}: exercises")
        exercises = [_parse_exercise(e, f"{where}: exercises[{i}]") for i, e in enumerate(items)]
    if data.get("reaches") is not None:
        items = _as_list(data["reaches"], f"{where}: reaches")
        reaches = [_parse_reach(r, f"{where}: reaches[{i}]") for i, r in enumerate(items)]
    labels = EventLabels(exercises=exercises, reaches=reaches, notes=notes)
    validate_labels(labels, where)
    return labels


def validate_labels(labels: EventLabels, where: str = "labels") -> None:
    """Cross-entry checks: exercise segments and same-side reaches must not overlap."""
    exercises = list(enumerate(labels.exercises or []))
    exercises.sort(key=lambda ie: ie[1].start_s)
    for (i, a), (j, b) in pairwise(exercises):
        if b.start_s < a.end_s - _EPS:
            raise ConfigError(f"{where}: exercises[{j}] ({b.label}, {b.start_s}-{b.end_s} s) "
                              f"overlaps exercises[{i}] ({a.label}, {a.start_s}-{a.end_s} s)")
    for side in SIDES:
        reaches = sorted(((i, r) for i, r in enumerate(labels.reaches or []) if r.side == side),
                         key=lambda ir: ir[1].onset_s)
        for (i, a), (j, b) in pairwise(reaches):
            end = a.offset_s if a.offset_s is not None else a.onset_s
            if b.onset_s <= end + _EPS:
                raise ConfigError(f"{where}: reaches[{j}] ({side}, onset {b.onset_s} s) starts "
                                  f"before reaches[{i}] (onset {a.onset_s} s) has ended")


def _check_keys(entry: dict, allowed: set[str], where: str) -> None:
    unknown = sorted(set(map(str, entry)) - allowed)
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {unknown}; allowed: {sorted(allowed)}")


def _as_list(value: Any, where: str) -> list:
    if not isinstance(value, list):
        raise ConfigError(f"{where}: must be a list, got {type(value).__name__}")
    return value


def _seconds(entry: dict, key: str, where: str) -> float:
    if key not in entry:
        raise ConfigError(f"{where}: missing {key}")
    return _number(entry[key], key, where)


def _number(value: Any, key: str, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise ConfigError(f"{where}: {key} must be a number of seconds, got {value!r}")
    if value < 0:
        raise ConfigError(f"{where}: {key} must be >= 0, got {value}")
    return float(value)


def _parse_exercise(entry: Any, where: str) -> ExerciseSegment:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with label/start_s/end_s")
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        raise ConfigError(f"{where}: label must be a non-empty name, got {label!r}")
    where = f"{where} ({label})"
    _check_keys(entry, _EXERCISE_KEYS, where)
    if label in (NO_EXERCISE, "unknown"):
        raise ConfigError(f"{where}: {label!r} is not an exercise; leave such time unlabelled")
    start, end = _seconds(entry, "start_s", where), _seconds(entry, "end_s", where)
    if end <= start:
        raise ConfigError(f"{where}: end_s {end} is not after start_s {start}")
    reps = None
    if entry.get("repetitions") is not None:
        reps = _parse_reps(entry["repetitions"], start, end, where)
    count = entry.get("count")
    if count is not None:
        if isinstance(count, bool) or not isinstance(count, int) or count < 0:
            raise ConfigError(f"{where}: count must be an integer >= 0, got {count!r}")
        if reps is not None and count != len(reps):
            raise ConfigError(f"{where}: count {count} but {len(reps)} repetitions listed")
    if reps is not None:
        count = len(reps)
    return ExerciseSegment(label, start, end, reps, count)


def _parse_reps(value: Any, start: float, end: float, where: str) -> tuple:
    reps: list[tuple[float, float]] = []
    for k, rep in enumerate(_as_list(value, f"{where}: repetitions")):
        at = f"{where}: repetitions[{k}]"
        if not isinstance(rep, list | tuple) or len(rep) != 2:
            raise ConfigError(f"{at}: expected [start_s, end_s], got {rep!r}")
        s, e = _number(rep[0], "start", at), _number(rep[1], "end", at)
        if e <= s:
            raise ConfigError(f"{at}: end {e} is not after start {s}")
        if s < start - _EPS or e > end + _EPS:
            raise ConfigError(f"{at}: [{s}, {e}] is outside its segment [{start}, {end}]")
        if reps and s < reps[-1][1] - _EPS:
            raise ConfigError(f"{at}: starts at {s} s, before the previous repetition ends "
                              f"({reps[-1][1]} s); list repetitions in order, without overlap")
        reps.append((s, e))
    return tuple(reps)


def _parse_reach(entry: Any, where: str) -> Reach:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: expected a mapping with side/onset_s[/offset_s]")
    _check_keys(entry, _REACH_KEYS, where)
    side = entry.get("side")
    if side not in SIDES:
        raise ConfigError(f"{where}: side must be one of {list(SIDES)}, got {side!r}")
    onset = _seconds(entry, "onset_s", where)
    offset = None
    if entry.get("offset_s") is not None:
        offset = _seconds(entry, "offset_s", where)
        if offset <= onset:
            raise ConfigError(f"{where}: offset_s {offset} is not after onset_s {onset}")
    return Reach(side, onset, offset)


def labels_to_dict(labels: EventLabels) -> dict:
    """The YAML form of ``labels`` (unlabelled sections left out)."""
    out: dict[str, Any] = {"version": labels.version, "time_base": labels.time_base}
    if labels.notes:
        out["notes"] = labels.notes
    if labels.exercises is not None:
        out["exercises"] = [_exercise_dict(e) for e in labels.exercises]
    if labels.reaches is not None:
        out["reaches"] = [
            {"side": r.side, "onset_s": r.onset_s}
            | ({"offset_s": r.offset_s} if r.offset_s is not None else {})
            for r in labels.reaches
        ]
    return out


def _exercise_dict(seg: ExerciseSegment) -> dict:
    out: dict[str, Any] = {"label": seg.label, "start_s": seg.start_s, "end_s": seg.end_s}
    if seg.repetitions is not None:
        out["repetitions"] = [list(r) for r in seg.repetitions]
    elif seg.count is not None:
        out["count"] = seg.count
    return out


def save_labels(labels: EventLabels, path: str | Path) -> Path:
    """Write ``labels`` as a version-1 labels file (validated first, so it loads back)."""
    path = Path(path)
    data = labels_to_dict(labels)
    labels_from_dict(data, str(path))
    text = yaml.safe_dump(data, sort_keys=False, default_flow_style=None)
    path.write_text(f"# Event labels ({TIME_BASE} time base: seconds from the first image)\n"
                    + text)
    return path


def labels_from_repetition_truth(truth_yaml: str | Path, video_name: str) -> EventLabels:
    """One clip of ``test/data/repetitions_truth.yaml`` as labels (one exercise segment).

    The segment is the clip's ``active_segment`` (``hold_segment`` for holds);
    reps ``[start, bottom, end]`` become ``[start, end]``; clips counted by
    view (peaks only) keep just the ``repetitions`` count. ``accept`` ranges
    and partial reps are not carried over.
    """
    path = Path(truth_yaml)
    try:
        data = yaml.safe_load(path.read_text())
    except (OSError, yaml.YAMLError) as exc:
        raise ConfigError(f"{path}: cannot read repetition truth: {exc}") from exc
    videos = (data or {}).get("videos") or {}
    if video_name not in videos:
        raise ConfigError(f"{path}: no video {video_name!r}; known: {sorted(videos)}")
    clip = videos[video_name]
    where = f"{path}: {video_name}"
    segment = clip.get("active_segment") or clip.get("hold_segment")
    if not (isinstance(segment, list) and len(segment) == 2):
        raise ConfigError(f"{where}: needs active_segment or hold_segment [start, end]")
    entry: dict[str, Any] = {"label": clip.get("exercise"), "start_s": segment[0],
                             "end_s": segment[1], "count": clip.get("repetitions")}
    if "reps" in clip:
        entry["repetitions"] = [[r[0], r[-1]] for r in _as_list(clip["reps"], f"{where}: reps")]
    elif clip.get("repetitions") == 0:
        entry["repetitions"] = []
    labels = labels_from_dict({"version": VERSION, "exercises": [entry],
                               "notes": f"from {path.name}: {video_name}"}, where)
    labels.source = path
    return labels


# ----------------------------------------------------------------------------- scoring


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
        result["reach"] = _score_reach(labels.reaches, frames, fps, window, played_s,
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
    best, best_gap = None, slack_s + _EPS
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
        "accuracy": _ratio(sum(t == p for t, p in pairs), len(pairs)),
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
        bins.setdefault(math.floor(f.t_s / bin_s + _EPS), []).append(f)
    rows = []
    for b, members in sorted(bins.items()):
        truth = [_truth_label(segments, f.t_s) for f in members]
        mine = [(t, _predicted_label(f.label, no_exercise))
                for t, f in zip(truth, members) if id(f) in scored_ids]
        rows.append({
            "t_s": b * bin_s,
            "truth": _majority(truth),
            "predicted": _majority([p for _, p in mine]),
            "accuracy": _ratio(sum(t == p for t, p in mine), len(mine)),
        })
    return rows


def _majority(values: list[str]) -> str | None:
    return Counter(values).most_common(1)[0][0] if values else None


def _ratio(num: int, den: int) -> float | None:
    return num / den if den else None


# --- reach


def _score_reach(reaches: list[Reach], frames: list[FrameOutputs], fps: float,
                 window: tuple[float, float], played_s: float,
                 tol_on: float, tol_off: float) -> dict:
    played = [r for r in reaches if window[0] <= r.onset_s <= window[1]]
    per_side: dict[str, dict] = {}
    for side in SIDES:
        mine = [r for r in played if r.side == side]
        pred_on, pred_off = _edges(frames, side)
        true_off = [r.offset_s for r in mine if r.offset_s is not None
                    and window[0] <= r.offset_s <= window[1]]
        per_side[side] = {
            "onsets": _match([r.onset_s for r in mine], pred_on, fps, tol_on),
            "offsets": _match(true_off, pred_off, fps, tol_off),
            "frames": _frame_pr(mine, frames, side, fps),
        }
    onsets = _merge([s["onsets"] for s in per_side.values()])
    false = onsets["false"]
    return {
        "onset_tolerance_frames": tol_on,
        "offset_tolerance_frames": tol_off,
        "not_played": len(reaches) - len(played),
        "onsets": onsets,
        "offsets": _merge([s["offsets"] for s in per_side.values()]),
        "false_triggers": false,
        "false_triggers_per_min": false / (played_s / 60.0),
        "frames": _merge_pr([s["frames"] for s in per_side.values()]),
        "per_side": per_side,
    }


def _edges(frames: list[FrameOutputs], side: str) -> tuple[list[float], list[float]]:
    """Times where the side's phase becomes onset / offset (dropped frames skipped)."""
    onsets, offsets, prev = [], [], "no_reach"
    for f in frames:
        if f.dropped:
            continue
        phase = str(f.reach.get(side, "no_reach")).lower()
        if phase != prev and phase == "onset":
            onsets.append(f.t_s)
        elif phase != prev and phase == "offset":
            offsets.append(f.t_s)
        prev = phase
    return onsets, offsets


def _match(truth: list[float], pred: list[float], fps: float, tol: float) -> dict:
    """Greedy one-to-one matching, closest pairs first, within ``tol`` frames."""
    pairs = sorted(((p - t) * fps, i, j) for i, t in enumerate(truth)
                   for j, p in enumerate(pred) if abs(p - t) * fps <= tol + _EPS)
    pairs.sort(key=lambda e: (abs(e[0]), e[1], e[2]))
    used_t: set[int] = set()
    used_p: set[int] = set()
    errors: list[float] = []
    for err, i, j in pairs:
        if i not in used_t and j not in used_p:
            used_t.add(i)
            used_p.add(j)
            errors.append(err)
    return _summary(len(truth), len(pred), errors)


def _summary(n_true: int, n_pred: int, errors: list[float]) -> dict:
    abs_err = [abs(e) for e in errors]
    return {
        "truth": n_true,
        "predicted": n_pred,
        "matched": len(errors),
        "missed": n_true - len(errors),
        "false": n_pred - len(errors),
        "errors_frames": errors,
        "mean_abs_error_frames": statistics.fmean(abs_err) if abs_err else None,
        "median_abs_error_frames": statistics.median(abs_err) if abs_err else None,
    }


def _merge(parts: list[dict]) -> dict:
    errors = [e for p in parts for e in p["errors_frames"]]
    return _summary(sum(p["truth"] for p in parts), sum(p["predicted"] for p in parts), errors)


def _frame_pr(reaches: list[Reach], frames: list[FrameOutputs], side: str, fps: float) -> dict:
    half = 0.5 / fps
    spans = [(r.onset_s - half, (r.offset_s if r.offset_s is not None else r.onset_s) + half)
             for r in reaches]
    tp = fp = fn = 0
    for f in frames:
        if f.dropped:
            continue
        truth = any(a <= f.t_s <= b for a, b in spans)
        pred = str(f.reach.get(side, "no_reach")).lower() != "no_reach"
        tp += truth and pred
        fp += pred and not truth
        fn += truth and not pred
    return _pr(tp, fp, fn)


def _pr(tp: int, fp: int, fn: int) -> dict:
    return {"tp": tp, "fp": fp, "fn": fn, "precision": _ratio(tp, tp + fp),
            "recall": _ratio(tp, tp + fn)}


def _merge_pr(parts: list[dict]) -> dict:
    return _pr(*(sum(p[k] for p in parts) for k in ("tp", "fp", "fn")))
