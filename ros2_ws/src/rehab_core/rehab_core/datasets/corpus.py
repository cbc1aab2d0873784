"""The real exercise corpus as training/evaluation clips: label, source, true count, 2-D + 3-D.

Why the source matters: clips from one source repository share people,
rooms, cameras and editing, so an honest held-out figure must leave whole
sources out (``SOURCES.tsv``'s ``repo`` column), never single clips or
windows. Each clip carries its source; ``source_folds`` splits sources, never
clips.

True repetition counts are taken only where the corpus states them as
checked: hand-marked rep CSVs, single-repetition clips and counts stated by
the source; the ``~N (auto-estimate)`` hints are not truth and are ignored.

UI-PRMD (3-D Kinect, one repetition per sequence) is read as one sequence
per (movement, subject, correct/incorrect) with its ten episodes end to end,
so a sequence holds ten known repetitions; it is re-projected to 2-D from
virtual cameras (``multiview.py``) and is its own source.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from rehab_core.errors import InputSourceError

#: the recognition classes: the thesis's six, plank, sit-to-stand, arm raise and open-set unknown
RECOGNITION_LABELS = ("squat", "lunge", "deadlift", "push_up", "pull_up", "jumping_jacks",
                      "plank", "sit_to_stand", "arm_raise", "unknown")
# corpus media folder -> label (movements we do not recognise are "unknown")
FOLDER_LABELS = {
    "squat": "squat", "lunge": "lunge", "deadlift": "deadlift", "push_up": "push_up",
    "pull_up": "pull_up", "jumping_jacks": "jumping_jacks", "plank": "plank",
    "sit_to_stand": "sit_to_stand", "arm_raise": "arm_raise",
    "rehab_other": "unknown", "other": "unknown",
}
# UI-PRMD movement -> label (Vakanski et al. 2018: m01 deep squat ... m10 scaption)
UIPRMD_LABELS = {
    "m01": "squat", "m02": "unknown", "m03": "lunge", "m04": "lunge", "m05": "sit_to_stand",
    "m06": "unknown", "m07": "arm_raise", "m08": "unknown", "m09": "unknown", "m10": "arm_raise",
}
UIPRMD_SOURCE = "niemasd/UI-PRMD-Analysis"
# BlazePose-33 index of every COCO-17 joint (nose, eyes, ears, shoulders, ..., ankles)
BLAZE_TO_COCO = (0, 2, 5, 7, 8, 11, 12, 13, 14, 15, 16, 23, 24, 25, 26, 27, 28)
# UI-PRMD Kinect-22 index of every COCO-17 joint (the face is the head joint)
UIPRMD_TO_COCO = (4, 4, 4, 4, 4, 7, 11, 8, 12, 9, 13, 14, 18, 15, 19, 16, 20)
# Only the counts the corpus README calls truth: hand-marked CSVs and checked single-rep
# clips (a count "stated in the repo file name" is not: one such clip shows ~12 jacks).
_TRUTH = re.compile(r"^(\d+) \((repo rep-label CSV|visual check)")


@dataclass
class CorpusClip:
    """One clip (or UI-PRMD sequence): 2-D px keypoints, optional 3-D metres, metadata.

    ``world`` is (T, 17, 4) x, y (down), z in metres + visibility in the
    COCO-17 order, or None; ``true_count`` is None when not known.
    """

    name: str
    label: str
    source: str
    keypoints: np.ndarray | None
    stamps_ns: np.ndarray
    fps: float
    world: np.ndarray | None = None
    true_count: int | None = None
    view: str = ""
    real: bool = True


def true_count_of(approx_reps: str) -> int | None:
    """The checked repetition count stated in ``SOURCES.tsv`` (None for estimates)."""
    m = _TRUTH.match(approx_reps.strip())
    return int(m.group(1)) if m else None


def read_sources(corpus_root: str | Path) -> dict[str, dict[str, str]]:
    """``SOURCES.tsv`` rows keyed by their ``file`` column."""
    path = Path(corpus_root) / "SOURCES.tsv"
    if not path.is_file():
        raise InputSourceError(f"corpus provenance table not found: {path}")
    with path.open(newline="") as f:
        return {row["file"]: row for row in csv.DictReader(f, delimiter="\t")}


def load_corpus_clips(cache_dir: str | Path, corpus_root: str | Path) -> list[CorpusClip]:
    """Every cached corpus clip (``corpus_extract`` output) with its label and source."""
    rows = read_sources(corpus_root)
    cache = Path(cache_dir)
    if not cache.is_dir():
        raise InputSourceError(f"skeleton cache not found: {cache}")
    clips = []
    for path in sorted(cache.glob("*__*.npz")):
        if path.name.endswith(".tmp.npz"):
            continue
        with np.load(path, allow_pickle=False) as d:
            rel = str(d["clip"])
            row = rows.get(rel)
            if row is None:
                raise InputSourceError(f"{path.name}: clip {rel} is not in SOURCES.tsv")
            label = FOLDER_LABELS.get(Path(rel).parent.name)
            if label is None:
                continue
            world = np.asarray(d["world33"], np.float32)[:, BLAZE_TO_COCO]
            clips.append(CorpusClip(
                name=Path(rel).stem, label=label, source=row["repo"],
                keypoints=np.asarray(d["keypoints"], np.float32),
                stamps_ns=np.asarray(d["stamps_ns"], np.int64), fps=float(d["fps"]),
                world=world, true_count=true_count_of(row["approx_reps"]), view=row["view"]))
    return clips


#: the source name of the first clip set (``../shared/media``), beside the corpus's sources
MEDIA_SOURCE = "shared/media"


def load_media_clips(cache_dir: str | Path, source: str = MEDIA_SOURCE) -> list[CorpusClip]:
    """The first clip set (``media/{exercise,non_exercise}``, labels from file names), cached by
    ``corpus_extract``; kept in training so the old clips keep their labels."""
    from rehab_core.datasets.exercise_clips import label_from_name

    clips = []
    for path in sorted(Path(cache_dir).glob("*__*.npz")):
        folder, stem = path.stem.split("__", 1)
        label = label_from_name(stem, non_exercise=folder == "non_exercise")
        if label is None or path.name.endswith(".tmp.npz"):
            continue
        with np.load(path, allow_pickle=False) as d:
            clips.append(CorpusClip(
                name=stem, label=label, source=source,
                keypoints=np.asarray(d["keypoints"], np.float32),
                stamps_ns=np.asarray(d["stamps_ns"], np.int64), fps=float(d["fps"]),
                world=np.asarray(d["world33"], np.float32)[:, BLAZE_TO_COCO]))
    return clips


def load_uiprmd_sequences(corpus_root: str | Path, max_per_label: int | None = None,
                          ) -> list[CorpusClip]:
    """UI-PRMD as 3-D clips: one per movement/subject/correctness, ten episodes end to end.

    Kinect camera frame (cm, y up) becomes metres with y down, like MediaPipe's
    world landmarks. ``max_per_label`` keeps the first N sequences per label.
    """
    root = Path(corpus_root) / "skeletons" / "ui_prmd"
    candidates = []
    for kind in ("correct", "incorrect"):
        path = root / f"uiprmd_kinect_{kind}_abs3d.npz"
        if not path.is_file():
            raise InputSourceError(f"UI-PRMD skeletons not found: {path}")
        with np.load(path, allow_pickle=False) as d:
            xyz = np.asarray(d["joints_xyz"], np.float32)
            offsets = np.asarray(d["offsets"], np.int64)
            names = [str(n) for n in d["names"]]
            fps = float(d["fps"]) if "fps" in d else 30.0
        groups: dict[str, list[int]] = {}
        for i, n in enumerate(names):
            movement, subject, _episode = n.split("_")[:3]
            groups.setdefault(f"{movement}_{subject}", []).append(i)
        for key, idx in sorted(groups.items()):
            candidates.append((kind, key, [xyz[offsets[i]:offsets[i + 1]] for i in idx], fps))
    # a fixed shuffle, so a capped set still mixes subjects, movements and correctness
    order = np.random.default_rng(0).permutation(len(candidates))
    out: list[CorpusClip] = []
    per_label: dict[str, int] = {}
    for k in order:
        kind, key, parts, fps = candidates[k]
        label = UIPRMD_LABELS[key.split("_")[0]]
        if max_per_label is not None and per_label.get(label, 0) >= max_per_label:
            continue
        per_label[label] = per_label.get(label, 0) + 1
        seq = np.concatenate(parts)[:, UIPRMD_TO_COCO] / 100.0
        seq[..., 1] *= -1.0
        world = np.concatenate([seq, np.ones((*seq.shape[:2], 1), np.float32)], axis=2)
        stamps = np.round(np.arange(len(world)) * 1e9 / fps).astype(np.int64)
        out.append(CorpusClip(
            name=f"uiprmd_{kind}_{key}", label=label, source=UIPRMD_SOURCE, keypoints=None,
            stamps_ns=stamps, fps=fps, world=world.astype(np.float32),
            true_count=len(parts), view="3d", real=False))
    return out


def source_folds(clips: list[CorpusClip], folds: int = 0) -> list[list[str]]:
    """Held-out source groups: one per source (``folds`` 0) or ``folds`` balanced groups.

    Only sources with real clips are held out (UI-PRMD is training-only); a
    source is in exactly one group, so it is never on both sides of a split.
    Groups are filled largest source first into the group with fewest clips.
    """
    sizes: dict[str, int] = {}
    for c in clips:
        if c.real:
            sizes[c.source] = sizes.get(c.source, 0) + 1
    ordered = sorted(sizes, key=lambda s: (-sizes[s], s))
    if folds <= 0 or folds >= len(ordered):
        return [[s] for s in ordered]
    groups: list[list[str]] = [[] for _ in range(folds)]
    load = [0] * folds
    for s in ordered:
        i = int(np.argmin(load))
        groups[i].append(s)
        load[i] += sizes[s]
    return groups
