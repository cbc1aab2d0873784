"""The hand labels a replayed bag is scored against: format, discovery, load and save.

Throughput and latency say how fast the stack is; event accuracy says whether
what it emitted was right, and these labels are the truth it is scored
against. Labels live in a YAML sidecar next to the bag, found by
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

Scoring (:func:`rehab_core.evaluation.event_scoring.score_events`) reads
these labels; this module never scores.
"""

from __future__ import annotations

import math
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
#: tolerance of time comparisons (seconds), shared with the scoring modules
EPS = 1e-6
_TOP_KEYS = {"version", "time_base", "notes", "exercises", "reaches"}
_EXERCISE_KEYS = {"label", "start_s", "end_s", "repetitions", "count"}
_REACH_KEYS = {"side", "onset_s", "offset_s"}



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
        if b.start_s < a.end_s - EPS:
            raise ConfigError(f"{where}: exercises[{j}] ({b.label}, {b.start_s}-{b.end_s} s) "
                              f"overlaps exercises[{i}] ({a.label}, {a.start_s}-{a.end_s} s)")
    for side in SIDES:
        reaches = sorted(((i, r) for i, r in enumerate(labels.reaches or []) if r.side == side),
                         key=lambda ir: ir[1].onset_s)
        for (i, a), (j, b) in pairwise(reaches):
            end = a.offset_s if a.offset_s is not None else a.onset_s
            if b.onset_s <= end + EPS:
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
        if s < start - EPS or e > end + EPS:
            raise ConfigError(f"{at}: [{s}, {e}] is outside its segment [{start}, {end}]")
        if reps and s < reps[-1][1] - EPS:
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

